// The simulated phone: keep the chat scrolled to the newest message, clear the composer after sending, and show a
// placeholder where a sandbox image URL cannot be loaded (the sandbox runs offline).
(function () {
  "use strict";
  function toBottom() {
    var list = document.querySelector("[data-messages]");
    if (list) list.scrollTop = list.scrollHeight;
  }
  function fallbacks(root) {
    (root || document).querySelectorAll("img[data-fallback]").forEach(function (img) {
      img.addEventListener("error", function () { img.removeAttribute("src"); }, { once: true });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { toBottom(); fallbacks(); });
  document.body.addEventListener("htmx:afterSwap", function (e) { toBottom(); fallbacks(e.target); });
  document.body.addEventListener("htmx:afterRequest", function (e) {
    var form = e.target.closest && e.target.closest("[data-composer]");
    if (form && e.detail.successful) form.reset();
  });
})();
