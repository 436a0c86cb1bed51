// Inbox real time (SPEC I3): one EventSource on the console's event stream (inbox/realtime.py lists the payloads).
// Include as <script src=".../realtime.js" data-events-url="{% url 'console:inbox_events' %}" defer>, optionally with
// data-after="<realtime cursor at render>" so nothing between the page's render and the stream's start is lost.
// Each event is re-dispatched on document.body twice: a CustomEvent "tidings:realtime" (detail = payload) and
// htmx.trigger(body, "rt:" + payload.type, payload), so elements can say hx-trigger="rt:message from:body".
// document.body.dataset.realtime is "open" while connected, "connecting" when reconnecting takes over 3 s, and
// "closed" after the stream was refused (a new one is tried after 2 s, doubling up to a minute).
(function () {
  "use strict";

  var script = document.currentScript || document.querySelector("script[data-events-url]");
  var baseUrl = script && script.dataset.eventsUrl;
  if (!baseUrl || !window.EventSource) return;

  var lastId = script.dataset.after || "";
  var retryDelay = 2000;

  function urlAfter(id) {
    return id ? baseUrl + (baseUrl.indexOf("?") < 0 ? "?" : "&") + "after=" + encodeURIComponent(id) : baseUrl;
  }

  function dispatch(payload) {
    document.body.dispatchEvent(new CustomEvent("tidings:realtime", {detail: payload}));
    if (window.htmx) window.htmx.trigger(document.body, "rt:" + payload.type, payload);
  }

  function connect() {
    var source = new EventSource(urlAfter(lastId));
    var slow = null;  // shows "connecting" only if reconnecting takes a while (a stream ends every few minutes)
    source.onopen = function () {
      clearTimeout(slow);
      slow = null;
      retryDelay = 2000;
      document.body.dataset.realtime = "open";
    };
    source.onmessage = function (event) {
      if (event.lastEventId) lastId = event.lastEventId;
      var payload;
      try { payload = JSON.parse(event.data); } catch (err) { return; }
      if (payload && payload.type) dispatch(payload);
    };
    source.onerror = function () {
      // While the stream is merely interrupted the browser reconnects by itself (sending Last-Event-ID). A refused
      // stream (signed out, server down behind a proxy) closes for good: start a new one later, after the last id.
      if (source.readyState !== EventSource.CLOSED) {
        if (slow === null) slow = setTimeout(function () { document.body.dataset.realtime = "connecting"; }, 3000);
        return;
      }
      clearTimeout(slow);
      document.body.dataset.realtime = "closed";
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 60000);
    };
  }

  if (document.body) connect();
  else document.addEventListener("DOMContentLoaded", connect);
})();
