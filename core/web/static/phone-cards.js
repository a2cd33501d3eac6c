// Phone cards: below 576 px (tandem.css) every table row of the page is a card. This labels
// each cell with its column heading (data-label) and a role class from the heading's
// data-phone: title (the row's name and link), badge, field (label: value), action, hide.
// Headings without data-phone are guessed: the first column with a link is the title,
// columns showing badges are badges, the next three are fields, the rest hidden.
(function () {
  "use strict";
  var FIELDS = 3;

  function guess(table, heads) {
    var row = table.tBodies.length ? table.tBodies[0].rows[0] : null;
    var roles = heads.map(function (th) { return th.getAttribute("data-phone") || ""; });
    if (roles.every(function (r) { return r; })) { return roles; }
    var cells = row ? row.cells : [];
    var title = roles.indexOf("title");
    if (title < 0) {
      for (var i = 0; i < heads.length && title < 0; i++) {
        if (!roles[i] && cells[i] && cells[i].querySelector("a")) { title = i; }
      }
      if (title < 0) { title = roles.indexOf(""); }
      if (title >= 0) { roles[title] = "title"; }
    }
    var fields = roles.filter(function (r) { return r === "field"; }).length;
    roles = roles.map(function (role, i) {
      if (role) { return role; }
      if (cells[i] && cells[i].querySelector(".badge") && !cells[i].textContent.match(/\d{4}-/)) {
        return "badge";
      }
      if (cells[i] && cells[i].querySelector("input, select, textarea")) { return "field"; }
      if (cells[i] && cells[i].querySelector("form, button, .btn")) { return "action"; }
      if (fields < FIELDS) { fields++; return "field"; }
      return "hide";
    });
    return roles;
  }

  function label(table) {
    if (table.classList.contains("phone-keep") || !table.tHead || !table.tBodies.length) { return; }
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var roles = guess(table, heads);
    var names = heads.map(function (th) { return th.textContent.replace(/[▲▼]/g, "").trim(); });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        if (row.cells.length !== heads.length) { return; }  // an "empty" row with colspan
        Array.prototype.forEach.call(row.cells, function (td, i) {
          td.classList.add("pc-" + (roles[i] || "field"));
          if (names[i] && !td.hasAttribute("data-label")) { td.setAttribute("data-label", names[i]); }
        });
      });
    });
  }

  function run(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("main table.table"), label);
  }
  run(document);
  // Live refresh (tandem.js) replaces a list's rows: label the new ones.
  var main = document.querySelector("main");
  if (main && window.MutationObserver) {
    var pending = null;
    new MutationObserver(function () {
      clearTimeout(pending);
      pending = setTimeout(function () { run(main); }, 30);
    }).observe(main, { childList: true, subtree: true });
  }
})();
