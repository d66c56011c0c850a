// The trace page's keys and Annotate panel. Event delegation on document, so htmx swaps need no re-binding.
(function () {
  "use strict";

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  function openAnnotatePanel() {
    var layout = document.getElementById("trace-layout");
    if (!layout) return;
    layout.classList.remove("panel-closed");
    var first = document.querySelector("#panel-span [data-annotation-form] input:not([type=hidden]), #panel-span [data-annotation-form] textarea");
    if (first) first.focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action=annotate]");
    if (button) {
      event.preventDefault();
      var layout = document.getElementById("trace-layout");
      if (layout && !layout.classList.contains("panel-closed")) layout.classList.add("panel-closed");
      else openAnnotatePanel();
    }
  });

  document.addEventListener("keydown", function (event) {
    var form = event.target.closest && event.target.closest("[data-annotation-form]");
    if ((event.metaKey || event.ctrlKey) && event.key === "Enter" && form) {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (/^[1-9]$/.test(event.key) && form && !event.target.matches("input[type=text], input[type=number], textarea, input:not([type])")) {
      var choice = form.querySelector('input[data-shortcut="' + event.key + '"]');
      if (choice) { choice.checked = true; event.preventDefault(); }
      return;
    }
    if (typing(event.target)) return;
    if (event.key === "e") { event.preventDefault(); openAnnotatePanel(); return; }
    var link = document.querySelector('a[data-key="' + event.key + '"]');
    if (link && (event.key === "j" || event.key === "k")) { event.preventDefault(); link.click(); }
  });

  // A span chosen by its address may sit far down its page of the trace tree: bring it into view.
  function revealSelectedSpan() {
    var selected = document.querySelector("#span-tree a.selected");
    if (selected) selected.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("DOMContentLoaded", revealSelectedSpan);
})();
