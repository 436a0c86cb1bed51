// The inbox, kept live. realtime.js dispatches each server event as "tidings:realtime" on <body> (detail = payload:
// {type: "message"|"status"|"conversation", conversation, ...}); from those this script re-fetches the list
// (debounced), appends what is new to the open conversation, re-draws a message whose tick changed, refreshes the
// header, and tells the previous follower when someone took their conversation over.
(function () {
  "use strict";
  var root = document.querySelector("[data-inbox]");
  if (!root || !window.htmx) return;
  htmx.config.historyCacheSize = 0;  // back/forward reload the page: the columns are live, a snapshot would be stale
  htmx.config.refreshOnHistoryMiss = true;

  var me = root.getAttribute("data-me");
  var filters = document.querySelector("[data-inbox-filters]");
  var listBox = document.getElementById("inbox-list");
  var toastBox = document.querySelector("[data-inbox-toast]");
  var LIST_DELAY = 400;
  var baseTitle = document.title.split(" · ").slice(-2).join(" · ");  // "Inbox · Tidings"

  // Fill the screen under whatever sits above the inbox (top bar, a billing warning, a flash message).
  function fit() { root.style.setProperty("--inbox-top", Math.max(0, root.getBoundingClientRect().top + window.scrollY) + "px"); }
  fit();
  window.addEventListener("resize", fit);

  function t(key, values) {
    var text = root.getAttribute("data-t-" + key) || "";
    Object.keys(values || {}).forEach(function (name) { text = text.split("%(" + name + ")s").join(values[name]); });
    return text;
  }
  function openId() { return root.getAttribute("data-open") || ""; }
  function convo() { return document.querySelector("[data-conversation]"); }
  function thread() { return document.querySelector("[data-thread]"); }

  function toast(text) {
    if (!toastBox || !text) return;
    toastBox.textContent = text;
    toastBox.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { toastBox.hidden = true; }, 8000);
  }

  function getHtml(url) {
    return fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { var error = new Error("HTTP " + response.status); error.status = response.status; throw error; }
      return response.text();
    });
  }
  function fragment(html) {
    var box = document.createElement("template");
    box.innerHTML = html;
    return box.content;
  }

  // --- the list: one refresh at a time, coalescing the events of the next LIST_DELAY ms -------------------------
  var listTimer = null, listBusy = false, listAgain = false;
  function listQuery() {
    var params = new URLSearchParams(new FormData(filters));
    params.set("open", openId());
    params.set("live", "1");
    var rows = listBox.querySelector("[data-list]");
    if (rows) params.set("limit", rows.getAttribute("data-limit") || "50");
    return params.toString();
  }
  function refreshList() {
    listTimer = null;
    if (listBusy) { listAgain = true; return; }
    listBusy = true;
    var scroll = listBox.scrollTop;
    htmx.ajax("GET", root.getAttribute("data-list-url") + "?" + listQuery(), { target: listBox, swap: "innerHTML" })
      .then(function () { listBox.scrollTop = scroll; }, function () {})
      .then(function () {
        listBusy = false;
        if (listAgain) { listAgain = false; scheduleList(); }
      });
  }
  function scheduleList() { if (!listTimer) listTimer = setTimeout(refreshList, LIST_DELAY); }

  function markActive() {
    listBox.querySelectorAll(".conv").forEach(function (row) {
      var active = row.getAttribute("data-conversation-id") === openId();
      row.classList.toggle("active", active);
      if (active) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
    });
  }

  // --- the open conversation ----------------------------------------------------------------------------------
  function nearBottom(box) { return box.scrollHeight - box.scrollTop - box.clientHeight < 80; }
  function toBottom() { var box = thread(); if (box) box.scrollTop = box.scrollHeight; }
  function lastOf(selector, attribute) {
    var best = 0;
    (thread() || document).querySelectorAll(selector).forEach(function (el) {
      best = Math.max(best, parseInt(el.getAttribute(attribute), 10) || 0);
    });
    return best;
  }
  function lastDay() {
    var items = thread() ? thread().querySelectorAll("[data-day]") : [];
    return items.length ? items[items.length - 1].getAttribute("data-day") : "";
  }

  var sinceBusy = false, sinceAgain = false, statusPending = {};
  function fetchSince() {
    var box = thread(), c = convo();
    if (!box || !c) return;
    if (sinceBusy) { sinceAgain = true; return; }
    sinceBusy = true;
    var id = c.getAttribute("data-conversation");
    var url = c.getAttribute("data-thread-url") + "?after=" + lastOf("[data-message-id]", "data-message-id") +
      "&after_activity=" + lastOf("[data-activity-id]", "data-activity-id") + "&day=" + encodeURIComponent(lastDay());
    getHtml(url).then(function (html) {
      if (!convo() || convo().getAttribute("data-conversation") !== id) return;
      var parts = fragment(html);
      if (parts.querySelector("[data-gap]")) { reloadThread(); return; }
      var stick = nearBottom(box), added = [], inbound = false;
      Array.prototype.slice.call(parts.children).forEach(function (el) {
        var mid = el.getAttribute("data-message-id"), aid = el.getAttribute("data-activity-id");
        if (mid && box.querySelector('[data-message-id="' + mid + '"]')) return;
        if (aid && box.querySelector('[data-activity-id="' + aid + '"]')) return;
        if (el.hasAttribute("data-day-line") && box.querySelector('[data-day-line="' + el.getAttribute("data-day-line") + '"]')) return;
        if (el.classList.contains("msg-in")) inbound = true;
        box.appendChild(el);
        added.push(el);
      });
      if (!added.length) return;
      var empty = box.querySelector("[data-thread-empty]");
      if (empty) empty.remove();
      added.forEach(function (el) { htmx.process(el); });
      if (inbound && c.getAttribute("data-channel") === "line") inferLineReads(box);
      if (stick) toBottom(); else showPill(true);
    }).catch(function (error) { if (error.status === 404) gone(); }).then(function () {
      sinceBusy = false;
      Object.keys(statusPending).forEach(function (id) {
        if (thread() && thread().querySelector('[data-message-id="' + id + '"]')) {
          delete statusPending[id];
          refreshMessage(id);
        }
      });
      if (sinceAgain) { sinceAgain = false; fetchSince(); }
    });
  }

  // LINE reports no reads: once the customer answers, what we delivered before counts as read (as in the original).
  function inferLineReads(box) {
    var template = document.querySelector("template[data-tick-inferred]");
    if (!template) return;
    box.querySelectorAll('.msg-out[data-status="sent"], .msg-out[data-status="delivered"]').forEach(function (msg) {
      var tick = msg.querySelector("[data-tick]");
      if (!tick) return;
      tick.replaceWith(template.content.firstElementChild.cloneNode(true));
      msg.setAttribute("data-status", "read");
    });
  }

  function reloadThread() {
    var c = convo();
    if (!c) return;
    getHtml(c.getAttribute("data-thread-url")).then(function (html) {
      thread().innerHTML = html;
      htmx.process(thread());
      toBottom();
    }).catch(function (error) { if (error.status === 404) gone(); });
  }

  function refreshMessage(messageId) {
    var c = convo();
    if (!c) return;
    var current = thread().querySelector('[data-message-id="' + messageId + '"]');
    // Not drawn yet (its "message" event's fetch is under way): draw it again once it is there.
    if (!current) { statusPending[messageId] = true; fetchSince(); return; }
    getHtml(c.getAttribute("data-thread-url") + "?only=" + messageId).then(function (html) {
      var fresh = fragment(html).querySelector("[data-message-id]");
      var now = thread().querySelector('[data-message-id="' + messageId + '"]');
      if (fresh && now) { now.replaceWith(fresh); htmx.process(fresh); }
    }).catch(function () {});
  }

  function refreshHeader() {
    var c = convo();
    if (!c) return Promise.resolve();
    return getHtml(c.getAttribute("data-header-url")).then(function (html) {
      var fresh = fragment(html).querySelector("[data-header]");
      var old = document.getElementById("convo-header");
      if (fresh && old) { old.replaceWith(fresh); htmx.process(fresh); startWindowClock(); }
    }).catch(function (error) { if (error.status === 404) gone(); });
  }

  function gone() {
    var c = convo();
    if (!c || c.classList.contains("is-gone")) return;
    c.classList.add("is-gone");
    notice(t("gone"), true);
  }
  function notice(text, append) {
    var box = document.querySelector("[data-convo-notice]");
    if (!box) return;
    box.textContent = append && !box.hidden && box.textContent ? box.textContent + " " + text : text;
    box.hidden = false;
  }

  var readTimer = null, readPending = false;
  function markRead() {
    var c = convo();
    if (!c) return;
    if (document.visibilityState !== "visible") { readPending = true; return; }
    readPending = false;
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      htmx.ajax("POST", c.getAttribute("data-read-url"), { swap: "none", target: c }).catch(function () {});
    }, 800);
  }
  document.addEventListener("visibilitychange", function () { if (readPending) markRead(); });

  function showPill(show) {
    var pill = document.querySelector("[data-new-pill]");
    if (pill) pill.hidden = !show;
  }

  // --- the 24-hour window counts down in the header -------------------------------------------------------------
  var windowTimer = null;
  function tickWindow() {
    var box = document.querySelector("[data-reply-window][data-ends-at]");
    if (!box) return;
    var left = Math.floor((new Date(box.getAttribute("data-ends-at")) - new Date()) / 60000);
    var label = box.querySelector("[data-reply-window-left]");
    if (left <= 0) {
      box.classList.add("closed");
      if (label) label.hidden = true;
      var closedText = box.querySelector("[data-reply-window-closed-text]");
      if (closedText) closedText.hidden = false;
      return;
    }
    if (label) label.textContent = t("window-left", { hours: Math.floor(left / 60), minutes: left % 60 });
    box.classList.toggle("soon", left < 120);
  }
  function startWindowClock() {
    clearInterval(windowTimer);
    if (document.querySelector("[data-reply-window][data-ends-at]")) windowTimer = setInterval(tickWindow, 30000);
  }

  // --- a conversation was opened (first load or an htmx swap of the middle column) ---------------------------
  function opened() {
    var c = convo();
    var id = c ? c.getAttribute("data-conversation") : "";
    root.setAttribute("data-open", id);
    root.classList.toggle("has-open", !!id);
    root.classList.remove("panel-open");
    var input = filters && filters.querySelector("[data-open-input]");
    if (input) input.value = id;
    markActive();
    var row = id && listBox.querySelector('.conv[data-conversation-id="' + id + '"]');
    if (row) {
      row.classList.remove("is-unread");
      var badge = row.querySelector("[data-unread]");
      if (badge) badge.remove();
    }
    var name = c && c.querySelector("[data-customer-name]");
    document.title = (name ? name.textContent + " · " : "") + baseTitle;
    showPill(false);
    toBottom();
    startWindowClock();
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "inbox-main") opened();
    if (target === listBox) markActive();
  });
  // A header action answered, or the composer sent something: show it now (the real-time event that follows finds
  // it already there).
  document.body.addEventListener("inbox:refresh", function () { fetchSince(); scheduleList(); });
  document.body.addEventListener("inbox:sent", function () { fetchSince(); scheduleList(); });

  // "Load earlier messages" keeps what the agent was reading where it was.
  var keepFromBottom = null;
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.hasAttribute && event.detail.elt.hasAttribute("data-earlier")) {
      var box = thread();
      keepFromBottom = box ? box.scrollHeight - box.scrollTop : null;
    }
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var box = thread();
    if (keepFromBottom === null || !box || !box.contains(event.detail.elt) && event.detail.target !== box) return;
    // The day line that opened the newer page repeats when the older page ends on the same day.
    var seen = {};
    box.querySelectorAll("[data-day-line]").forEach(function (line) {
      var day = line.getAttribute("data-day-line");
      if (seen[day]) line.remove(); else seen[day] = true;
    });
    box.scrollTop = box.scrollHeight - keepFromBottom;
    keepFromBottom = null;
  });

  // --- real-time events -----------------------------------------------------------------------------------------
  document.body.addEventListener("tidings:realtime", function (event) {
    var p = event.detail || {};
    var here = String(p.conversation) === openId() && !!convo();
    if (p.type === "resync") {  // the stream lost events: redraw what is shown
      scheduleList();
      if (convo()) { reloadThread(); refreshHeader(); }
    } else if (p.type === "message") {
      scheduleList();
      if (here) { fetchSince(); if (p.direction === "in") markRead(); }
    } else if (p.type === "status") {
      if (here) refreshMessage(p.message);
    } else if (p.type === "conversation") {
      scheduleList();
      if (p.activity === "taken_over" && p.previous_assignee != null && String(p.previous_assignee) === me) {
        tookOverFromMe(p, here);
      }
      if (here && p.activity !== "read") { refreshHeader(); fetchSince(); }
    }
  });

  function tookOverFromMe(p, here) {
    var name = p.actor_name || t("someone");
    if (here) {
      notice(t("took-over", { name: name }));
      toast(t("took-over", { name: name }));
      return;
    }
    var row = listBox.querySelector('.conv[data-conversation-id="' + p.conversation + '"]');
    var customer = row ? row.getAttribute("data-name") : "";
    toast(customer ? t("took-over-from-you", { name: name, customer: customer }) : t("took-over", { name: name }));
  }

  // Without the stream (a proxy that drops it, a network change), look for news every 15 seconds.
  var live = root.querySelector("[data-live]");
  function liveState() {
    var on = document.body.dataset.realtime === "open";
    if (live) { live.classList.toggle("on", on); live.textContent = on ? t("live") : t("offline"); }
    return on;
  }
  new MutationObserver(liveState).observe(document.body, { attributes: true, attributeFilter: ["data-realtime"] });
  liveState();
  setInterval(function () {
    if (liveState() || document.visibilityState !== "visible") return;
    scheduleList();
    if (convo()) fetchSince();
  }, 15000);

  // --- clicks: dialogs, the panel drawer, the back arrow, the "new messages" pill ------------------------------
  var waDialog = document.querySelector("[data-wa-dialog]");
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-wa-open], [data-dialog-close], [data-takeover-open], [data-panel-toggle], [data-back], [data-new-pill]") : null;
    if (!el) return;
    if (el.hasAttribute("data-wa-open") && waDialog) {
      waDialog.showModal();
      var phone = waDialog.querySelector("input[name=phone]");
      if (phone) phone.focus();
    } else if (el.hasAttribute("data-dialog-close")) {
      var dialog = el.closest("dialog");
      if (dialog) { event.preventDefault(); dialog.close(); }
    } else if (el.hasAttribute("data-takeover-open")) {
      var header = el.closest("[data-header]");
      var confirmBox = header && header.querySelector("[data-takeover-dialog]");
      if (confirmBox) confirmBox.showModal();
    } else if (el.hasAttribute("data-panel-toggle")) {
      root.classList.toggle("panel-open");
    } else if (el.hasAttribute("data-back") && window.matchMedia("(max-width: 899px)").matches) {
      event.preventDefault();
      root.classList.remove("has-open");
      root.setAttribute("data-open", "");
      var mainBox = document.getElementById("inbox-main");
      if (mainBox) mainBox.innerHTML = "";
      history.pushState({}, "", root.getAttribute("data-inbox-url") + "?" + new URLSearchParams(new FormData(filters)).toString());
      scheduleList();
    } else if (el.hasAttribute("data-new-pill")) {
      toBottom();
      showPill(false);
    }
  });
  document.addEventListener("scroll", function (event) {
    if (event.target === thread() && nearBottom(event.target)) showPill(false);
  }, true);
  // A takeover question the server asked after a click (someone followed it first) opens by itself.
  document.body.addEventListener("htmx:load", function (event) {
    var ask = event.detail.elt.querySelector ? event.detail.elt.querySelector("dialog[data-open-now]") : null;
    if (ask && !ask.open) ask.showModal();
  });

  // "/" searches, as in most inboxes.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.metaKey || event.ctrlKey || event.altKey) return;
    var tag = (document.activeElement && document.activeElement.tagName) || "";
    if (/INPUT|TEXTAREA|SELECT/.test(tag) || (document.activeElement && document.activeElement.isContentEditable)) return;
    var search = document.querySelector("[data-inbox-search]");
    if (search) { event.preventDefault(); search.focus(); }
  });

  if (convo()) opened();
})();
