// The navbar's global search: results as the user types (grouped by kind), reachable by
// keyboard (↓/↑ move, Enter opens, Esc closes); "/" anywhere focuses the box.
(function () {
  "use strict";
  var form = document.getElementById("global-search-form");
  var input = document.getElementById("global-search");
  var menu = document.getElementById("global-search-results");
  if (!form || !input || !menu) { return; }
  var timer = null, seq = 0;

  function typing(el) {
    if (!el) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "/" && !ev.ctrlKey && !ev.metaKey && !ev.altKey && !typing(ev.target)) {
      ev.preventDefault();
      input.focus();
      input.select();
    }
  });

  function close() {
    menu.classList.remove("show");
    input.setAttribute("aria-expanded", "false");
  }
  function open() {
    menu.classList.add("show");
    input.setAttribute("aria-expanded", "true");
  }
  function items() { return Array.prototype.slice.call(menu.querySelectorAll("a.dropdown-item")); }

  function render(data) {
    menu.textContent = "";
    data.groups.forEach(function (group) {
      var head = document.createElement("h6");
      head.className = "dropdown-header";
      head.textContent = group.label;
      menu.appendChild(head);
      group.hits.forEach(function (hit) {
        var a = document.createElement("a");
        a.className = "dropdown-item";
        a.href = hit.url;
        a.setAttribute("role", "option");
        a.setAttribute("data-searcher", group.id);
        var title = document.createElement("div");
        title.className = "text-truncate";
        title.textContent = hit.title;
        a.appendChild(title);
        if (hit.detail) {
          var detail = document.createElement("div");
          detail.className = "small text-body-secondary text-truncate";
          detail.textContent = hit.detail;
          a.appendChild(detail);
        }
        menu.appendChild(a);
      });
    });
    if (!data.groups.length) {
      var none = document.createElement("span");
      none.className = "dropdown-item-text text-body-secondary small";
      none.textContent = form.getAttribute("data-empty-label");
      menu.appendChild(none);
    }
    var divider = document.createElement("hr");
    divider.className = "dropdown-divider";
    menu.appendChild(divider);
    var all = document.createElement("a");
    all.className = "dropdown-item small";
    all.href = form.action + "?q=" + encodeURIComponent(data.q);
    all.textContent = form.getAttribute("data-all-label");
    menu.appendChild(all);
    open();
  }

  function lookup() {
    var q = input.value.trim();
    if (!q) { close(); return; }
    var mine = ++seq;
    fetch(form.getAttribute("data-suggest-url") + "?q=" + encodeURIComponent(q),
          { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && mine === seq) { render(data); } })
      .catch(function () { /* the form still submits to the results page */ });
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(lookup, 200);
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowDown") {
      var list = items();
      if (list.length) { ev.preventDefault(); open(); list[0].focus(); }
    } else if (ev.key === "Escape") {
      close();
    }
  });
  menu.addEventListener("keydown", function (ev) {
    var list = items(), i = list.indexOf(document.activeElement);
    if (ev.key === "ArrowDown") {
      ev.preventDefault();
      if (i < list.length - 1) { list[i + 1].focus(); }
    } else if (ev.key === "ArrowUp") {
      ev.preventDefault();
      if (i > 0) { list[i - 1].focus(); } else { input.focus(); }
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      close();
      input.focus();
    }
  });
  document.addEventListener("click", function (ev) {
    if (!form.contains(ev.target)) { close(); }
  });
  input.addEventListener("focus", function () {
    if (menu.children.length && input.value.trim()) { open(); }
  });
})();
