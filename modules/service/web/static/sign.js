/* The customer's signature on the engineer's phone: draw with a finger or the mouse; the
   PNG goes in the form's hidden "signature" field on submit. */
(function () {
  "use strict";
  var canvas = document.getElementById("signature-pad");
  if (!canvas) return;
  var form = canvas.closest("form");
  var ctx = canvas.getContext("2d");
  var drawing = false, drawn = false;
  function size() {
    var ratio = window.devicePixelRatio || 1;
    canvas.width = canvas.clientWidth * ratio;
    canvas.height = canvas.clientHeight * ratio;
    ctx.scale(ratio, ratio);
    ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.strokeStyle = "#111";
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
  }
  function point(e) {
    var r = canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }
  canvas.addEventListener("pointerdown", function (e) {
    drawing = true; canvas.setPointerCapture(e.pointerId);
    var p = point(e); ctx.beginPath(); ctx.moveTo(p.x, p.y);
  });
  canvas.addEventListener("pointermove", function (e) {
    if (!drawing) return;
    var p = point(e); ctx.lineTo(p.x, p.y); ctx.stroke(); drawn = true;
  });
  ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
    canvas.addEventListener(name, function () { drawing = false; });
  });
  document.getElementById("signature-clear").addEventListener("click", function () {
    drawn = false; ctx.setTransform(1, 0, 0, 1, 0, 0); size();
  });
  form.addEventListener("submit", function () {
    form.querySelector("input[name=signature]").value = drawn ? canvas.toDataURL("image/png") : "";
  });
  size();
})();
