"""The order screens in a real browser: enter an order with lines added and removed in place, submit it, watch both
destinations turn to sent with a real worker and the simulators, read an attempt; the review queue."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from orders import services
from orders.models import CatalogItem, Customer, CustomerShipTo, MessageState, Order, OrderState
from orders.services import Actor, LineInput
from tests.browser.conftest import no_horizontal_scroll, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CATALOGUE = [
    ("BOLT-10", "Hex bolt M10, box of 50", "18.40"),
    ("NUT-10", "Hex nut M10, box of 100", "9.95"),
    ("WASHER-10", "Flat washer M10, box of 100", "6.20"),
    ("ANCHOR-12", "Concrete anchor 12 mm, box of 25", "31.00"),
]


@pytest.fixture
def shop(db):
    for sku, description, price in CATALOGUE:
        CatalogItem.objects.create(sku=sku, description=description, default_price=Decimal(price))
    customer = Customer.objects.create(
        customer_no="C-HM01",
        name="Harbor Marine Supply",
        address1="400 Wharf St",
        city="Seattle",
        state="WA",
        zip="98101",
        country_code="USA",
        email="orders@harbormarine.example",
        telephone="206-555-0142",
    )
    CustomerShipTo.objects.create(
        customer=customer,
        code="DOCK7",
        name="Harbor Marine Dock 7",
        address1="7 Pier Way",
        city="Tacoma",
        state="WA",
        zip="98402",
        country_code="USA",
    )
    return customer


def _type_line(page, index: int, sku: str, quantity: int) -> None:
    # Typed key by key, as a person does (a row htmx has just added is wired up a moment after it appears).
    page.locator(f"#id_lines-{index}-sku").press_sequentially(sku, delay=40)
    page.wait_for_selector(f'#sku-options option[value="{sku}"]', state="attached")
    page.fill(f"#id_lines-{index}-sku", sku)  # the option is there now: the description and price fill in
    page.fill(f"#id_lines-{index}-quantity", str(quantity))


@pytest.mark.parametrize("width", [1280, 390])
def test_enter_submit_and_watch_it_reach_both_systems(page, make_user, shop, sim, workers, width):
    make_user("dana", "operator")
    workers(sim, 1)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "dana", "pw-dana")
    page.goto("/orders/new/")

    # The customer from a search; its saved ship-to.
    page.fill("#id_customer_q", "harbor")
    page.get_by_role("button", name=re.compile("Harbor Marine Supply")).click()
    page.wait_for_selector(".picked")
    assert page.input_value("#id_customer_name") == "Harbor Marine Supply"
    page.get_by_text("DOCK7 · Harbor Marine Dock 7").click()
    page.fill("#id_po_number", f"PO-{width}")
    page.press("#id_po_number", "Enter")  # recalculates in place: never saves by accident
    assert page.url.endswith("/orders/new/") and not Order.objects.exists()

    # Three lines, the middle one removed in place, another added: no page load in between.
    _type_line(page, 0, "BOLT-10", 4)
    assert page.input_value("#id_lines-0-description") == "Hex bolt M10, box of 50"
    assert page.input_value("#id_lines-0-unit_price") == "18.40"
    page.click("#add-line")
    page.wait_for_selector("#id_lines-1-sku")
    _type_line(page, 1, "NUT-10", 2)
    page.click("#add-line")
    page.wait_for_selector("#id_lines-2-sku")
    _type_line(page, 2, "WASHER-10", 10)
    page.click("label[for=id_lines-1-DELETE]")
    assert page.locator("#row-lines-1").is_hidden()
    assert page.get_by_text("Line 2 removed.").is_visible()
    page.click("#add-line")
    page.wait_for_selector("#id_lines-3-sku")
    _type_line(page, 3, "ANCHOR-12", 1)
    page.keyboard.press("Tab")
    assert page.input_value("#id_lines-TOTAL_FORMS") == "4"

    # Live totals and the pre-send check, before anything is saved.
    expected = Decimal("18.40") * 4 + Decimal("6.20") * 10 + Decimal("31.00")
    page.wait_for_function(
        "t => document.querySelector('#order-total').textContent.trim() === t", arg=f"{expected:,.2f}"
    )
    assert page.locator("#lines-3-total").inner_text() == "31.00"
    assert page.locator('[data-destination="cimcloud"] .verdict').inner_text() == "Ready to send"
    assert page.locator('[data-destination="tulaerp"] .verdict').inner_text() == "Ready to send"
    assert not Order.objects.exists()
    page.evaluate("window.scrollTo(0, 0)")
    if width == 1280:
        shot(page, "order-form")
    else:
        assert no_horizontal_scroll(page)
        shot(page, "order-form-390")

    # A double click: the second click is swallowed (and the one-time token would refuse it anyway).
    page.locator("button[value=submit]").dblclick()
    page.wait_for_url(re.compile(r"/orders/D-\d+/$"))
    order = Order.objects.get()
    assert order.state == OrderState.SUBMITTED and order.ship_to_code == "DOCK7"
    assert [(ln.sku, ln.quantity) for ln in order.lines.all()] == [("BOLT-10", 4), ("WASHER-10", 10), ("ANCHOR-12", 1)]
    assert page.locator(".msg-success").inner_text().startswith(f"Order {order.order_number} submitted")

    # The badges refresh by themselves until both systems have the order.
    badges = page.locator("#sync-badges")
    badges.get_by_text("CIMcloud sent").wait_for(timeout=30_000)
    badges.get_by_text("TulaERP sent").wait_for(timeout=30_000)
    assert set(order.outbox_messages.values_list("state", flat=True)) == {MessageState.SENT}

    # The attempts are on the timeline, each with the body as it was sent.
    page.reload()
    attempt = page.locator("details.attempt").filter(has_text="CIMcloud attempt 1")
    attempt.locator("summary").click()
    body = attempt.locator("pre.body").first
    assert body.is_visible()
    assert f'"order_number":"{order.order_number}"' in body.inner_text().replace(" ", "")
    page.evaluate("window.scrollTo(0, 0)")
    if width == 1280:
        shot(page, "order-detail")
    else:
        assert no_horizontal_scroll(page)
        shot(page, "order-detail-390")


def test_the_core_flow_works_without_javascript(browser, live_server, make_user, shop):
    make_user("nojs", "operator")
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    try:
        sign_in(page, "nojs", "pw-nojs")
        page.goto("/orders/new/")
        page.fill("#id_customer_q", "harbor")
        page.click("button[name=find_customer]")
        page.get_by_role("button", name=re.compile("Harbor Marine Supply")).click()
        assert page.input_value("#id_customer_name") == "Harbor Marine Supply"
        page.fill("#id_lines-0-sku", "BOLT-10")  # description and price come from the catalogue on save
        page.fill("#id_lines-0-quantity", "2")
        page.click("button[name=add_line]")
        page.fill("#id_lines-1-sku", "CUSTOM-1")
        page.fill("#id_lines-1-unit_price", "5.00")
        page.click("button[name=add_line]")
        page.fill("#id_lines-2-sku", "NUT-10")
        page.check("#id_lines-2-DELETE")
        page.get_by_role("button", name="Recalculate").last.click()
        assert page.locator("#order-total").inner_text() == "41.80"
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_url(re.compile(r"/orders/D-\d+/$"))
        order = Order.objects.get()
        assert [(ln.sku, ln.description, ln.unit_price) for ln in order.lines.all()] == [
            ("BOLT-10", "Hex bolt M10, box of 50", Decimal("18.40")),
            ("CUSTOM-1", "", Decimal("5.00")),
        ]
    finally:
        context.close()


def _awaiting_review(user, *, po: str) -> Order:
    customer = Customer.objects.get(customer_no="C-HM01")
    order = services.order_create(
        actor=Actor(user=user),
        customer=customer,
        fields={
            "po_number": po,
            "ship_to_name": "Dock",
            "ship_to_address1": "7 Pier Way",
            "ship_to_city": "Tacoma",
            "ship_to_state": "WA",
            "ship_to_zip": "98402",
            "ship_to_country_code": "USA",
        },  # fmt: skip
        lines=[LineInput(sku="BOLT-10", quantity=3, unit_price=Decimal("18.40"))],
    )
    return services.order_submit(actor=Actor(user=user), order_id=order.pk)


def test_review_queue_one_at_a_time_and_in_bulk(page, make_user, shop):
    shop.credit_hold = True
    shop.save()
    ana, ben = make_user("ana", "operator"), make_user("ben", "operator")
    first = _awaiting_review(ana, po="PO-1")
    second = _awaiting_review(ana, po="PO-2")
    own = _awaiting_review(ben, po="PO-3")
    assert {first.state, second.state, own.state} == {OrderState.AWAITING_REVIEW}

    sign_in(page, "ben", "pw-ben")
    page.goto("/orders/review/")
    assert page.locator(".review-item").count() == 3
    assert "credit hold" in page.locator(f"#review-{first.pk} .reasons").inner_text()
    shot(page, "review")

    # One at a time (htmx: the queue is redrawn in place).
    page.locator(f"#review-{first.pk}").get_by_role("button", name="Approve").click()
    page.get_by_text(f"Approved and submitted 1 order: {first.order_number}.").wait_for()
    assert page.locator(".review-item").count() == 2

    # In bulk: the four-eyes rule stops ben's own order only.
    page.check(f"#pick-{second.pk}")
    page.check(f"#pick-{own.pk}")
    page.locator("#bulk-form").get_by_role("button", name="Approve").click()
    page.get_by_text(f"{own.order_number}: You created or last edited this order").wait_for()
    assert page.get_by_text(f"Approved and submitted 1 order: {second.order_number}.").is_visible()
    assert page.locator(".review-item").count() == 1
    second.refresh_from_db()
    own.refresh_from_db()
    assert second.state == OrderState.SUBMITTED and own.state == OrderState.AWAITING_REVIEW
    page.set_viewport_size({"width": 390, "height": 800})
    assert no_horizontal_scroll(page)
