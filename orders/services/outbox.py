"""Writes to the outbox: messages written with the order, and what staff do with them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.errors import InvalidInput, InvalidTransition, limited_text
from orders.integrations import jsonutil
from orders.integrations.payloads import cimcloud_order_body, tulaerp_order_body
from orders.models import (
    DeliveryAttempt,
    Destination,
    EventKind,
    MessageKind,
    MessageState,
    Order,
    OrderState,
    OutboxMessage,
    Priority,
)
from orders.services.context import NOTE_MAX, Actor, record_event

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


def outbox_retry_now(*, actor: Actor, message_id: int) -> OutboxMessage:
    """Queue a message again at once (priority interactive). Allowed for anything not sent or in flight."""
    with transaction.atomic(durable=True):
        message = _locked_message(message_id)
        if message.state not in (MessageState.RETRY_SCHEDULED, MessageState.NEEDS_ATTENTION, MessageState.PENDING):
            raise InvalidTransition(
                f"Message #{message.pk} is {message.get_state_display().lower()}; "
                "only waiting or failed messages can be retried."
            )
        if message.order.state == OrderState.CANCELLED:
            raise InvalidTransition("The order is cancelled: it is not sent again.")
        requeue(message, priority=Priority.INTERACTIVE)
        _event(message, actor, f"Retry now requested for {message.get_destination_display()}.")
    return message


def outbox_cancel_message(*, actor: Actor, message_id: int, note: str = "") -> OutboxMessage:
    with transaction.atomic(durable=True):
        message = _locked_message(message_id)
        if message.state not in (MessageState.PENDING, MessageState.RETRY_SCHEDULED, MessageState.NEEDS_ATTENTION):
            raise InvalidTransition(
                f"Message #{message.pk} is {message.get_state_display().lower()} and cannot be cancelled."
            )
        message.state, message.note = MessageState.CANCELLED, limited_text(note, field="note", limit=NOTE_MAX)
        message.save(update_fields=["state", "note", "updated_at"])
        _event(message, actor, f"Sending to {message.get_destination_display()} cancelled. {message.note}".strip())
    return message


def outbox_mark_sent(*, actor: Actor, message_id: int, external_reference: str, note: str) -> OutboxMessage:
    """Staff confirm by hand that the destination has the order (keyed in by phone, an ambiguous outcome checked
    in the other system). A note is required: it is the audit trail for a send we did not make."""
    if not note.strip():
        raise InvalidInput("Say how you know the order is there.", field_errors={"note": ["A note is required."]})
    note = limited_text(note, field="note", limit=NOTE_MAX)
    external_reference = limited_text(external_reference, field="external_reference", limit=100)
    with transaction.atomic(durable=True):
        message = _locked_message(message_id)
        if message.state in (MessageState.SENT, MessageState.CANCELLED, MessageState.IN_FLIGHT):
            raise InvalidTransition(f"Message #{message.pk} is {message.get_state_display().lower()}.")
        now = timezone.now()
        message.state, message.sent_at, message.attention_reason = MessageState.SENT, now, ""
        message.external_reference, message.note = external_reference.strip(), note.strip()
        message.result = {"marked_by_hand": True, "external_reference": message.external_reference}
        message.save()
        if message.destination == Destination.TULAERP and message.external_reference:
            Order.objects.filter(pk=message.order_id, tulaerp_short_order_number="").update(
                tulaerp_short_order_number=message.external_reference
            )
        _event(
            message,
            actor,
            f"Marked as sent to {message.get_destination_display()} by hand "
            f"({message.external_reference or 'no reference'}): {message.note}",
        )
    return message


@dataclass(frozen=True)
class BulkRetryPlan:
    count: int
    estimated_seconds: float


def outbox_bulk_retry(
    *, actor: Actor, destination: str, since: datetime, until: datetime, dry_run: bool = True
) -> BulkRetryPlan:
    """Requeue every failed or waiting message of a destination created in [since, until) at priority `bulk`
    (fresh orders are never queued behind it). The dry run says how many and how long they take to drain."""
    selection = OutboxMessage.objects.filter(
        destination=destination,
        created_at__gte=since,
        created_at__lt=until,
        state__in=[MessageState.NEEDS_ATTENTION, MessageState.RETRY_SCHEDULED],
    ).exclude(order__state=OrderState.CANCELLED)
    count = selection.count()
    plan = BulkRetryPlan(count=count, estimated_seconds=drain_seconds(destination, count))
    if dry_run or not count:
        return plan
    with transaction.atomic(durable=True):
        ids = list(selection.select_for_update().values_list("id", flat=True))
        for message in OutboxMessage.objects.filter(pk__in=ids).select_related("order"):
            requeue(message, priority=Priority.BULK)
            _event(message, actor, f"Bulk retry to {message.get_destination_display()}.")
    return plan


def drain_seconds(destination: str, count: int) -> float:
    """How long `count` sends take under the destination's rate limit (CIMcloud: per second and per window)."""
    if destination != Destination.CIMCLOUD or not count:
        return 0.0
    per_window, window = settings.CIMCLOUD_RATE_PER_WINDOW, settings.CIMCLOUD_RATE_WINDOW_SECONDS
    full_windows, rest = divmod(count, per_window)
    return full_windows * window + rest / settings.CIMCLOUD_RATE_PER_SECOND * settings.CIMCLOUD_RATE_SECOND_SECONDS


def requeue(message: OutboxMessage, *, priority: int) -> None:
    message.state, message.priority, message.not_before = MessageState.PENDING, priority, timezone.now()
    message.attention_reason, message.lease_owner, message.lease_expires_at = "", "", None
    message.save()


def _locked_message(message_id: int) -> OutboxMessage:
    try:
        return OutboxMessage.objects.select_for_update().select_related("order").get(pk=message_id)
    except OutboxMessage.DoesNotExist:
        raise InvalidInput(f"There is no outbox message #{message_id}.") from None


def _event(message: OutboxMessage, actor: Actor, text: str) -> None:
    record_event(
        message.order, actor, EventKind.SYNC_ACTION, text, {"destination": message.destination, "message": message.pk}
    )


def outbox_record_history(
    *,
    message_id: int,
    at: datetime,
    status: int,
    response: str,
    result: dict | None = None,
    external_reference: str = "",
    attention: tuple[str, str] | None = None,
) -> None:
    """Demo and generated data: record a message as already delivered (or failed, `attention` = (reason, text)),
    with one attempt marked `seeded`. No HTTP is made; the worker never sees these messages."""
    with transaction.atomic(durable=True):
        message = _locked_message(message_id)
        DeliveryAttempt.objects.create(
            message=message,
            number=1,
            started_at=at,
            duration_ms=180,
            worker="seed",
            seeded=True,
            idempotency_key=message.idempotency_key,
            request_body=message.payload,
            response_status=status,
            response_body=response,
            outcome="needs_attention" if attention else "sent",
            error_class="PermanentError" if attention else "",
            error_message=attention[1] if attention else "",
        )
        message.attempts, message.created_at, message.not_before = 1, at, at
        if attention:
            message.state, message.attention_reason, message.last_error = (MessageState.NEEDS_ATTENTION, *attention)
        else:
            message.state, message.sent_at, message.result = MessageState.SENT, at, result or {}
            message.external_reference = external_reference
        message.save()
