// Tidings console: the nav drawer, auto-submitting selects, confirm prompts, copy buttons, sales-only fields.
(function () {
  "use strict";
  var shell = document.querySelector("[data-shell]");
  var toggle = document.querySelector("[data-nav-toggle]");
  var backdrop = document.querySelector("[data-nav-close]");
  function setNav(open) {
    if (!shell) return;
    shell.classList.toggle("nav-open", open);
    if (toggle) toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (backdrop) backdrop.hidden = !open;
  }
  if (toggle) toggle.addEventListener("click", function () { setNav(!shell.classList.contains("nav-open")); });
  if (backdrop) backdrop.addEventListener("click", function () { setNav(false); });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") setNav(false); });

  // Close an open dropdown when clicking elsewhere.
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(e.target)) menu.removeAttribute("open");
    });
  });

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit(); });
  });

  document.addEventListener("submit", function (e) {
    var message = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) e.preventDefault();
  }, true);

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.querySelector(button.getAttribute("data-copy"));
      if (source && navigator.clipboard) navigator.clipboard.writeText(source.textContent.trim());
    });
  });

  // Store and employee code only matter for the sales roles.
  var SALES = ["sales_manager", "sales_person"];
  document.querySelectorAll("[data-role-form]").forEach(function (form) {
    var role = form.querySelector("[data-role-select]");
    if (!role) return;
    function sync() {
      var sales = SALES.indexOf(role.value) !== -1;
      form.querySelectorAll("[data-sales-only]").forEach(function (el) {
        if (el.querySelector(".field-error")) { el.hidden = false; return; }
        el.hidden = !sales;
      });
    }
    role.addEventListener("change", sync);
    sync();
  });
})();
