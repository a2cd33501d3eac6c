// Kanban drag and drop: a card dropped on another column POSTs {id, status} to the board's
// move URL; a refusal puts the card back and shows the server's message.
(function () {
  "use strict";
  var board = document.getElementById("kanban");
  if (!board) { return; }
  var token = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  var dragged = null;
  var origin = null;
  function bump(status, delta) {
    var badge = board.querySelector('[data-count="' + status + '"]');
    if (badge) { badge.textContent = String(parseInt(badge.textContent, 10) + delta); }
  }
  board.addEventListener("dragstart", function (e) {
    var card = e.target.closest(".kanban-card");
    if (!card) { return; }
    dragged = card;
    origin = card.parentElement;
    e.dataTransfer.setData("text/plain", card.getAttribute("data-id"));
  });
  board.addEventListener("dragover", function (e) {
    if (e.target.closest(".kanban-column")) { e.preventDefault(); }
  });
  board.addEventListener("drop", function (e) {
    var column = e.target.closest(".kanban-column");
    if (!column || !dragged || column === origin) { return; }
    e.preventDefault();
    var card = dragged;
    var from = origin;
    column.prepend(card);
    bump(from.getAttribute("data-status"), -1);
    bump(column.getAttribute("data-status"), 1);
    fetch(board.getAttribute("data-move-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ id: card.getAttribute("data-id"), status: column.getAttribute("data-status") })
    }).then(function (r) {
      if (r.ok) { document.getElementById("kanban-error").classList.add("d-none"); return null; }
      return r.json().catch(function () { return { error: { message: "操作失败" } }; });
    }).then(function (err) {
      if (!err) { return; }
      from.prepend(card);
      bump(column.getAttribute("data-status"), -1);
      bump(from.getAttribute("data-status"), 1);
      var box = document.getElementById("kanban-error");
      box.textContent = err.error.message;
      box.classList.remove("d-none");
    });
  });
})();
