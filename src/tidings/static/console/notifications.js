// LINE notification shortcut: the SMS length and segment count on the settings form (the same rules as
// tidings.billing.sms.sms_segments, which the charge uses), the custom-scenario field, and the overview chart.
(function () {
  "use strict";

  // GSM 03.38: the basic alphabet costs 1 septet, the extension table 2 (escape + character).
  var GSM_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM_EXTENSION = "^{}\\[~]|€\f";
  var LIMITS = {"GSM-7": [160, 153], "UCS-2": [70, 67]};

  // Returns {encoding, units: [cost per character], segments}; an empty text is 0 segments.
  function smsSegments(text) {
    var chars = Array.from(text);  // code points: an emoji is one entry costing 2 UTF-16 units
    var gsm = chars.every(function (ch) { return GSM_BASIC.indexOf(ch) >= 0 || GSM_EXTENSION.indexOf(ch) >= 0; });
    var encoding = gsm ? "GSM-7" : "UCS-2";
    var units = chars.map(function (ch) {
      if (gsm) return GSM_EXTENSION.indexOf(ch) >= 0 ? 2 : 1;
      return ch.codePointAt(0) > 0xFFFF ? 2 : 1;
    });
    var total = units.reduce(function (a, b) { return a + b; }, 0);
    var single = LIMITS[encoding][0], perPart = LIMITS[encoding][1];
    var segments = 0;
    if (total > 0 && total <= single) segments = 1;
    else if (total > single) {
      var used = 0;
      segments = 1;
      units.forEach(function (cost) {  // a two-unit character that does not fit starts the next part
        if (used + cost > perPart) { segments += 1; used = 0; }
        used += cost;
      });
    }
    return {encoding: encoding, length: total, segments: segments};
  }
  window.tidingsSmsSegments = smsSegments;

  var form = document.querySelector("[data-notification-form]");
  if (form) {
    var text = form.querySelector("[data-sms-text]");
    var counter = form.querySelector("[data-sms-counter]");
    var rules = form.querySelector("[data-sms-rules]");
    var update = function () {
      var result = smsSegments(text.value);
      counter.querySelector("[data-sms-chars]").textContent = result.length;
      counter.querySelector("[data-sms-encoding]").textContent = result.encoding;
      counter.querySelector("[data-sms-segments]").textContent = result.segments;
      var rule = rules.getAttribute(result.encoding === "GSM-7" ? "data-gsm" : "data-ucs");
      if (/\{[A-Za-z0-9_]+\}/.test(text.value)) rule += " " + rules.getAttribute("data-vars");
      counter.querySelector("[data-sms-rule]").textContent = rule;
    };
    text.addEventListener("input", update);
    update();

    var scenario = form.querySelector("select[name=scenario]");
    var custom = form.querySelector("[data-custom-scenario]");
    var syncScenario = function () { custom.hidden = scenario.value !== "custom"; };
    scenario.addEventListener("change", syncScenario);
    syncScenario();
  }

  var data = document.getElementById("notify-chart-data");
  var canvas = document.getElementById("notify-chart");
  if (data && canvas && window.Chart) {
    var chart = JSON.parse(data.textContent);
    var colours = {line_push: "#06c755", line_pnp: "#2e90fa", sms: "#f79009"};
    var datasets = [];
    Object.keys(chart.methods).forEach(function (method) {
      datasets.push({label: chart.labels[method] + " · " + chart.sent, data: chart.methods[method].sent,
                     backgroundColor: colours[method] + "55", borderColor: colours[method], borderWidth: 1,
                     stack: method});
      datasets.push({label: chart.labels[method] + " · " + chart.delivered, data: chart.methods[method].delivered,
                     type: "line", borderColor: colours[method], backgroundColor: colours[method], tension: 0.2,
                     pointRadius: 2});
    });
    new window.Chart(canvas, {
      type: "bar",
      data: {labels: chart.days, datasets: datasets},
      options: {responsive: true, maintainAspectRatio: false, interaction: {mode: "index", intersect: false},
                scales: {y: {beginAtZero: true, ticks: {precision: 0}}},
                plugins: {legend: {position: "bottom"}}}
    });
  }
})();
