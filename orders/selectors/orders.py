"""Reads of orders shared by pages and the API. Reads never open transactions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.db.models import Prefetch, QuerySet

from orders.models import Order, OrderLine, OutboxMessage, Package, Shipment, ShipmentItem

LIST_FIELDS = (
    "id", "order_number", "created_at", "customer_name", "customer_no", "ship_to_city", "ship_to_state",
    "line_count", "total", "state", "fulfilment_state", "source",
)  # fmt: skip


class OrderListRow(SimpleNamespace):
    """Some of an order's columns (LIST_FIELDS on home, ORDER_ROW_FIELDS on the list, TRACKING_ORDER_FIELDS on the
    tracking lookup) as a plain object, with the attributes of Order that a row reads: a page of `.values()` rows
    costs a fraction of a page of model instances (Order has many columns to defer)."""

    @property
    def pk(self) -> int:
        return self.id

    # The model's own rules, over the same columns.
    destinations = Order.destinations
    get_state_display = Order.get_state_display
    get_fulfilment_state_display = Order.get_fulfilment_state_display


def order_list_recent(*, limit: int = 25) -> list[OrderListRow]:
    return [OrderListRow(**row) for row in Order.objects.newest_first().values(*LIST_FIELDS)[:limit]]


def order_api_detail(*, order_id: int) -> Order:
    """One order with what the API shows of it: lines and outbox messages."""
    return Order.objects.prefetch_related(lines_prefetch(), "outbox_messages").get(pk=order_id)


# Prefetches ordered by the child's own columns: the models' orderings start with their parent ("order",
# "shipment"), which makes Django join the parent table into every prefetch query to sort by its ordering.
def lines_prefetch() -> Prefetch:
    return Prefetch("lines", queryset=OrderLine.objects.order_by("position"))


def order_lines(*, order_id: int) -> list[OrderLine]:
    """An order's current lines in order (the order page; an API update that leaves the lines alone sends them
    back)."""
    return list(OrderLine.objects.filter(order_id=order_id).order_by("position"))


def shipments_with_contents() -> QuerySet[Shipment]:
    """Shipments with their items and packages: three queries."""
    return Shipment.objects.order_by("id").prefetch_related(
        Prefetch("items", queryset=ShipmentItem.objects.order_by("position", "id")),
        Prefetch("packages", queryset=Package.objects.order_by("package_number", "id")),
    )


def shipments_prefetch() -> Prefetch:
    return Prefetch("shipments", queryset=shipments_with_contents())


def order_shipments(*, order_id: int) -> list[Shipment]:
    """An order's shipments with their items and packages: three queries."""
    return list(shipments_with_contents().filter(order_id=order_id))


def order_number_existing(*, number: str) -> str | None:
    """The stored spelling of an order number, matched ignoring case as the uniqueness rule does."""
    return Order.objects.filter(order_number__iexact=number.strip()).values_list("order_number", flat=True).first()


_SYNC_FIELDS = ("id", "order_id", "destination", "state", "not_before", "attention_reason", "attempts")
_LATEST_FIRST = ("order_id", "destination", "-created_at", "-id")


class SyncRow(SimpleNamespace):
    """An outbox message's _SYNC_FIELDS as a plain object with the attributes of OutboxMessage that a badge reads:
    a page of model instances was a measurable share of the list's time."""

    @property
    def pk(self) -> int:
        return self.id

    get_state_display = OutboxMessage.get_state_display
    get_attention_reason_display = OutboxMessage.get_attention_reason_display


def sync_states(order_ids: list[int]) -> dict[int, dict[str, SyncRow]]:
    """The latest outbox message per (order, destination) for the given orders, in one query."""
    latest: dict[int, dict[str, SyncRow]] = {order_id: {} for order_id in order_ids}
    rows = OutboxMessage.objects.filter(order_id__in=order_ids).order_by(*_LATEST_FIRST).values(*_SYNC_FIELDS)
    for row in rows:  # newest first per (order, destination): the first one seen wins
        latest[row["order_id"]].setdefault(row["destination"], SyncRow(**row))
    return latest


def any_in_flight(states: dict[int, dict[str, Any]]) -> bool:
    """Whether a page showing these badges should keep refreshing them."""
    return any(m.state in ("pending", "in_flight", "retry_scheduled") for per in states.values() for m in per.values())
