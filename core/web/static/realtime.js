// Live refresh: elements with data-live-models="crm_customer crm_opportunity" are refetched
// (the same URL, through the normal permission-checked view) when another channel changed
// one of those tables. Events carry only table, id and action.
(function () {
  "use strict";
  var live = document.querySelectorAll("[data-live-models]");
  if (!live.length || !window.EventSource) { return; }
  var wanted = {};
  live.forEach(function (el) {
    el.getAttribute("data-live-models").split(/\s+/).forEach(function (m) { if (m) { wanted[m] = true; } });
  });
  var timer = null;
  function refresh() {
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live-Refresh": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        live.forEach(function (el) {
          if (!el.id) { return; }
          var fresh = doc.getElementById(el.id);
          if (fresh) { el.innerHTML = fresh.innerHTML; el.dispatchEvent(new CustomEvent("tandem:refreshed", { bubbles: true })); }
        });
        document.body.setAttribute("data-live-refreshed", String(Date.now()));
      });
  }
  var source = new EventSource("/events/stream?models=" + Object.keys(wanted).join(","));
  source.addEventListener("change", function (e) {
    var event = JSON.parse(e.data);
    if (!wanted[event.model]) { return; }
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
})();
