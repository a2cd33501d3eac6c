// Suggestions for a text input from the server, for pickers over catalogues too large for a
// <select> (the CSP forbids inline scripts, so pages declare it with data attributes):
//   <input list="x-list" data-suggest="/stock/parts/suggest"> <datalist id="x-list">
// Typing asks the URL for ?q=<text> (after a pause) and fills the datalist with the answer's
// {"items": [{"value", "label"}]}; what the user types or scans is submitted as it is.
(function () {
  "use strict";
  document.querySelectorAll("input[data-suggest]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list") || "");
    var url = input.getAttribute("data-suggest");
    var timer = null, seq = 0;
    if (!list || !url) { return; }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (!q) { return; }
      timer = setTimeout(function () {
        var mine = ++seq;
        fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(q),
              {headers: {"Accept": "application/json"}, credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : {items: []}; })
          .then(function (data) {
            if (mine !== seq) { return; }  // an older answer: a newer one is on its way
            list.textContent = "";
            (data.items || []).forEach(function (item) {
              var option = document.createElement("option");
              option.value = item.value;
              option.label = item.label || item.value;
              list.appendChild(option);
            });
          })
          .catch(function () {});
      }, 200);
    });
  });
})();
