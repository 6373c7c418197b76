// Order list and tracking lookup: keyboard shortcut and row selection. No inline scripts (strict CSP).
(() => {
  // "/" focuses the search box from anywhere but a field; ArrowDown in the box moves to the first result link.
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const typing = target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      const box = document.querySelector("[data-search-box]");
      if (box) {
        event.preventDefault();
        box.focus();
        box.select();
      }
    } else if (event.key === "ArrowDown" && target.matches("[data-search-box]")) {
      const first = document.querySelector(".order-list .order-link, .track-card h2 a");
      if (first) {
        event.preventDefault();
        first.focus();
      }
    }
  });

  // Bulk selection: "select all" and a live count. Without JavaScript the checkboxes still work one by one.
  const orderBoxes = (form) => Array.from(form.querySelectorAll('input[name="order"]'));

  function refresh(form) {
    const boxes = orderBoxes(form);
    const chosen = boxes.filter((box) => box.checked).length;
    const all = form.querySelector("[data-select-all]");
    if (all) {
      all.hidden = false;
      all.checked = chosen > 0 && chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
    }
    document.querySelectorAll("[data-selected-count]").forEach((count) => {
      count.textContent = chosen ? `${chosen} selected` : "";
    });
    document.querySelectorAll(`[data-needs-selection][form="${form.id}"]`).forEach((button) => {
      button.disabled = chosen === 0;
      button.title = chosen ? "" : "Select orders first";
    });
  }

  document.addEventListener("change", (event) => {
    const form = event.target.closest("#bulk-form");
    if (!form) return;
    if (event.target.matches("[data-select-all]")) {
      orderBoxes(form).forEach((box) => { box.checked = event.target.checked; });
    }
    refresh(form);
  });

  function init() {
    const form = document.getElementById("bulk-form");
    if (form) refresh(form);
  }

  // Filters start open (no JavaScript, wide screens); on a phone they fold away unless one is in use.
  function foldFilters() {
    const panel = document.querySelector("[data-filters-panel]");
    if (panel && window.matchMedia("(max-width: 640px)").matches && !panel.querySelector(".active-filters")) {
      panel.open = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => { foldFilters(); init(); });
  document.addEventListener("htmx:afterSettle", init);
})();
