"""/api/v1/orders/…: list, create, retrieve, edit a draft, the state actions, shipments and tracking."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from orders import services
from orders.integrations import jsonutil
from orders.models import Order, OrderEvent, OrderState, Package
from orders.services import Actor, LineInput
from orders.services.tokens import api_token_create

ORDERS = "/api/v1/orders/"


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + api_token_create(actor=Actor.system("test"), user=user)[1])
    return client


@pytest.fixture
def api(operator) -> APIClient:
    return _client(operator)


@pytest.fixture
def viewer_api(viewer) -> APIClient:
    return _client(viewer)


def _json(response) -> Any:
    assert response["Content-Type"] == "application/json", response.content
    return jsonutil.loads(response.content)


def _error(response, status: int, type_: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = _json(response)
    assert set(body) >= {"type", "detail", "errors"} and body["detail"]
    if type_:
        assert body["type"] == type_, body
    return body


def _post(client: APIClient, url: str, body: Any) -> Any:
    return client.post(url, data=jsonutil.dumps(body), content_type="application/json")


def _patch(client: APIClient, url: str, body: Any) -> Any:
    return client.patch(url, data=jsonutil.dumps(body), content_type="application/json")


NEW_ORDER = {
    "po_number": "PO-API-1",
    "customer": {"customer_no": "C100"},
    "ship_to": {"name": "Dock 4", "address1": "9 Pier Rd", "city": "Portland", "state": "OR", "zip": "97202",
                "country_code": "USA"},
    "lines": [{"sku": "SKU-1", "quantity": 2, "unit_price": Decimal("10.50")},
              {"sku": "SKU-2", "quantity": 1, "unit_price": Decimal("3.00"), "description": "Widget"}],
}  # fmt: skip


def _submitted(make_order, operator) -> Order:
    order = make_order(operator)
    return services.order_submit(actor=Actor(user=operator), order_id=order.pk)


# --- list -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_walks_every_order_once_with_a_stable_cursor(viewer_api, make_order, operator):
    numbers = {make_order(operator).order_number for _ in range(5)}
    seen, url = [], ORDERS + "?page_size=2"
    while url:
        body = _json(viewer_api.get(url))
        seen += [row["order_number"] for row in body["results"]]
        assert body["count"] == 5
        url = body["next"]
    assert sorted(seen) == sorted(numbers) and len(seen) == 5
    assert seen == sorted(seen, reverse=True)  # newest first; numbers rise with time


@pytest.mark.django_db
def test_list_filters_and_q_use_the_list_page_rules(viewer_api, make_order, operator):
    draft = make_order(operator, fields={"po_number": "PO-777"})
    sent = _submitted(make_order, operator)

    assert [r["order_number"] for r in _json(viewer_api.get(ORDERS + "?q=po-777"))["results"]] == [draft.order_number]
    rows = _json(viewer_api.get(ORDERS + "?state=submitted"))["results"]
    assert [r["order_number"] for r in rows] == [sent.order_number]
    assert {s["destination"]: s["state"] for s in rows[0]["sync"]} == {"cimcloud": "pending", "tulaerp": "pending"}
    never = _json(viewer_api.get(ORDERS + "?sync_tulaerp=none"))["results"]
    assert [r["order_number"] for r in never] == [draft.order_number]


@pytest.mark.django_db
def test_list_refuses_bad_filters_and_cursors(viewer_api):
    body = _error(viewer_api.get(ORDERS + "?state=lost&page_size=0&cursor=nonsense"), 400, "invalid")
    assert {"state", "page_size"} <= set(body["errors"])
    _error(viewer_api.get(ORDERS + "?cursor=nonsense"), 400, "invalid")


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_the_page(viewer_api, make_order, operator):
    for _ in range(2):
        _submitted(make_order, operator)

    def count(page_size: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert viewer_api.get(f"{ORDERS}?page_size={page_size}").status_code == 200
        return len(queries)

    viewer_api.get(ORDERS)  # the first request also records the token's use
    small = count(1)
    for _ in range(6):
        _submitted(make_order, operator)
    assert count(20) == small


@pytest.mark.django_db
def test_list_and_detail_have_fixed_query_budgets(
    viewer_api, make_order, operator, admin_user, django_assert_num_queries
):
    order = _submitted(make_order, operator)
    shipment = services.ShipmentData(tulaerp_id=1, packages=(services.PackageData(package_number=1),))
    services.shipment_upsert(actor=Actor.system("t"), order_id=order.pk, shipments=[shipment])
    viewer_api.get(ORDERS)  # the first request also records the token's use
    with CaptureQueriesContext(connection) as first:
        viewer_api.get(ORDERS)
    with django_assert_num_queries(len(first)):
        viewer_api.get(ORDERS + "?page_size=100")
    with CaptureQueriesContext(connection) as detail:
        viewer_api.get(f"{ORDERS}{order.order_number}/")
    lines = [LineInput(sku=f"S-{i}", quantity=1, unit_price=Decimal("1.00")) for i in range(12)]
    big = _submitted(lambda user: make_order(user, lines=lines), operator)
    assert big.state == OrderState.AWAITING_REVIEW  # more lines than CIMcloud takes at once: a human looks first
    services.order_approve(actor=Actor(user=admin_user), order_id=big.pk)
    services.shipment_upsert(
        actor=Actor.system("t"),
        order_id=big.pk,
        shipments=[
            services.ShipmentData(tulaerp_id=i, packages=(services.PackageData(package_number=1, carrier="UPS"),))
            for i in range(3)
        ],
    )
    with django_assert_num_queries(len(detail)):
        body = _json(viewer_api.get(f"{ORDERS}{big.order_number}/"))
    assert len(body["lines"]) == 12 and len(body["shipments"]) == 3


# --- retrieve ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_retrieve_by_number_any_case(viewer_api, make_order, operator):
    order = _submitted(make_order, operator)
    body = _json(viewer_api.get(f"{ORDERS}{order.order_number.lower()}/"))
    assert body["order_number"] == order.order_number and body["state"] == "submitted"
    assert body["lines"][0]["unit_price"] == Decimal("10.50")
    assert body["shipments"] == [] and {s["destination"] for s in body["sync"]} == {"cimcloud", "tulaerp"}


@pytest.mark.django_db
def test_missing_orders_and_non_numbers_are_json_404(viewer_api):
    _error(viewer_api.get(ORDERS + "X-404/"), 404, "not_found")
    _error(viewer_api.get(ORDERS + "bad%20number!/"), 404, "not_found")
    _error(viewer_api.post(ORDERS + "X-404/submit/"), 403)  # a viewer may not write, whatever the order


@pytest.mark.django_db
def test_auth_roles_and_methods(api, viewer_api, make_order, operator):
    order = make_order(operator)
    _error(APIClient().get(ORDERS), 401, "not_authenticated")
    _error(_post(viewer_api, ORDERS, NEW_ORDER), 403, "permission_denied")
    _error(api.delete(f"{ORDERS}{order.order_number}/"), 405, "method_not_allowed")
    _error(api.put(f"{ORDERS}{order.order_number}/", data="{}", content_type="application/json"), 405)


# --- create -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_a_draft_in_our_shape(api, customer):
    response = _post(api, ORDERS, NEW_ORDER)
    body = _json(response)
    assert response.status_code == 201, body
    assert response["Location"] == body["url"] == f"{ORDERS}{body['order_number']}/"
    assert body["state"] == "draft" and body["source"] == "api" and body["version"] == 1
    assert body["customer"]["name"] == "Northwind Traders" and body["ship_to"]["name"] == "Dock 4"
    assert body["totals"]["subtotal"] == Decimal("24.00") and body["po_number"] == "PO-API-1"
    assert Order.objects.get(order_number=body["order_number"]).customer_id == customer.pk


@pytest.mark.django_db
def test_create_with_submit_sends_it(api, customer):
    body = _json(_post(api, ORDERS, {**NEW_ORDER, "submit": True, "destinations": ["tulaerp"]}))
    assert body["state"] == "submitted"
    assert [(s["destination"], s["state"]) for s in body["sync"]] == [("tulaerp", "pending")]


@pytest.mark.django_db
def test_create_errors_name_field_paths(api, customer):
    bad = {**NEW_ORDER, "colour": "red", "lines": [{"sku": "A", "quantity": "many", "unit_price": 1, "x": 1}],
           "ship_to": {"zip": "1" * 30}}  # fmt: skip
    body = _error(_post(api, ORDERS, bad), 400, "invalid")
    assert {"colour", "lines[0].quantity", "lines[0].x", "ship_to.zip"} <= set(body["errors"])


@pytest.mark.django_db
def test_create_refuses_bodies_that_are_not_orders(api, customer, settings):
    _error(api.post(ORDERS, data="{", content_type="application/json"), 400, "malformed_json")
    _error(api.post(ORDERS, data="[1, 2]", content_type="application/json"), 400, "invalid")
    _error(api.post(ORDERS, data="a=1", content_type="text/plain"), 415, "unsupported_media_type")
    many = {**NEW_ORDER, "lines": NEW_ORDER["lines"] * 101}
    assert "lines" in _error(_post(api, ORDERS, many), 400, "invalid")["errors"]


@pytest.mark.django_db
def test_a_service_error_is_reported_on_our_path(api, customer):
    body = _error(_post(api, ORDERS, {**NEW_ORDER, "customer": {"name": ""}}), 400, "invalid")
    assert "customer.name" in body["errors"]


# --- edit a draft --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_patch_a_draft_with_its_version(api, make_order, operator):
    order = make_order(operator)
    url = f"{ORDERS}{order.order_number}/"
    body = _json(_patch(api, url, {"version": 1, "po_number": "PO-NEW"}))
    assert body["po_number"] == "PO-NEW" and body["version"] == 2 and len(body["lines"]) == 1

    stale = _error(_patch(api, url, {"version": 1, "po_number": "PO-OLD"}), 409, "stale")
    assert stale["changed_by"] == "op1"
    _error(_patch(api, url, {"po_number": "x"}), 400, "invalid")  # version is required

    replaced = _json(_patch(api, url, {"version": 2, "lines": [{"sku": "Z", "quantity": 3, "unit_price": "2.00"}]}))
    assert [(line["sku"], line["quantity"]) for line in replaced["lines"]] == [("Z", 3)]


@pytest.mark.django_db
def test_patch_and_draft_actions_on_a_submitted_order_conflict(api, make_order, operator):
    order = _submitted(make_order, operator)
    url = f"{ORDERS}{order.order_number}/"
    _error(_patch(api, url, {"version": order.version, "po_number": "x"}), 409, "invalid_transition")
    _error(api.post(url + "submit/"), 409, "invalid_transition")
    _error(api.post(url + "approve/"), 409, "invalid_transition")


# --- actions ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_submit_then_cancel(api, make_order, operator):
    order = make_order(operator)
    url = f"{ORDERS}{order.order_number}/"
    assert _json(api.post(url + "submit/"))["state"] == "submitted"
    body = _json(_post(api, url + "cancel/", {"reason": "Customer called"}))
    assert body["state"] == "cancelled" and body["cancel_reason"] == "Customer called"
    assert {s["state"] for s in body["sync"]} == {"cancelled"}


@pytest.mark.django_db
def test_review_reject_and_approve_follow_the_services_rules(api, make_order, operator, operator2, customer):
    customer.credit_hold = True
    customer.save()
    order = make_order(operator)
    url = f"{ORDERS}{order.order_number}/"
    assert _json(api.post(url + "submit/"))["state"] == "awaiting_review"
    _error(api.post(url + "approve/"), 403, "not_allowed")  # four eyes
    _error(_post(api, url + "reject/", {"comment": " "}), 400, "invalid")
    assert _json(_post(_client(operator2), url + "approve/", {}))["state"] == "submitted"

    other = make_order(operator)
    api.post(f"{ORDERS}{other.order_number}/submit/")
    body = _json(_post(api, f"{ORDERS}{other.order_number}/reject/", {"comment": "Credit"}))
    assert body["state"] == OrderState.REJECTED and body["review_comment"] == "Credit"


# --- shipments ------------------------------------------------------------------------------------------------------

SHIPMENTS = {
    "orderShipments": [
        {
            "id": 501,
            "orderShipmentDate": "2025-03-04T10:00:00Z",
            "orderShipmentStatusId": "Shipped",
            "shipCity": "Portland",
            "orderShipmentItems": [{"id": 9, "itemCode": "SKU-1", "quantity": 2}],
            "orderShipmentPackages": [
                {"id": 77, "packageNumber": 1, "shipCarrier": "UPS", "trackingNumber1": "1z999aa10123456784"}
            ],
        }
    ]
}


@pytest.mark.django_db
def test_shipment_upsert_in_tulaerp_shape_is_idempotent(api, viewer_api, make_order, operator):
    order = _submitted(make_order, operator)
    url = f"{ORDERS}{order.order_number}/shipments/"
    body = _json(_post(api, url, SHIPMENTS))
    assert body["fulfilment_state"] == "shipped"
    package = body["shipments"][0]["packages"][0]
    assert package["tracking_number1"] == "1Z999AA10123456784" and package["tracking_link"].startswith("https://")
    events = OrderEvent.objects.filter(order=order).count()

    assert _json(_post(api, url, SHIPMENTS)) == body
    assert OrderEvent.objects.filter(order=order).count() == events and Package.objects.count() == 1
    assert _json(viewer_api.get(url)) == body

    tracking = _json(viewer_api.get("/api/v1/tracking/?q=1Z 999 AA1 0123456784"))
    assert tracking["shape"] == "tracking" and tracking["orders"][0]["order_number"] == order.order_number
    found = tracking["orders"][0]["packages"][0]
    assert found["carrier"] == "UPS" and found["matched"] and found["link"]


@pytest.mark.django_db
def test_shipment_errors(api, make_order, operator):
    draft = make_order(operator)
    _error(_post(api, f"{ORDERS}{draft.order_number}/shipments/", SHIPMENTS), 409, "invalid_transition")
    order = _submitted(make_order, operator)
    bad = {"orderShipments": [{"orderShipmentPackages": [{"packageNumber": "x", "colour": 1}]}]}
    body = _error(_post(api, f"{ORDERS}{order.order_number}/shipments/", bad), 400, "invalid")
    assert {
        "orderShipments[0].orderShipmentPackages[0].packageNumber",
        "orderShipments[0].orderShipmentPackages[0].colour",
    } <= set(body["errors"])
    _error(_post(api, f"{ORDERS}X-404/shipments/", SHIPMENTS), 404, "not_found")
    keyless = {"orderShipments": [{"shipCity": "Portland"}]}
    assert (
        "orderShipments[0].id" in _error(_post(api, f"{ORDERS}{order.order_number}/shipments/", keyless), 400)["errors"]
    )


@pytest.mark.django_db
def test_tracking_needs_q(viewer_api):
    _error(viewer_api.get("/api/v1/tracking/"), 400, "invalid")
    assert _json(viewer_api.get("/api/v1/tracking/?q=nothing-like-this"))["orders"] == []


@pytest.mark.django_db
def test_the_list_rows_fast_path_gives_what_the_drf_field_walk_gives(make_order, operator, admin_user):
    from rest_framework import serializers

    from orders import selectors
    from orders.api.order_serializers import OrderRowSerializer

    _submitted(make_order, operator)
    make_order(operator, destinations=["tulaerp"])
    page = selectors.order_list_page(q="", filters=selectors.OrderFilters(), limit=10)
    ids = [order.pk for order in page.orders]
    serializer = OrderRowSerializer(context={"sync": selectors.sync_states(ids)})
    orders = sorted(Order.objects.filter(pk__in=ids), key=lambda order: ids.index(order.pk))
    for order, row in zip(orders, page.orders, strict=True):
        generic = dict(serializers.ModelSerializer.to_representation(serializer, order))
        assert serializer.to_representation(order) == generic == serializer.to_representation(row)
