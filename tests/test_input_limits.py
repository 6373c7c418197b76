"""Limits on input, pages and API alike: lines per order, field lengths, free-text notes and body size, each
refused with a clear error and nothing saved. (CSV formula neutralising: tests/test_views_order_list.py.)"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings

from orders import services
from orders.errors import InvalidInput
from orders.models import Order, OrderState
from orders.services import Actor, LineInput
from orders.services.tokens import api_token_create
from tests.test_forms import entry_data
from tests.test_views_order_form import post

pytestmark = pytest.mark.django_db


def lines(count: int) -> list[dict]:
    return [{"sku": f"SKU-{i}", "quantity": "1", "unit_price": "1.00"} for i in range(count)]


def test_a_full_order_of_the_maximum_lines_saves_from_the_page(client, operator):
    client.force_login(operator)
    response = post(client, "/orders/new/", entry_data(lines=lines(settings.ORDER_MAX_LINES), action="save"))
    assert response.status_code == 302, response.content[:500]
    assert Order.objects.get().line_count == settings.ORDER_MAX_LINES == 200


def test_one_line_too_many_is_a_form_error_on_the_page(client, operator):
    client.force_login(operator)
    response = post(client, "/orders/new/", entry_data(lines=lines(settings.ORDER_MAX_LINES + 1), action="save"))
    assert response.status_code == 200
    assert "An order holds at most 200 lines: split it in two." in response.text
    assert not Order.objects.exists()


def test_the_service_refuses_too_many_lines_whoever_calls(customer, operator):
    many = [LineInput(sku=f"S{i}", quantity=1, unit_price=Decimal("1")) for i in range(settings.ORDER_MAX_LINES + 1)]
    with pytest.raises(InvalidInput) as refused:
        services.order_create(actor=Actor(user=operator), customer=customer, fields={}, lines=many)
    assert refused.value.field_errors == {"lines": ["At most 200 lines."]}
    assert not Order.objects.exists()


def test_the_api_refuses_too_many_lines_with_a_field_path(client, operator, customer):
    _, raw = api_token_create(actor=Actor.system("test"), user=operator)
    body = {
        "customer_no": customer.customer_no,
        "lines": [{"sku": f"S{i}", "quantity": 1, "unit_price": 1} for i in range(settings.ORDER_MAX_LINES + 1)],
    }
    response = client.post(
        "/api/v1/orders/", body, content_type="application/json", headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 400 and "lines" in response.json()["errors"]
    assert not Order.objects.exists()


def test_a_field_too_long_is_an_inline_error(client, operator):
    client.force_login(operator)
    response = post(client, "/orders/new/", entry_data(po_number="P" * 500, customer_city="C" * 500, action="save"))
    assert response.status_code == 200
    assert response.text.count("Ensure this value has at most") >= 2
    assert not Order.objects.exists()


def test_free_text_is_limited_on_pages_and_api(client, admin_user, make_order, operator):
    order = make_order(operator)
    services.order_submit(actor=Actor(user=operator), order_id=order.pk)
    order.refresh_from_db()
    assert order.state == OrderState.SUBMITTED
    client.force_login(admin_user)
    page = client.post(f"/orders/{order.order_number}/cancel/", {"reason": "x" * 2001}, follow=True)
    assert "The reason is too long: at most 2000 characters (this one has 2001)." in page.text
    order.refresh_from_db()
    assert order.state == OrderState.SUBMITTED
    _, raw = api_token_create(actor=Actor.system("test"), user=admin_user)
    api = client.post(
        f"/api/v1/orders/{order.order_number}/cancel/",
        {"reason": "x" * 2001},
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert api.status_code == 400 and "reason" in api.json()["errors"]
    assert Order.objects.get(pk=order.pk).state == OrderState.SUBMITTED


def test_a_body_too_large_gets_the_clear_400_page(client, operator, settings):
    settings.DEBUG = False  # the error page production shows, not the debug page
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client.force_login(operator)
    response = post(client, "/orders/new/", entry_data(notes="n" * 20_000, action="save"))
    assert response.status_code == 400
    assert "too large or not well formed, so nothing was saved" in response.text
    assert not Order.objects.exists()


def test_too_many_fields_get_the_clear_400_page(client, operator, settings):
    settings.DEBUG = False
    client.force_login(operator)
    data = entry_data(action="save") | {f"junk-{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)}
    response = post(client, "/orders/new/", data)
    assert response.status_code == 400 and "nothing was saved" in response.text
