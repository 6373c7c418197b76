"""Golden tests on the external systems' own examples (copied into tests/fixtures)."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest

from orders import services
from orders.errors import InvalidInput
from orders.integrations import jsonutil
from orders.integrations.parsing import cimcloud_import, resolve_refs, tulaerp_shipments
from orders.integrations.payloads import cimcloud_order_body, tulaerp_order_body
from orders.models import LinkSource, OrderSource
from orders.services import Actor

FIXTURES = Path(__file__).parent / "fixtures"


def _load(name: str):
    return jsonutil.loads((FIXTURES / name).read_text())


def _same_values_and_types(expected, actual, path="body"):
    assert type(actual) is type(expected), f"{path}: {type(expected).__name__} became {type(actual).__name__}"
    if isinstance(expected, dict):
        assert set(actual) == set(expected), f"{path}: keys differ {set(actual) ^ set(expected)}"
        for key in expected:
            _same_values_and_types(expected[key], actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), path
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _same_values_and_types(e, a, f"{path}[{index}]")
    else:
        assert actual == expected, f"{path}: {expected!r} became {actual!r}"
        if isinstance(expected, Decimal):
            assert str(actual) == str(expected), f"{path}: {expected} lost its scale ({actual})"


@pytest.mark.django_db
def test_cimcloud_example_round_trips_field_for_field_and_type_for_type():
    example = _load("cimcloud-orderpassthrough.example.json")
    imported = cimcloud_import(copy.deepcopy(example))
    order = services.order_create(
        actor=Actor.system("test"),
        fields=imported.fields,
        lines=imported.lines,
        order_number=imported.order_number,
        source=OrderSource.IMPORT,
    )
    order.refresh_from_db()
    body = cimcloud_order_body(order, list(order.lines.all()))
    _same_values_and_types(example, body)
    text = jsonutil.dumps(body)
    assert '"price": 72.00' in text or '"price":72.00' in text  # a JSON number with its two decimals


def test_cimcloud_import_refuses_undocumented_keys_naming_them():
    body = _load("cimcloud-orderpassthrough.example.json")
    body["discount_code"] = "X"
    body["customer"]["vip"] = True
    body["details"][0]["colour"] = "red"
    with pytest.raises(InvalidInput) as exc:
        cimcloud_import(body)
    assert {"discount_code", "customer.vip", "details[0].colour"} <= set(exc.value.field_errors)


def test_cimcloud_import_field_errors_name_the_cimcloud_path():
    body = _load("cimcloud-orderpassthrough.example.json")
    del body["customer"]["zip"]
    body["details"][1]["price"] = "twenty"
    body["details"][0]["quantity"] = 0
    body["shipping_address"]["city"] = 7
    with pytest.raises(InvalidInput) as exc:
        cimcloud_import(body)
    assert {"customer.zip", "details[1].price", "details[0].quantity", "shipping_address.city"} == set(
        exc.value.field_errors
    )


@pytest.mark.parametrize("body", [[], "x", None, 3])
def test_cimcloud_import_needs_an_object(body):
    with pytest.raises(InvalidInput):
        cimcloud_import(body)


def test_json_net_references_are_resolved():
    sample = _load("tulaerp-order.response.sample.json")
    resolved = resolve_refs(sample)
    assert resolved["orderItems"][1]["item"] == resolved["orderItems"][0]["item"]
    assert "$id" not in resolved["orderItems"][0]["item"]


def test_tulaerp_response_sample_parses_into_shipments_and_packages():
    shipments = tulaerp_shipments(_load("tulaerp-order.response.sample.json"))
    assert len(shipments) == 2
    first = shipments[0]
    assert (first.tulaerp_id, first.short_order_number, first.package_number, first.warehouse_id) == (
        1,
        "sample string 3",
        5,
        6,
    )
    assert first.weight == Decimal("15.0") and first.status == "Unknown"
    assert [(i.item_code, i.quantity, i.location_name, i.picked_quantity) for i in first.items] == [
        ("sample string 4", 5, "sample string 6", 1)
    ] * 2
    package = first.packages[0]
    assert (package.package_number, package.carrier, package.tracking_number1, package.tracking_number2) == (
        3,
        "sample string 4",
        "sample string 5",
        "sample string 6",
    )
    assert package.weight == Decimal("1.0") and package.transit_days == Decimal("10.0")
    assert package.delivery_date.year == 2025 and package.delivery_date.utcoffset().total_seconds() == 0
    # "sample string 7" is no web address and the carrier is unknown: no link rather than a broken one.
    assert (package.tracking_link, package.tracking_link_source) == ("", LinkSource.NONE)


def test_tracking_link_from_erp_or_built_from_the_carrier_template():
    sample = _load("tulaerp-order.response.sample.json")
    packages = sample["orderShipments"][0]["orderShipmentPackages"]
    packages[0].update(
        shipCarrier="UPS",
        trackingNumber1="1Z999AA10123456784",
        trackingLink="https://www.ups.com/track?tracknum=1Z999AA10123456784",
    )
    packages[1].update(shipCarrier="USPS", trackingNumber1="9400111899223197428490", trackingLink=None)
    erp, built = tulaerp_shipments(sample)[0].packages
    assert (erp.tracking_link_source, erp.tracking_link) == (
        LinkSource.ERP,
        "https://www.ups.com/track?tracknum=1Z999AA10123456784",
    )
    assert built.tracking_link_source == LinkSource.TEMPLATE
    assert built.tracking_link == "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223197428490"


@pytest.mark.django_db
def test_tulaerp_sample_upserts_idempotently(make_order, operator):
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    shipments = tulaerp_shipments(_load("tulaerp-order.response.sample.json"))
    services.shipment_upsert(actor=Actor.system("t"), order_id=order.pk, shipments=shipments)
    counts = (order.shipments.count(), sum(s.packages.count() for s in order.shipments.all()))
    services.shipment_upsert(actor=Actor.system("t"), order_id=order.pk, shipments=shipments)
    assert counts == (order.shipments.count(), sum(s.packages.count() for s in order.shipments.all())) == (1, 1)


@pytest.mark.django_db
def test_tulaerp_body_shape(make_order, operator):
    order = make_order(operator, fields={"must_ship_by_date": "2026-12-01", "packslip_message": "Thanks!"})
    order.refresh_from_db()
    body = tulaerp_order_body(order, list(order.lines.all()))
    assert body["orderNumber"] == str(order.uuid)
    assert body["orderItems"] == [{"itemCode": "SKU-1", "quantity": 2}]
    assert (body["shipName"], body["shipZip"], body["packslipMessage"]) == ("Northwind Dock", "97202", "Thanks!")
    assert body["orderTypeId"] == "Standard" and body["orderSourceId"] == "Manual"
    assert body["mustShipByDate"].startswith("2026-12-01T") and body["mustShipByDate"][-6] in "+-"
    assert body["orderDate"][-6] in "+-"
