"""Duplicate an order as a new draft."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from orders.errors import InvalidInput
from orders.models import EventKind, Order, OrderLine, OrderSource
from orders.services.context import Actor, record_event
from orders.services.numbering import next_order_number
from orders.services.orders import EDITABLE_FIELDS

# Not copied: what identifies the original in other systems, and its PO (a second order under the same PO is
# exactly what review catches; the copy starts without one).
NOT_COPIED = frozenset({"erp_order_number", "ref_id", "order_date", "po_number"})


def order_duplicate(*, actor: Actor, order_id: int) -> Order:
    """A new draft with the original's header, customer and ship-to snapshots and lines, under the next manual
    number. The original is not changed; the copy's first event names it."""
    with transaction.atomic(durable=True):
        try:
            original = Order.objects.get(pk=order_id)
        except Order.DoesNotExist:
            raise InvalidInput(f"There is no order with id {order_id}.") from None
        now = timezone.now()
        copy = Order(
            source=OrderSource.MANUAL,
            customer_id=original.customer_id,
            send_to_cimcloud=original.send_to_cimcloud,
            send_to_tulaerp=original.send_to_tulaerp,
            created_at=now,
            updated_at=now,
            created_by=actor.user,
            updated_by=actor.user,
        )
        for name in EDITABLE_FIELDS - NOT_COPIED:
            setattr(copy, name, getattr(original, name))
        lines = [
            OrderLine(
                position=line.position,
                sku=line.sku,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
            for line in original.lines.order_by("position")
        ]
        copy.subtotal = sum((line.line_total for line in lines), Decimal("0.00"))
        copy.total = copy.subtotal + (copy.shipping_total or 0) + (copy.tax_total or 0)
        copy.line_count = len(lines)
        copy.order_number = next_order_number()
        copy.save(force_insert=True)
        for line in lines:
            line.order = copy
        OrderLine.objects.bulk_create(lines)
        record_event(
            copy,
            actor,
            EventKind.CREATED,
            f"Order {copy.order_number} created as a draft, copied from {original.order_number}.",
            {"copied_from": original.order_number},
        )
    return copy
