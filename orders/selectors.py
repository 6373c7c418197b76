"""Every read that pages and the API share. Reads never open transactions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone

from orders.models import (
    CLAIMABLE_STATES,
    Destination,
    DestinationState,
    MessageState,
    Order,
    OutboxMessage,
    WorkerHeartbeat,
)

LIST_FIELDS = (
    "id", "order_number", "created_at", "customer_name", "customer_no", "ship_to_city", "ship_to_state",
    "line_count", "total", "state", "fulfilment_state", "source",
)  # fmt: skip


def order_list_recent(*, limit: int = 25) -> QuerySet[Order]:
    return Order.objects.newest_first().only(*LIST_FIELDS)[:limit]


@dataclass(frozen=True)
class DestinationSummary:
    destination: str
    counts: dict[str, int]
    oldest_pending_at: datetime | None
    last_success_at: datetime | None
    paused_until: datetime | None
    pause_reason: str
    paused_by_hand: bool
    breaker_open_until: datetime | None
    breaker_reason: str
    budget_left: int | None
    window_resets_at: datetime | None


def outbox_summary() -> list[DestinationSummary]:
    """Per destination: messages by state, the oldest waiting one, pacing, pause and breaker."""
    counts: dict[str, dict[str, int]] = {d: dict.fromkeys(MessageState.values, 0) for d in Destination.values}
    for row in (
        OutboxMessage.objects.exclude(state__in=[MessageState.SENT, MessageState.CANCELLED])
        .values("destination", "state")
        .annotate(n=Count("id"))
    ):
        counts[row["destination"]][row["state"]] = row["n"]
    oldest = dict(
        OutboxMessage.objects.filter(state__in=CLAIMABLE_STATES + (MessageState.IN_FLIGHT,))
        .values_list("destination")
        .annotate(Min("created_at"))
    )
    states = {s.destination: s for s in DestinationState.objects.filter(destination__in=Destination.values)}
    now = timezone.now()
    out = []
    for destination in Destination.values:
        state = states.get(destination) or DestinationState(destination=destination)
        window_open = state.window_resets_at is not None and state.window_resets_at > now
        limit = state.window_limit or (
            settings.CIMCLOUD_RATE_PER_WINDOW if destination == Destination.CIMCLOUD else None
        )
        budget = None if limit is None else (limit - state.window_calls if window_open else limit)
        out.append(
            DestinationSummary(
                destination=destination,
                counts=counts[destination],
                oldest_pending_at=oldest.get(destination),
                last_success_at=state.last_success_at,
                paused_until=state.paused_until if state.paused_until and state.paused_until > now else None,
                pause_reason=state.pause_reason,
                paused_by_hand=state.paused_by_hand,
                breaker_open_until=state.breaker_open_until,
                breaker_reason=state.breaker_reason,
                budget_left=budget,
                window_resets_at=state.window_resets_at if window_open else None,
            )
        )
    return out


def last_heartbeat() -> datetime | None:
    return WorkerHeartbeat.objects.aggregate(last=Max("beat_at"))["last"]


def order_api_detail(*, order_id: int) -> Order:
    """One order with what the API shows of it: lines and outbox messages."""
    return Order.objects.prefetch_related("lines", "outbox_messages").get(pk=order_id)


def order_number_existing(*, number: str) -> str | None:
    """The stored spelling of an order number, matched ignoring case as the uniqueness rule does."""
    return Order.objects.filter(order_number__iexact=number.strip()).values_list("order_number", flat=True).first()
