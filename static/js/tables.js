// The Spans, Traces and Sessions tables: the filter bar, row selection, and j/k/Enter to move and open rows.
// Event delegation on document, so htmx swaps need no re-binding.
(function () {
  "use strict";

  // The counter, the bar and the ticks always agree: recomputed from the boxes after every change,
  // swap, or page shown again from history.
  function updateSelection() {
    var boxes = document.querySelectorAll(".row-select");
    var checked = document.querySelectorAll(".row-select:checked").length;
    var all = document.getElementById("all-matching");
    var count = document.getElementById("selection-count");
    var allChecked = Boolean(all && all.checked);
    if (count) count.textContent = allChecked ? "All matching rows selected" : checked + " selected";
    var page = document.getElementById("select-page");
    if (page) page.checked = boxes.length > 0 && checked === boxes.length;
    var bar = document.getElementById("selection");
    if (bar) bar.hidden = !(checked || allChecked);
  }

  function clearSelection() {
    document.querySelectorAll(".row-select, #select-page, #all-matching").forEach(function (box) {
      box.checked = false;
    });
    updateSelection();
  }

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.id === "select-page") {
      document.querySelectorAll(".row-select").forEach(function (box) { box.checked = field.checked; });
    }
    if (field.matches(".row-select, #select-page, #all-matching")) updateSelection();
    // A select of the filter bar (or the page size beside the table) applies at once.
    if (field.tagName === "SELECT" && field.form && field.form.id === "filters") field.form.requestSubmit();
  });

  // Empty filters ("any") stay out of the URL, so it holds only what filters the list.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.id !== "filters") return;
    var data = event.detail.formData;
    Array.from(new Set(data.keys())).forEach(function (name) {
      if (data.getAll(name).every(function (value) { return value === ""; })) data.delete(name);
    });
  });

  document.addEventListener("htmx:afterSwap", updateSelection);

  // "Label…": the dialog opens once its fields (fetched on click) are in, and Cancel closes it.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "bulk-label-body") document.getElementById("bulk-label").showModal();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest(".bulk-label-close")) document.getElementById("bulk-label").close();
  });
  // A page restored from history starts with nothing selected, whatever the browser kept of the boxes.
  window.addEventListener("pageshow", clearSelection);

  // j / k move a highlight over the rows, Enter opens the highlighted row; not while typing in a field.
  var TABLE = "#spans-table, #sessions-table";

  function rows() { return Array.from(document.querySelectorAll("#spans-table tbody tr[data-span-id], #sessions-table tbody tr[data-row]")); }

  function typing(target) {
    return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var current = all.findIndex(function (row) { return row.classList.contains("current"); });
    var next = current < 0 ? 0 : Math.min(Math.max(current + step, 0), all.length - 1);
    if (current >= 0) {
      all[current].classList.remove("current");
      all[current].removeAttribute("aria-current");
    }
    all[next].classList.add("current");
    all[next].setAttribute("aria-current", "true");
    all[next].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (!document.querySelector(TABLE)) return;
    if (event.key === "j" || event.key === "k") {
      move(event.key === "j" ? 1 : -1);
      event.preventDefault();
    } else if (event.key === "Enter") {
      var row = document.querySelector("#spans-table tbody tr.current, #sessions-table tbody tr.current");
      var link = row && row.querySelector("a.row-link");
      // Enter stays with a control that has focus (a link, a button, the key list), wherever else focus is;
      // not with one left focused in a dialog already closed.
      var control = event.target.closest("a, button, summary, dialog");
      if (link && (!control || control.closest("dialog:not([open])"))) {
        link.click();
        event.preventDefault();
      }
    }
  });
})();
