// Progressive enhancement only: every page works without this file.
"use strict";

// Copy buttons: data-copy names the input whose value is copied.
function setupCopy(button) {
  button.addEventListener("click", async () => {
    const input = document.getElementById(button.dataset.copy);
    input.focus();
    input.select();
    let copied = false;
    try {
      await navigator.clipboard.writeText(input.value);
      copied = true;
    } catch (_) {
      copied = document.execCommand && document.execCommand("copy");
    }
    button.textContent = copied ? "Copied" : "Press Ctrl+C to copy";
  });
}

// Countdowns: data-expires-at is the window's end in epoch milliseconds. At zero the
// row says the window is closed, without a reload.
function setupCountdown(el) {
  const row = el.closest("[data-window]");
  const tick = () => {
    // Read on every tick: a window re-approved elsewhere can move its end.
    const end = Number(el.dataset.expiresAt);
    const left = Math.max(0, Math.round((end - Date.now()) / 1000));
    const m = Math.floor(left / 60);
    const s = String(left % 60).padStart(2, "0");
    el.textContent = left > 0 ? `${m}:${s} left` : "Window closed";
    if (left === 0) {
      el.classList.add("expired");
      if (row) {
        row.dataset.window = "closed";
        const close = row.querySelector(".close-window");
        if (close) close.hidden = true;
      }
      return;
    }
    setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
  };
  tick();
}

// Confirm before destructive form submits that did not come from a confirmation page.
function setupConfirm(form) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button[data-copy]").forEach(setupCopy);
  document.querySelectorAll(".countdown[data-expires-at]").forEach(setupCountdown);
  document.querySelectorAll("form[data-confirm]").forEach(setupConfirm);
});
