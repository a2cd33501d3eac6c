// Charts (core/components/chart.html): ECharts is loaded once, from our own static folder,
// when the page has a chart; each chart's option comes from its JSON data island (the CSP
// forbids inline scripts). Axes marked tandemMoney show ¥ amounts; charts follow resizes.
(function () {
  "use strict";
  var boxes = document.querySelectorAll(".chart-canvas[data-chart]");
  if (!boxes.length) { return; }
  var money = new Intl.NumberFormat("zh-CN", { style: "currency", currency: "CNY", maximumFractionDigits: 0 });
  function short(v) {
    if (Math.abs(v) >= 10000) { return "¥" + (v / 10000).toLocaleString("zh-CN", { maximumFractionDigits: 1 }) + "万"; }
    return money.format(v);
  }
  function draw() {
    var charts = [];
    boxes.forEach(function (box) {
      var island = document.getElementById(box.getAttribute("data-chart"));
      if (!island) { return; }
      var option = JSON.parse(island.textContent);
      box.style.height = (parseInt(box.getAttribute("data-height"), 10) || 320) + "px";
      if (option.yAxis && option.yAxis.tandemMoney) {
        option.yAxis.axisLabel = { formatter: short };
        option.tooltip = option.tooltip || {};
        option.tooltip.valueFormatter = function (v) { return money.format(v); };
      }
      var chart = window.echarts.init(box, null, { renderer: "svg" });
      chart.setOption(option);
      box.setAttribute("data-drawn", "1");
      charts.push(chart);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (window.echarts) { draw(); return; }
  var script = document.createElement("script");
  script.src = boxes[0].getAttribute("data-echarts-src");
  script.onload = draw;
  document.head.appendChild(script);
})();
