"""Reads of the outbox for the monitor page, outbox_status and the layout banner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Min
from django.utils import timezone

from orders.models import (
    CLAIMABLE_STATES,
    Destination,
    DestinationState,
    MessageState,
    OutboxMessage,
    WorkerHeartbeat,
)


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


def layout_alerts() -> list[str]:
    """What every page's banner warns about: a paused destination, an open breaker, no worker beating."""
    now = timezone.now()
    alerts = []
    for state in DestinationState.objects.filter(destination__in=Destination.values):
        label = Destination(state.destination).label
        if state.paused_until and state.paused_until > now:
            alerts.append(f"{label} is paused: {state.pause_reason or 'by an admin'}")
        if state.breaker_open_until and state.breaker_open_until > now:
            alerts.append(f"{label} is failing; sending is on hold: {state.breaker_reason}")
    beat = last_heartbeat()
    if beat is None or now - beat > timedelta(seconds=settings.HEALTHZ_MAX_HEARTBEAT_AGE_SECONDS):
        alerts.append("No outbox worker is running: orders are not being sent. Start `manage.py outbox_worker`.")
    return alerts
