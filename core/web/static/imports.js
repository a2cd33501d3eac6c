// An import run's page: while the run is waiting or going on, poll its JSON status every
// second, move the progress bar and the counts, and reload the page when it has finished.
(function () {
  "use strict";
  var box = document.querySelector("[data-import-run]");
  if (!box) { return; }
  var status = box.getAttribute("data-status");
  if (status !== "pending" && status !== "running") { return; }
  var bar = box.querySelector("[data-import-bar]");
  function set(sel, value) {
    var el = box.querySelector(sel);
    if (el) { el.textContent = value; }
  }
  function poll() {
    fetch(box.getAttribute("data-import-run"), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        bar.style.width = data.percent + "%";
        bar.textContent = data.percent + "%";
        bar.parentNode.setAttribute("aria-valuenow", data.percent);
        set("[data-import-total]", data.total);
        set("[data-import-created]", data.created);
        set("[data-import-errors]", data.errors);
        if (data.status === "done" || data.status === "failed") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
