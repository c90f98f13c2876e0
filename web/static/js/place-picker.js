// Place picker enhancement: Enter in its search box searches instead of
// saving the form. Without this script the "Chercher" button does it.
(function () {
  "use strict";
  var input = document.getElementById("f-place_q");
  var button = document.querySelector("[data-testid=place-search]");
  if (!input || !button) return;
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter") {
      e.preventDefault();
      button.click();
    }
  });
})();
