/* The pipeline board's drag and drop (SortableJS, vendored under static/vendor/). Loaded by the
   pipeline page only; no inline script. A card dropped on another stage moves at once
   (optimistic); the server's answer is the board again, or a refusal - then the card goes back
   where it was and the message is shown. Each card's own form ("Move") is the keyboard's and
   the no-script way; it posts to the same address. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function toast(text) {
    if (window.kontorToast) window.kontorToast(text);  // static/app.js
  }

  function statusMessage(status) {
    var el = document.getElementById("toast");
    return (el && (el.dataset["msg" + status] || el.dataset.msgError)) || ("Error " + status);
  }

  function putBack(evt) {
    var from = evt.from;
    var ref = from.children[evt.oldIndex] || null;
    from.insertBefore(evt.item, ref);
  }

  function move(evt) {
    if (evt.from === evt.to) return;
    var card = evt.item;
    var board = document.getElementById("pipeline-board");
    var body = new FormData();
    body.append("stage_id", evt.to.dataset.stage);
    body.append("version", card.dataset.version);
    board.setAttribute("aria-busy", "true");
    fetch(card.dataset.move, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(), "HX-Request": "true", "HX-Target": "pipeline-board"}
    }).then(function (resp) {
      return resp.text().then(function (text) {
        if (resp.ok) {
          board.outerHTML = text;
          init();
          return;
        }
        putBack(evt);
        var message = null;
        try { message = JSON.parse(text).error.message; } catch (e) { message = null; }
        toast(message || statusMessage(resp.status));
      });
    }, function () {
      putBack(evt);
      var el = document.getElementById("toast");
      toast((el && el.dataset.msgOffline) || "No connection.");
    }).then(function () {
      var now = document.getElementById("pipeline-board");
      if (now) now.removeAttribute("aria-busy");
    });
  }

  function init() {
    if (typeof Sortable === "undefined") return;
    document.querySelectorAll("#pipeline-board .pipeline-cards").forEach(function (list) {
      Sortable.create(list, {
        group: "pipeline", draggable: ".pipeline-card", filter: "select, button, input, label",
        preventOnFilter: false, forceFallback: true, fallbackTolerance: 4, onEnd: move
      });
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
