/* Tidings storefront script (SPEC D5): visitor id, e-commerce events, social identity binding.
 *
 *   <script>
 *     window.tidings = window.tidings || function () { (tidings.q = tidings.q || []).push(arguments); };
 *     tidings('init', {workspace: 'acme', memberId: '…', email: '…', phone: '…', name: '…'});
 *     tidings('track', 'view_product', {id: 'P1', name: 'Oolong', price: 120});
 *   </script>
 *   <script async src="https://<tidings>/widget/v1/tidings.js"></script>
 *
 *   tidings('bind', {method: 'line_code'});  // or whatsapp_code, messenger_ref, instagram_ref, phone (SMS code)
 *
 * Events wait in localStorage until the server acknowledges them, each with an event_id the server deduplicates
 * on, so a batch can be re-sent safely (timer, retry with backoff, sendBeacon on pagehide, next page load).
 */
(function (window, document) {
  'use strict';
  if (window.tidings && window.tidings.loaded) return;

  var STRINGS = /*@STRINGS@*/{};
  var BASE = /*@BASE@*/'';
  var TYPES = ['view_product', 'add_to_cart', 'remove_from_cart', 'checkout', 'purchase'];
  var MAX_BATCH = 100, MAX_QUEUE = 500, FLUSH_DELAY = 1000, MAX_BACKOFF = 60000;
  var COOKIE = '_tidings_vid', YEAR = 31536000;

  var script = document.currentScript;
  if (script && script.src) BASE = script.src.replace(/^(https?:\/\/[^\/]+).*$/, '$1');

  var state = {workspace: '', identity: null, memo: [], sending: false, timer: null, failures: 0};

  // --- storage (localStorage when the browser allows it, else this page's memory) ---------------------------
  var memory = {};
  function load(key, fallback) {
    try { var raw = window.localStorage.getItem(key); return raw === null ? fallback : JSON.parse(raw); }
    catch (e) { return key in memory ? memory[key] : fallback; }
  }
  function save(key, value) {
    try { window.localStorage.setItem(key, JSON.stringify(value)); } catch (e) { memory[key] = value; }
  }
  function qKey() { return '_tidings_q:' + state.workspace; }
  function idKey() { return '_tidings_id:' + state.workspace; }

  // --- the visitor id: a random first-party cookie for a year ------------------------------------------------
  function randomId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    var out = '';
    for (var i = 0; i < bytes.length; i++) out += ('0' + bytes[i].toString(16)).slice(-2);
    return out;
  }
  function visitorId() {
    var match = /(?:^|;\s*)_tidings_vid=([A-Za-z0-9_-]{8,64})/.exec(document.cookie);
    var id = match ? match[1] : randomId();
    // Written again each page: the year counts from the last visit.
    document.cookie = COOKIE + '=' + id + '; path=/; max-age=' + YEAR + '; SameSite=Lax' +
      (window.location.protocol === 'https:' ? '; Secure' : '');
    return id;
  }
  var VISITOR = visitorId();

  // --- talking to Tidings ------------------------------------------------------------------------------------
  function request(method, path, body, keepalive) {
    var init = {method: method, mode: 'cors', credentials: 'omit', keepalive: !!keepalive};
    if (body !== undefined) {
      // text/plain keeps it a "simple" CORS request: no preflight round trip.
      init.body = JSON.stringify(body);
      init.headers = {'Content-Type': 'text/plain;charset=UTF-8'};
    }
    return window.fetch(BASE + path, init);
  }

  function eventId() { return VISITOR.slice(0, 8) + '-' + Date.now().toString(36) + '-' + randomId().slice(0, 12); }

  function enqueue(type, properties) {
    if (TYPES.indexOf(type) < 0) {
      if (window.console) console.warn('tidings: unknown event type "' + type + '"; use ' + TYPES.join(', '));
      return;
    }
    var event = {event_id: eventId(), type: type, properties: properties || {},
                 occurred_at: new Date().toISOString()};
    if (!state.workspace) { state.memo.push(event); return; }
    var queue = load(qKey(), []);
    queue.push(event);
    save(qKey(), queue.slice(-MAX_QUEUE));
    schedule(FLUSH_DELAY);
  }

  function schedule(delay) {
    if (state.timer) return;
    state.timer = window.setTimeout(function () { state.timer = null; flush(false); }, delay);
  }

  function identifyPending() {
    if (!state.identity) return null;
    return JSON.stringify(state.identity) === JSON.stringify(load(idKey(), null)) ? null : state.identity;
  }

  function acknowledge(batch, identity) {
    var sent = {};
    for (var i = 0; i < batch.length; i++) sent[batch[i].event_id] = true;
    save(qKey(), load(qKey(), []).filter(function (e) { return !sent[e.event_id]; }));
    if (identity) save(idKey(), identity);
  }

  function flush(leaving) {
    if (!state.workspace || (state.sending && !leaving)) return;
    var batch = load(qKey(), []).slice(0, MAX_BATCH);
    var identity = identifyPending();
    if (!batch.length && !identity) return;
    var body = {workspace: state.workspace, visitor_id: VISITOR, events: batch, sent_at: new Date().toISOString()};
    if (identity) body.identify = identity;
    if (leaving) {
      // The page is going away: hand the batch to the browser. It stays queued (no answer can reach us); the
      // next page sends it again and the server's dedupe drops the repeat.
      var blob = new Blob([JSON.stringify(body)], {type: 'text/plain;charset=UTF-8'});
      if (!(navigator.sendBeacon && navigator.sendBeacon(BASE + '/widget/v1/collect', blob))) {
        request('POST', '/widget/v1/collect', body, true).catch(function () {});
      }
      return;
    }
    state.sending = true;
    request('POST', '/widget/v1/collect', body).then(function (response) {
      state.sending = false;
      var s = response.status;
      // Stored (2xx), or refused for good (4xx but timeout / rate limit): either way do not send these again.
      if (response.ok || (s >= 400 && s < 500 && s !== 408 && s !== 429)) {
        if (s === 422 && window.console) response.clone().json().then(function (j) {
          console.warn('tidings: some events were refused', j.details);
        }).catch(function () {});
        acknowledge(batch, identity);
        state.failures = 0;
        if (load(qKey(), []).length) schedule(0);
      } else {
        retry();
      }
    }, function () { state.sending = false; retry(); });
  }

  function retry() {
    state.failures += 1;
    schedule(Math.min(MAX_BACKOFF, 1000 * Math.pow(2, state.failures)));
  }

  // --- click-through from a Tidings message: ?_tid=… binds this browser to the contact who received it --------
  function trackedLink() {
    var match = /[?&]_tid=([^&#]+)/.exec(window.location.search);
    if (!match) return;
    request('POST', '/bind/v1/tracked', {workspace: state.workspace, visitor_id: VISITOR,
                                        tid: decodeURIComponent(match[1])}).catch(function () {});
    if (window.history && window.history.replaceState) {
      // Drop it from the address bar so a shared copy of the URL does not carry it.
      var search = window.location.search.replace(/([?&])_tid=[^&#]*&?/, '$1').replace(/[?&]$/, '');
      window.history.replaceState(window.history.state, '', window.location.pathname + search + window.location.hash);
    }
  }

  // --- commands ----------------------------------------------------------------------------------------------
  function clean(config) {
    var out = {}, keys = {memberId: 'member_id', email: 'email', phone: 'phone', name: 'name'}, any = false;
    for (var k in keys) if (config[k]) { out[keys[k]] = String(config[k]); any = true; }
    return any ? out : null;
  }

  function init(config) {
    config = config || {};
    if (!config.workspace) { if (window.console) console.warn('tidings: init needs {workspace}'); return; }
    var first = !state.workspace;
    state.workspace = String(config.workspace);
    state.lang = config.lang;
    var identity = clean(config);
    if (identity) state.identity = identity;
    if (state.memo.length) {
      save(qKey(), load(qKey(), []).concat(state.memo).slice(-MAX_QUEUE));
      state.memo = [];
    }
    if (first) trackedLink();
    schedule(identity ? 0 : FLUSH_DELAY);
  }

  var commands = {
    init: init,
    identify: function (config) { var id = clean(config || {}); if (id) { state.identity = id; schedule(0); } },
    track: enqueue,
    flush: function () { flush(false); },
    bind: function (options) { bind(options || {}); },
    visitorId: function (callback) { if (typeof callback === 'function') callback(VISITOR); }
  };

  function tidings(name) {
    var command = commands[name];
    if (!command) { if (window.console) console.warn('tidings: unknown command "' + name + '"'); return; }
    return command.apply(null, Array.prototype.slice.call(arguments, 1));
  }

  // --- binding: code, deep link, QR, and polling until the chat side confirms --------------------------------
  function text(key) {
    var lang = (state.lang || navigator.language || 'en').toLowerCase();
    var table = lang.indexOf('zh') === 0
      ? (/(hans|cn|sg)/.test(lang) ? STRINGS['zh-hans'] : STRINGS['zh-hant']) : STRINGS.en;
    return (table && table[key]) || (STRINGS.en && STRINGS.en[key]) || key;
  }

  function style() {
    if (document.getElementById('tdg-style')) return;
    var css = '.tdg-back{position:fixed;inset:0;background:rgba(15,23,42,.55);display:flex;align-items:center;' +
      'justify-content:center;z-index:2147483000;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}' +
      '.tdg-card{background:#fff;color:#0f172a;border-radius:16px;box-shadow:0 20px 50px rgba(0,0,0,.3);' +
      'width:min(360px,calc(100vw - 32px));padding:24px;text-align:center;position:relative}' +
      '.tdg-card h2{font-size:18px;margin:0 0 6px}.tdg-card p{margin:6px 0;color:#475569}' +
      '.tdg-code{font:700 30px/1.2 ui-monospace,Menlo,monospace;letter-spacing:.18em;margin:10px 0;color:#06c755}' +
      '.tdg-qr{width:180px;height:180px;margin:8px auto;display:block}' +
      '.tdg-open{display:inline-block;background:#06c755;color:#fff;border:0;border-radius:999px;padding:10px 22px;' +
      'font-weight:600;text-decoration:none;margin-top:6px;cursor:pointer}' +
      '.tdg-close{position:absolute;top:8px;right:12px;border:0;background:none;font-size:24px;color:#94a3b8;' +
      'cursor:pointer}.tdg-status{font-size:13px;margin-top:12px!important}.tdg-done{color:#06c755!important;' +
      'font-weight:600}.tdg-error{color:#dc2626!important}' +
      '.tdg-field{display:block;box-sizing:border-box;width:100%;margin:10px 0 4px;padding:10px 12px;font:inherit;' +
      'font-size:17px;border:1px solid #cbd5e1;border-radius:10px;text-align:center;letter-spacing:.04em}' +
      '.tdg-link{border:0;background:none;color:#2563eb;font:inherit;font-size:13px;margin:10px 6px 0;cursor:pointer}' +
      '.tdg-card button.tdg-open{font:inherit;font-weight:600}.tdg-open:disabled{opacity:.6}' +
      '.tdg-link:disabled{color:#94a3b8;cursor:default}.tdg-card [hidden]{display:none}';
    var el = document.createElement('style');
    el.id = 'tdg-style';
    el.appendChild(document.createTextNode(css));
    document.head.appendChild(el);
  }

  function element(tag, cls, content) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    if (content) el.textContent = content;
    return el;
  }

  // The modal every binding step shows in: a card with a title and a status line, closed by ×, the backdrop or shut().
  function dialog(title) {
    style();
    var back = element('div', 'tdg-back'), card = element('div', 'tdg-card');
    card.setAttribute('role', 'dialog');
    card.setAttribute('aria-modal', 'true');
    card.setAttribute('data-tidings-bind', '');
    var close = element('button', 'tdg-close', '\u00d7');
    close.setAttribute('aria-label', text('close'));
    var status = element('p', 'tdg-status', text('starting'));
    card.appendChild(close); card.appendChild(element('h2', '', title)); card.appendChild(status);
    back.appendChild(card);
    document.body.appendChild(back);
    var ui = {card: card, status: status, done: false, poll: null, tick: null};
    ui.shut = function () {
      ui.done = true;
      window.clearTimeout(ui.poll); window.clearInterval(ui.tick);
      if (back.parentNode) back.parentNode.removeChild(back);
    };
    ui.say = function (message, cls) {
      status.textContent = message;
      status.className = 'tdg-status' + (cls ? ' ' + cls : '');
    };
    ui.bound = function (options, channels) {
      card.setAttribute('data-bound', '');
      if (typeof options.onBound === 'function') options.onBound(channels || []);
      window.setTimeout(ui.shut, 2500);
    };
    close.onclick = ui.shut;
    back.onclick = function (e) { if (e.target === back) ui.shut(); };
    return ui;
  }

  function post(path, body) {
    return request('POST', path, body).then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    });
  }

  function bind(options) {
    if (!state.workspace) { if (window.console) console.warn('tidings: call init before bind'); return; }
    if (options.method === 'phone') return bindPhone(options);
    var ui = dialog(text('title')), card = ui.card, status = ui.status;
    var member = options.memberId || (state.identity && state.identity.member_id) || '';
    var body = {workspace: state.workspace, visitor_id: VISITOR, method: options.method || 'line_code'};
    if (member) body.member_id = String(member);
    post('/bind/v1/start', body).then(function (result) {
      if (ui.done) return;
      if (!result.ok) throw new Error(result.data && result.data.message);
      var data = result.data, channel = data.account && data.account.channel;
      var hint = element('p', '', text(data.code ? 'send_code' : 'open_chat'));
      card.insertBefore(hint, status);
      if (data.code) card.insertBefore(element('div', 'tdg-code', data.code), status);
      if (data.url) {
        var qr = qrSvg(data.url);
        if (qr) { qr.setAttribute('class', 'tdg-qr'); card.insertBefore(qr, status); }
        var open = element('a', 'tdg-open', text('open'));
        open.href = data.url; open.target = '_blank'; open.rel = 'noopener';
        card.insertBefore(open, status);
      }
      status.textContent = text('waiting');
      var expires = data.expires_at ? Date.parse(data.expires_at) : Date.now() + 15 * 60000;
      function check() {
        if (ui.done) return;
        if (Date.now() > expires) { ui.say(text('expired'), 'tdg-error'); return; }
        request('GET', '/bind/v1/status?workspace=' + encodeURIComponent(state.workspace) + '&visitor_id=' +
                encodeURIComponent(VISITOR)).then(function (r) { return r.json(); }).then(function (s) {
          if (ui.done) return;
          // Bound on this chat's channel (a binding by another way, e.g. phone, does not end this one).
          if (s && s.bound && (!channel || (s.channels || []).indexOf(channel) >= 0)) {
            ui.say(text('bound'), 'tdg-done');
            ui.bound(options, s.channels);
          } else {
            ui.poll = window.setTimeout(check, 2000);
          }
        }, function () { ui.poll = window.setTimeout(check, 4000); });
      }
      ui.poll = window.setTimeout(check, 2000);
    }).catch(function (error) {
      ui.say((error && error.message) || text('failed'), 'tdg-error');
    });
  }

  // --- binding by phone: a code by SMS, typed back here ------------------------------------------------------
  function input(type, label, autocomplete) {
    var el = element('input', 'tdg-field');
    el.type = type; el.placeholder = label; el.autocomplete = autocomplete;
    el.setAttribute('aria-label', label);
    return el;
  }
  function button(label, cls, type) { var el = element('button', cls, label); el.type = type || 'button'; return el; }

  function bindPhone(options) {
    var ui = dialog(text('phone_title')), card = ui.card;
    var hint = element('p', '', text('phone_hint'));
    var phoneForm = element('form'), phone = input('tel', text('phone_label'), 'tel');
    var send = button(text('send'), 'tdg-open', 'submit');
    phoneForm.appendChild(phone); phoneForm.appendChild(send);
    var codeForm = element('form'), code = input('text', text('code_label'), 'one-time-code');
    code.inputMode = 'numeric'; code.maxLength = 6;
    var verify = button(text('verify'), 'tdg-open', 'submit');
    var resend = button(text('resend'), 'tdg-link'), change = button(text('change'), 'tdg-link');
    codeForm.appendChild(code); codeForm.appendChild(verify); codeForm.appendChild(element('br'));
    codeForm.appendChild(resend); codeForm.appendChild(change);
    codeForm.hidden = true;
    [hint, phoneForm, codeForm].forEach(function (el) { card.insertBefore(el, ui.status); });
    ui.say('');
    var number = '';

    function countdown(seconds) {
      window.clearInterval(ui.tick);
      var until = Date.now() + seconds * 1000;
      function show() {
        var left = Math.ceil((until - Date.now()) / 1000);
        resend.disabled = left > 0;
        resend.textContent = text('resend') + (left > 0 ? ' (' + left + ')' : '');
        if (left <= 0) window.clearInterval(ui.tick);
      }
      show();
      ui.tick = window.setInterval(show, 1000);
    }
    function failed(result) { ui.say((result.data && result.data.message) || text('failed'), 'tdg-error'); }
    function offline() { send.disabled = verify.disabled = false; ui.say(text('failed'), 'tdg-error'); }

    function sendCode() {
      send.disabled = resend.disabled = true;
      ui.say(text('sending'));
      post('/bind/v1/phone/send', {workspace: state.workspace, visitor_id: VISITOR, phone: phone.value})
        .then(function (result) {
          if (ui.done) return;
          send.disabled = false;
          if (!result.ok) { resend.disabled = false; failed(result); return; }
          number = result.data.phone;
          hint.textContent = text('code_sent').replace('{phone}', number);
          phoneForm.hidden = true; codeForm.hidden = false;
          code.value = ''; code.focus();
          ui.say('');
          countdown(result.data.resend_after || 60);
        }, offline);
    }
    phoneForm.onsubmit = function (e) { e.preventDefault(); sendCode(); };
    resend.onclick = sendCode;
    change.onclick = function () {
      codeForm.hidden = true; phoneForm.hidden = false;
      hint.textContent = text('phone_hint'); ui.say(''); phone.focus();
    };
    codeForm.onsubmit = function (e) {
      e.preventDefault();
      verify.disabled = true;
      ui.say(text('checking'));
      post('/bind/v1/phone/verify', {workspace: state.workspace, visitor_id: VISITOR, phone: number, code: code.value})
        .then(function (result) {
          if (ui.done) return;
          verify.disabled = false;
          if (!result.ok) { failed(result); code.select(); return; }
          codeForm.hidden = true;
          hint.textContent = number;
          ui.say(text('phone_bound'), 'tdg-done');
          ui.bound(options, result.data.channels);
        }, offline);
    };
    phone.focus();
  }

  // --- QR code (byte mode, error correction M, versions 1-10), drawn as SVG: no dependency --------------------
  var QR_BLOCKS = [null, [10, 1, 16, 0, 0], [16, 1, 28, 0, 0], [26, 1, 44, 0, 0], [18, 2, 32, 0, 0],
    [24, 2, 43, 0, 0], [16, 4, 27, 0, 0], [18, 4, 31, 0, 0], [22, 2, 38, 2, 39], [22, 3, 36, 2, 37],
    [26, 4, 43, 1, 44]]; // ec per block, blocks of group 1, their data codewords, same for group 2
  var QR_ALIGN = [null, [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46],
    [6, 28, 50]];

  function gfMul(x, y) {
    var z = 0;
    for (var i = 7; i >= 0; i--) { z = (z << 1) ^ ((z >>> 7) * 0x11d); z ^= ((y >>> i) & 1) * x; }
    return z;
  }
  function rsDivisor(degree) {
    var result = [], root = 1, i, j;
    for (i = 0; i < degree - 1; i++) result.push(0);
    result.push(1);
    for (i = 0; i < degree; i++) {
      for (j = 0; j < result.length; j++) {
        result[j] = gfMul(result[j], root);
        if (j + 1 < result.length) result[j] ^= result[j + 1];
      }
      root = gfMul(root, 2);
    }
    return result;
  }
  function rsRemainder(data, divisor) {
    var result = divisor.map(function () { return 0; });
    data.forEach(function (b) {
      var factor = b ^ result.shift();
      result.push(0);
      divisor.forEach(function (c, i) { result[i] ^= gfMul(c, factor); });
    });
    return result;
  }

  function qrMatrix(value) {
    var bytes = [], utf8 = unescape(encodeURIComponent(value)), i, v, spec, capacity;
    for (i = 0; i < utf8.length; i++) bytes.push(utf8.charCodeAt(i));
    for (v = 1; v <= 10; v++) {
      spec = QR_BLOCKS[v];
      capacity = spec[1] * spec[2] + spec[3] * spec[4];
      if (4 + (v < 10 ? 8 : 16) + bytes.length * 8 <= capacity * 8) break;
    }
    if (v > 10) return null;
    var bits = [];
    function put(val, len) { for (var k = len - 1; k >= 0; k--) bits.push((val >>> k) & 1); }
    put(4, 4); put(bytes.length, v < 10 ? 8 : 16);
    bytes.forEach(function (b) { put(b, 8); });
    put(0, Math.min(4, capacity * 8 - bits.length));
    while (bits.length % 8) bits.push(0);
    var data = [];
    for (i = 0; i < bits.length; i += 8) data.push(parseInt(bits.slice(i, i + 8).join(''), 2));
    for (i = 0; data.length < capacity; i++) data.push(i % 2 ? 0x11 : 0xec);
    // Split into blocks, add error correction, interleave.
    var blocks = [], ecBlocks = [], divisor = rsDivisor(spec[0]), at = 0, n;
    for (n = 0; n < spec[1] + spec[3]; n++) {
      var len = n < spec[1] ? spec[2] : spec[4];
      var block = data.slice(at, at + len);
      at += len;
      blocks.push(block);
      ecBlocks.push(rsRemainder(block, divisor));
    }
    var codewords = [];
    for (i = 0; i < Math.max(spec[2], spec[4]); i++) blocks.forEach(function (b) { if (i < b.length) codewords.push(b[i]); });
    for (i = 0; i < spec[0]; i++) ecBlocks.forEach(function (b) { codewords.push(b[i]); });

    var size = v * 4 + 17, grid = [], fixed = [], x, y;
    for (y = 0; y < size; y++) { grid.push([]); fixed.push([]); for (x = 0; x < size; x++) { grid[y].push(false); fixed[y].push(false); } }
    function set(cx, cy, dark) { grid[cy][cx] = dark; fixed[cy][cx] = true; }
    for (i = 0; i < size; i++) { set(6, i, i % 2 === 0); set(i, 6, i % 2 === 0); }
    [[3, 3], [size - 4, 3], [3, size - 4]].forEach(function (c) {
      for (var dy = -4; dy <= 4; dy++) for (var dx = -4; dx <= 4; dx++) {
        var d = Math.max(Math.abs(dx), Math.abs(dy)), px = c[0] + dx, py = c[1] + dy;
        if (px >= 0 && px < size && py >= 0 && py < size) set(px, py, d !== 2 && d !== 4);
      }
    });
    var align = QR_ALIGN[v], last = align.length - 1;
    align.forEach(function (ay, r) {
      align.forEach(function (ax, c) {
        if ((r === 0 && c === 0) || (r === 0 && c === last) || (r === last && c === 0)) return;
        for (var dy = -2; dy <= 2; dy++) for (var dx = -2; dx <= 2; dx++) set(ax + dx, ay + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
      });
    });
    function formatBits(mask) {
      var d = mask, rem = d; // level M is 00
      for (var k = 0; k < 10; k++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
      var f = ((d << 10) | rem) ^ 0x5412;
      function bit(k) { return ((f >>> k) & 1) !== 0; }
      for (k = 0; k <= 5; k++) set(8, k, bit(k));
      set(8, 7, bit(6)); set(8, 8, bit(7)); set(7, 8, bit(8));
      for (k = 9; k < 15; k++) set(14 - k, 8, bit(k));
      for (k = 0; k < 8; k++) set(size - 1 - k, 8, bit(k));
      for (k = 8; k < 15; k++) set(8, size - 15 + k, bit(k));
      set(8, size - 8, true);
    }
    formatBits(0);
    if (v >= 7) {
      var rem = v;
      for (i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
      var vb = (v << 12) | rem;
      for (i = 0; i < 18; i++) {
        var bit = ((vb >>> i) & 1) !== 0, a = size - 11 + i % 3, b = Math.floor(i / 3);
        set(a, b, bit); set(b, a, bit);
      }
    }
    // Data in the zigzag column pairs, right to left.
    var index = 0;
    for (var right = size - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5;
      for (var vert = 0; vert < size; vert++) for (var j = 0; j < 2; j++) {
        x = right - j;
        y = ((right + 1) & 2) === 0 ? size - 1 - vert : vert;
        if (!fixed[y][x] && index < codewords.length * 8) {
          grid[y][x] = ((codewords[index >>> 3] >>> (7 - (index & 7))) & 1) !== 0;
          index++;
        }
      }
    }
    var MASKS = [
      function (x, y) { return (x + y) % 2 === 0; }, function (x, y) { return y % 2 === 0; },
      function (x) { return x % 3 === 0; }, function (x, y) { return (x + y) % 3 === 0; },
      function (x, y) { return (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0; },
      function (x, y) { return x * y % 2 + x * y % 3 === 0; },
      function (x, y) { return (x * y % 2 + x * y % 3) % 2 === 0; },
      function (x, y) { return ((x + y) % 2 + x * y % 3) % 2 === 0; }];
    function applyMask(m) {
      for (var yy = 0; yy < size; yy++) for (var xx = 0; xx < size; xx++) if (!fixed[yy][xx] && MASKS[m](xx, yy)) grid[yy][xx] = !grid[yy][xx];
    }
    var best = 0, bestScore = Infinity;
    for (var m = 0; m < 8; m++) {
      applyMask(m); formatBits(m);
      var score = qrPenalty(grid, size);
      if (score < bestScore) { best = m; bestScore = score; }
      applyMask(m);
    }
    applyMask(best); formatBits(best);
    return grid;
  }

  function qrPenalty(grid, size) {
    var score = 0, dark = 0, x, y;
    function lines(f) { for (var i = 0; i < size; i++) { var line = []; for (var k = 0; k < size; k++) line.push(f(i, k)); score += linePenalty(line); } }
    lines(function (i, k) { return grid[i][k]; });
    lines(function (i, k) { return grid[k][i]; });
    for (y = 0; y < size; y++) for (x = 0; x < size; x++) {
      if (grid[y][x]) dark++;
      if (x < size - 1 && y < size - 1) {
        var c = grid[y][x];
        if (c === grid[y][x + 1] && c === grid[y + 1][x] && c === grid[y + 1][x + 1]) score += 3;
      }
    }
    var total = size * size;
    return score + (Math.ceil(Math.abs(dark * 20 - total * 10) / total) - 1) * 10;
  }
  function linePenalty(line) {
    var score = 0, run = 1, i;
    for (i = 1; i <= line.length; i++) {
      if (i < line.length && line[i] === line[i - 1]) { run++; continue; }
      if (run >= 5) score += run - 2;
      run = 1;
    }
    // Finder-like 1:1:3:1:1 with four light modules on one side.
    var padded = [false, false, false, false].concat(line, [false, false, false, false]);
    for (i = 0; i + 7 <= padded.length; i++) {
      if (padded[i] && !padded[i + 1] && padded[i + 2] && padded[i + 3] && padded[i + 4] && !padded[i + 5] && padded[i + 6]) {
        var before = i >= 4 && !padded[i - 1] && !padded[i - 2] && !padded[i - 3] && !padded[i - 4];
        var after = i + 11 <= padded.length && !padded[i + 7] && !padded[i + 8] && !padded[i + 9] && !padded[i + 10];
        if (before || after) score += 40;
      }
    }
    return score;
  }

  function qrSvg(value) {
    var grid = qrMatrix(value);
    if (!grid) return null;
    var size = grid.length, quiet = 4, path = '', NS = 'http://www.w3.org/2000/svg';
    for (var y = 0; y < size; y++) for (var x = 0; x < size; x++) if (grid[y][x]) path += 'M' + (x + quiet) + ' ' + (y + quiet) + 'h1v1h-1z';
    var svg = document.createElementNS(NS, 'svg'), bg = document.createElementNS(NS, 'rect'), p = document.createElementNS(NS, 'path');
    svg.setAttribute('viewBox', '0 0 ' + (size + 2 * quiet) + ' ' + (size + 2 * quiet));
    svg.setAttribute('shape-rendering', 'crispEdges');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', text('qr'));
    bg.setAttribute('width', '100%'); bg.setAttribute('height', '100%'); bg.setAttribute('fill', '#fff');
    p.setAttribute('d', path); p.setAttribute('fill', '#000');
    svg.appendChild(bg); svg.appendChild(p);
    return svg;
  }

  // --- start: replace the stub and run what the page queued before we loaded -----------------------------------
  var queued = (window.tidings && window.tidings.q) || [];
  tidings.loaded = true;
  tidings.visitorId = VISITOR;
  tidings._qr = qrMatrix; // for tests
  window.tidings = tidings;
  for (var i = 0; i < queued.length; i++) {
    try { tidings.apply(null, queued[i]); } catch (e) { if (window.console) console.error(e); }
  }
  window.addEventListener('pagehide', function () { flush(true); });
  document.addEventListener('visibilitychange', function () { if (document.visibilityState === 'hidden') flush(true); });
})(window, document);
