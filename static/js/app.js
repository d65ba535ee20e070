// Small behaviours the portal needs without inline scripts (the CSP forbids them).
(function () {
  "use strict";

  function showMessage(text) {
    var area = document.getElementById("messages");
    if (!area) return;
    var box = document.createElement("div");
    box.className = "message message-error";
    box.setAttribute("role", "alert");
    var span = document.createElement("span");
    span.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "message-close";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    box.appendChild(span);
    box.appendChild(close);
    area.replaceChildren(box);
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var dismiss = target.closest("[data-dismiss]");
    if (dismiss) {
      var message = dismiss.closest(".message");
      if (message) message.remove();
      return;
    }
    var remove = target.closest("[data-remove-row]");
    if (remove) {
      var row = remove.closest("tr");
      if (row) row.remove();
      return;
    }
    var clear = target.closest("[data-clear]");
    if (clear) {
      var slot = document.querySelector(clear.getAttribute("data-clear"));
      if (slot) slot.replaceChildren();
    }
  });

  // Plain (non-HTMX) destructive forms ask first, like hx-confirm does.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm")) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    }
  });

  // Contact selection on a campaign's list: select all on the page, the count, and
  // "Recycle selected" enabled only with something ticked.
  function updateSelection() {
    var form = document.getElementById("contact-selection");
    if (!form) return;
    var boxes = document.querySelectorAll("input[data-select-one]");
    var ticked = 0;
    for (var i = 0; i < boxes.length; i++) if (boxes[i].checked) ticked++;
    var count = form.querySelector("[data-selection-count]");
    if (count) count.textContent = ticked + " selected";
    var action = form.querySelector("[data-selection-action]");
    if (action) action.disabled = ticked === 0;
    var page = document.querySelector("input[data-select-page]");
    if (page) {
      page.checked = boxes.length > 0 && ticked === boxes.length;
      page.indeterminate = ticked > 0 && ticked < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    if (target.hasAttribute("data-select-page")) {
      var boxes = document.querySelectorAll("input[data-select-one]");
      for (var i = 0; i < boxes.length; i++) boxes[i].checked = target.checked;
    }
    if (target.hasAttribute("data-select-page") || target.hasAttribute("data-select-one")) {
      updateSelection();
    }
  });
  document.addEventListener("DOMContentLoaded", updateSelection);
  document.addEventListener("htmx:afterSettle", updateSelection);

  // Server errors HTMX does not swap still deserve a word on screen.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail && event.detail.xhr ? event.detail.xhr.status : "";
    showMessage("The server could not complete this (" + status + "). Try again in a moment.");
  });
  document.addEventListener("htmx:sendError", function () {
    showMessage("The portal cannot be reached. Check the connection and try again.");
  });

  // After a swap, move focus to the first field with an error so it is seen.
  document.addEventListener("htmx:afterSwap", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr.status === 422) {
      var invalid = document.querySelector("[aria-invalid='true']");
      if (invalid && typeof invalid.focus === "function") invalid.focus();
    }
  });
})();
