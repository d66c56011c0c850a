// The trace and session pages' keys and Annotate panel, and the `?` list of keys on every page. Event delegation on
// document, so htmx swaps need no re-binding.
//
// The `?` list is read from the page: every element with `data-help-key` (usually an <li> of a hidden
// list) adds its key and its text, in page order. A page adds its keys by rendering such elements.
(function () {
  "use strict";

  var PANEL_STATE = "phoenix-annot.annotate-panel";
  var TEXT_INPUTS = "textarea, select, [contenteditable], input:not([type]), input[type=text], input[type=search], input[type=email], input[type=url], input[type=password]";
  // The config whose save is on its way: once the panel comes back, focus moves on from it.
  var savedConfig = null;
  // The retrieved document whose relevance is on its way: once saved, focus moves to the next document.
  var savedDocument = null;

  // htmx binds a swapped-in form when the swap settles, some milliseconds after it shows: a key pressed in
  // between would post the form as a page. Binding it first (a no-op when already bound) keeps it in htmx.
  function submitThroughHtmx(form) {
    if (window.htmx) window.htmx.process(form);
    form.requestSubmit();
  }

  function typing(target, key) {
    if (!target.closest) return false;
    if (target.closest(TEXT_INPUTS)) return true;
    // A number field takes digits, signs and exponents but never j or k, so those still move.
    return target.matches("input[type=number]") && key !== "j" && key !== "k";
  }

  function layout() { return document.querySelector("#trace-layout, #session-layout"); }

  function panelOpen() { var l = layout(); return l !== null && !l.classList.contains("panel-closed"); }

  function setPanel(open) {
    var l = layout();
    if (!l) return;
    l.classList.toggle("panel-closed", !open);
    var button = document.querySelector("[data-action=annotate]");
    if (button) button.setAttribute("aria-expanded", String(open));
    try { localStorage.setItem(PANEL_STATE, open ? "open" : "closed"); } catch (e) { /* private mode */ }
  }

  function panelWasClosed() {
    try { return localStorage.getItem(PANEL_STATE) === "closed"; } catch (e) { return false; }
  }

  function configs(panel) { return Array.prototype.slice.call(panel.querySelectorAll("form[data-config]")); }

  function focusConfig(form) {
    if (!form) return false;
    var field = form.querySelector("input[type=radio]:checked") ||
      form.querySelector("input[type=radio], input[type=number], input[name=label]");
    if (!field) return false;
    field.focus({ preventScroll: true });
    field.closest("form").scrollIntoView({ block: "nearest" });
    return true;
  }

  function firstUnfilled(panel, after) {
    var forms = configs(panel);
    var start = after ? forms.indexOf(after) + 1 : 0;
    var ordered = forms.slice(start).concat(forms.slice(0, start));
    return ordered.filter(function (f) { return f.dataset.filled === "0" && f !== after; })[0] || null;
  }

  // The panel the page is for: the selected span's on a trace page, the session's on a session page.
  function spanPanel() { return document.querySelector("#panel-span, #panel-session"); }

  // `e`: the panel, at the first annotation this reviewer has not filled (else the first one).
  function goToPanel() {
    var panel = spanPanel();
    if (!panel) return;
    setPanel(true);
    focusConfig(firstUnfilled(panel, null) || configs(panel)[0]);
  }

  // A span shown with the panel open is ready for its first label without a key to get there.
  function readyForLabels() {
    var panel = spanPanel();
    if (!panel) return;
    if (panelWasClosed()) { setPanel(false); return; }
    focusConfig(firstUnfilled(panel, null));
  }

  function say(text) {
    var toast = document.getElementById("review-toast");
    if (toast) toast.textContent = text;
  }

  function moveInList(key) {
    var link = document.querySelector('a[data-key="' + key + '"]');
    if (link) { link.click(); return; }
    var edge = document.querySelector('[data-list-edge="' + key + '"]');
    if (edge) say(key === "j" ? "End of the list: no rows after this one." : "Start of the list: no rows before this one.");
  }

  function blurInside(event) {
    if (event.currentTarget.contains(document.activeElement)) document.activeElement.blur();
  }

  function keyHelp() {
    var dialog = document.getElementById("key-help");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "key-help";
      dialog.setAttribute("aria-labelledby", "key-help-title");
      // Opened with nothing focused, the browser leaves focus on the hidden Close button until it gets round
      // to moving it (late on a busy machine), and the next key would go to that button instead of the
      // page. Esc's `cancel` comes at once; `close` (every other way out) comes a task later.
      dialog.addEventListener("cancel", blurInside);
      dialog.addEventListener("close", blurInside);
      document.body.appendChild(dialog);
    }
    var seen = {};
    var rows = [["?", "Show or hide this list of keys"]];
    document.querySelectorAll("[data-help-key]").forEach(function (item) {
      var row = [item.dataset.helpKey, item.textContent.trim()];
      if (!seen[row.join("\u0000")]) { seen[row.join("\u0000")] = true; rows.push(row); }
    });
    dialog.replaceChildren();
    var title = document.createElement("h2");
    title.id = "key-help-title";
    title.textContent = "Keys";
    var list = document.createElement("dl");
    list.className = "kv";
    rows.forEach(function (row) {
      var term = document.createElement("dt");
      var key = document.createElement("kbd");
      key.textContent = row[0];
      term.appendChild(key);
      var text = document.createElement("dd");
      text.textContent = row[1];
      list.append(term, text);
    });
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", function () { dialog.close(); });
    dialog.append(title, list, close);
    return dialog;
  }

  function toggleKeyHelp() {
    var open = document.querySelector("dialog#key-help[open]");
    if (open) { open.close(); return; }
    keyHelp().showModal();
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-action=key-help]")) { toggleKeyHelp(); return; }
    if (event.target.closest("[data-action=annotate]")) {
      if (panelOpen()) setPanel(false); else goToPanel();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-config], form[data-undo-config]");
    if (!form) { savedConfig = null; return; }
    // After a save focus moves on to the next annotation to fill; after an undo it stays on the one undone.
    savedConfig = form.dataset.config
      ? { panel: form.closest("[id^=panel-]").id, name: form.dataset.config, stay: false }
      : { panel: form.dataset.panel, name: form.dataset.undoConfig, stay: true };
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (document.querySelector("dialog[open]")) return;
    var form = target.closest && target.closest("form[data-annotation-form]");
    if ((event.metaKey || event.ctrlKey) && event.key === "Enter" && form) {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (event.key === "Escape" && target.closest && target.closest("#annotate-panels")) {
      event.preventDefault();
      document.querySelector("#span-view, #session-view").focus({ preventScroll: true });
      return;
    }
    if (typing(target, event.key)) return;
    if (event.key === "?") { event.preventDefault(); toggleKeyHelp(); return; }
    if (!document.querySelector("#trace-body, #session-body")) return;
    var doc = target.closest && target.closest("[data-document]");
    if (/^[1-9]$/.test(event.key) && doc) {
      var docForm = doc.querySelector("form[data-document-form]");
      var relevance = docForm && docForm.querySelector('input[data-shortcut="' + event.key + '"]');
      if (relevance) { event.preventDefault(); relevance.checked = true; saveDocument(docForm); }
      return;
    }
    if (/^[1-9]$/.test(event.key) && form && form.dataset.configType === "CATEGORICAL") {
      var choice = form.querySelector('input[data-shortcut="' + event.key + '"]');
      if (choice) { event.preventDefault(); choice.checked = true; submitThroughHtmx(form); }
      return;
    }
    if (event.key === "e") { event.preventDefault(); goToPanel(); return; }
    // `c`: the corrected output of the span (or session) shown, in the open panel.
    if (event.key === "c") {
      var correction = document.querySelector("#correction-span textarea, #correction-session textarea");
      if (correction) { event.preventDefault(); setPanel(true); correction.focus(); correction.scrollIntoView({ block: "nearest" }); }
      return;
    }
    if (event.key === "u") {
      var undo = document.querySelector("#review-toast [data-undo]");
      if (undo) { event.preventDefault(); submitThroughHtmx(undo.form); }
      return;
    }
    if (event.key === "j" || event.key === "k") { event.preventDefault(); moveInList(event.key); }
  });

  function saveDocument(form) {
    savedDocument = form.dataset.position;
    submitThroughHtmx(form);
  }

  // A click on a relevance choice saves it, as its digit does.
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-document-form]");
    if (form) saveDocument(form);
  });

  // After a document's relevance is saved, the next document takes focus (the last one keeps it), so
  // digits label the documents one after another.
  function documentSaved(swapped) {
    var position = savedDocument;
    savedDocument = null;
    var next = swapped.querySelector(".errorlist") ? null : document.querySelector('[data-document="' + (Number(position) + 1) + '"]');
    var focus = next || swapped.closest("[data-document]");
    focus.focus({ preventScroll: true });
    focus.scrollIntoView({ block: "nearest" });
  }

  // After the settle, not the swap: htmx binds the new forms' hx-post by then, so a digit pressed at once
  // saves through htmx instead of posting the form as a page.
  document.addEventListener("htmx:afterSettle", function (event) {
    var swapped = event.detail.target;
    // `j`/`k` fetch the next row's page without reloading scripts and styles (hx-boost): it swaps the body.
    if (event.detail.boosted) { revealSelectedSpan(); readyForLabels(); return; }
    if (swapped.id === "trace-body") { readyForLabels(); return; }
    if (savedDocument !== null && swapped.id === "document-relevance-" + savedDocument) { documentSaved(swapped); return; }
    if (!savedConfig || swapped.id !== savedConfig.panel) return;
    var saved = swapped.querySelector('form[data-config="' + CSS.escape(savedConfig.name) + '"]');
    var stay = savedConfig.stay;
    savedConfig = null;
    if (!saved) return;
    if (stay || saved.querySelector(".errorlist")) { focusConfig(saved); return; }
    focusConfig(firstUnfilled(swapped, saved) || saved);
  });

  // A span chosen by its address may sit far down its page of the trace tree: bring it into view.
  function revealSelectedSpan() {
    var selected = document.querySelector("#span-tree a.selected");
    if (selected) selected.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("DOMContentLoaded", function () {
    revealSelectedSpan();
    readyForLabels();
  });
})();
