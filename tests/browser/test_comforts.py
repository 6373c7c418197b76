"""Issue #9 in a real browser: a staff note added in place, a saved view reopened from its tab, the list walked
with j/k/Enter and x, the g-shortcuts and the "?" dialog, and no shortcut while typing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from orders.models import OrderNote, SavedView
from tests.browser.conftest import shot, sign_in
from tests.test_search import new_customer, new_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _rows(page):
    return page.locator("table.order-list tbody tr")


def _no_reload(page) -> None:
    page.evaluate("window.__samePage = true")  # gone if the page reloads


def test_a_note_is_added_in_place_and_shows_in_the_timeline(page, make_user, make_order):
    make_user("dana", "operator")
    order = new_order(make_order, number="NOTE-1")
    sign_in(page, "dana", "pw-dana")
    page.goto(f"/orders/{order.order_number}/")
    _no_reload(page)
    page.get_by_label("Add a note for staff").fill("Customer asked: deliver after 10 am")
    page.get_by_label("Pin it: show it on the order list").check()
    page.get_by_role("button", name="Add note").click()
    timeline = page.locator("#notes-timeline")
    expect(timeline.locator(".note-status")).to_have_text("Note added.")
    note = timeline.locator(".tl-note")
    expect(note).to_contain_text("Customer asked: deliver after 10 am")
    expect(note).to_contain_text("dana")
    expect(note.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    expect(page.get_by_label("Add a note for staff")).to_have_value("")  # a fresh form for the next note
    assert page.evaluate("window.__samePage === true")
    assert OrderNote.objects.get().pinned

    # Own note, inside the window: edit in place.
    note.get_by_text("Edit", exact=True).click()
    note.locator("textarea").fill("Deliver after 11 am")
    note.get_by_role("button", name="Save note").click()
    expect(page.locator("#notes-timeline .tl-note")).to_contain_text("Deliver after 11 am")
    expect(page.locator("#notes-timeline .tl-note")).to_contain_text("edited")
    shot(page, "order-notes")

    page.goto("/orders/")  # the pinned note is an icon on the row, its text on hover
    pin = _rows(page).first.locator(".pin")
    expect(pin).to_have_attribute("title", "Deliver after 11 am")
    expect(pin).to_have_attribute("aria-label", "Pinned note: Deliver after 11 am")


def test_save_a_view_and_reopen_it_from_its_tab(page, make_user, make_order):
    make_user("dana", "operator")
    for name in ("Acme Supply", "Blue Ridge Dental", "Acme West"):
        new_order(make_order, customer=new_customer(name))
    sign_in(page, "dana", "pw-dana")
    page.goto("/orders/")
    page.fill("#q", "acme")
    expect(_rows(page)).to_have_count(2)
    page.get_by_text("Save view…").click()
    page.get_by_label("Name of this view").fill("Acme orders")
    page.get_by_role("button", name="Save view").click()
    tab = page.locator(".view-tabs a", has_text="Acme orders")
    expect(tab).to_have_attribute("aria-current", "page")
    expect(tab.locator(".tab-count")).to_have_text("2")
    assert SavedView.objects.get().query == "q=acme"

    page.locator(".view-tabs a", has_text="All orders").click()
    expect(_rows(page)).to_have_count(3)
    expect(page.locator("#q")).to_have_value("")
    page.locator(".view-tabs a", has_text="Acme orders").click()
    expect(page).to_have_url(re.compile(r"/orders/\?q=acme$"))
    expect(_rows(page)).to_have_count(2)
    expect(page.locator("#q")).to_have_value("acme")
    page.fill("#q", "blue")  # typing in place moves the marker off the saved tab
    expect(_rows(page)).to_have_count(1)
    expect(page.locator(".view-tabs a", has_text="Acme orders")).not_to_have_attribute("aria-current", "page")
    shot(page, "orders-tabs")


def test_walk_the_list_with_j_k_and_open_with_enter(page, make_user, make_order):
    make_user("dana", "operator")
    numbers = [new_order(make_order, number=f"KB-{i}").order_number for i in range(1, 4)]  # newest last
    sign_in(page, "dana", "pw-dana")
    page.goto("/orders/")
    expect(_rows(page)).to_have_count(3)
    current = page.locator("table.order-list tbody tr.is-current")
    page.keyboard.press("j")
    expect(current).to_contain_text(numbers[2])
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")  # stays on the last row
    expect(current).to_contain_text(numbers[0])
    page.keyboard.press("k")
    expect(current).to_contain_text(numbers[1])
    page.keyboard.press("x")  # select it for a bulk action
    expect(current.locator('input[name="order"]')).to_be_checked()
    expect(page.locator("[data-selected-count]")).to_have_text("1 selected")
    page.keyboard.press("x")
    expect(current.locator('input[name="order"]')).not_to_be_checked()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/orders/{numbers[1]}/$"))


def test_shortcuts_dialog_g_keys_and_nothing_while_typing(page, make_user, make_order):
    make_user("dana", "operator")
    new_order(make_order)
    sign_in(page, "dana", "pw-dana")
    page.goto("/")
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("g n")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.keyboard.press("g")
    page.keyboard.press("o")
    expect(page).to_have_url(re.compile(r"/orders/$"))
    page.wait_for_load_state()

    page.get_by_label("Search orders").fill("")
    page.get_by_label("Search orders").press_sequentially("gtjx?", delay=30)  # typed, never shortcuts
    expect(page.locator("#q")).to_have_value("gtjx?")
    expect(page).to_have_url(re.compile(r"/orders/"))
    expect(dialog).to_be_hidden()
    expect(page.locator("table.order-list tbody tr.is-current")).to_have_count(0)
    page.locator("#q").blur()
    page.keyboard.press("g")
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(r"/orders/new/$"))
    page.wait_for_load_state()  # the shortcuts' script runs before DOMContentLoaded
    page.keyboard.press("g")
    page.keyboard.press("t")
    expect(page).to_have_url(re.compile(r"/tracking/$"))
