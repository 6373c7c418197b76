"""Actions on many orders at once, chosen by staff on the order list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from orders.errors import InvalidInput
from orders.models import Destination, EventKind, MessageState, OrderState, OutboxMessage, Priority
from orders.services.context import Actor, record_event
from orders.services.outbox import requeue

BULK_MAX_ORDERS = 200  # a page shows 50; this only bounds a hand-made request
RETRYABLE_STATES = (MessageState.NEEDS_ATTENTION, MessageState.RETRY_SCHEDULED)


@dataclass(frozen=True)
class BulkRetryResult:
    selected: int  # distinct orders asked for
    orders: int  # orders with at least one message queued again
    messages: int


def order_bulk_retry(*, actor: Actor, order_ids: Sequence[int]) -> BulkRetryResult:
    """Queue again, at priority `bulk`, every message of the selected orders that failed or waits for a retry
    (`needs_attention`, `retry_scheduled`): fresh submissions never queue behind the replay. Cancelled orders,
    messages in flight, pending or sent are left alone. One order event per affected order.

    The messages are locked while requeued, so a worker cannot complete one under us.
    """
    ids = sorted(set(order_ids))
    if not ids:
        raise InvalidInput("Select at least one order.")
    if len(ids) > BULK_MAX_ORDERS:
        raise InvalidInput(f"Select at most {BULK_MAX_ORDERS} orders at a time.")
    with transaction.atomic(durable=True):
        messages = list(
            OutboxMessage.objects.select_for_update(of=("self",))
            .select_related("order")
            .filter(order_id__in=ids, state__in=RETRYABLE_STATES)
            .exclude(order__state=OrderState.CANCELLED)
            .order_by("order_id", "destination", "id")
        )
        per_order: dict[int, list[OutboxMessage]] = defaultdict(list)
        for message in messages:
            requeue(message, priority=Priority.BULK)
            per_order[message.order_id].append(message)
        for group in per_order.values():
            labels = ", ".join(Destination(m.destination).label for m in group)
            record_event(
                group[0].order,
                actor,
                EventKind.SYNC_ACTION,
                f"Bulk retry to {labels}.",
                {"destinations": [m.destination for m in group], "messages": [m.pk for m in group]},
            )
    return BulkRetryResult(selected=len(ids), orders=len(per_order), messages=len(messages))
