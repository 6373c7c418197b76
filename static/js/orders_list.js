// Order list and tracking lookup: keyboard shortcut and row selection. No inline scripts (strict CSP).
(() => {
  // ArrowDown in the search box moves to the first result link ("/" and j/k/Enter/x are in keyboard.js).
  document.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && event.target.matches("[data-search-box]")) {
      const first = document.querySelector(".order-list .order-link, .track-card h2 a");
      if (first) {
        event.preventDefault();
        first.focus();
      }
    }
  });

  // The tab whose query is the list's current one is marked, also after a search typed in place.
  const canonical = (query) => {
    const params = new URLSearchParams(query);
    params.delete("after");
    return Array.from(params.entries()).map(([k, v]) => `${k}=${v}`).sort().join("&");
  };
  function markTab() {
    const here = canonical(window.location.search);
    document.querySelectorAll("[data-tab-query]").forEach((tab) => {
      if (canonical(tab.dataset.tabQuery) === here) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    });
  }
  document.addEventListener("htmx:pushedIntoHistory", markTab);
  window.addEventListener("popstate", markTab);

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
