(function () {
  "use strict";
  // The page's live part: the countdown, and the order's status as paygate records it, from the
  // status stream, or by polling when the stream is missing or fails. Success is shown only when
  // paygate says "paid": nothing in the browser can make it appear.
  var root = document.getElementById("checkout");
  if (!root) return;
  var d = root.dataset;
  var statusEl = root.querySelector("[data-testid=status]");
  var clock = root.querySelector("[data-testid=countdown]");
  var pay = document.getElementById("pay");
  var forms = root.querySelectorAll("form.simulate");
  var jsapiButton = document.getElementById("jsapi-pay");
  var deadline = Date.now() + Number(d.remaining) * 1000;
  var status = d.recorded;
  var done = false;
  var source = null;
  var timer = null;
  var polling = false;
  // Not "failed": a payer whose payment failed may try again and pay the same order.
  var FINAL = { paid: 1, closed: 1, refunded: 1 };
  // An order nobody pays is closed soon after it expires; a forgotten tab stops asking then.
  var GIVE_UP_MS = 10 * 60 * 1000;

  function pageState() {
    if (status === "paid" || status === "failed" || status === "refunded") return status;
    var late = Date.now() >= deadline;
    if (status === "closed") return late ? "expired" : "closed";
    return late ? "expired" : "pending";
  }

  function show(state) {
    statusEl.setAttribute("data-status", state);
    statusEl.textContent = statusEl.getAttribute("data-text-" + state) || state;
    if (pay) pay.hidden = state !== "pending";
  }

  function finish() {
    done = true;
    clearTimeout(timer);
    if (source) source.close();
    if (status === "paid" && d.returnUrl) {
      var note = document.getElementById("returning");
      if (note) note.hidden = false;
      setTimeout(function () { window.location.assign(d.returnUrl); }, 1500);
    }
  }

  function apply(answer) {
    if (done || !answer || typeof answer.status !== "string") return;
    status = answer.status;
    show(pageState());
    if (FINAL[status]) finish();
  }

  function startPolling() {
    if (polling) return;
    polling = true;
    poll();
  }

  function poll() {
    timer = null;
    if (done || !window.fetch) return;
    if (Date.now() > deadline + GIVE_UP_MS) return;
    fetch(d.statusUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(apply, function () {})
      .then(function () { if (!done) timer = setTimeout(poll, 2000); });
  }

  function listen() {
    if (!window.EventSource) return startPolling();
    source = new EventSource(d.eventsUrl);
    source.addEventListener("status", function (e) {
      try { apply(JSON.parse(e.data)); } catch (ignored) { /* a garbled event changes nothing */ }
    });
    source.onerror = function () {
      if (source) source.close();
      source = null;
      if (!done) startPolling();
    };
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
    if (clock) clock.textContent = pad(Math.floor(left / 60)) + ":" + pad(left % 60);
    if (done) return;
    // The clock reads 00:00 for the last second before the deadline: expired only once it passed
    // (a stream sends nothing at expiry, so the page must notice by itself).
    if (Date.now() >= deadline) show(pageState());
    // Wake just after the next whole second, so the clock does not drift.
    else setTimeout(tick, ((deadline - Date.now()) % 1000) + 20);
  }

  Array.prototype.forEach.call(window.fetch ? forms : [], function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = form.querySelector("button");
      if (button) button.disabled = true;
      // The sandbox pays through the simulator; what the page then shows comes from paygate.
      fetch(form.action, { method: "POST", headers: { Accept: "application/json" } })
        .then(function () {}, function () {})
        .then(function () { if (button) button.disabled = false; });
    });
  });

  // Inside WeChat: hand the JSAPI parameters to WeChat's own pay sheet. Whatever it answers
  // ("ok" included) is not a payment: the page waits for paygate to record one.
  function payInWechat() {
    var bridge = window.WeixinJSBridge;
    if (!bridge || !d.jsapi || done) return;
    if (jsapiButton) jsapiButton.disabled = true;
    var params;
    try { params = JSON.parse(d.jsapi); } catch (ignored) { return; }
    bridge.invoke("getBrandWCPayRequest", params, function () {
      if (jsapiButton) jsapiButton.disabled = false;
      startPolling();
    });
  }
  if (d.jsapi) {
    if (jsapiButton) jsapiButton.addEventListener("click", payInWechat);
    if (window.WeixinJSBridge) payInWechat();
    else document.addEventListener("WeixinJSBridgeReady", payInWechat, false);
  }

  show(pageState());
  if (FINAL[status]) finish();
  else { tick(); listen(); }
})();
