// The one rule for htmx requests that fail: htmx swaps nothing on an error status, so without this the
// reviewer's click would seem to do nothing. The reason is shown in the page's alert region instead, and
// cleared by the next request that succeeds.
(function () {
  "use strict";

  var FALLBACK = "The server could not do this. Reload the page and try again.";

  function reason(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("text/html") === 0) {
      var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var message = page.querySelector("[data-error-message]");
      return message ? message.textContent.trim() : FALLBACK;
    }
    if (type.indexOf("text/plain") === 0 && xhr.responseText.trim()) return xhr.responseText.trim();
    return FALLBACK;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var region = document.getElementById("request-error");
    if (!region) return;
    var failed = event.detail.xhr.status >= 400;
    region.textContent = failed ? reason(event.detail.xhr) : "";
    if (failed) event.detail.shouldSwap = false;
  });
})();
