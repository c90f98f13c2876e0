// CPV picker enhancement: results appear as one types, and Enter in the
// search box searches instead of saving. Without this script the picker's
// "Chercher" button does the same through a full page (see PickerView).
(function () {
  "use strict";
  var input = document.getElementById("f-cpv_q");
  var results = document.getElementById("cpv-results");
  var chosen = document.querySelector(".cpv-picker__chosen");
  if (!input || !results || !chosen || !window.fetch) return;

  var timer = null;
  var seq = 0;

  function search() {
    var q = input.value.trim();
    var mine = ++seq;
    if (q.length < 2) {
      results.innerHTML = "";
      return;
    }
    fetch("/cpv?q=" + encodeURIComponent(q), { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        if (mine !== seq) return; // a later keystroke won
        results.innerHTML = html;
        // Codes already chosen are not offered twice.
        results.querySelectorAll("input[name=cpv]").forEach(function (box) {
          if (chosen.querySelector('input[value="' + box.value + '"]')) box.closest(".field__choice").remove();
        });
      })
      .catch(function () { /* the button still works */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter") {
      e.preventDefault();
      clearTimeout(timer);
      search();
    }
  });
  // A code ticked among the results joins the chosen ones, so the next
  // search does not take it away.
  results.addEventListener("change", function (e) {
    var box = e.target;
    if (box.name === "cpv" && box.checked) chosen.appendChild(box.closest(".field__choice"));
  });
})();
