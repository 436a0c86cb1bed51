// The simulated phone: keep the chat scrolled to the newest message and clear the composer after sending.
(function () {
  "use strict";
  function toBottom() {
    var list = document.querySelector("[data-messages]");
    if (list) list.scrollTop = list.scrollHeight;
  }
  document.addEventListener("DOMContentLoaded", function () { toBottom(); });
  document.body.addEventListener("htmx:afterSwap", function () { toBottom(); });
  document.body.addEventListener("htmx:afterRequest", function (e) {
    var form = e.target.closest && e.target.closest("[data-composer]");
    if (form && e.detail.successful) {
      // A deep link's pre-filled text is the input's default value: once sent, it must not come back.
      form.querySelectorAll("[data-prefilled]").forEach(function (input) { input.defaultValue = ""; });
      form.reset();
    }
  });
})();
