// A filterable multi-select: a list of checkboxes people narrow by typing and tick, on any
// page (the CSP forbids inline scripts, so pages declare it with data attributes):
//   <select data-reload-url="/x">            choosing an option reloads /x?<name>=<value>
//   <div data-pick-list data-pick-radio="id"> the list; ticking one checks radio #id
//     <input data-pick-filter>               typing hides the rows that do not match
//     <button data-pick-shown>               ticks every row still shown
//     <span data-pick-count>                 how many are ticked
//     <div data-search="name phone number"><input type="checkbox">…</div>  a row
(function () {
  "use strict";
  document.querySelectorAll("select[data-reload-url]").forEach(function (select) {
    select.addEventListener("change", function () {
      var url = select.getAttribute("data-reload-url");
      window.location = url + (select.value ? "?" + encodeURIComponent(select.name) + "=" +
        encodeURIComponent(select.value) : "");
    });
  });
  document.querySelectorAll("[data-pick-list]").forEach(function (list) {
    var rows = list.querySelectorAll("[data-search]");
    var filter = list.querySelector("[data-pick-filter]");
    var count = list.querySelector("[data-pick-count]");
    var radio = document.getElementById(list.getAttribute("data-pick-radio") || "");
    function recount() {
      var n = list.querySelectorAll("[data-search] input:checked").length;
      if (count) { count.textContent = String(n); }
      if (n && radio) { radio.checked = true; }
    }
    if (filter) {
      filter.addEventListener("input", function () {
        var q = filter.value.trim().toLowerCase();
        rows.forEach(function (row) {
          var text = row.getAttribute("data-search").toLowerCase();
          row.classList.toggle("d-none", q !== "" && text.indexOf(q) < 0);
        });
      });
    }
    var shown = list.querySelector("[data-pick-shown]");
    if (shown) {
      shown.addEventListener("click", function () {
        rows.forEach(function (row) {
          if (!row.classList.contains("d-none")) { row.querySelector("input").checked = true; }
        });
        recount();
      });
    }
    list.addEventListener("change", recount);
  });
})();
