// Kanban: a card dropped on another column, or sent there with its "移动到…" menu, POSTs
// {id, status} to the board's move URL. A column that needs a reason (data-reason-label)
// first asks for it in a small dialog and sends it as "reason". A refusal puts the card
// back and shows the server's message; counts and ¥ sums follow the card.
(function () {
  "use strict";
  var board = document.getElementById("kanban");
  if (!board) { return; }
  var token = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  var dragged = null;
  var pending = null;  // the move waiting for its reason
  var modalEl = document.getElementById("kanban-reason");
  var modal = modalEl && window.bootstrap ? new window.bootstrap.Modal(modalEl) : null;

  function yuan(value) {
    return "¥" + value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function bump(status, delta, amount) {
    var badge = board.querySelector('[data-count="' + status + '"]');
    /* a capped count ("10,000+") stays as it is */
    if (badge && !/\+$/.test(badge.textContent)) {
      badge.textContent = String(parseInt(badge.textContent, 10) + delta);
    }
    var sum = board.querySelector('[data-sum="' + status + '"]');
    if (sum && amount) {
      var now = parseFloat(sum.textContent.replace(/[¥,\s]/g, "")) || 0;
      sum.textContent = yuan(Math.round((now + delta * amount) * 100) / 100);
    }
  }
  function place(card, column) {
    column.prepend(card);
    var status = column.getAttribute("data-status");
    card.querySelectorAll("[data-move-to]").forEach(function (item) {
      item.classList.toggle("d-none", item.getAttribute("data-move-to") === status);
    });
  }
  function showError(message) {
    var box = document.getElementById("kanban-error");
    box.textContent = message;
    box.classList.remove("d-none");
  }
  function send(card, from, column, reason) {
    var amount = parseFloat(card.getAttribute("data-amount") || "0") || 0;
    place(card, column);
    bump(from.getAttribute("data-status"), -1, amount);
    bump(column.getAttribute("data-status"), 1, amount);
    var body = { id: card.getAttribute("data-id"), status: column.getAttribute("data-status") };
    if (reason !== undefined) { body.reason = reason; }
    fetch(board.getAttribute("data-move-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.ok) { document.getElementById("kanban-error").classList.add("d-none"); return null; }
      return r.json().catch(function () { return { error: { message: "操作失败" } }; });
    }).then(function (err) {
      if (!err) { return; }
      place(card, from);
      bump(column.getAttribute("data-status"), -1, amount);
      bump(from.getAttribute("data-status"), 1, amount);
      showError(err.error.message);
    });
  }
  function move(card, column) {
    var from = card.parentElement;
    if (!column || column === from) { return; }
    var reasonLabel = column.getAttribute("data-reason-label");
    if (reasonLabel && modal) {
      pending = { card: card, from: from, column: column };
      document.getElementById("kanban-reason-title").textContent = column.getAttribute("data-label");
      document.getElementById("kanban-reason-label").textContent = reasonLabel;
      document.getElementById("kanban-reason-text").value = "";
      modal.show();
      return;
    }
    send(card, from, column);
  }
  if (modalEl) {
    modalEl.addEventListener("shown.bs.modal", function () {
      document.getElementById("kanban-reason-text").focus();
    });
    modalEl.addEventListener("hidden.bs.modal", function () { pending = null; });
    document.getElementById("kanban-reason-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var reason = document.getElementById("kanban-reason-text").value.trim();
      if (!reason || !pending) { return; }
      var p = pending;
      pending = null;
      modal.hide();
      send(p.card, p.from, p.column, reason);
    });
  }
  board.addEventListener("click", function (e) {
    var item = e.target.closest("[data-move-to]");
    if (!item) { return; }
    var card = item.closest(".kanban-card");
    var column = board.querySelector('.kanban-column[data-status="' + item.getAttribute("data-move-to") + '"]');
    move(card, column);
  });
  board.addEventListener("dragstart", function (e) {
    var card = e.target.closest(".kanban-card");
    if (!card) { return; }
    dragged = card;
    e.dataTransfer.setData("text/plain", card.getAttribute("data-id"));
  });
  board.addEventListener("dragover", function (e) {
    if (e.target.closest(".kanban-column")) { e.preventDefault(); }
  });
  board.addEventListener("drop", function (e) {
    var column = e.target.closest(".kanban-column");
    if (!column || !dragged) { return; }
    e.preventDefault();
    var card = dragged;
    dragged = null;
    move(card, column);
  });
})();
