// The order form without surprises: it works without this file; this only makes it smoother.
// No inline handlers anywhere (strict CSP): everything is delegated from the document.
(() => {
  "use strict";
  document.documentElement.classList.add("js");

  const entry = () => document.querySelector("[data-order-entry]");
  const DELETE = 'input[type="checkbox"][name$="-DELETE"]';

  // --- One click, one POST. The one-time form token on the server catches anything that still gets through.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches("[data-order-entry]")) return;
    const submitter = event.submitter;
    // Enter in a text field: recalculate in place instead of reloading the page.
    if (submitter && submitter.classList.contains("default-button")) {
      event.preventDefault();
      if (window.htmx) window.htmx.trigger(form, "entry-changed");
      return;
    }
    if (form.dataset.submitting === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.submitting = "1";
    if (submitter) submitter.classList.add("is-busy");
    // Disable after this event: the clicked button's name and value are already in the request.
    setTimeout(() => {
      form.querySelectorAll("[data-submit]").forEach((button) => { button.disabled = true; });
    }, 0);
  });

  // Back to this page from the browser history: the buttons work again.
  window.addEventListener("pageshow", () => {
    const form = entry();
    if (!form) return;
    delete form.dataset.submitting;
    form.querySelectorAll("[data-submit]").forEach((button) => {
      button.disabled = false;
      button.classList.remove("is-busy");
    });
  });

  // --- Removing a line: tick its "Remove" box (that is what the server reads); the row steps aside with an undo.
  const undo = (row, box) => {
    const slot = document.getElementById("line-undo");
    if (!slot) return;
    slot.textContent = "";
    if (!row) return;
    const label = row.querySelector(".pos");
    const text = document.createElement("span");
    text.textContent = `Line ${label ? label.textContent.trim() : ""} removed. `;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link-button";
    button.textContent = "Undo";
    button.addEventListener("click", () => {
      box.checked = false;
      row.hidden = false;
      slot.textContent = "";
      box.dispatchEvent(new Event("change", { bubbles: true }));
      const sku = row.querySelector("input[data-sku]");
      if (sku) sku.focus();
    });
    slot.append(text, button);
    button.focus();
  };

  document.addEventListener("change", (event) => {
    const box = event.target;
    if (!box.matches(`.line-row ${DELETE}`)) return;
    const row = box.closest("tr");
    if (box.checked) {
      row.hidden = true;
      undo(row, box);
    }
  });

  const hideRemoved = () => {
    document.querySelectorAll(`.line-row ${DELETE}:checked`).forEach((box) => { box.closest("tr").hidden = true; });
  };

  // --- SKU from the catalogue: fill description and price when they are empty (or were filled by us).
  const fillFromCatalogue = (input) => {
    const wanted = input.value.trim().toLowerCase();
    if (!wanted) return;
    const option = Array.from(document.querySelectorAll("#sku-options option"))
      .find((o) => o.value.toLowerCase() === wanted);
    if (!option) return;
    const row = input.closest("tr");
    const fill = (field, value) => {
      if (!field || value === undefined) return;
      if (field.value && field.dataset.filled !== "1") return;  // typed by a person: keep it
      field.value = value;
      field.dataset.filled = "1";
    };
    fill(row.querySelector('input[name$="-description"]'), option.dataset.description);
    fill(row.querySelector("input[data-price]"), option.dataset.price);
  };

  document.addEventListener("input", (event) => {
    const input = event.target;
    if (input.matches("input[data-sku]")) fillFromCatalogue(input);
    else if (input.dataset && input.dataset.filled === "1") delete input.dataset.filled;
  });
  document.addEventListener("change", (event) => {
    if (event.target.matches("input[data-sku]")) fillFromCatalogue(event.target);
  });

  // --- Keyboard: Enter in the customer search searches; a new row takes the focus.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !event.target.matches("[data-customer-search]")) return;
    event.preventDefault();
    const find = document.querySelector('button[name="find_customer"]');
    if (find) find.click();
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail && event.detail.target;
    if (target && target.id === "line-rows") {
      const rows = target.querySelectorAll("tr.line-row");
      const last = rows[rows.length - 1];
      const sku = last && last.querySelector("input[data-sku]");
      if (sku) sku.focus();
    }
    hideRemoved();
  });

  document.addEventListener("DOMContentLoaded", hideRemoved);
})();
