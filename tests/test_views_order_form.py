"""New order, edit draft, fix and resend: the pages, their htmx helpers, roles, the one-time token, stale saves."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.http import QueryDict

from orders import services
from orders.models import (
    AttentionReason,
    CatalogItem,
    CustomerShipTo,
    MessageState,
    Order,
    OrderState,
    OutboxMessage,
)
from orders.services import Actor, LineInput
from tests.test_forms import entry_data

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def post_data(data: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in data.items():
        query.setlist(key, value if isinstance(value, list) else [str(value)])
    return query


def post(client, url: str, data: dict, **extra):
    return client.post(url, post_data(data).urlencode(), content_type="application/x-www-form-urlencoded", **extra)


def three_lines() -> list[dict]:
    return [
        {"sku": "BOLT-10", "quantity": "4", "unit_price": "18.40"},
        {"sku": "NUT-10", "quantity": "2", "unit_price": "9.95"},
        {"sku": "WASHER-10", "quantity": "10", "unit_price": "6.20"},
    ]


# --- who may -------------------------------------------------------------------------------------------------------

FORM_URLS = [
    ("get", "/orders/new/"),
    ("post", "/orders/new/"),
    ("get", "/orders/new/customers/?q=north"),
    ("post", "/orders/new/customers/pick/"),
    ("get", "/orders/new/items/?q=sku"),
    ("get", "/orders/new/line/?index=1"),
    ("post", "/orders/new/check/"),
    ("get", "/orders/{n}/edit/"),
    ("post", "/orders/{n}/edit/"),
    ("get", "/orders/{n}/fix/"),
    ("post", "/orders/{n}/fix/"),
]


@pytest.mark.parametrize(("method", "url"), FORM_URLS)
def test_viewers_get_403_and_anonymous_users_the_login(client, viewer, make_order, operator, method, url):
    url = url.format(n=make_order(operator).order_number)
    response = getattr(client, method)(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(viewer)
    response = getattr(client, method)(url)
    assert response.status_code == 403
    assert b"Not allowed" in response.content and b"<nav" in response.content  # in the layout
    assert Order.objects.count() == 1  # nothing was created


def test_new_order_page(client, operator):
    client.force_login(operator)
    response = client.get("/orders/new/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="lines-TOTAL_FORMS" value="1"' in html
    assert 'hx-get="/orders/new/line/?index=1"' in html and 'name="add_line"' in html  # with and without JS
    assert 'name="lines-0-DELETE"' in html
    assert 'name="form_token"' in html and 'name="action" value="submit"' in html
    assert "order_form.js" in html and "order_form.css" in html
    assert "<script>" not in html and "hx-on" not in html and " style=" not in html


def test_htmx_get_gets_the_form_alone_and_boosted_the_page(client, operator):
    client.force_login(operator)
    partial = client.get("/orders/new/", **HTMX).content.decode()
    assert 'id="order-entry"' in partial and "<html" not in partial
    boosted = client.get("/orders/new/", HTTP_HX_BOOSTED="true", **HTMX).content.decode()
    assert "<html" in boosted


# --- saving --------------------------------------------------------------------------------------------------------


def test_save_a_draft_with_three_lines(client, operator):
    client.force_login(operator)
    response = post(client, "/orders/new/", entry_data(lines=three_lines(), po_number="PO-1", action="save"))
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.order_number}/"
    assert order.state == OrderState.DRAFT and order.created_by == operator
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in order.lines.all()] == [
        ("BOLT-10", 4, Decimal("18.40")),
        ("NUT-10", 2, Decimal("9.95")),
        ("WASHER-10", 10, Decimal("6.20")),
    ]
    assert order.total == Decimal("155.50")
    assert (order.ship_to_name, order.ship_to_city) == ("Acme Corp", "Austin")  # same as customer
    page = client.get(response["Location"]).content.decode()
    assert f"Draft {order.order_number} saved." in page


def test_removed_and_blank_rows_are_not_saved(client, operator):
    client.force_login(operator)
    lines = [*three_lines(), {"sku": "", "quantity": "1", "unit_price": ""}]
    lines[1]["DELETE"] = "on"
    post(client, "/orders/new/", entry_data(lines=lines, action="save"))
    assert list(Order.objects.get().lines.values_list("sku", flat=True)) == ["BOLT-10", "WASHER-10"]


def test_a_picked_customer_and_its_saved_ship_to_are_copied(client, operator, customer):
    customer.terms_code = "NET30"
    customer.save()
    dock = CustomerShipTo.objects.create(
        customer=customer, code="DOCK", name="Dock 9", address1="9 Pier", city="Salem", state="OR", zip="97301"
    )
    client.force_login(operator)
    data = entry_data(
        customer=customer.pk,
        customer_name="Northwind Traders",
        customer_no="C100",
        ship_to_source=dock.pk,
        action="save",
    )
    post(client, "/orders/new/", data)
    order = Order.objects.get()
    assert order.customer == customer and order.customer_no == "C100"
    assert order.customer_terms_code == "NET30"  # from the customer: not a field of the form
    assert (order.ship_to_code, order.ship_to_name, order.ship_to_zip) == ("DOCK", "Dock 9", "97301")


def test_errors_come_back_on_their_field_and_row_with_the_input_kept(client, operator):
    client.force_login(operator)
    lines = three_lines()
    lines[1]["quantity"] = "0"
    response = post(
        client, "/orders/new/", entry_data(lines=lines, customer_name="", po_number="KEEP-ME", action="save")
    )
    assert response.status_code == 200 and not Order.objects.exists()
    html = response.content.decode()
    assert "Not saved." in html and "Enter the customer&#x27;s name." in html
    row = html[html.index('id="row-lines-1"') : html.index('id="row-lines-2"')]
    assert "Enter a quantity of at least 1." in row and 'aria-invalid="true"' in row
    assert 'value="KEEP-ME"' in html and 'value="WASHER-10"' in html


def test_submit_saves_then_submits(client, operator):
    client.force_login(operator)
    response = post(client, "/orders/new/", entry_data(lines=three_lines(), action="submit"))
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.order_number}/"
    assert order.state == OrderState.SUBMITTED
    assert sorted(order.outbox_messages.values_list("destination", flat=True)) == ["cimcloud", "tulaerp"]
    page = client.get(response["Location"]).content.decode()
    assert f"Order {order.order_number} submitted; it is being sent to CIMcloud and TulaERP." in page


def test_submit_shows_why_it_went_to_review(client, operator, customer):
    customer.credit_hold = True
    customer.save()
    client.force_login(operator)
    data = entry_data(customer=customer.pk, customer_no="C100", action="submit")
    response = post(client, "/orders/new/", data, follow=True)
    order = Order.objects.get()
    assert order.state == OrderState.AWAITING_REVIEW
    assert "was sent to review before sending: Customer C100 is on credit hold." in response.content.decode()


def test_submit_refused_by_the_presend_check_keeps_the_draft_and_marks_the_field(client, operator):
    client.force_login(operator)
    data = entry_data(
        ship_to_source="own",
        ship_to_name="Warehouse",
        ship_to_address1="1 Rue",
        ship_to_city="Montreal",
        ship_to_state="QC",
        ship_to_zip="H2X",
        ship_to_country_code="CAN",
        action="submit",
    )
    response = post(client, "/orders/new/", data)
    order = Order.objects.get()
    assert response.status_code == 200 and order.state == OrderState.DRAFT
    html = response.content.decode()
    assert f"Draft {order.order_number} saved, but not submitted" in html
    assert f'action="/orders/{order.order_number}/edit/"' in html  # the next save edits the draft
    field = html[html.index('id="id_ship_to_country_code"') :][:400]
    assert "TulaERP ships only to" in field
    assert f'name="version" value="{order.version}"' in html


# --- the one-time token --------------------------------------------------------------------------------------------


def test_a_double_submit_creates_one_order(client, operator):
    client.force_login(operator)
    data = entry_data(action="submit", form_token="double-click")
    first = post(client, "/orders/new/", data)
    second = post(client, "/orders/new/", data)
    order = Order.objects.get()
    assert first["Location"] == second["Location"] == f"/orders/{order.order_number}/"
    assert OutboxMessage.objects.count() == 2
    page = client.get(second["Location"]).content.decode()
    assert f"This form was already saved as order {order.order_number}." in page
    post(client, "/orders/new/", {**data, "form_token": "another-form"})
    assert Order.objects.count() == 2


def test_a_second_click_while_the_first_is_saving_waits_for_it(client, operator, monkeypatch):
    from orders.views import order_form

    monkeypatch.setattr(order_form, "WAIT_FOR_FIRST_CLICK_S", 0.3)
    client.force_login(operator)
    session = client.session
    session[order_form.TOKENS_KEY] = {"busy": order_form.PENDING}
    session.save()
    response = post(client, "/orders/new/", entry_data(form_token="busy", action="save"), follow=True)
    assert response.redirect_chain[-1][0].startswith("/orders/")
    assert "still being saved by your first click" in response.content.decode()
    assert not Order.objects.exists()


def test_a_form_refused_before_saving_keeps_its_token_usable(client, operator):
    client.force_login(operator)
    data = entry_data(form_token="again", destinations=["cimcloud"], ship_to_country_code="USA", action="save")
    data["lines-0-description"] = "x" * 201  # refused by the form: the token is not even claimed
    assert post(client, "/orders/new/", data).status_code == 200
    data["lines-0-description"] = "ok"
    assert post(client, "/orders/new/", data).status_code == 302
    assert client.session["order_form_tokens"]["again"] == Order.objects.get().order_number


def test_a_double_click_on_save_of_a_draft_is_not_a_stale_save(client, operator, make_order):
    order = make_order(operator)
    client.force_login(operator)
    data = entry_data(form_token="edit-token", version=order.version, po_number="NEW-PO", action="save")
    post(client, f"/orders/{order.order_number}/edit/", data)
    again = post(client, f"/orders/{order.order_number}/edit/", data)
    assert again.status_code == 302
    order.refresh_from_db()
    assert order.version == 2 and order.po_number == "NEW-PO"


# --- editing a draft -----------------------------------------------------------------------------------------------


def test_edit_a_draft(client, operator, make_order):
    order = make_order(operator)
    client.force_login(operator)
    page = client.get(f"/orders/{order.order_number}/edit/").content.decode()
    assert 'name="version" value="1"' in page and 'value="SKU-1"' in page
    assert f'hx-post="/orders/new/check/?order={order.order_number}"' in page
    data = entry_data(lines=three_lines(), version=1, customer=order.customer_id, action="save")
    response = post(client, f"/orders/{order.order_number}/edit/", data)
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.version == 2 and order.line_count == 3
    edit = order.events.get(kind="edited")
    assert edit.detail["diff"]["ship_to_name"] == ["Northwind Dock", "Acme Corp"]


def test_a_stale_save_is_refused_with_who_and_when_and_keeps_the_input(client, operator, operator2, make_order):
    order = make_order(operator)
    client.force_login(operator)
    client.get(f"/orders/{order.order_number}/edit/")
    services.order_update_draft(  # someone else saves first
        actor=Actor(user=operator2),
        order_id=order.pk,
        version=1,
        fields={"po_number": "THEIRS"},
        lines=[LineInput(sku="SKU-1", quantity=2, unit_price=Decimal("10.50"))],
    )
    data = entry_data(lines=three_lines(), version=1, po_number="MINE", action="save", form_token="mine")
    response = post(client, f"/orders/{order.order_number}/edit/", data)
    assert response.status_code == 200
    assert "mine" not in client.session["order_form_tokens"]  # released: nothing was saved with it
    html = response.content.decode()
    assert "Not saved: op2 changed this order at" in html
    assert 'value="MINE"' in html and 'value="NUT-10"' in html and 'name="version" value="1"' in html
    order.refresh_from_db()
    assert order.po_number == "THEIRS" and order.line_count == 1


def test_only_drafts_can_be_edited(client, operator, make_order):
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    client.force_login(operator)
    response = client.get(f"/orders/{order.order_number}/edit/", follow=True)
    assert response.redirect_chain[-1][0] == f"/orders/{order.order_number}/"
    assert "only drafts can be edited" in response.content.decode()


def test_unknown_orders_are_404(client, operator):
    client.force_login(operator)
    assert client.get("/orders/NOPE-1/edit/").status_code == 404
    assert client.get("/orders/NOPE-1/fix/").status_code == 404
    assert client.post("/orders/new/check/?order=NOPE-1", **HTMX).status_code == 404


# --- without JavaScript: add a row, find and pick a customer ---------------------------------------------------------


def test_add_line_without_javascript(client, operator):
    client.force_login(operator)
    data = entry_data(lines=[{"sku": "A", "quantity": "x", "unit_price": ""}], add_line="1", customer_name="")
    response = post(client, "/orders/new/", data)
    html = response.content.decode()
    assert response.status_code == 200 and not Order.objects.exists()
    assert 'name="lines-TOTAL_FORMS" value="2"' in html and 'name="lines-1-sku"' in html
    assert 'name="lines-1-quantity" value="1"' in html
    assert 'value="x"' in html
    assert "field-error" not in html and "aria-invalid" not in html  # half-typed rows are not errors yet


def test_find_and_pick_a_customer_without_javascript(client, operator, customer):
    CustomerShipTo.objects.create(customer=customer, code="DOCK", name="Dock 9")
    client.force_login(operator)
    found = post(client, "/orders/new/", entry_data(customer_name="", customer_q="northw", find_customer="1"))
    assert f'name="pick_customer" value="{customer.pk}"' in found.content.decode()
    picked = post(client, "/orders/new/", entry_data(customer_name="", pick_customer=str(customer.pk)))
    html = picked.content.decode()
    assert 'value="Northwind Traders"' in html and 'value="1 Harbor Way"' in html
    assert "DOCK · Dock 9" in html and "From the customer list:" in html
    cleared = post(client, "/orders/new/", entry_data(customer=customer.pk, pick_customer=""))
    assert 'value="Acme Corp"' not in cleared.content.decode() and "A new customer" in cleared.content.decode()


# --- htmx helpers --------------------------------------------------------------------------------------------------


def test_customer_search(client, operator, customer):
    services.customer_create(actor=Actor.system("t"), fields={"customer_no": "Z-NORTH", "name": "Zed"})
    for i in range(12):
        services.customer_create(actor=Actor.system("t"), fields={"customer_no": f"K{i}", "name": f"Kilo {i}"})
    client.force_login(operator)
    html = client.get("/orders/new/customers/?q=north", **HTMX).content.decode()
    assert "Northwind Traders" in html and "Zed" in html  # name or number
    assert html.count('name="pick_customer"') == 2
    assert client.get("/orders/new/customers/?q=kilo", **HTMX).content.decode().count('name="pick_customer"') == 10
    assert "No saved customer matches" in client.get("/orders/new/customers/?q=qqq", **HTMX).content.decode()
    assert client.get("/orders/new/customers/?q=", **HTMX).content.decode().strip() == ""


def test_pick_a_customer_with_htmx(client, operator, customer):
    CustomerShipTo.objects.create(customer=customer, code="DOCK", name="Dock 9")
    client.force_login(operator)
    response = post(client, "/orders/new/customers/pick/", entry_data(pick_customer=str(customer.pk)), **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<fieldset class="card block" id="customer-block">')
    assert 'id="ship-to-block" hx-swap-oob="true"' in html and "DOCK · Dock 9" in html
    assert 'value="Northwind Traders"' in html
    assert "entry-changed" in response["HX-Trigger-After-Settle"]


def test_item_search(client, operator):
    CatalogItem.objects.create(sku="BOLT-10", description="Hex bolt", default_price=Decimal("18.40"))
    CatalogItem.objects.create(sku="ABOLT", description="Another", default_price=Decimal("1"))
    CatalogItem.objects.create(sku="BOLT-OLD", description="Gone", default_price=Decimal("1"), active=False)
    client.force_login(operator)
    html = client.get("/orders/new/items/?lines-3-sku=bolt", **HTMX).content.decode()
    assert html.index('value="BOLT-10"') < html.index('value="ABOLT"')  # starting with it first
    assert 'data-description="Hex bolt" data-price="18.40"' in html and "BOLT-OLD" not in html
    assert "ABOLT" in client.get("/orders/new/items/?q=another", **HTMX).content.decode()


def test_line_row(client, operator):
    client.force_login(operator)
    html = client.get("/orders/new/line/?index=3", **HTMX).content.decode()
    assert html.lstrip().startswith('<tr class="line-row" id="row-lines-3">')
    assert 'name="lines-3-sku"' in html and 'name="lines-3-DELETE"' in html
    assert (
        '<input type="hidden" name="lines-TOTAL_FORMS" value="4" id="id_lines-TOTAL_FORMS" hx-swap-oob="true">' in html
    )
    assert 'hx-get="/orders/new/line/?index=4"' in html
    assert client.get("/orders/new/line/?index=x", **HTMX).status_code == 400


def test_check_shows_totals_and_what_each_destination_would_say(client, operator, make_order):
    make_order(operator, fields={"po_number": "PO-9"})
    client.force_login(operator)
    data = entry_data(lines=three_lines(), customer_no="C100", po_number="PO-9", shipping_total="4.50")
    response = post(client, "/orders/new/check/", data, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card check" id="order-check"')
    assert '<dd id="order-total">160.00</dd>' in html
    assert '<span id="lines-1-total" hx-swap-oob="true">19.90</span>' in html
    assert html.count("Ready to send") == 2
    assert "Will go to review" in html and "PO PO-9 is already used by order" in html
    broken = post(client, "/orders/new/check/", entry_data(customer_city="", customer_zip=""), **HTMX).content.decode()
    assert "2 to correct" in broken and "Customer city" in broken and "CIMcloud requires the customer city." in broken
    assert not Order.objects.exclude(po_number="PO-9").exists()  # nothing saved


def test_check_without_htmx_renders_the_page(client, operator):
    client.force_login(operator)
    response = post(client, "/orders/new/check/", entry_data())
    assert "<html" in response.content.decode() and "Ready to send" in response.content.decode()


# --- fix and resend ------------------------------------------------------------------------------------------------


def _rejected_by_cimcloud(order: Order, *, tulaerp_state: str = MessageState.SENT) -> None:
    OutboxMessage.objects.filter(order=order, destination="cimcloud").update(
        state=MessageState.NEEDS_ATTENTION,
        attention_reason=AttentionReason.PERMANENT,
        last_error="Missing required field(s): shipping_address.zip",
    )
    OutboxMessage.objects.filter(order=order, destination="tulaerp").update(
        state=tulaerp_state, external_reference="TU0000042"
    )


def test_fix_and_resend_through_the_form(client, operator, make_order):
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    _rejected_by_cimcloud(order)
    client.force_login(operator)
    page = client.get(f"/orders/{order.order_number}/fix/").content.decode()
    assert "Fix and resend" in page and "Save and resend" in page
    assert "<strong>CIMcloud</strong> gets the corrected order." in page
    assert "<strong>TulaERP</strong> already has it: correct it there by hand too." in page
    assert 'name="customer_q"' not in page and "Enter a new customer instead" not in page  # the customer stays
    assert "also_update_cimcloud" not in page
    data = entry_data(
        customer_name="Northwind Traders",
        ship_to_source="own",
        ship_to_name="Northwind Dock",
        ship_to_address1="9 Pier Rd",
        ship_to_city="Portland",
        ship_to_state="OR",
        ship_to_zip="97209",
        ship_to_country_code="USA",
        lines=[{"sku": "SKU-1", "quantity": "2", "unit_price": "10.50"}],
        version=order.version,
        action="resend",
    )
    response = post(client, f"/orders/{order.order_number}/fix/", data, follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == f"/orders/{order.order_number}/"
    assert f"Order {order.order_number} corrected and queued again for CIMcloud." in html
    assert "TulaERP already has this order (TU0000042): correct it in TulaERP too." in html
    new = order.outbox_messages.get(state=MessageState.PENDING)
    assert new.destination == "cimcloud" and '"zip":"97209"' in new.payload


def test_fix_and_resend_offers_to_update_cimcloud_when_it_has_the_order(client, operator, make_order):
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    OutboxMessage.objects.filter(order=order, destination="tulaerp").update(
        state=MessageState.NEEDS_ATTENTION, attention_reason=AttentionReason.PERMANENT
    )
    OutboxMessage.objects.filter(order=order, destination="cimcloud").update(state=MessageState.SENT)
    client.force_login(operator)
    assert 'name="also_update_cimcloud"' in client.get(f"/orders/{order.order_number}/fix/").content.decode()
    data = entry_data(version=order.version, also_update_cimcloud="on", action="resend")
    post(client, f"/orders/{order.order_number}/fix/", data)
    assert sorted(order.outbox_messages.filter(state="pending").values_list("destination", flat=True)) == [
        "cimcloud",
        "tulaerp",
    ]


def test_fix_and_resend_refuses_a_correction_that_still_cannot_be_sent(client, operator, make_order):
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    _rejected_by_cimcloud(order)
    client.force_login(operator)
    data = entry_data(customer_zip="", version=order.version, action="resend")  # same as customer: no zip
    response = post(client, f"/orders/{order.order_number}/fix/", data)
    html = response.content.decode()
    assert response.status_code == 200 and "The corrected order still cannot be sent" in html
    field = html[html.index('id="id_customer_zip"') :][:300]
    assert "CIMcloud requires the customer zip." in field
    assert not order.outbox_messages.filter(state="pending").exists()


def test_fix_only_for_rejected_orders(client, operator, make_order):
    order = make_order(operator)
    client.force_login(operator)
    response = client.get(f"/orders/{order.order_number}/fix/", follow=True)
    assert "has no rejected message to fix and resend" in response.content.decode()
