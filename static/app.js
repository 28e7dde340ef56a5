/* Kontor's own script: htmx glue, pickers, live search, dialogs. No inline scripts anywhere
   (the Content-Security-Policy forbids them), so everything is wired here by delegation. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Every htmx request carries the CSRF token in a header.
  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers["X-CSRFToken"] = csrfToken();
  });

  // Failed htmx requests: tell the user instead of silently doing nothing.
  function toast(text) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
    clearTimeout(el._timer);
    el._timer = setTimeout(function () { el.hidden = true; }, 6000);
  }
  window.kontorToast = toast;  // (static/pipeline.js tells its refusals the same way)
  document.addEventListener("htmx:responseError", function (evt) {
    var status = evt.detail.xhr.status;
    var el = document.getElementById("toast");
    var msg = el && (el.dataset["msg" + status] || el.dataset.msgError);
    toast(msg || ("Error " + status));
  });
  document.addEventListener("htmx:sendError", function () {
    var el = document.getElementById("toast");
    toast((el && el.dataset.msgOffline) || "No connection.");
  });
  // 422 answers carry the form again with its error messages: swap them in. So do 4xx answers
  // to a boosted link or form (a form with errors, a wrong login, the 404 page): they are whole
  // pages, shown as they would be without JavaScript instead of a toast.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    if (status === 422 || (evt.detail.boosted && status >= 400 && status < 500)) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
    // A boosted page replaces only <body> and the title. Carry over what changes in <head> and
    // <html>: the CSRF token (a new one after logging in) and the language.
    if (evt.detail.boosted && evt.detail.shouldSwap) {
      var page = evt.detail.serverResponse || "";
      var token = /<meta name="csrf-token" content="([^"]*)"/.exec(page);
      var lang = /<html lang="([^"]*)"/.exec(page);
      var meta = document.querySelector('meta[name="csrf-token"]');
      if (token && meta) meta.content = token[1];
      if (lang) document.documentElement.lang = lang[1];
    }
  });

  // ---- the menu of the top bar on narrow screens (app.css folds the links into it) ----------
  function setMenu(open) {
    var toggle = document.querySelector("[data-nav-toggle]");
    var menu = document.getElementById("nav-menu");
    if (!toggle || !menu) return;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("open", open);
  }
  document.addEventListener("click", function (evt) {
    var toggle = evt.target.closest("[data-nav-toggle]");
    if (toggle) {
      setMenu(toggle.getAttribute("aria-expanded") !== "true");
    } else if (!evt.target.closest("#nav-menu")) {
      setMenu(false);
    }
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var menu = document.getElementById("nav-menu");
    if (menu && menu.classList.contains("open") && menu.contains(document.activeElement)) {
      setMenu(false);
      document.querySelector("[data-nav-toggle]").focus();
    }
  });

  // ---- link pickers (company / person of a record) --------------------------------------
  document.addEventListener("click", function (evt) {
    var option = evt.target.closest("[data-pick-id]");
    if (option) {
      var picker = option.closest("[data-picker]");
      setPicked(picker, option.dataset.pickId);
      var q = picker.querySelector("[data-picker-q]");
      q.value = option.dataset.pickName;
      picker.querySelector(".picker-options").innerHTML = "";
      var picked = picker.querySelector(".picked");
      if (picked) picked.remove();
      q.focus();
      return;
    }
    var clear = evt.target.closest("[data-picker-clear]");
    if (clear) {
      var p = clear.closest("[data-picker]");
      setPicked(p, "");
      var pk = p.querySelector(".picked");
      if (pk) pk.remove();
    }
  });
  document.addEventListener("input", function (evt) {
    if (evt.target.matches("[data-picker-q]") && evt.target.value.trim() === "") {
      var picker = evt.target.closest("[data-picker]");
      if (!picker.querySelector(".picked")) setPicked(picker, "");
    }
  });
  // the hidden id says "change" (bubbling) when it changes: the new-record form's group field
  // listens for the company picked (records/_group_field.html)
  function setPicked(picker, value) {
    var input = picker.querySelector("[data-picker-id]");
    if (input.value === value) return;
    input.value = value;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }
  document.addEventListener("keydown", function (evt) {
    var inOptions = evt.target.closest(".picker-options");
    if (evt.target.matches("[data-picker-q]") && evt.key === "ArrowDown") {
      var first = evt.target.closest("[data-picker]").querySelector("[data-pick-id]");
      if (first) { first.focus(); evt.preventDefault(); }
    } else if (inOptions && (evt.key === "ArrowDown" || evt.key === "ArrowUp")) {
      moveFocus(inOptions.querySelectorAll("[data-pick-id]"), evt.target, evt.key === "ArrowDown" ? 1 : -1);
      evt.preventDefault();
    }
  });

  function moveFocus(items, current, step) {
    items = Array.prototype.slice.call(items);
    var i = items.indexOf(current) + step;
    if (i >= 0 && i < items.length) items[i].focus();
  }

  // ---- live search in the header ---------------------------------------------------------
  document.addEventListener("keydown", function (evt) {
    var live = document.getElementById("search-live");
    if (!live) return;
    var input = document.getElementById("global-search");
    var hits = live.querySelectorAll(".live-hit");
    if (evt.target === input) {
      if (evt.key === "ArrowDown" && hits.length) { hits[0].focus(); evt.preventDefault(); }
      if (evt.key === "Escape") { live.innerHTML = ""; }
    } else if (live.contains(evt.target)) {
      if (evt.key === "ArrowDown" || evt.key === "ArrowUp") {
        var arr = Array.prototype.slice.call(hits);
        var i = arr.indexOf(evt.target);
        if (evt.key === "ArrowUp" && i === 0) { input.focus(); }
        else { moveFocus(hits, evt.target, evt.key === "ArrowDown" ? 1 : -1); }
        evt.preventDefault();
      }
      if (evt.key === "Escape") { live.innerHTML = ""; input.focus(); }
    }
  });
  document.addEventListener("click", function (evt) {
    var live = document.getElementById("search-live");
    if (live && !evt.target.closest(".search-box")) live.innerHTML = "";
  });

  // ---- the dialog (confirmations, bulk actions) -----------------------------------------
  // Content swapped into #dialog opens it as a modal: focus moves in, Esc closes it.
  // An answer that empties the dialog (a finished action) closes it.
  // Only once htmx has settled the new content: before, its forms are not wired up yet, and an
  // Enter on the focused button would send the form the browser's way (a page load, no action).
  document.addEventListener("htmx:afterSettle", function (evt) {
    var dialog = document.getElementById("dialog");
    if (evt.detail.target !== dialog) return;
    if (dialog.innerHTML.trim()) {
      if (!dialog.open) dialog.showModal();
      var focus = dialog.querySelector("[autofocus]") || dialog.querySelector("input, select, button");
      if (focus) focus.focus();
    } else if (dialog.open) {
      dialog.close();
    }
  });
  // Enter on a select or checkbox of a dialog's form sends the form, as it does in a text field.
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Enter" || !evt.target.closest("#dialog form")) return;
    if (evt.target.matches("select, input[type=checkbox], input[type=radio]")) {
      evt.preventDefault();
      evt.target.form.requestSubmit();
    }
  });
  document.addEventListener("click", function (evt) {
    if (evt.target.closest("[data-dialog-close]")) {
      var dialog = document.getElementById("dialog");
      dialog.close();
    }
  });
  // The element that opened the dialog gets the focus back when it closes (Esc, Cancel, done) -
  // or, when a menu holding it has folded, that menu's summary. Not when the answer moved the
  // focus on by itself (a message after a finished action), nor when the opener is gone.
  var dialogOpener = null;
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var dialog = document.getElementById("dialog");
    if (dialog && evt.detail.target === dialog && !dialog.open) dialogOpener = evt.detail.elt;
  });
  function giveFocusBack(el) {
    if (!el || !el.isConnected) return;
    var active = document.activeElement;
    if (active && active !== document.body && !active.closest("#dialog")) return;
    if (!shown(el)) {
      var details = el.closest("details");
      el = details && details.querySelector("summary");
    }
    if (el && shown(el)) el.focus();
  }
  // The content of a closed <details> has boxes but is not rendered: checkVisibility knows.
  function shown(el) {
    return el.checkVisibility ? el.checkVisibility() : el.getClientRects().length > 0;
  }
  // The close event comes later (queued): if the dialog was opened again meanwhile, keep its content.
  document.addEventListener("close", function (evt) {
    if (evt.target.id === "dialog" && !evt.target.open) {
      evt.target.innerHTML = "";
      giveFocusBack(dialogOpener);
      dialogOpener = null;
    }
  }, true);

  // ---- long actions sent the browser's way (import, undo): once, and visibly running ----------
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.matches || !form.matches("form[data-submit-once]")) return;
    if (form.dataset.sending) { evt.preventDefault(); return; }
    form.dataset.sending = "1";
    form.setAttribute("aria-busy", "true");
    // disabled after this event: the browser still sends the button that was pressed
    setTimeout(function () {
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit], button:not([type])"), function (b) {
        b.disabled = true;
        b.setAttribute("aria-busy", "true");
      });
    }, 0);
  });

  // ---- focus after a form was sent ------------------------------------------------------------
  // A form that comes back with errors: the first invalid field gets the focus (not the first
  // field). A note that was added: the note field again, ready for the next one.
  function focusFirstInvalid(root) {
    var bad = root.querySelector("form [aria-invalid=true]");
    if (bad) { bad.focus(); return true; }
    return false;
  }
  document.addEventListener("htmx:afterSettle", function (evt) {
    var target = evt.detail.target;
    if (!target || !target.querySelector || (evt.detail.requestConfig || {}).verb !== "post") return;
    if (target.id === "dialog") return;  // the dialog focuses its own fields
    if (focusFirstInvalid(target)) return;
    if (target.id === "notes") {
      var body = target.querySelector(".note-form textarea");
      if (body) body.focus();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var main = document.getElementById("main");
    if (main) focusFirstInvalid(main);
  });

  // ---- list selection (bulk actions) -----------------------------------------------------
  // The selection lives in the #bulk form as hidden inputs: ids (ticked rows, from any page) or
  // scope=all ("all matching the filter": the server applies the filter). #bulk sits outside
  // #record-list, so paging keeps it; a list with another filter key clears it.
  function bulkForm() { return document.getElementById("bulk"); }
  function idBox(form) { return form.querySelector("[data-bulk-ids]"); }
  function scopeInput(form) { return form.querySelector("input[name=scope]"); }
  function selectedIds(form) {
    return Array.prototype.map.call(idBox(form).querySelectorAll("input"), function (i) { return i.value; });
  }
  function setSelected(form, id, on) {
    var existing = idBox(form).querySelector('input[value="' + id + '"]');
    if (on && !existing) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "ids";
      input.value = id;
      idBox(form).appendChild(input);
    } else if (!on && existing) {
      existing.remove();
    }
  }
  function clearSelection(form) {
    idBox(form).innerHTML = "";
    scopeInput(form).value = "ids";
  }
  function rowBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#record-list input[data-select-id]"));
  }
  // Leaving "all matching": keep what is ticked on this page.
  function toPageSelection(form) {
    if (scopeInput(form).value !== "all") return;
    clearSelection(form);
    rowBoxes().forEach(function (b) { if (b.checked) setSelected(form, b.value, true); });
  }
  function syncSelection() {
    var form = bulkForm();
    if (!form) return;
    var state = document.querySelector("#record-list [data-list-state]");
    var key = state ? state.dataset.filterKey : "";
    if (form.dataset.filterKey !== key) {
      clearSelection(form);
      form.dataset.filterKey = key;
    }
    var all = scopeInput(form).value === "all";
    var ids = selectedIds(form);
    var boxes = rowBoxes();
    var ticked = 0;
    boxes.forEach(function (b) {
      b.checked = all || ids.indexOf(b.value) >= 0;
      if (b.checked) ticked++;
    });
    var page = document.querySelector("#record-list input[data-select-page]");
    if (page) {
      page.disabled = boxes.length === 0;
      page.checked = boxes.length > 0 && ticked === boxes.length;
      page.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    var selectAll = document.querySelector("#record-list [data-select-all]");
    if (selectAll) selectAll.hidden = all;
    var lang = document.documentElement.lang || undefined;
    var text;
    if (all && state && state.dataset.selectable === "1") text = form.dataset.msgAllOne;
    else if (all) text = form.dataset.msgAll.replace("{n}", state ? state.dataset.selectable : "");
    else if (ids.length === 1) text = form.dataset.msgOne;
    else if (ids.length) text = form.dataset.msgMany.replace("{n}", ids.length.toLocaleString(lang));
    else text = form.dataset.msgNone;
    form.querySelector("[data-bulk-count]").textContent = text;
    form.querySelector("[data-bulk-controls]").hidden = !(all || ids.length);
    form.classList.toggle("active", all || ids.length > 0);
    form.hidden = !all && !ids.length && !boxes.length;  // nothing here one could select
  }
  document.addEventListener("change", function (evt) {
    var form = bulkForm();
    if (!form) return;
    if (evt.target.matches("#record-list input[data-select-id]")) {
      toPageSelection(form);
      setSelected(form, evt.target.value, evt.target.checked);
      syncSelection();
    } else if (evt.target.matches("#record-list input[data-select-page]")) {
      toPageSelection(form);
      var on = evt.target.checked;
      rowBoxes().forEach(function (b) { setSelected(form, b.value, on); });
      syncSelection();
    }
  });
  document.addEventListener("click", function (evt) {
    var form = bulkForm();
    if (!form) return;
    if (evt.target.closest("[data-select-all]")) {
      clearSelection(form);
      scopeInput(form).value = "all";
      syncSelection();
    } else if (evt.target.closest("[data-bulk-clear]")) {
      clearSelection(form);
      syncSelection();
    } else if (evt.target.closest(".bulk-actions button")) {
      evt.target.closest("details").open = false;
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    syncSelection();
    var fresh = document.querySelector("#bulk-message [data-fresh]");
    if (fresh) {
      fresh.removeAttribute("data-fresh");
      fresh.focus();
    }
  });
  document.addEventListener("DOMContentLoaded", syncSelection);
})();

// ---- quick date choices (a task's edit form: tomorrow, next week) ------------------------
(function () {
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-set-date]");
    if (!button) return;
    var input = document.getElementById(button.dataset.target);
    if (!input) return;
    input.value = button.dataset.setDate;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();

// ---- focus after an entry was swapped in place (a note's edit form, the saved note) -----------
// An element marked data-focus-after-swap takes the focus once (an edit form: its first invalid
// field, else its first field), so the keyboard stays where the user was working.
(function () {
  document.addEventListener("htmx:afterSettle", function () {
    var el = document.querySelector("[data-focus-after-swap]");
    if (!el) return;
    el.removeAttribute("data-focus-after-swap");
    var inner = el.querySelector("[aria-invalid=true]") || el.querySelector("textarea, input:not([type=hidden]), select");
    (inner || el).focus();
  });
})();
