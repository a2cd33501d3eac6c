// The handover form: choosing the departing person loads his customers; a filter box
// narrows the customer list; ticking customers switches the scope to the picked ones.
(function () {
  "use strict";
  var from = document.getElementById("from_user_id");
  from.addEventListener("change", function () {
    window.location = from.getAttribute("data-reload") + (from.value ? "?from_user_id=" + from.value : "");
  });
  var filter = document.getElementById("customer-filter");
  if (!filter) { return; }
  var rows = document.querySelectorAll("#customer-options [data-search]");
  var count = document.getElementById("picked-count");
  function recount() {
    var n = document.querySelectorAll("#customer-options input:checked").length;
    count.textContent = String(n);
    if (n) { document.getElementById("scope-picked").checked = true; }
  }
  filter.addEventListener("input", function () {
    var q = filter.value.trim().toLowerCase();
    rows.forEach(function (row) {
      row.classList.toggle("d-none", q !== "" && row.getAttribute("data-search").toLowerCase().indexOf(q) < 0);
    });
  });
  document.getElementById("pick-shown").addEventListener("click", function () {
    rows.forEach(function (row) {
      if (!row.classList.contains("d-none")) { row.querySelector("input").checked = true; }
    });
    recount();
  });
  document.getElementById("customer-options").addEventListener("change", recount);
})();
