"""The outbox engine: claim due messages, pace the destination, send, record the attempt, decide what is next.

The `outbox_worker` command runs `Worker`: one thread per destination (a hung TulaERP never holds up CIMcloud)
and one for the fulfilment refresh. Nothing here holds a database lock or transaction across an HTTP call:
claims, slot reservations and completions are each their own short transaction.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from orders.integrations.cimcloud import CimcloudClient
from orders.integrations.errors import (
    AmbiguousError,
    ConfigurationError,
    IntegrationError,
    NotFoundError,
    PermanentError,
    RetryableError,
)
from orders.integrations.http import CallRecord, JsonText
from orders.integrations.parsing import tulaerp_shipments
from orders.integrations.tulaerp import TulaerpClient
from orders.models import (
    AttentionReason,
    DeliveryAttempt,
    Destination,
    DestinationState,
    EventKind,
    FulfilmentPoll,
    MessageState,
    Order,
    OrderEvent,
    OrderState,
    OutboxMessage,
    WorkerHeartbeat,
)
from orders.services.context import Actor, order_event, record_event
from orders.services.shipments import apply_shipments

log = logging.getLogger("orders.outbox")
REFRESH = "tulaerp_refresh"  # the DestinationState row that paces fulfilment polls
FAR_FUTURE = timedelta(days=365 * 100)
# A drain records its sends together, at the latest this long after the first of them.
FLUSH_SECONDS = 0.25
# A destination without a rate limit has no slot to take before a call: its pause and breaker are read again
# at most this often (and after every failure).
HOLDS_RECHECK_SECONDS = 0.5


# --- Retry policy ------------------------------------------------------------------------------------------


def next_delay(attempts: int, retry_after: float | None, rng: random.Random = random._inst) -> float:
    """Seconds until the next attempt: exponential backoff with full jitter; a wait the server asked for wins."""
    if retry_after is not None and retry_after > 0:
        return retry_after
    ceiling = min(
        settings.OUTBOX_BACKOFF_CAP_SECONDS,
        settings.OUTBOX_BACKOFF_BASE_SECONDS * settings.OUTBOX_BACKOFF_FACTOR ** max(attempts - 1, 0),
    )
    return rng.uniform(0, ceiling)


@dataclass(frozen=True)
class Outcome:
    """What one attempt means for its message."""

    state: str  # sent, retry_scheduled, needs_attention
    label: str  # recorded on the attempt: sent, retry, needs_attention, paused
    reason: str = ""
    message: str = ""
    delay: float = 0.0
    result: dict | None = None  # stored on the message: JSON-safe facts (ids, counts)
    body: dict | None = None  # TulaERP's whole answer, for its shipments; not stored


def classify(exc: Exception, *, destination: str, attempts: int, age: timedelta) -> Outcome:
    """The one place that turns an error into the next step (pages and tests read the same words)."""
    if isinstance(exc, OperationalError | InterfaceError):
        # The database connection went away around the call (restart, failover, pg_terminate_backend): the call
        # may or may not have been made, as after a read timeout. Not a bug for a human to look at.
        exc = AmbiguousError(f"Database connection lost around the call: {exc}")
    if isinstance(exc, ConfigurationError):
        return Outcome(
            MessageState.RETRY_SCHEDULED, "paused", message=str(exc), delay=settings.OUTBOX_CONFIG_PAUSE_SECONDS
        )
    if isinstance(exc, PermanentError):
        return Outcome(MessageState.NEEDS_ATTENTION, "needs_attention", AttentionReason.PERMANENT, str(exc))
    if isinstance(exc, AmbiguousError) and not _idempotent(destination):
        return Outcome(
            MessageState.NEEDS_ATTENTION,
            "needs_attention",
            AttentionReason.AMBIGUOUS,
            f"{exc} — check in {Destination(destination).label} whether the order arrived, then mark it "
            "as sent or retry.",
        )
    if isinstance(exc, RetryableError | AmbiguousError):
        delay = next_delay(attempts, getattr(exc, "retry_after", None))
        if (age + timedelta(seconds=delay)).total_seconds() > settings.OUTBOX_MAX_AGE_SECONDS:
            return Outcome(
                MessageState.NEEDS_ATTENTION,
                "needs_attention",
                AttentionReason.EXHAUSTED,
                f"Still failing after {attempts} attempts: {exc}",
            )
        return Outcome(MessageState.RETRY_SCHEDULED, "retry", message=str(exc), delay=delay)
    return Outcome(
        MessageState.NEEDS_ATTENTION, "needs_attention", AttentionReason.INTERNAL, f"{type(exc).__name__}: {exc}"
    )


def _idempotent(destination: str) -> bool:
    return settings.CIMCLOUD_IDEMPOTENT if destination == Destination.CIMCLOUD else settings.TULAERP_IDEMPOTENT


# --- Pacing, pauses and the breaker (shared by every worker through DestinationState) -----------------------


def _limits(destination: str) -> tuple[int, float, int, float] | None:
    """(calls per short bucket, its seconds, calls per window, window seconds), or None when unlimited."""
    if not settings.OUTBOX_PACING:
        return None
    if destination == Destination.CIMCLOUD:
        return (
            settings.CIMCLOUD_RATE_PER_SECOND,
            settings.CIMCLOUD_RATE_SECOND_SECONDS,
            settings.CIMCLOUD_RATE_PER_WINDOW,
            settings.CIMCLOUD_RATE_WINDOW_SECONDS,
        )
    if destination == REFRESH:
        return (settings.TULAERP_REFRESH_PER_MINUTE, 60.0, settings.TULAERP_REFRESH_PER_MINUTE, 60.0)
    return None


def _state_for_update(destination: str) -> DestinationState:
    DestinationState.objects.get_or_create(destination=destination)
    return DestinationState.objects.select_for_update().get(destination=destination)


def reserve_slot(destination: str) -> float:
    """Take one call's slot of the destination's budget: 0 when granted, else the seconds to wait.

    A short transaction of its own, committed before the call is made; no lock is held across HTTP. A destination
    without a rate limit has no budget to take: a plain read of its pause and breaker is enough.
    """
    limits = _limits(destination)
    if not limits:
        return held_for(destination)
    with transaction.atomic(durable=True):
        state = _state_for_update(destination)
        now = timezone.now()
        for until in (state.paused_until, state.breaker_open_until):
            if until and until > now:
                return (until - now).total_seconds()
        if limits:
            per_bucket, bucket_seconds, per_window, window_seconds = limits
            if state.window_resets_at is None or now >= state.window_resets_at:
                state.window_started_at, state.window_resets_at, state.window_calls = (
                    now,
                    now + timedelta(seconds=window_seconds),
                    0,
                )
            if state.window_calls >= (state.window_limit or per_window):
                return (state.window_resets_at - now).total_seconds()
            # The server anchors its one-second bucket at the first call it sees; keep a margin behind it.
            bucket = timedelta(seconds=bucket_seconds + settings.OUTBOX_RATE_MARGIN_SECONDS)
            if state.second_started_at is None or now >= state.second_started_at + bucket:
                state.second_started_at, state.second_calls = now, 0
            if state.second_calls >= per_bucket:
                return (state.second_started_at + bucket - now).total_seconds()
            state.window_calls += 1
            state.second_calls += 1
        state.last_call_at = now
        state.save()
    return 0.0


def held_for(destination: str) -> float:
    """Seconds until the destination is neither paused nor behind an open breaker (0 when it is free): a plain read."""
    now = timezone.now()
    holds = (
        DestinationState.objects.filter(destination=destination)
        .values_list("paused_until", "breaker_open_until")
        .first()
        or ()
    )
    return max([(until - now).total_seconds() for until in holds if until and until > now], default=0.0)


def release_slot(destination: str) -> None:
    """Give back the window's share of a slot reserved for a call that was not made. The one-second share stays
    spent: its bucket may have rolled over meanwhile, and freeing a call in the new one would exceed the rate."""
    DestinationState.objects.filter(destination=destination, window_calls__gt=0).update(
        window_calls=F("window_calls") - 1
    )


def wait_for_slot(destination: str, stop: threading.Event) -> bool:
    """Block until a slot is granted (True) or the worker is stopping (False)."""
    while not stop.is_set():
        wait = reserve_slot(destination)
        if wait <= 0:
            return True
        stop.wait(min(wait, 1.0))
    return False


def after_call(destination: str, record: CallRecord) -> None:
    """Reconcile our count with what the server says about its budget: the server wins."""
    rate = record.rate
    if rate is None or rate.limit is None or rate.remaining is None or not _limits(destination):
        return
    with transaction.atomic(durable=True):
        state = _state_for_update(destination)
        state.window_limit = rate.limit
        state.window_calls = max(state.window_calls, rate.limit - rate.remaining)
        if rate.reset_seconds is not None:
            state.window_resets_at = timezone.now() + timedelta(seconds=rate.reset_seconds)
        state.save()


def pause_for_rate_limit(destination: str, seconds: float) -> None:
    """A 429 pauses the whole destination for as long as the server asked, for every worker."""
    with transaction.atomic(durable=True):
        state = _state_for_update(destination)
        until = timezone.now() + timedelta(seconds=seconds)
        if state.paused_until is None or state.paused_until < until:
            state.paused_until = until
            state.pause_reason = f"Rate limited (429): waiting {seconds:.1f} s as the server asked."
            state.save()


# Per process: destinations whose breaker window was all successes at this process's last write. A success then
# changes nothing the breaker reads, so it is written at most once a second (for "last success" on the monitor).
_clean_since: dict[str, float] = {}


def record_health(destination: str, *, ok: bool, reason: str = "") -> None:
    """Feed the breaker: it opens at N consecutive failures or a failure ratio over the last 20 attempts."""
    if ok and time.monotonic() - _clean_since.get(destination, -10.0) < 1.0:
        return
    _clean_since.pop(destination, None)
    with transaction.atomic(durable=True):
        state = _state_for_update(destination)
        now = timezone.now()
        state.recent_outcomes = (state.recent_outcomes + ("1" if ok else "0"))[-20:]
        state.consecutive_failures = 0 if ok else state.consecutive_failures + 1
        if ok:
            state.last_success_at = now
        window = state.recent_outcomes
        ratio_open = len(window) == 20 and window.count("0") / 20 >= settings.OUTBOX_BREAKER_RATIO
        if ok and "0" not in window and len(window) == 20:
            _clean_since[destination] = time.monotonic()
        if not ok and (state.consecutive_failures >= settings.OUTBOX_BREAKER_CONSECUTIVE or ratio_open):
            state.breaker_open_until = now + timedelta(seconds=settings.OUTBOX_BREAKER_COOLDOWN_SECONDS)
            state.breaker_reason = f"{state.consecutive_failures} failures in a row; last: {reason}"[:300]
            log.warning("breaker open destination=%s reason=%s", destination, state.breaker_reason)
        state.save()


def pause_for_configuration(destination: str, message: str) -> None:
    """A rejected credential pauses the destination and leaves its messages queued (a rotated password must not
    push hundreds of messages into needs_attention); after the pause, the next call tries again."""
    with transaction.atomic(durable=True):
        state = _state_for_update(destination)
        if state.paused_by_hand:
            return
        state.paused_until = timezone.now() + timedelta(seconds=settings.OUTBOX_CONFIG_PAUSE_SECONDS)
        state.pause_reason = f"Configuration: {message}"[:300]
        state.save()
    log.error("destination paused for configuration destination=%s reason=%s", destination, message)


def claim_probe(destination: str) -> bool:
    """After the breaker's cool-off, exactly one worker wins the right to probe; the others keep waiting."""
    now = timezone.now()
    cooldown = timedelta(seconds=settings.OUTBOX_BREAKER_COOLDOWN_SECONDS)
    return bool(
        DestinationState.objects.filter(destination=destination, breaker_open_until__lte=now).update(
            breaker_open_until=now + cooldown
        )
    )


def close_breaker(destination: str) -> None:
    DestinationState.objects.filter(destination=destination).update(
        breaker_open_until=None, breaker_reason="", consecutive_failures=0, recent_outcomes=""
    )


# --- Claim and complete ------------------------------------------------------------------------------------


def claim(*, destination: str, worker: str, limit: int) -> list[OutboxMessage]:
    """Lease up to `limit` due messages, highest priority first, and commit the lease before any HTTP.

    PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED, so concurrent workers take different rows and the rows read stay
    as read until the lease is written. SQLite: the IMMEDIATE transaction holds the write lock throughout.
    """
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    due = OutboxMessage.objects.due(now).filter(destination=destination)
    if not due.exists():  # an idle poll opens no transaction (on SQLite: takes no write lock from the others)
        return []
    with transaction.atomic(durable=True):
        batch = list(due.select_for_update(skip_locked=True).order_by("priority", "not_before", "id")[:limit])
        if not batch:
            return []
        OutboxMessage.objects.filter(pk__in=[message.pk for message in batch]).update(
            state=MessageState.IN_FLIGHT,
            lease_owner=worker,
            lease_expires_at=lease_until,
            lease_token=F("lease_token") + 1,
            updated_at=now,
        )
    for message in batch:  # what the UPDATE wrote, without reading it back
        message.state, message.lease_owner, message.lease_expires_at = MessageState.IN_FLIGHT, worker, lease_until
        message.lease_token, message.updated_at = message.lease_token + 1, now
    return batch


def release(message: OutboxMessage) -> None:
    """Hand an unsent message back (worker stopping); fenced like any completion."""
    OutboxMessage.objects.filter(pk=message.pk, lease_token=message.lease_token, state=MessageState.IN_FLIGHT).update(
        state=MessageState.RETRY_SCHEDULED, lease_owner="", lease_expires_at=None, updated_at=timezone.now()
    )


def extend_lease(message: OutboxMessage) -> bool:
    until = timezone.now() + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    updated = OutboxMessage.objects.filter(
        pk=message.pk, lease_token=message.lease_token, state=MessageState.IN_FLIGHT
    ).update(lease_expires_at=until)
    if updated:
        message.lease_expires_at = until
    return bool(updated)


@dataclass
class Finished:
    """One call made for a claimed message, waiting to be recorded by `complete_many`."""

    message: OutboxMessage
    outcome: Outcome
    record: CallRecord | None
    started_at: datetime


def complete(
    message: OutboxMessage, *, worker: str, outcome: Outcome, record: CallRecord | None, started_at: datetime
) -> bool:
    """Record the attempt and apply its outcome in one transaction. Refused (False) when the lease was lost:
    another worker holds the message now and its outcome must not be overwritten."""
    return complete_many([Finished(message, outcome, record, started_at)], worker=worker)[0]


def complete_many(done: list[Finished], *, worker: str) -> list[bool]:
    """Record several attempts and apply their outcomes in one transaction, in a few statements for all of them
    (a drain completes a batch at once). Each one is refused (False) when its lease was lost."""
    if not done:
        return []
    now = timezone.now()
    actor = Actor.system(worker, channel="worker")
    with transaction.atomic(durable=True):
        # Orders first and in id order, as every completion locks them: a concurrent cancel and a completion see
        # each other, and two completions never wait on each other in a circle. Only the columns used here.
        orders = {
            order.pk: order
            for order in Order.objects.select_for_update()
            .only(*_COMPLETION_FIELDS)
            .filter(pk__in={d.message.order_id for d in done})
            .order_by("pk")
        }
        # The fencing token: a message is this worker's while it is in flight under the token it was claimed with.
        # Locked, so no claim takes it between this check and the update below.
        tokens = dict(
            OutboxMessage.objects.select_for_update()
            .filter(pk__in=[d.message.pk for d in done], state=MessageState.IN_FLIGHT)
            .order_by("pk")
            .values_list("pk", "lease_token")
        )
        won: list[bool] = []
        attempts: list[DeliveryAttempt] = []
        events: list[OrderEvent] = []
        changed: dict[tuple[str, ...], list[OutboxMessage]] = defaultdict(list)  # by the columns that change
        tulaerp: list[tuple[Order, dict, dict]] = []
        for d in done:
            message, outcome, order = d.message, d.outcome, orders[d.message.order_id]
            number = message.attempts + 1
            won.append(tokens.get(message.pk) == message.lease_token)
            label = outcome.label if won[-1] else "fenced"
            attempts.append(_attempt(message, number, worker, d.record, d.started_at, label))
            if not won[-1]:
                log.warning(
                    "late completion refused message=%s order=%s destination=%s attempt=%s token=%s",
                    message.pk,
                    order.order_number,
                    message.destination,
                    number,
                    message.lease_token,
                )
                continue
            fields = _completed_fields(message, outcome, order, now)
            for name, value in fields.items():
                setattr(message, name, value)
            changed[tuple(fields)].append(message)
            events.extend(_completion_events(message, outcome, order, number, actor))
            if outcome.state == MessageState.SENT and message.destination == Destination.TULAERP and outcome.result:
                tulaerp.append((order, outcome.result, outcome.body or {}))
        for names, messages in changed.items():
            _set_per_row(messages, list(names))
        _insert_rows(attempts)
        _insert_rows(events)
        _apply_tulaerp(tulaerp, actor)
    for d, ok in zip(done, won, strict=True):
        if ok:
            log.info(
                "completed message=%s order=%s destination=%s attempt=%s outcome=%s",
                d.message.pk,
                orders[d.message.order_id].order_number,
                d.message.destination,
                d.message.attempts,
                d.outcome.label,
            )
    return won


def _completed_fields(message: OutboxMessage, outcome: Outcome, order: Order, now: datetime) -> dict[str, Any]:
    """The message's columns after this attempt (the lease it held is given up)."""
    fields: dict[str, Any] = {
        "state": outcome.state,
        "attempts": message.attempts + 1,
        "lease_owner": "",
        "lease_expires_at": None,
        "updated_at": now,
    }
    if outcome.state == MessageState.SENT:
        fields.update(sent_at=now, result=outcome.result or {}, attention_reason="", last_error="")
        if order.state == OrderState.CANCELLED:
            fields.update(
                state=MessageState.NEEDS_ATTENTION,
                attention_reason=AttentionReason.SENT_AFTER_CANCEL,
                last_error=f"{Destination(message.destination).label} accepted the order after it was "
                "cancelled: cancel it there by hand.",
            )
        if message.destination == Destination.TULAERP and outcome.result:
            fields["external_reference"] = outcome.result.get("short_order_number", "")
    elif outcome.state == MessageState.RETRY_SCHEDULED:
        fields.update(not_before=now + timedelta(seconds=outcome.delay), last_error=outcome.message)
    else:
        fields.update(attention_reason=outcome.reason, last_error=outcome.message)
    return fields


def _completion_events(
    message: OutboxMessage, outcome: Outcome, order: Order, number: int, actor: Actor
) -> list[OrderEvent]:
    """An order event for each send and each failure (and for a send that came after the order's cancel)."""
    label = Destination(message.destination).label
    if outcome.state != MessageState.SENT:
        detail = {
            "destination": message.destination,
            "message": message.pk,
            "outcome": outcome.label,
            "reason": outcome.reason,
        }
        return [
            order_event(order, actor, EventKind.SYNC_FAILED, f"{label} attempt {number}: {outcome.message}", detail)
        ]
    sent = {"destination": message.destination, "message": message.pk, "result": outcome.result}
    events = [order_event(order, actor, EventKind.SYNC_SENT, f"Sent to {label} (attempt {number}).", sent)]
    if message.state == MessageState.NEEDS_ATTENTION:  # sent after the order was cancelled
        late = {"destination": message.destination, "reason": AttentionReason.SENT_AFTER_CANCEL}
        events.append(order_event(order, actor, EventKind.SYNC_FAILED, message.last_error, late))
    return events


_COMPLETION_FIELDS = (
    "id",
    "order_number",
    "state",
    "seeded",
    "fulfilment_state",
    "tulaerp_id",
    "tulaerp_short_order_number",
    "tulaerp_status",
)


def _attempt(
    message: OutboxMessage, number: int, worker: str, record: CallRecord | None, started_at: datetime, outcome: str
) -> DeliveryAttempt:
    return DeliveryAttempt(
        message=message,
        number=number,
        started_at=started_at,
        worker=worker,
        lease_token=message.lease_token,
        idempotency_key=message.idempotency_key,
        outcome=outcome,
        duration_ms=(record.duration_ms or 0) if record else 0,
        request_body=(record.request_body or "") if record else "",
        response_status=record.status if record else None,
        response_body=(record.response_body or "") if record else "",
        error_class=(record.error_class or "") if record else "",
        error_message=_attempt_error(record)[:2000],
    )


def _attempt_error(record: CallRecord | None) -> str:
    """The failure as staff read it on the timeline; one of an earlier call (CIMcloud's sign-in) names that call,
    so nobody takes it for the order's own answer."""
    message = (record.error_message or "") if record else ""
    if message and record.kind != "order":
        return f"{record.kind} call failed: {message}"
    return message


def _apply_tulaerp(answers: list[tuple[Order, dict, dict]], actor: Actor) -> None:
    """TulaERP's answers, inside the completing transaction: its ids on the orders, its shipments through the one
    upsert, and a fulfilment poll for each order."""
    if not answers:
        return
    for order, result, _ in answers:
        order.tulaerp_id = result.get("id")
        order.tulaerp_short_order_number = result.get("short_order_number") or ""
        order.tulaerp_status = result.get("status") or ""
    orders = [order for order, _, _ in answers]
    _set_per_row(orders, ["tulaerp_id", "tulaerp_short_order_number", "tulaerp_status"])
    for order, _, body in answers:
        if body.get("orderShipments", True):  # a new order's answer usually has none: no walk over its `$ref`s
            apply_shipments(order=order, actor=actor, shipments=tulaerp_shipments(body))
    polled = [order for order in orders if order.tulaerp_short_order_number and not order.seeded]
    existing = {poll.order_id: poll for poll in FulfilmentPoll.objects.filter(order__in=polled)}
    first = timezone.now() + timedelta(seconds=settings.TULAERP_REFRESH_FIRST_SECONDS)
    new, again = [], []
    for order in polled:
        poll = existing.get(order.pk)
        if poll is None:
            poll = FulfilmentPoll(order=order)
            new.append(poll)
        else:
            again.append(poll)
        poll.short_order_number, poll.active, poll.polls, poll.next_poll_at = (
            order.tulaerp_short_order_number,
            True,
            0,
            first,
        )
    FulfilmentPoll.objects.bulk_create(new)
    _set_per_row(again, ["short_order_number", "active", "polls", "next_poll_at"])


def _insert_rows(objects: list[Any]) -> None:
    """INSERT the (unsaved) objects in one statement (ids are not read back). `bulk_create` on PostgreSQL binds
    each column as one array, quoted in Python: slow for the kilobytes of request and response an attempt keeps."""
    if not objects:
        return
    meta, quote = objects[0]._meta, connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    columns = ", ".join(quote(field.column) for field in fields)
    rows = [[field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields] for obj in objects]
    head = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "
    _write_rows(rows, one_row=head + _group(len(fields)), head=head)


def _set_per_row(objects: list[Any], names: list[str]) -> None:
    """UPDATE these columns of each object to its own values, in one statement. `bulk_update` would do it in one
    CASE per column, which costs about a millisecond a row to build."""
    if not objects:
        return
    meta, quote = objects[0]._meta, connection.ops.quote_name
    fields = [meta.get_field(name) for name in names]
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    rows = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields] + [obj.pk]
        for obj in objects
    ]
    one_row = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    # PostgreSQL's form joins the rows as a VALUES list, cast to the table's types (a column of NULLs would be text).
    assignments = ", ".join(f"{quote(f.column)} = v.c{i}::{f.db_type(connection)}" for i, f in enumerate(fields))
    columns = ", ".join([*(f"c{i}" for i in range(len(fields))), "pk"])
    _write_rows(
        rows,
        one_row=f"UPDATE {table} SET {one_row} WHERE {pk} = %s",
        head=f"UPDATE {table} SET {assignments} FROM (VALUES ",
        tail=f") AS v({columns}) WHERE {table}.{pk} = v.pk",
    )


def _group(width: int) -> str:
    return "(" + ", ".join(["%s"] * width) + ")"


def _write_rows(rows: list[list[Any]], *, one_row: str, head: str, tail: str = "") -> None:
    """PostgreSQL: `head` + one `(%s, ...)` group per row + `tail`, one statement (parsed and planned once, where
    executemany would send a statement per row). SQLite: executemany of `one_row`, its prepared statement per row."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            groups = ", ".join([_group(len(rows[0]))] * len(rows))
            cursor.execute(head + groups + tail, [value for row in rows for value in row])
        else:
            cursor.executemany(one_row, rows)


# --- Sending -------------------------------------------------------------------------------------------------


class Sender:
    """One destination's client, with the pacing hooks around every call it makes."""

    def __init__(self, destination: str, stop: threading.Event) -> None:
        self.destination = destination
        self.stop = stop
        hooks = {"before_call": self._before_call, "after_call": lambda record: after_call(destination, record)}
        factory = CimcloudClient if destination == Destination.CIMCLOUD else TulaerpClient
        self._factory: Callable[[], Any] = lambda: factory.from_settings(**hooks)
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = self._factory()  # ConfigurationError when settings are missing
        return self._client

    prepaid = 0  # order slots reserved before the claim (paced destinations)
    prepaid_at = 0.0  # when they were granted (time.monotonic)
    holds_read_at = float("-inf")  # when this sender last saw the destination neither paused nor broken

    def _before_call(self, kind: str) -> None:
        if kind == "order" and self.prepaid:
            self.prepaid -= 1
            if time.monotonic() - self.prepaid_at <= settings.OUTBOX_RATE_MARGIN_SECONDS / 2:
                return
            # The claim took longer than the margin: a call made on that slot could reach the server in its next
            # second beside that second's own calls. Reserve again, now.
            release_slot(self.destination)
        unlimited = not _limits(self.destination)
        if unlimited and time.monotonic() - self.holds_read_at < HOLDS_RECHECK_SECONDS:
            return  # no budget to take, and the pause and breaker were read just now
        if not wait_for_slot(self.destination, self.stop):
            raise RetryableError("Worker stopping before the call was made.")
        if unlimited:
            self.holds_read_at = time.monotonic()

    def send(self, payload: str) -> tuple[Outcome, CallRecord]:
        result = self.client.post_order(JsonText(payload))
        if self.destination == Destination.CIMCLOUD:
            facts = {
                "action": result.action,
                "queued": result.queued,
                "imported": result.imported_records,
                "updated": result.updated_records,
                "message": result.message,
            }
            return Outcome(MessageState.SENT, "sent", result=facts), result.record
        facts = {
            "id": result.id,
            "short_order_number": result.short_order_number,
            "status": result.status,
            "created": result.created,
        }
        return Outcome(MessageState.SENT, "sent", result=facts, body=result.body), result.record

    def probe(self) -> None:
        if self.destination == Destination.CIMCLOUD:
            self.client.canary()
        else:
            with contextlib.suppress(NotFoundError):  # an answer at all means the service is up
                self.client.get_order("probe-0")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def send_one(message: OutboxMessage, sender: Sender) -> Finished | None:
    """Make one claimed message's call and judge it (breaker, pauses); None when the lease was lost before it.
    Never raises for a bad message: the drain goes on."""
    started = timezone.now()
    record = None
    try:
        if message.lease_expires_at - started < _worst_call() and not extend_lease(message):
            return None  # the lease was lost meanwhile: another worker owns the message now
        outcome, record = sender.send(message.payload)  # the stored text, sent as it is
        record_health(message.destination, ok=True)
    except Exception as exc:
        sender.holds_read_at = float("-inf")  # a failure may have opened the breaker or paused the destination
        record = getattr(exc, "record", None)
        outcome = classify(
            exc, destination=message.destination, attempts=message.attempts + 1, age=started - message.created_at
        )
        if isinstance(exc, ConfigurationError):
            pause_for_configuration(message.destination, str(exc))
        elif isinstance(exc, RetryableError) and exc.status == 429:
            pause_for_rate_limit(message.destination, exc.retry_after or 1.0)
        elif isinstance(exc, RetryableError | AmbiguousError):
            status = f" {exc.status}" if exc.status else ""
            record_health(message.destination, ok=False, reason=f"{type(exc).__name__}{status}: {exc}")
        if not isinstance(exc, IntegrationError):
            _log_error(f"message={message.pk} destination={message.destination} attempt={message.attempts + 1}", exc)
    return Finished(message, outcome, record, started)


def _log_error(where: str, exc: Exception) -> None:
    """Called in an `except`: a lost database connection (restart, failover, a terminated session) is expected now
    and then and retried (`classify` makes it an unknown outcome), so a warning; anything else is a bug, logged
    with its traceback."""
    if isinstance(exc, OperationalError | InterfaceError):
        log.warning("database connection lost, retried: %s (%s: %s)", where, type(exc).__name__, exc)
    else:
        log.exception("internal error: %s", where)


def deliver(message: OutboxMessage, sender: Sender, *, worker: str) -> bool:
    """Send one claimed message and complete it. Never raises for a bad message: the drain goes on."""
    finished = send_one(message, sender)
    return finished is not None and complete(
        message, worker=worker, outcome=finished.outcome, record=finished.record, started_at=finished.started_at
    )


def _worst_call() -> timedelta:
    """The longest one call can take (connect, read, slack)."""
    return timedelta(seconds=settings.HTTP_CONNECT_TIMEOUT + settings.HTTP_READ_TIMEOUT + 1)


# --- The fulfilment refresh -------------------------------------------------------------------------------


def claim_polls(*, worker: str, limit: int) -> list[FulfilmentPoll]:
    now = timezone.now()
    with transaction.atomic(durable=True):
        due = FulfilmentPoll.objects.filter(active=True, next_poll_at__lte=now)
        ids = list(
            due.select_for_update(skip_locked=True).order_by("next_poll_at").values_list("id", flat=True)[:limit]
        )
        # Push them out of reach of other workers while this one asks TulaERP.
        due.filter(pk__in=ids).update(next_poll_at=now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS))
        return list(FulfilmentPoll.objects.filter(pk__in=ids).select_related("order"))


def refresh(poll: FulfilmentPoll, sender: Sender, *, worker: str) -> None:
    """Ask TulaERP about one sent order; upsert its shipments; back off up to daily; stop when it is done."""
    actor = Actor.system(worker, channel="worker")
    now = timezone.now()
    order = poll.order
    if (
        order.state == OrderState.CANCELLED
        or order.fulfilment_state == "delivered"
        or now - poll.started_at > timedelta(days=settings.TULAERP_REFRESH_MAX_AGE_DAYS)
    ):
        FulfilmentPoll.objects.filter(pk=poll.pk).update(active=False)
        return
    if not wait_for_slot(REFRESH, sender.stop):
        return
    try:
        result = sender.client.get_order(poll.short_order_number)
    except NotFoundError as exc:
        with transaction.atomic(durable=True):
            FulfilmentPoll.objects.filter(pk=poll.pk).update(
                active=False, attention_reason=f"TulaERP answers 404 for {poll.short_order_number}: {exc}"[:200]
            )
            record_event(
                order,
                actor,
                EventKind.SYNC_FAILED,
                f"TulaERP no longer knows order {poll.short_order_number}; check it there.",
                {"destination": Destination.TULAERP, "reason": "not_found"},
            )
        return
    except Exception as exc:  # try again later; one bad poll never stops the loop
        log.warning("refresh failed order=%s error=%s", order.order_number, exc)
        _reschedule(poll, now)
        return
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update().get(pk=order.pk)
        if result.status and result.status != order.tulaerp_status:
            order.tulaerp_status = result.status
            order.save(update_fields=["tulaerp_status"])
        apply_shipments(order=order, actor=actor, shipments=tulaerp_shipments(result.body or {}))
        if order.fulfilment_state == "delivered":
            FulfilmentPoll.objects.filter(pk=poll.pk).update(active=False, last_polled_at=now, polls=F("polls") + 1)
        else:
            _reschedule(poll, now)


def _reschedule(poll: FulfilmentPoll, now: datetime) -> None:
    interval = min(
        settings.TULAERP_REFRESH_MAX_INTERVAL_SECONDS, settings.TULAERP_REFRESH_FIRST_SECONDS * 2 ** min(poll.polls, 20)
    )
    FulfilmentPoll.objects.filter(pk=poll.pk).update(
        next_poll_at=now + timedelta(seconds=interval), last_polled_at=now, polls=F("polls") + 1
    )


# --- The worker ----------------------------------------------------------------------------------------------


class Worker:
    def __init__(self, *, destinations: list[str] | None = None, refresh: bool = True) -> None:
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stop = threading.Event()
        self.destinations = destinations or list(Destination.values)
        self.refresh = refresh
        self.started_at = timezone.now()

    def run(self) -> None:
        # Before any thread connects: each thread's connection is made from these settings.
        for alias in connections:
            connections.settings[alias]["CONN_MAX_AGE"] = settings.OUTBOX_WORKER_CONN_MAX_AGE
        # A destination without a rate limit gets several drain loops, so one's HTTP wait overlaps another's
        # database work; each claims its own batch, exactly as separate workers would.
        threads = [
            threading.Thread(target=self._drain, args=(d,), name=f"outbox-{d}-{n}", daemon=True)
            for d in self.destinations
            for n in range(1 if _limits(d) else settings.OUTBOX_THREADS_PER_DESTINATION)
        ]
        if self.refresh:
            threads.append(threading.Thread(target=self._refresh_loop, name="outbox-refresh", daemon=True))
        self._beat()  # before the first send: a worker that delivers is already on the monitor
        for thread in threads:
            thread.start()
        log.info("worker %s started: %s", self.id, ", ".join(t.name for t in threads))
        try:
            while not self.stop.wait(settings.OUTBOX_HEARTBEAT_SECONDS):
                self._beat()
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(settings.HTTP_CONNECT_TIMEOUT + settings.HTTP_READ_TIMEOUT + 5)
            WorkerHeartbeat.objects.filter(worker=self.id).delete()
            connection.close()
            log.info("worker %s stopped", self.id)

    def _beat(self) -> None:
        try:
            close_old_connections()
            now = timezone.now()
            WorkerHeartbeat.objects.update_or_create(
                worker=self.id,
                defaults={
                    "hostname": socket.gethostname(),
                    "pid": os.getpid(),
                    "started_at": self.started_at,
                    "beat_at": now,
                },
            )
        except Exception as exc:
            _log_error("heartbeat", exc)

    def _drain(self, destination: str) -> None:
        sender = Sender(destination, self.stop)
        try:
            while not self.stop.is_set():
                try:
                    close_old_connections()
                    if not self._drain_once(destination, sender):
                        self.stop.wait(settings.OUTBOX_POLL_SECONDS)
                except Exception as exc:  # the loop never dies on one bad row or a lost connection
                    _log_error(f"outbox loop destination={destination}", exc)
                    connection.close()
                    self.stop.wait(1.0)
        finally:
            sender.close()
            connection.close()

    def _drain_once(self, destination: str, sender: Sender) -> bool:
        """Claim and deliver one batch; False when there was nothing to do."""
        state = DestinationState.objects.filter(destination=destination).first()
        if self._probe_if_due(destination, sender, state):
            return True
        now = timezone.now()
        if state and any(until and until > now for until in (state.paused_until, state.breaker_open_until)):
            return False
        sender.holds_read_at = time.monotonic()
        # A paced destination: reserve the slot first, then claim one message, so no lease runs out while the
        # worker waits for the rate window (a claim never outruns the slots held).
        paced = bool(_limits(destination))
        if paced:
            if not OutboxMessage.objects.due().filter(destination=destination).exists():
                return False
            if not wait_for_slot(destination, self.stop):
                return False
            sender.prepaid, sender.prepaid_at = 1, time.monotonic()
        batch = claim(destination=destination, worker=self.id, limit=1 if paced else settings.OUTBOX_BATCH_SIZE)
        if paced and not batch:
            sender.prepaid = 0
            release_slot(destination)
        self._deliver_batch(batch, sender)
        if sender.prepaid:  # reserved but not spent (the send never started): hand it back
            sender.prepaid = 0
            release_slot(destination)
        return bool(batch)

    def _deliver_batch(self, batch: list[OutboxMessage], sender: Sender) -> None:
        """Send the batch one message after another and record the sends together: one completing transaction
        for many, made sooner when a call failed, when the first send waited FLUSH_SECONDS, or before a call that
        could outlast a waiting message's lease (so a lease never runs out on a send not yet recorded)."""
        done: list[Finished] = []

        def flush() -> None:
            complete_many(done, worker=self.id)
            done.clear()

        for index, message in enumerate(batch):
            if self.stop.is_set():
                flush()
                for rest in batch[index:]:
                    release(rest)
                break
            now = timezone.now()
            if done and (
                now - done[0].started_at > timedelta(seconds=FLUSH_SECONDS)
                or min(d.message.lease_expires_at for d in done) - now < _worst_call()
            ):
                flush()
            finished = send_one(message, sender)
            if finished is not None:
                done.append(finished)
                if finished.outcome.state != MessageState.SENT:
                    flush()
                    if held_for(message.destination) > 0:
                        # The failure opened the breaker or paused the destination: hand the rest back rather
                        # than hold them through the cool-off and then send them beside the one probe.
                        for rest in batch[index + 1 :]:
                            release(rest)
                        return
        flush()

    def _probe_if_due(self, destination: str, sender: Sender, state: DestinationState | None) -> bool:
        if not state or not state.breaker_open_until or state.breaker_open_until > timezone.now():
            return False
        if not claim_probe(destination):
            return False
        try:
            if wait_for_slot(destination, self.stop):
                sender.probe()
                close_breaker(destination)
                log.info("breaker closed destination=%s", destination)
        except Exception as exc:
            log.warning("probe failed destination=%s error=%s", destination, exc)
        return True

    def _refresh_loop(self) -> None:
        sender = Sender(Destination.TULAERP, self.stop)
        try:
            while not self.stop.is_set():
                try:
                    close_old_connections()
                    polls = claim_polls(worker=self.id, limit=5)
                    for poll in polls:
                        if self.stop.is_set():
                            break
                        refresh(poll, sender, worker=self.id)
                    if not polls:
                        self.stop.wait(max(settings.OUTBOX_POLL_SECONDS, 1.0))
                except Exception as exc:
                    _log_error("refresh loop", exc)
                    connection.close()
                    self.stop.wait(1.0)
        finally:
            sender.close()
            connection.close()
