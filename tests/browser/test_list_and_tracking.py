"""The order list and the tracking lookup in a real browser: search as you type, Back and reload, tracking links
opening a new tab, copying a summary, hostile customer names and a phone-width screen."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone
from playwright.sync_api import expect

from orders import services
from orders.models import MessageState, Order, OutboxMessage
from orders.services import Actor
from tests.browser.conftest import no_horizontal_scroll, shot, sign_in
from tests.test_search import UPS, add_packages, new_customer, new_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UPS_LINK = f"https://www.ups.com/track?tracknum={UPS}"
HOSTILE = "<script>alert(1)</script>"


def _rows(page):
    return page.locator("table.order-list tbody tr")


def _no_dialogs(page) -> list[str]:
    seen: list[str] = []

    def on_dialog(dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen


def test_search_as_you_type_narrows_the_list_and_survives_reload_and_back(page, make_user, make_order):
    make_user("dana", "operator")
    for name in ("Acme Supply", "Blue Ridge Dental", "Cedar Office Works"):
        new_order(make_order, customer=new_customer(name))
    sign_in(page, "dana", "pw-dana")
    page.goto("/orders/")
    expect(_rows(page)).to_have_count(3)

    page.keyboard.press("/")  # the shortcut focuses the search box
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("acme", delay=40)
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page).first).to_contain_text("Acme Supply")
    expect(page).to_have_url(re.compile(r"/orders/\?q=acme$"))
    expect(page.locator(".count")).to_contain_text("1 order matching “acme”")

    page.reload()  # the URL carries the query
    expect(_rows(page)).to_have_count(1)
    expect(page.locator("#q")).to_have_value("acme")

    page.fill("#q", "")
    expect(_rows(page)).to_have_count(3)
    page.go_back()  # htmx asks the server for the whole page again
    expect(page).to_have_url(re.compile(r"q=acme$"))
    expect(_rows(page)).to_have_count(1)


def test_filters_sort_and_selection_work_together(page, make_user, make_order):
    make_user("dana", "operator")
    actor = Actor.system("test")
    for name in ("Acme Supply", "Blue Ridge Dental", "Cedar Office Works"):
        order = new_order(make_order, customer=new_customer(name))
        if name != "Blue Ridge Dental":
            services.order_submit(actor=actor, order_id=order.pk)
    sign_in(page, "dana", "pw-dana")
    page.goto("/orders/")
    page.select_option("#id_state", "submitted")
    expect(_rows(page)).to_have_count(2)
    expect(page).to_have_url(re.compile(r"state=submitted"))
    page.get_by_role("link", name="Customer", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=customer"))
    expect(_rows(page).first).to_contain_text("Acme Supply")
    page.get_by_role("link", name="Customer", exact=True).click()  # toggles
    expect(_rows(page).first).to_contain_text("Cedar Office Works")
    page.fill("#q", "a")  # typing keeps the sort and the filter
    expect(page).to_have_url(re.compile(r"q=a&state=submitted&sort=-customer$"))

    retry = page.get_by_role("button", name="Retry sync of selected")
    expect(retry).to_be_disabled()
    page.get_by_label("Select all orders on this page").check()
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    expect(retry).to_be_enabled()
    retry.click()
    expect(page.locator(".msg")).to_contain_text("Nothing to retry")
    expect(page).to_have_url(re.compile(r"q=a&state=submitted&sort=-customer$"))


def test_sync_badges_refresh_while_in_flight_then_stop_polling(page, make_user, make_order):
    make_user("erin", "viewer")
    order = services.order_submit(actor=Actor.system("test"), order_id=new_order(make_order).pk)
    sign_in(page, "erin", "pw-erin")
    page.goto("/orders/")
    badges = page.locator(f"#sync-{order.pk}")
    expect(badges).to_contain_text("CIMcloud pending")
    expect(page.locator("#sync-poll")).to_have_attribute("hx-trigger", "every 3s")
    OutboxMessage.objects.filter(order=order).update(state=MessageState.SENT, sent_at=timezone.now())
    expect(badges).to_contain_text("CIMcloud sent", timeout=8000)  # swapped in out of band by the poll
    expect(badges).to_contain_text("TulaERP sent")
    expect(page.locator("#sync-poll")).not_to_have_attribute("hx-trigger", "every 3s")


def test_tracking_lookup_links_open_in_a_new_tab_and_copy_a_summary(page, make_user, make_order):
    make_user("erin", "viewer")
    order = add_packages(new_order(make_order, number="TRK-1"), UPS, link=UPS_LINK, link_source="erp")
    # The network is closed: answer the carrier's page here instead of letting the browser try.
    page.context.route(
        "https://www.ups.com/**", lambda route: route.fulfill(body="UPS stub", content_type="text/plain")
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, "erin", "pw-erin")
    page.goto("/tracking/")
    expect(page.locator("#tq")).to_be_focused()
    page.keyboard.type(UPS.lower(), delay=10)
    link = page.locator("#tracking-results a.track")
    expect(link).to_have_attribute("href", UPS_LINK)
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener")
    expect(page).to_have_url(re.compile(rf"/tracking/\?q={UPS.lower()}$"))
    expect(page.locator("#tracking-results")).to_contain_text("From TulaERP")

    with page.context.expect_page() as opened:
        link.click()
    carrier_page = opened.value
    carrier_page.wait_for_load_state()
    assert carrier_page.url == UPS_LINK
    carrier_page.close()

    page.get_by_role("button", name="Copy tracking summary").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(f"Order {order.order_number}") and UPS in copied and f"Track: {UPS_LINK}" in copied

    page.goto(f"/tracking/?q={UPS}")  # a shared link answers without typing
    expect(page.locator("#tracking-results a.track")).to_have_attribute("href", UPS_LINK)


def test_a_hostile_customer_name_is_shown_as_text(page, make_user, make_order):
    make_user("dana", "operator")
    add_packages(new_order(make_order, customer=new_customer(HOSTILE)), UPS)
    dialogs = _no_dialogs(page)
    sign_in(page, "dana", "pw-dana")
    page.goto("/orders/")
    expect(page.locator("td.customer")).to_contain_text(HOSTILE)
    page.fill("#q", "script")  # through the htmx swap too
    expect(page.locator(".count")).to_contain_text("1 order")
    expect(page.locator("td.customer")).to_contain_text(HOSTILE)
    page.goto("/tracking/?q=script")
    expect(page.locator(".track-customer")).to_have_text(HOSTILE)
    page.fill("#tq", UPS)
    expect(page.locator(".track-customer")).to_have_text(HOSTILE)
    assert dialogs == []


def test_screens_at_desktop_and_phone_width(page, make_user, settings):
    make_user("setup", "viewer")  # creates the role groups the demo users join
    settings.DEBUG = True  # seed_demo is a development command
    settings.DEMO_PASSWORD = "demo-pass-123"
    call_command("seed_demo", orders=60, stdout=io.StringIO(), stderr=io.StringIO())
    sign_in(page, "operator", "demo-pass-123")
    page.goto("/orders/")
    expect(_rows(page)).to_have_count(50)
    expect(page.get_by_role("link", name="Next page →")).to_be_visible()
    shot(page, "orders")
    several = Order.objects.annotate(n=Count("shipments__packages")).filter(n__gte=2).order_by("-created_at")[0]
    page.goto(f"/tracking/?q={several.order_number}")
    expect(page.locator(".track-card")).to_have_count(1)
    shot(page, "tracking")

    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/orders/?state=submitted")
    expect(_rows(page).first).to_be_visible()
    assert no_horizontal_scroll(page)
    shot(page, "orders-narrow")
    page.goto("/tracking/?q=acme")
    expect(page.locator(".track-card").first).to_be_visible()
    assert no_horizontal_scroll(page)
    shot(page, "tracking-narrow")
