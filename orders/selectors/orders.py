"""Reads of orders shared by pages and the API. Reads never open transactions."""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from django.db.models import QuerySet

from orders.models import (
    Order,
    OutboxMessage,
)

LIST_FIELDS = (
    "id", "order_number", "created_at", "customer_name", "customer_no", "ship_to_city", "ship_to_state",
    "line_count", "total", "state", "fulfilment_state", "source",
)  # fmt: skip


def order_list_recent(*, limit: int = 25) -> QuerySet[Order]:
    return Order.objects.newest_first().only(*LIST_FIELDS)[:limit]


def order_api_detail(*, order_id: int) -> Order:
    """One order with what the API shows of it: lines and outbox messages."""
    return Order.objects.prefetch_related("lines", "outbox_messages").get(pk=order_id)


def order_number_existing(*, number: str) -> str | None:
    """The stored spelling of an order number, matched ignoring case as the uniqueness rule does."""
    return Order.objects.filter(order_number__iexact=number.strip()).values_list("order_number", flat=True).first()


_SYNC_FIELDS = ("id", "order_id", "destination", "state", "not_before", "attention_reason", "attempts")
_LATEST_FIRST = ("order_id", "destination", "-created_at", "-id")


def sync_states(order_ids: list[int]) -> dict[int, dict[str, OutboxMessage]]:
    """The latest outbox message per (order, destination) for the given orders, in one query."""
    rows = OutboxMessage.objects.filter(order_id__in=order_ids).only(*_SYNC_FIELDS).order_by(*_LATEST_FIRST)
    return _latest(order_ids, rows)


def sync_state_values(order_ids: list[int]) -> dict[int, dict[str, SimpleNamespace]]:
    """sync_states as plain objects with the same attributes (no model instances): for the API's list, where
    building a page of model instances was a measurable share of the answer's time."""
    rows = (
        SimpleNamespace(pk=row["id"], **row)
        for row in OutboxMessage.objects.filter(order_id__in=order_ids).order_by(*_LATEST_FIRST).values(*_SYNC_FIELDS)
    )
    return _latest(order_ids, rows)


def _latest(order_ids: list[int], rows: Iterable[Any]) -> dict[int, dict[str, Any]]:
    latest: dict[int, dict[str, Any]] = {order_id: {} for order_id in order_ids}
    for message in rows:  # newest first per (order, destination): the first one seen wins
        latest[message.order_id].setdefault(message.destination, message)
    return latest


def any_in_flight(states: dict[int, dict[str, OutboxMessage]]) -> bool:
    """Whether a page showing these badges should keep refreshing them."""
    return any(m.state in ("pending", "in_flight", "retry_scheduled") for per in states.values() for m in per.values())
