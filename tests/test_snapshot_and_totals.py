"""The order keeps the customer as it was; the materialised fields always equal what the rows say."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import services
from orders.models import FulfilmentState, Order
from orders.services import Actor, LineInput, PackageData, ShipmentData, ShipmentItemData

pytestmark = pytest.mark.django_db


def test_editing_the_customer_does_not_rewrite_old_orders(make_order, customer, operator):
    order = make_order(operator)
    services.customer_update(
        actor=Actor(user=operator),
        customer_id=customer.pk,
        fields={"name": "Northwind Renamed", "city": "Salem", "credit_hold": True},
    )
    order.refresh_from_db()
    assert (order.customer_name, order.customer_city, order.customer_credit_hold) == (
        "Northwind Traders",
        "Portland",
        False,
    )
    customer.refresh_from_db()  # a page loads the customer afresh for the next order
    assert make_order(operator, customer=customer).customer_name == "Northwind Renamed"


def test_saved_ship_to_is_copied(make_order, customer, operator):
    ship_to = services.customer_ship_to_save(
        actor=Actor(user=operator),
        customer_id=customer.pk,
        code="DOCK",
        fields={
            "name": "Dock",
            "address1": "1 A St",
            "city": "Bend",
            "state": "OR",
            "zip": "97701",
            "country_code": "USA",
        },
    )
    order = make_order(operator, ship_to=ship_to)
    assert (order.ship_to_code, order.ship_to_city) == ("DOCK", "Bend")
    services.customer_ship_to_save(
        actor=Actor(user=operator), customer_id=customer.pk, code="DOCK", fields={"city": "Eugene"}
    )
    order.refresh_from_db()
    assert order.ship_to_city == "Bend"


def test_fields_given_win_over_the_customer_snapshot(make_order, operator):
    order = make_order(operator, fields={"customer_name": "As sent by the web store"})
    assert order.customer_name == "As sent by the web store"


def _recomputed(order: Order) -> tuple:
    """The materialised values computed independently from the stored rows."""
    lines = list(order.lines.all())
    subtotal = sum((line.quantity * line.unit_price for line in lines), Decimal("0.00"))
    total = subtotal + (order.shipping_total or 0) + (order.tax_total or 0)
    shipments = list(order.shipments.all())
    packages = [p for s in shipments for p in s.packages.all()]
    shipped = sum(i.quantity for s in shipments for i in s.items.all())
    if not shipments:
        state = "unshipped"
    elif shipped < sum(line.quantity for line in lines):
        state = "partly_shipped"
    elif packages and all(p.delivery_date for p in packages):
        state = "delivered"
    else:
        state = "shipped"
    return subtotal, total, len(lines), state


def test_materialised_fields_match_the_rows_through_a_life(make_order, operator):
    order = make_order(
        operator,
        fields={"shipping_total": Decimal("7.25"), "tax_total": Decimal("1.10")},
        lines=[LineInput("A", 3, Decimal("19.99")), LineInput("B", 1, Decimal("0.01"))],
    )
    order.refresh_from_db()
    assert (order.subtotal, order.total, order.line_count, order.fulfilment_state) == _recomputed(order)
    assert order.subtotal == Decimal("59.98")
    order = services.order_update_draft(
        actor=Actor(user=operator),
        order_id=order.pk,
        version=order.version,
        fields={},
        lines=[
            LineInput("A", 2, Decimal("72.00")),
            LineInput("B", 4, Decimal("20.00")),
            LineInput("C", 1, Decimal("0.10")),
        ],
    )
    order.refresh_from_db()
    assert (order.subtotal, order.total, order.line_count, order.fulfilment_state) == _recomputed(order)
    services.order_submit(actor=Actor(user=operator), order_id=order.pk)

    now = timezone.now()
    partial = ShipmentData(
        tulaerp_id=1,
        items=(ShipmentItemData("A", 2),),
        packages=(PackageData(1, carrier="UPS", tracking_number1="1z999aa10123456784"),),
    )
    services.shipment_upsert(actor=Actor.system("t"), order_id=order.pk, shipments=[partial])
    order.refresh_from_db()
    assert order.fulfilment_state == FulfilmentState.PARTLY_SHIPPED == _recomputed(order)[3]
    assert order.shipments.get().packages.get().tracking_number1 == "1Z999AA10123456784"

    rest = ShipmentData(
        tulaerp_id=2,
        items=(ShipmentItemData("B", 4), ShipmentItemData("C", 1)),
        packages=(PackageData(1, carrier="USPS", tracking_number1="9400100000000000000000"),),
    )
    services.shipment_upsert(actor=Actor.system("t"), order_id=order.pk, shipments=[rest])
    order.refresh_from_db()
    assert order.fulfilment_state == FulfilmentState.SHIPPED == _recomputed(order)[3]

    delivered = [
        ShipmentData(
            tulaerp_id=1,
            items=(ShipmentItemData("A", 2),),
            packages=(
                PackageData(
                    1,
                    carrier="UPS",
                    tracking_number1="1z999aa10123456784",
                    delivery_status="Delivered",
                    delivery_date=now,
                ),
            ),
        ),
        ShipmentData(
            tulaerp_id=2,
            items=(ShipmentItemData("B", 4), ShipmentItemData("C", 1)),
            packages=(
                PackageData(
                    1,
                    carrier="USPS",
                    tracking_number1="9400100000000000000000",
                    delivery_status="Delivered",
                    delivery_date=now + timedelta(hours=1),
                ),
            ),
        ),
    ]
    services.shipment_upsert(actor=Actor.system("t"), order_id=order.pk, shipments=delivered)
    order.refresh_from_db()
    assert order.fulfilment_state == FulfilmentState.DELIVERED == _recomputed(order)[3]
    events_before = order.events.count()
    services.shipment_upsert(actor=Actor.system("t"), order_id=order.pk, shipments=delivered)
    assert order.events.count() == events_before  # the same data twice changes nothing
