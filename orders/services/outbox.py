"""Writes to the outbox: messages written with the order, and what staff do with them."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from orders.integrations import jsonutil
from orders.integrations.payloads import cimcloud_order_body, tulaerp_order_body
from orders.models import Destination, MessageKind, MessageState, Order, OutboxMessage, Priority

BUILDERS = {Destination.CIMCLOUD: cimcloud_order_body, Destination.TULAERP: tulaerp_order_body}


def build_payload(order: Order, destination: str) -> str:
    """The exact JSON text to send: built once, at submit time, and kept with the message."""
    return jsonutil.dumps(BUILDERS[destination](order, list(order.lines.all())))


def enqueue_order(
    order: Order, *, destinations: list[str] | None = None, priority: int = Priority.INTERACTIVE
) -> list[OutboxMessage]:
    """Write one `create` message per destination; call inside the transaction that submits the order."""
    assert transaction.get_connection().in_atomic_block, "enqueue_order() must run in the submitting transaction"
    now = timezone.now()
    messages = [
        OutboxMessage(
            order=order,
            destination=destination,
            kind=MessageKind.CREATE,
            payload=build_payload(order, destination),
            priority=priority,
            not_before=now,
            created_at=now,
            idempotency_key=f"{destination}:{order.uuid}:{uuid.uuid4().hex[:12]}",
        )
        for destination in (destinations or order.destinations)
    ]
    return OutboxMessage.objects.bulk_create(messages)


def cancel_unsent_messages(order: Order, *, note: str) -> int:
    """Inside an order's cancel: every open message not in flight is cancelled. One in flight completes and is
    then flagged "sent after cancel" by the worker."""
    return OutboxMessage.objects.filter(
        order=order, state__in=[MessageState.PENDING, MessageState.RETRY_SCHEDULED, MessageState.NEEDS_ATTENTION]
    ).update(state=MessageState.CANCELLED, note=note, lease_owner="", lease_expires_at=None, updated_at=timezone.now())
