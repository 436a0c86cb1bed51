// The inbox composer (console/inbox/_composer.html): Enter sends and Shift+Enter adds a line, a character counter
// against the channel's limit, the chosen image's thumbnail, and a saved reply put into the input box. Sending,
// templates and the saved-reply picker are htmx. Loaded with every composer fragment, so it sets itself up once.
(function () {
  "use strict";
  if (window.tidingsInboxCompose) return;
  window.tidingsInboxCompose = true;

  function composerOf(el) { return el.closest("[data-composer]"); }

  function count(textarea) {
    var form = textarea.form;
    var out = form && form.querySelector("[data-count]");
    var max = Number(textarea.getAttribute("data-max") || 0);
    if (!out || !max) return;
    var value = textarea.value.trim();
    // Instagram counts UTF-8 bytes; the other channels characters.
    var used = textarea.hasAttribute("data-bytes") ? new TextEncoder().encode(value).length : Array.from(value).length;
    out.textContent = used > max * 0.8 ? used + " / " + max : "";
    out.classList.toggle("is-over", used > max);
  }

  function showAttachments(composer) {
    var box = composer.querySelector("[data-attachments]");
    if (!box) return;
    var file = box.querySelector("[data-attachment-file]");
    var saved = box.querySelector("[data-attachment-saved]");
    box.hidden = file.hidden && saved.hidden;
  }

  document.addEventListener("keydown", function (e) {
    var textarea = e.target;
    if (!textarea.matches || !textarea.matches("textarea[data-composer-text]")) return;
    // Enter sends, Shift+Enter is a new line; Enter that confirms an input method's candidate (Chinese, Japanese) is not.
    if (e.key !== "Enter" || e.shiftKey || e.altKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    var form = textarea.form;
    if (form && !form.querySelector("[data-send]").disabled) form.requestSubmit();
  });

  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("textarea[data-composer-text]")) count(e.target);
  });

  document.addEventListener("change", function (e) {
    var input = e.target;
    if (!input.matches || !input.matches("input[data-composer-image]")) return;
    var composer = composerOf(input);
    var chip = composer.querySelector("[data-attachment-file]");
    var file = input.files && input.files[0];
    if (file && file.size > Number(input.getAttribute("data-max-bytes")) * 1024 * 1024) {
      window.alert(input.getAttribute("data-too-big"));
      input.value = "";
      file = null;
    }
    chip.hidden = !file;
    if (file) {
      chip.querySelector("[data-attachment-name]").textContent = file.name;
      chip.querySelector("[data-attachment-thumb]").src = URL.createObjectURL(file);
    }
    showAttachments(composer);
  });

  document.addEventListener("click", function (e) {
    var target = e.target.closest ? e.target.closest("button") : null;
    if (!target) return;
    var composer = composerOf(target);
    if (!composer) return;
    if (target.hasAttribute("data-attachment-clear")) {
      composer.querySelector("input[data-composer-image]").value = "";
      composer.querySelector("[data-attachment-file]").hidden = true;
      showAttachments(composer);
    } else if (target.hasAttribute("data-saved-image-clear")) {
      composer.querySelector("[data-saved-image]").value = "";
      composer.querySelector("[data-attachment-saved]").hidden = true;
      showAttachments(composer);
    } else if (target.hasAttribute("data-close-saved")) {
      composer.querySelector("[data-saved-panel]").innerHTML = "";
    } else if (target.hasAttribute("data-saved-reply")) {
      composer.querySelectorAll(".saved-item.is-chosen").forEach(function (el) { el.classList.remove("is-chosen"); });
      target.classList.add("is-chosen");
    } else if (target.hasAttribute("data-apply-saved")) {
      // "Put into the input box": the filled-in text goes where the cursor is, to be edited before sending.
      var textarea = composer.querySelector("textarea[data-composer-text]");
      var text = composer.querySelector("[data-filled-raw]").value;
      var start = textarea.selectionStart, end = textarea.selectionEnd;
      textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
      textarea.selectionStart = textarea.selectionEnd = start + text.length;
      var image = target.getAttribute("data-image-url");
      if (image) {
        composer.querySelector("[data-saved-image]").value = image;
        composer.querySelector("[data-saved-thumb]").src = image;
        composer.querySelector("[data-attachment-saved]").hidden = false;
        showAttachments(composer);
      }
      composer.querySelector("[data-saved-panel]").innerHTML = "";
      textarea.focus();
      count(textarea);
    }
  });

  // A fresh composer (after a send or a reload): count what it holds, and put the cursor back in the input, unless
  // the agent has meanwhile gone on to another field (a tag, a note): a slow answer must not pull their typing away.
  // (data-refocus, not autofocus: htmx focuses an [autofocus] element it swaps in whatever has the focus.)
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-composer] textarea[data-composer-text]").forEach(function (textarea) {
      count(textarea);
      if (!textarea.hasAttribute("data-refocus")) return;
      textarea.removeAttribute("data-refocus");
      var active = document.activeElement;
      if (!active || active === document.body || composerOf(textarea).contains(active)) textarea.focus();
    });
  });
})();
