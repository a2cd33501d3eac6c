/* The engineer's phone page offline: actions taken without a connection are queued in
   IndexedDB and sent to /service/sync/batch when the connection returns; conflicts (the
   ticket was transferred meanwhile …) are shown. Check-in/out forms take the location. */
(function () {
  "use strict";
  var DB = "tandem-service", STORE = "queue";
  var token = (document.querySelector("meta[name=csrf-token]") || {}).content || "";
  var statusBox = document.getElementById("offline-status");
  var conflicts = document.getElementById("sync-conflicts");

  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "id" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function run(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var req = work(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(req ? req.result : undefined); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }
  function queued() { return run("readonly", function (s) { return s.getAll(); }); }
  function put(item) { return run("readwrite", function (s) { return s.put(item); }); }
  function drop(id) { return run("readwrite", function (s) { return s.delete(id); }); }

  function show(text) {
    if (!statusBox) return;
    statusBox.textContent = text;
    statusBox.classList.toggle("d-none", !text);
  }
  function refreshStatus() {
    return queued().then(function (items) {
      var offline = !navigator.onLine;
      var label = statusBox ? statusBox.dataset : {};
      if (items.length) show((offline ? label.offline : label.pending).replace("{n}", items.length));
      else show(offline ? label.offlineEmpty : "");
    });
  }
  function position() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve(null); return; }
      navigator.geolocation.getCurrentPosition(
        function (p) { resolve({ lat: p.coords.latitude, lng: p.coords.longitude }); },
        function () { resolve(null); }, { timeout: 5000, maximumAge: 60000 });
    });
  }
  function setField(form, name, value) {
    var input = form.querySelector("input[name=" + name + "]");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden"; input.name = name; form.appendChild(input);
    }
    input.value = value;
  }

  /* A photo chosen offline: shrunk on the phone (longest edge 1600 px, JPEG) so that the
     queue and the batch stay small; the server checks and re-encodes it again. */
  function shrink(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        var scale = Math.min(1, 1600 / Math.max(img.naturalWidth, img.naturalHeight));
        var canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
        canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        resolve(canvas.toDataURL("image/jpeg", 0.85));
      };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("image")); };
      img.src = url;
    });
  }
  function queuePhotos(form) {
    var input = form.querySelector("input[type=file]");
    var files = input ? Array.prototype.slice.call(input.files || []) : [];
    var phase = (form.querySelector("[name=phase]") || {}).value || "other";
    var caption = (form.querySelector("[name=caption]") || {}).value || "";
    var chain = Promise.resolve();
    files.forEach(function (file, i) {
      chain = chain.then(function () { return shrink(file); }).then(function (dataUrl) {
        var action = {
          id: Date.now() + "-" + i + "-" + Math.random().toString(36).slice(2),
          type: "photo", ticket_id: Number(form.dataset.ticket),
          payload: { photo: dataUrl, phase: phase, caption: caption, at: new Date().toISOString() }
        };
        if (form.dataset.assignee) action.assignee_id = Number(form.dataset.assignee);
        return put(action);
      });
    });
    return chain.then(function () {
      if (input) input.value = "";
      var card = form.closest(".today-ticket");
      if (card) card.classList.add("border-warning");
      return refreshStatus();
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-offline]")) return;
    var geo = form.hasAttribute("data-geo");
    var always = form.hasAttribute("data-always-queue");  /* sent with the batch, online too */
    if (navigator.onLine && !geo && !always) return;
    event.preventDefault();
    if (form.dataset.offline === "photo") { queuePhotos(form); return; }
    (geo ? position() : Promise.resolve(null)).then(function (pos) {
      if (pos) { setField(form, "lat", pos.lat); setField(form, "lng", pos.lng); }
      if (navigator.onLine && !always) { form.submit(); return; }
      var payload = {};
      new FormData(form).forEach(function (value, key) {
        if (key !== "csrf_token" && key !== "next") payload[key] = value;
      });
      payload.at = new Date().toISOString();
      var action = {
        id: Date.now() + "-" + Math.random().toString(36).slice(2),
        type: form.dataset.offline, ticket_id: Number(form.dataset.ticket), payload: payload
      };
      if (form.dataset.assignee) action.assignee_id = Number(form.dataset.assignee);
      put(action).then(function () {
        var card = form.closest(".today-ticket");
        if (card) card.classList.add("border-warning");
        if (always) form.reset();
        return refreshStatus();
      }).then(function () { if (navigator.onLine) flush(); });
    });
  });

  var flushing = false;
  function flush() {
    if (flushing || !navigator.onLine) return;
    flushing = true;
    queued().then(function (items) {
      if (!items.length) { flushing = false; return refreshStatus(); }
      return fetch(window.location.pathname.replace(/\/today.*$/, "/sync/batch"), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify({ actions: items })
      }).then(function (response) { return response.json(); }).then(function (data) {
        var results = data.results || [];
        var done = results.map(function (r) {
          if (r.status !== "applied" && conflicts) {
            var li = document.createElement("li");
            li.className = "list-group-item list-group-item-warning small sync-conflict";
            li.textContent = (r.ticket_no ? r.ticket_no + "：" : "") + (r.message || r.status);
            conflicts.appendChild(li);
            conflicts.classList.remove("d-none");
          }
          return drop(r.id);
        });
        return Promise.all(done).then(function () {
          var applied = results.filter(function (r) { return r.status === "applied"; }).length;
          document.body.dataset.synced = String(applied);
          show(statusBox ? statusBox.dataset.synced.replace("{n}", applied) : "");
        });
      });
    }).catch(function () { /* still offline: keep the queue */ }).then(function () {
      flushing = false;
    });
  }

  window.addEventListener("online", flush);
  window.addEventListener("offline", refreshStatus);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/service/sw.js", { scope: "/service/" }).catch(function () {});
  }
  if (navigator.onLine) flush(); else refreshStatus();
})();
