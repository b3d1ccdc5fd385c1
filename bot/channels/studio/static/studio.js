// The studio's only script: when the studio has loaded the flow files again
// (an admin saved an edit), reload this page so its findings and wording are
// current. Pages that hold a try-out do not include it, so answers are not lost.
(function () {
  "use strict";
  var seen = document.documentElement.getAttribute("data-loaded");
  if (!seen) {
    return;
  }
  window.setInterval(function () {
    fetch("/loaded", { cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : seen; })
      .then(function (now) { if (now !== seen) { window.location.reload(); } })
      .catch(function () { /* the studio has stopped; keep the page as it is */ });
  }, 2000);
})();
