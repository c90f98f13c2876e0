// Progress of a background job: polls the job's status and moves the
// progress bar; reloads the page when the job is done. Without this
// script the page has a link to reload it by hand.
(function () {
  "use strict";
  var box = document.querySelector("[data-status-url]");
  if (!box || !window.fetch) { return; }
  var bar = box.querySelector("progress");
  var text = box.querySelector(".progress__text");
  var url = box.getAttribute("data-status-url");
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { return; }
        if (!s.running) { window.location.reload(); return; }
        bar.max = Math.max(s.total, 1);
        bar.value = Math.min(s.done, bar.max);
        text.textContent = s.text;
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
