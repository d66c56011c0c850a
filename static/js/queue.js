// The review page of a queue (templates/queues/review.html), by keyboard: digits pick a label of the focused
// annotation and move on to the next one, Enter submits and the next item comes in its place, `s` opens the
// skip reason (Enter skips, Esc leaves it). The `?` list of keys is review.js's, read from `data-help-key`.
(function () {
  "use strict";

  function configs() { return Array.prototype.slice.call(document.querySelectorAll("#review-form fieldset[data-queue-config]")); }

  function focusConfig(fieldset) {
    if (!fieldset) return;
    var field = fieldset.querySelector("input[type=radio]:checked") || fieldset.querySelector("input, textarea");
    if (field) field.focus({ preventScroll: true });
    fieldset.scrollIntoView({ block: "nearest" });
  }

  // Where a new item (or the same one, refused) starts: the first annotation with an error, else the first.
  function ready() {
    if (!document.getElementById("review-form")) {
      var done = document.getElementById("queue-done");
      if (done) { done.setAttribute("tabindex", "-1"); done.focus({ preventScroll: true }); }
      return;
    }
    focusConfig(document.querySelector("#review-form fieldset.has-error") || configs()[0]);
  }

  function typing(target) {
    return Boolean(target.closest && target.closest("textarea, input:not([type=radio]):not([type=checkbox])"));
  }

  function submit(form) {
    if (window.htmx) window.htmx.process(form);
    form.requestSubmit();
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!document.getElementById("queue-main") || document.querySelector("dialog[open]")) return;
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    var skip = document.getElementById("skip");
    if (event.key === "Escape" && skip && skip.open) {
      event.preventDefault();
      skip.open = false;
      ready();
      return;
    }
    // The skip reason's Enter skips (its form's own submit); any other field's Enter submits the labels.
    if (target.id === "skip-reason") return;
    if (event.key === "Enter" && target.tagName !== "TEXTAREA" && !target.closest("a, button, summary")) {
      var form = document.getElementById("review-form");
      if (form) { event.preventDefault(); submit(form); }
      return;
    }
    if (typing(target)) return;
    var fieldset = target.closest && target.closest("fieldset[data-queue-config]");
    if (/^[1-9]$/.test(event.key)) {
      fieldset = fieldset || configs()[0];
      var choice = fieldset && fieldset.querySelector('input[data-shortcut="' + event.key + '"]');
      if (!choice) return;
      event.preventDefault();
      choice.checked = true;
      var all = configs();
      focusConfig(all[all.indexOf(fieldset) + 1] || fieldset);
      return;
    }
    if (event.key === "s" && skip) {
      event.preventDefault();
      skip.open = true;
      document.getElementById("skip-reason").focus();
    }
  });

  // At the swap, not its settle: a key pressed in between must find the new item ready (and `submit` binds
  // the new form to htmx itself).
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "queue-main") ready();
  });
  document.addEventListener("DOMContentLoaded", ready);
})();
