/* The "Files" section of a record page (templates/files/_files.html): upload several files at
   once, from the file input or dropped onto the section, one request per file with a progress
   bar over all of them. No inline script; the CSRF token goes in the header like htmx's. Loaded
   by the section itself, so it guards against being run twice. */
(function () {
  "use strict";
  if (window.kontorFiles) return;
  window.kontorFiles = true;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function section() { return document.getElementById("files"); }

  function say(form, texts) {
    var status = form.querySelector("[data-files-status]");
    if (!status) return;
    status.textContent = "";
    texts.forEach(function (text) {
      var span = document.createElement("span");
      span.className = "error";
      span.textContent = text + " ";
      status.appendChild(span);
    });
  }

  function swapIn(html, errors) {
    var target = section();
    if (!target) return;
    target.innerHTML = html;
    if (window.htmx) window.htmx.process(target);
    var form = target.querySelector("[data-files-upload]");
    if (form && errors.length) say(form, errors);
  }

  function errorsOf(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    return Array.prototype.map.call(doc.querySelectorAll("[data-files-status] .error"), function (el) {
      return el.textContent.trim();
    });
  }

  function send(form, file, onProgress) {
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      var body = new FormData();
      body.append("files", file, file.name);
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.setRequestHeader("HX-Request", "true");
      xhr.setRequestHeader("HX-Target", "files");
      xhr.upload.addEventListener("progress", function (evt) {
        if (evt.lengthComputable) onProgress(evt.loaded);
      });
      xhr.addEventListener("load", function () { resolve({ status: xhr.status, html: xhr.responseText }); });
      xhr.addEventListener("error", function () { resolve({ status: 0, html: "" }); });
      xhr.send(body);
    });
  }

  function upload(form, files) {
    files = Array.prototype.slice.call(files || []);
    if (!files.length) return;
    var max = parseInt(form.dataset.maxBytes, 10) || 0;
    var errors = [];
    var wanted = files.filter(function (file) {
      if (max && file.size > max) {
        errors.push((form.dataset.msgTooLarge || "").replace("{name}", file.name));
        return false;
      }
      return true;
    });
    say(form, errors);
    if (!wanted.length) return;
    var total = wanted.reduce(function (sum, file) { return sum + file.size; }, 0) || 1;
    var done = 0;
    var bar = form.querySelector("[data-files-progress]");
    bar.hidden = false;
    bar.value = 0;
    form.setAttribute("aria-busy", "true");
    var last = null;
    wanted.reduce(function (chain, file) {
      return chain.then(function () {
        return send(form, file, function (loaded) {
          bar.value = Math.min(100, Math.round(100 * (done + loaded) / total));
        }).then(function (answer) {
          done += file.size;
          bar.value = Math.round(100 * done / total);
          if (answer.status === 200 || answer.status === 422) {
            last = answer.html;
            errors = errors.concat(errorsOf(answer.html));
          } else {
            errors.push(form.dataset.msgFailed || "Upload failed.");
          }
        });
      });
    }, Promise.resolve()).then(function () {
      form.removeAttribute("aria-busy");
      if (last !== null) swapIn(last, errors);
      else say(form, errors);
    });
  }

  document.addEventListener("submit", function (evt) {
    var form = evt.target.closest && evt.target.closest("[data-files-upload]");
    if (!form || !window.FormData) return;
    evt.preventDefault();
    upload(form, form.querySelector('input[type="file"]').files);
  });

  function dropZone(evt) {
    var target = section();
    return target && evt.target.closest && evt.target.closest("#files") === target ? target : null;
  }
  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (evt) {
      var zone = dropZone(evt);
      if (!zone || !evt.dataTransfer || Array.prototype.indexOf.call(evt.dataTransfer.types, "Files") < 0) return;
      evt.preventDefault();
      evt.dataTransfer.dropEffect = "copy";
      zone.classList.add("dropping");
    });
  });
  document.addEventListener("dragleave", function (evt) {
    var zone = dropZone(evt);
    if (zone && !zone.contains(evt.relatedTarget)) zone.classList.remove("dropping");
  });
  document.addEventListener("drop", function (evt) {
    var zone = dropZone(evt);
    if (!zone || !evt.dataTransfer || !evt.dataTransfer.files.length) return;
    evt.preventDefault();
    zone.classList.remove("dropping");
    var form = zone.querySelector("[data-files-upload]");
    if (form) upload(form, evt.dataTransfer.files);
  });
}());
