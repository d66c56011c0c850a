// Row selection in the Spans and Traces tables. Event delegation on document, so htmx swaps need no re-binding.
(function () {
  "use strict";

  function updateSelection() {
    var boxes = document.querySelectorAll(".row-select");
    var checked = document.querySelectorAll(".row-select:checked").length;
    var all = document.getElementById("all-matching");
    var count = document.getElementById("selection-count");
    if (count) count.textContent = all && all.checked ? "All matching rows selected" : checked + " selected";
    var page = document.getElementById("select-page");
    if (page) page.checked = boxes.length > 0 && checked === boxes.length;
  }

  document.addEventListener("change", function (event) {
    if (event.target.id === "select-page") {
      document.querySelectorAll(".row-select").forEach(function (box) { box.checked = event.target.checked; });
    }
    if (event.target.matches(".row-select, #select-page, #all-matching")) updateSelection();
  });

  document.addEventListener("htmx:afterSwap", updateSelection);
})();
