"""Every rule that must never be stored is refused by the database itself, not only by forms or services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.models import Order, OrderLine, OrderState, Package, Shipment


def _raw_order(**overrides) -> Order:
    now = timezone.now()
    values = {"order_number": "RAW-1", "customer_name": "X", "created_at": now, "updated_at": now} | overrides
    return Order(**values)


def _refused(obj) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        obj.save()


@pytest.mark.django_db
@pytest.mark.parametrize("other", ["raw-1", "RAW-1", "Raw-1"])
def test_duplicate_order_number_in_any_case(other):
    _raw_order().save()
    _refused(_raw_order(order_number=other))


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["", "new", "NEW", "Review", "export", "bulk"])
def test_empty_or_reserved_order_number(number):
    _refused(_raw_order(order_number=number))


@pytest.mark.django_db
def test_order_needs_a_destination():
    _refused(_raw_order(send_to_cimcloud=False, send_to_tulaerp=False))


@pytest.mark.django_db
def test_negative_totals():
    _refused(_raw_order(subtotal=Decimal("-1.00")))


@pytest.mark.django_db
def test_submitted_or_cancelled_needs_its_time():
    _refused(_raw_order(state=OrderState.SUBMITTED))
    _refused(_raw_order(state=OrderState.CANCELLED, submitted_at=timezone.now()))


@pytest.mark.django_db
def test_unknown_state():
    _refused(_raw_order(state="shipped"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("quantity", "price", "sku"),
    [(0, Decimal("1.00"), "A"), (1, Decimal("-0.01"), "A"), (1, Decimal("1.00"), "")],
    ids=["zero-quantity", "negative-price", "empty-sku"],
)
def test_line_rules(quantity, price, sku):
    order = _raw_order()
    order.save()
    _refused(OrderLine(order=order, position=1, sku=sku, quantity=quantity, unit_price=price))


@pytest.mark.django_db
def test_negative_quantity_is_refused():
    order = _raw_order()
    order.save()
    _refused(OrderLine(order=order, position=1, sku="A", quantity=-1, unit_price=Decimal("1.00")))


@pytest.mark.django_db
def test_line_positions_unique():
    order = _raw_order()
    order.save()
    OrderLine.objects.create(order=order, position=1, sku="A", quantity=1, unit_price=Decimal("1.00"))
    _refused(OrderLine(order=order, position=1, sku="B", quantity=1, unit_price=Decimal("1.00")))


@pytest.mark.django_db
def test_package_without_shipment():
    _refused(Package(shipment=None, package_number=1))


@pytest.mark.django_db
def test_shipment_and_package_keys():
    order = _raw_order()
    order.save()
    shipment = Shipment.objects.create(order=order, tulaerp_id=7)
    _refused(Shipment(order=order, tulaerp_id=7))
    Shipment.objects.create(order=order, package_number=1)
    _refused(Shipment(order=order, package_number=1))
    Package.objects.create(shipment=shipment, package_number=1)
    _refused(Package(shipment=shipment, package_number=1))


@pytest.mark.django_db
def test_tracking_link_must_say_its_source():
    order = _raw_order()
    order.save()
    shipment = Shipment.objects.create(order=order, tulaerp_id=1)
    _refused(
        Package(shipment=shipment, package_number=1, tracking_link="https://x.example/1", tracking_link_source="none")
    )
