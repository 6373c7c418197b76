"""POST /api/v1/orders/import/cimcloud/: an OrderPassthrough body becomes an order, submitted in one go."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from orders import services
from orders.integrations import jsonutil
from orders.models import Customer, Order, OrderLine, OutboxMessage
from orders.services.context import Actor
from orders.services.tokens import api_token_create

IMPORT_URL = "/api/v1/orders/import/cimcloud/"
EXAMPLE_PATH = Path(__file__).parent / "fixtures" / "cimcloud-orderpassthrough.example.json"


@pytest.fixture
def example_text() -> str:
    return EXAMPLE_PATH.read_text()


@pytest.fixture
def example(example_text) -> dict[str, Any]:
    return jsonutil.loads(example_text)


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + api_token_create(actor=Actor.system("test"), user=user)[1])
    return client


@pytest.fixture
def api(operator) -> APIClient:
    return _client(operator)


def _post(client: APIClient, body: str | dict, query: str = "", content_type: str = "application/json"):
    text = body if isinstance(body, str) else jsonutil.dumps(body)
    return client.post(IMPORT_URL + query, data=text, content_type=content_type)


def _json(response) -> Any:
    assert response["Content-Type"] == "application/json"
    return jsonutil.loads(response.content)  # Decimal-exact, unlike response.json()


def _error(response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = _json(response)
    assert body["type"] == type_ and body["detail"] and isinstance(body["errors"], dict)
    return body


def _with(example: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of the example with dotted-path changes: `_with(ex, **{"customer.zip": "1"})`."""
    body = copy.deepcopy(example)
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = body
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return body


@pytest.mark.django_db
def test_the_seed_example_unchanged_is_imported_and_submitted(api, example_text):
    response = _post(api, example_text)

    assert response.status_code == 201, response.content
    body = _json(response)
    assert response["Location"] == body["url"] == "/api/v1/orders/Z100009/"
    assert body["order_number"] == "Z100009" and body["state"] == "submitted" and body["source"] == "api"
    assert body["destinations"] == ["cimcloud", "tulaerp"]
    assert body["customer"]["customer_no"] == "CUST123" and body["customer"]["zip"] == "12345"
    assert body["customer"]["update_master"] is True
    assert body["ship_to"]["code"] == "SHIP001" and body["ship_to"]["attention"] == "Shipping Department"
    assert body["erp_order_number"] == "ERP789" and body["comments"] == "Test Order"
    assert [(line["sku"], line["quantity"], line["unit_price"]) for line in body["lines"]] == [
        ("SOFTOFF365", 2, Decimal("72.00")),
        ("MGPAINT1", 3, Decimal("20.00")),
    ]
    assert body["totals"]["subtotal"] == Decimal("204.00") and body["totals"]["total"] == Decimal("204.00")
    assert body["review_reasons"] == []
    assert sorted((m["destination"], m["state"]) for m in body["outbox"]) == [
        ("cimcloud", "pending"),
        ("tulaerp", "pending"),
    ]
    assert body["created_at"] and body["uuid"]
    # Money is a JSON number with its two decimals, not "72.00" and not 72.0.
    assert '"unit_price":72.00' in response.text and '"subtotal":204.00' in response.text

    order = Order.objects.get()
    assert order.state == "submitted" and order.submitted_at is not None and str(order.uuid) == body["uuid"]
    assert list(order.lines.values_list("unit_price", flat=True)) == [Decimal("72.00"), Decimal("20.00")]
    messages = OutboxMessage.objects.filter(order=order)
    assert sorted(messages.values_list("destination", "state")) == [("cimcloud", "pending"), ("tulaerp", "pending")]
    assert order.events.filter(channel="api", actor__username="op1").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["true", "1", "True"])
def test_draft_stays_a_draft_without_messages(api, example_text, value):
    response = _post(api, example_text, f"?draft={value}")
    assert response.status_code == 201, response.content
    body = _json(response)
    assert body["state"] == "draft" and body["outbox"] == []
    assert Order.objects.get().state == "draft" and not OutboxMessage.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["false", "0"])
def test_draft_false_submits(api, example_text, value):
    assert _json(_post(api, example_text, f"?draft={value}"))["state"] == "submitted"


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["maybe", "yes", ""])
def test_draft_other_values_are_refused(api, example_text, value):
    body = _error(_post(api, example_text, f"?draft={value}"), 400, "invalid")
    assert list(body["errors"]) == ["draft"]
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_destinations_limit_the_messages(api, example, example_text):
    body = _json(_post(api, example_text, "?destinations=tulaerp"))
    assert body["destinations"] == ["tulaerp"]
    assert [(m["destination"], m["state"]) for m in body["outbox"]] == [("tulaerp", "pending")]
    assert list(OutboxMessage.objects.values_list("destination", flat=True)) == ["tulaerp"]

    both = _json(_post(api, _with(example, order_number="Z100010"), "?destinations=cimcloud,tulaerp"))
    assert both["destinations"] == ["cimcloud", "tulaerp"] and len(both["outbox"]) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["erp", "tulaerp,sap", ""])
def test_unknown_destinations_are_refused(api, example_text, value):
    body = _error(_post(api, example_text, f"?destinations={value}"), 400, "invalid")
    assert list(body["errors"]) == ["destinations"]
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_field_errors_name_the_cimcloud_paths(api, example):
    body = _with(example, **{"customer.zip": "", "details.1.price": "twenty", "details.0.quantity": 0})
    errors = _error(_post(api, body), 400, "invalid")["errors"]
    assert set(errors) == {"customer.zip", "details[1].price", "details[0].quantity"}
    assert not Order.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("update_master", [True, False])
def test_errors_found_by_the_service_are_renamed_to_cimcloud_paths(api, example, update_master):
    # Longer than our column: found by model validation, of our Customer (reported as `zip`) with update_master,
    # else of the order (reported as `customer_zip`).
    body = _with(example, **{"customer.zip": "9" * 25, "customer.update_master": update_master})
    errors = _error(_post(api, body), 400, "invalid")["errors"]
    assert list(errors) == ["customer.zip"]
    # A pre-send error found at submit (TulaERP ships to the USA only), reported as `ship_to_country_code`.
    body = _with(example, **{"shipping_address.country_code": "CAN"})
    errors = _error(_post(api, body, "?destinations=tulaerp"), 400, "invalid")["errors"]
    assert list(errors) == ["shipping_address.country_code"]
    assert not Order.objects.exists() and not Customer.objects.exists()  # one transaction: nothing left behind


@pytest.mark.django_db
def test_undocumented_keys_are_named(api, example):
    body = _with(example, discount_code="X", **{"customer.vip": True, "details.0.color": "red"})
    errors = _error(_post(api, body), 400, "invalid")["errors"]
    assert set(errors) == {"discount_code", "customer.vip", "details[0].color"}


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["Z100009", "z100009"])
def test_a_repeated_order_number_is_a_409_pointing_at_the_existing_order(api, example, example_text, number):
    assert _post(api, example_text).status_code == 201
    body = _error(_post(api, _with(example, order_number=number)), 409, "conflict")
    assert "order_number" in body["errors"]
    assert body["existing_url"] == "/api/v1/orders/Z100009/"
    assert Order.objects.count() == 1 and OutboxMessage.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["[1, 2]", '"an order"', "42", "null"])
def test_a_body_that_is_not_an_object_is_refused(api, text):
    body = _error(_post(api, text), 400, "invalid")
    assert "object" in body["detail"] and "body" in body["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("text", ['{"order_number": ', "{'single': 'quotes'}", '{"price": NaN}'])
def test_malformed_json_is_refused(api, text):
    body = _error(_post(api, text), 400, "malformed_json")
    assert body["errors"] == {}


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_415(api, example_text, content_type):
    _error(_post(api, example_text, content_type=content_type), 415, "unsupported_media_type")
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_a_customer_on_credit_hold_goes_to_review(api, example):
    services.customer_create(
        actor=Actor.system("test"),
        fields={"customer_no": "HOLD1", "name": "Slow Payer Inc", "credit_hold": True},
    )
    body = _with(example, **{"customer.customer_no": "HOLD1", "customer.update_master": False})
    response = _post(api, body)
    assert response.status_code == 201, response.content
    data = _json(response)
    assert data["state"] == "awaiting_review" and data["outbox"] == []
    assert [r["code"] for r in data["review_reasons"]] == ["credit_hold"]
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_update_master_creates_then_updates_our_customer(api, example, example_text):
    assert _post(api, example_text).status_code == 201
    customer = Customer.objects.get(customer_no="CUST123")
    assert (customer.name, customer.zip, customer.terms_code) == ("John Doe", "12345", "NET30")

    changed = _with(example, order_number="Z100010", **{"customer.name": "John Doe Jr", "customer.zip": "99999"})
    assert _post(api, changed).status_code == 201
    customer.refresh_from_db()
    assert (customer.name, customer.zip) == ("John Doe Jr", "99999")
    assert Customer.objects.count() == 1
    assert set(Order.objects.values_list("customer_id", flat=True)) == {customer.pk}


@pytest.mark.django_db
def test_without_update_master_our_customer_is_unchanged_and_the_order_keeps_what_was_sent(api, example):
    existing = services.customer_create(
        actor=Actor.system("test"), fields={"customer_no": "CUST123", "name": "Old Name", "zip": "11111"}
    )
    response = _post(api, _with(example, **{"customer.update_master": False}))
    assert response.status_code == 201, response.content
    existing.refresh_from_db()
    assert (existing.name, existing.zip) == ("Old Name", "11111")
    order = Order.objects.get()
    assert order.customer_id == existing.pk
    assert (order.customer_name, order.customer_zip, order.update_master) == ("John Doe", "12345", False)
    assert _json(response)["customer"]["name"] == "John Doe"


@pytest.mark.django_db
def test_only_operators_and_admins_may_import(viewer, admin_user, example, example_text):
    _error(_post(_client(viewer), example_text), 403, "permission_denied")
    _error(_post(APIClient(), example_text), 401, "not_authenticated")
    assert not Order.objects.exists()
    assert _post(_client(admin_user), example_text).status_code == 201


@pytest.mark.django_db
def test_an_unexpected_error_is_a_json_500(api, example_text, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("orders.api.views.order_import", broken)
    response = _post(api, example_text)
    body = _error(response, 500, "server_error")
    assert "on fire" not in response.text
    assert body["errors"] == {}
    assert any("database on fire" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


@pytest.mark.django_db
def test_lines_are_stored_exactly(api, example):
    body = _with(example, **{"details.0.price": Decimal("0.10"), "details.1.price": Decimal("19.99")})
    assert _post(api, body).status_code == 201
    assert list(OrderLine.objects.order_by("position").values_list("unit_price", flat=True)) == [
        Decimal("0.10"),
        Decimal("19.99"),
    ]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_seed_example_reaches_the_cimcloud_simulator_with_every_field_intact(
    operator, example, example_text, sim, workers
):
    """Imported unchanged over the API, delivered by a real worker process over HTTP: CIMcloud receives what the
    sender sent, field for field (Decimal-exact prices included)."""
    from tests.worker_fixtures import wait_until

    response = _post(_client(operator), example_text, "?destinations=cimcloud")
    assert response.status_code == 201, response.content
    workers(sim, 1)
    wait_until(
        lambda: OutboxMessage.objects.filter(destination="cimcloud", state="sent").exists(),
        timeout=60,
        what="the CIMcloud message sent",
    )
    received = [row for row in sim.received("cimcloud") if row["key"] == "Z100009"]
    assert len(received) == 1 and received[0]["accepted"] == 1
    assert received[0]["first_body"] == example
    # The simulator reads numbers as floats; the exact text sent is the message's payload.
    payload = OutboxMessage.objects.get(destination="cimcloud").payload
    assert jsonutil.loads(payload) == example and '"price":72.00' in payload and '"price":20.00' in payload
