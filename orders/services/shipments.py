"""Shipments and packages from TulaERP (its answer, the fulfilment refresh, the API) through one upsert."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from orders.errors import InvalidTransition
from orders.models import (
    EventKind,
    FulfilmentState,
    LinkSource,
    Order,
    OrderState,
    Package,
    Shipment,
    ShipmentItem,
)
from orders.services.context import Actor, record_event


@dataclass(frozen=True)
class PackageData:
    package_number: int
    tulaerp_id: int | None = None
    weight: Decimal | None = None
    carrier: str = ""
    tracking_number1: str = ""
    tracking_number2: str = ""
    tracking_link: str = ""
    tracking_link_source: str = LinkSource.NONE
    delivery_status: str = ""
    carrier_receive_date: datetime | None = None
    transit_days: Decimal | None = None
    delivery_date: datetime | None = None


@dataclass(frozen=True)
class ShipmentItemData:
    item_code: str
    quantity: int = 0
    tulaerp_id: int | None = None
    location_name: str = ""
    picked_quantity: int | None = None
    picked_at: datetime | None = None
    kit_build_barcode: str = ""


@dataclass(frozen=True)
class ShipmentData:
    tulaerp_id: int | None = None
    package_number: int | None = None
    short_order_number: str = ""
    shipment_date: datetime | None = None
    status: str = "Unknown"
    warehouse_id: int | None = None
    ship_name: str = ""
    ship_address1: str = ""
    ship_address2: str = ""
    ship_address3: str = ""
    ship_city: str = ""
    ship_state: str = ""
    ship_zip: str = ""
    ship_phone: str = ""
    weight: Decimal | None = None
    items: tuple[ShipmentItemData, ...] = field(default_factory=tuple)
    packages: tuple[PackageData, ...] = field(default_factory=tuple)


def shipment_upsert(*, actor: Actor, order_id: int, shipments: Sequence[ShipmentData]) -> Order:
    """Shipments reported from outside (the API, the demo seed). Nothing ships before an order is sent, so a
    draft or an order awaiting review refuses them."""
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.state in (OrderState.DRAFT, OrderState.AWAITING_REVIEW):
            raise InvalidTransition(f"Order {order.order_number} has not been sent yet: it cannot have shipments.")
        apply_shipments(order=order, actor=actor, shipments=shipments)
    return order


def apply_shipments(*, order: Order, actor: Actor, shipments: Sequence[ShipmentData]) -> bool:
    """Upsert inside the caller's transaction (the outbox applies TulaERP's answer in the same transaction that
    marks the message sent). Returns whether anything changed; the same data twice changes nothing."""
    assert transaction.get_connection().in_atomic_block
    if not shipments:
        return False
    before_tracking = _tracking_numbers(order)
    before_state = order.fulfilment_state
    changed = False
    for data in shipments:
        changed |= _upsert_one(order, data)
    if not changed:
        return False
    refresh_fulfilment(order)
    new_tracking = sorted(_tracking_numbers(order) - before_tracking)
    if new_tracking:
        record_event(
            order,
            actor,
            EventKind.TRACKING_ADDED,
            "Tracking: " + ", ".join(new_tracking),
            {"tracking_numbers": new_tracking},
        )
    if order.fulfilment_state != before_state:
        kind = (
            EventKind.DELIVERED if order.fulfilment_state == FulfilmentState.DELIVERED else EventKind.SHIPMENT_UPDATED
        )
        record_event(
            order,
            actor,
            kind,
            f"Fulfilment: {order.get_fulfilment_state_display()}.",
            {"fulfilment_state": [before_state, order.fulfilment_state]},
        )
    elif not new_tracking:
        record_event(order, actor, EventKind.SHIPMENT_UPDATED, "Shipment details updated.")
    return True


def refresh_fulfilment(order: Order) -> None:
    """Recompute the materialised fulfilment state from the order's lines, shipment items and packages."""
    shipments = list(order.shipments.prefetch_related("items", "packages"))
    packages = [p for s in shipments for p in s.packages.all()]
    ordered = sum(order.lines.values_list("quantity", flat=True))
    shipped = sum(i.quantity for s in shipments for i in s.items.all())
    has_items = any(s.items.all() for s in shipments)
    if not shipments:
        state = FulfilmentState.UNSHIPPED
    elif has_items and shipped < ordered:
        state = FulfilmentState.PARTLY_SHIPPED
    elif packages and all(p.is_delivered for p in packages):
        state = FulfilmentState.DELIVERED
    else:
        state = FulfilmentState.SHIPPED
    if state != order.fulfilment_state:
        order.fulfilment_state = state
        order.save(update_fields=["fulfilment_state"])


def _upsert_one(order: Order, data: ShipmentData) -> bool:
    key = (
        {"tulaerp_id": data.tulaerp_id}
        if data.tulaerp_id is not None
        else {"tulaerp_id": None, "package_number": data.package_number}
    )
    values = {f.name: getattr(data, f.name) for f in fields(data) if f.name not in ("items", "packages")}
    shipment = Shipment.objects.filter(order=order, **key).first()
    changed = False
    if shipment is None:
        shipment = Shipment.objects.create(order=order, **values)
        changed = True
    else:
        changed |= _update(shipment, values)
    existing_items = {i.position: i for i in shipment.items.all()}
    for position, item in enumerate(data.items, start=1):
        item_values = {f.name: getattr(item, f.name) for f in fields(item)}
        row = existing_items.get(position)
        if row is None:
            ShipmentItem.objects.create(shipment=shipment, position=position, **item_values)
            changed = True
        else:
            changed |= _update(row, item_values)
    existing_packages = {p.package_number: p for p in shipment.packages.all()}
    for package in data.packages:
        package_values = {f.name: getattr(package, f.name) for f in fields(package)}
        package_values["tracking_number1"] = package.tracking_number1.strip().upper()
        package_values["tracking_number2"] = package.tracking_number2.strip().upper()
        row = existing_packages.get(package.package_number)
        if row is None:
            existing_packages[package.package_number] = Package.objects.create(shipment=shipment, **package_values)
            changed = True
        else:
            changed |= _update(row, package_values)
    return changed


def _update(row: Shipment | ShipmentItem | Package, values: dict) -> bool:
    dirty = [name for name, value in values.items() if getattr(row, name) != value]
    for name in dirty:
        setattr(row, name, values[name])
    if dirty:
        row.save(update_fields=dirty)
    return bool(dirty)


def _tracking_numbers(order: Order) -> set[str]:
    return {n for n in Package.objects.filter(shipment__order=order).values_list("tracking_number1", flat=True) if n}
