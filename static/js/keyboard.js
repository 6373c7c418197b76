// Keyboard shortcuts on every page; "?" lists them. Plain JavaScript, no inline scripts (strict CSP).
// Nothing fires while typing in a field, with Ctrl/Alt/Cmd held, or while the shortcuts dialog is open.
(() => {
  "use strict";
  const GO = { o: "/orders/", n: "/orders/new/", t: "/tracking/" };
  const ROWS = "table.order-list tbody tr[data-row]";
  let pendingG = null;  // the timer of a "g" waiting for its second key

  const typing = (target) =>
    target instanceof Element && (target.closest("input, textarea, select") || target.isContentEditable);

  const rows = () => Array.from(document.querySelectorAll(ROWS));
  const currentRow = () => document.querySelector(`${ROWS}.is-current`);

  function moveSelection(step) {
    const all = rows();
    if (!all.length) return;
    const from = all.indexOf(currentRow());
    const next = all[from < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, from + step))];
    all.forEach((row) => { row.classList.toggle("is-current", row === next); });
    const link = next.querySelector("a.order-link");
    if (link) link.focus();  // the focused link is announced, scrolled to, and opens with Enter on its own
  }

  function openShortcuts() {
    const dialog = document.getElementById("shortcuts-dialog");
    if (dialog && !dialog.open) dialog.showModal();
  }

  function go(key) {
    const path = GO[key];
    // Only where the navigation offers it (a viewer has no "New order").
    if (path && document.querySelector(`.mainnav a[href="${path}"]`)) window.location.assign(path);
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    const key = event.key;
    if (pendingG) {
      clearTimeout(pendingG);
      pendingG = null;
      if (GO[key]) {
        event.preventDefault();
        go(key);
        return;
      }
    }
    if (key === "g") {
      pendingG = setTimeout(() => { pendingG = null; }, 1500);
    } else if (key === "/") {
      const box = document.querySelector("[data-search-box]");
      if (box) {
        event.preventDefault();
        box.focus();
        box.select();
      }
    } else if (key === "?") {
      event.preventDefault();
      openShortcuts();
    } else if (key === "j" || key === "k") {
      if (!rows().length) return;
      event.preventDefault();
      moveSelection(key === "j" ? 1 : -1);
    } else if (key === "Enter") {
      // With the row's link focused the browser follows it itself; this covers a row chosen before a reload.
      const row = currentRow();
      const link = row && row.querySelector("a.order-link");
      if (link && !event.target.closest("a, button, summary")) {
        event.preventDefault();
        link.click();
      }
    } else if (key === "x") {
      const row = currentRow();
      const box = row && row.querySelector('input[type="checkbox"][name="order"]');
      if (box) {
        event.preventDefault();
        box.checked = !box.checked;
        box.dispatchEvent(new Event("change", { bubbles: true }));  // the bulk bar counts the selection
      }
    }
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-shortcuts-open]")) openShortcuts();
  });
})();
