"""Reads of the home page and the outbox monitor: a fixed, small number of queries whatever the data size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from orders.charts import fill_days, fill_hours
from orders.models import (
    DeliveryAttempt,
    Destination,
    MessageState,
    Order,
    OrderEvent,
    OutboxMessage,
)
from orders.selectors.outbox import DestinationSummary, outbox_summary

ATTENTION_LIST_LIMIT = 50
ACTIVITY_FIELDS = ("id", "kind", "message", "created_at", "channel", "actor_label", "actor_id", "actor__username")
ATTENTION_FIELDS = (
    "id", "destination", "state", "attempts", "attention_reason", "last_error", "created_at", "updated_at",
    "order__id", "order__order_number", "order__customer_name", "order__state",
)  # fmt: skip


def local_zone() -> ZoneInfo:
    """The configured TIME_ZONE: the dashboard's days and hours are the office's, whoever is looking."""
    return ZoneInfo(settings.TIME_ZONE)


# --- Home -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DestinationCount:
    destination: str
    label: str
    count: int


@dataclass(frozen=True)
class HomeOverview:
    today: int
    this_week: int  # since Monday, local time
    awaiting_review: int
    needs_attention: tuple[DestinationCount, ...]
    per_day: tuple[tuple[date, int], ...]  # the last `days` local dates, oldest first, today last

    @property
    def needs_attention_total(self) -> int:
        return sum(d.count for d in self.needs_attention)


def orders_per_day(*, days: int = 30, now: datetime | None = None) -> list[tuple[date, int]]:
    """Orders created per local date over the last `days` days (today included), in one grouped query on the
    indexed `created_at` range."""
    zone = local_zone()
    today = timezone.localtime(now or timezone.now(), zone).date()
    first = today - timedelta(days=days - 1)
    rows = (
        Order.objects.filter(created_at__gte=datetime.combine(first, time.min, tzinfo=zone))
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    return fill_days({row["day"]: row["n"] for row in rows}, last=today, days=days)


def needs_attention_counts() -> tuple[DestinationCount, ...]:
    counts = dict(
        OutboxMessage.objects.filter(state=MessageState.NEEDS_ATTENTION)
        .values_list("destination")
        .annotate(n=Count("id"))
        .order_by()
    )
    return tuple(DestinationCount(d.value, d.label, counts.get(d.value, 0)) for d in Destination)


def home_overview(*, days: int = 30) -> HomeOverview:
    """Today, this week, the review queue and the outbox's failures, plus the chart's data: three queries."""
    per_day = orders_per_day(days=days)
    today = per_day[-1][0]
    monday = today - timedelta(days=today.weekday())
    return HomeOverview(
        today=per_day[-1][1],
        this_week=sum(n for day, n in per_day if day >= monday),
        awaiting_review=Order.objects.awaiting_review().count(),
        needs_attention=needs_attention_counts(),
        per_day=tuple(per_day),
    )


def recent_activity(*, limit: int = 15) -> QuerySet[OrderEvent]:
    """The latest order events across all orders, with what a timeline row shows, in one query (the order's number
    joined in as `order_number`: an Order instance per row would cost more than the query)."""
    return (
        OrderEvent.objects.select_related("actor")
        .only(*ACTIVITY_FIELDS)
        .annotate(order_number=F("order__order_number"))
        .order_by("-created_at", "-id")[:limit]
    )


# --- Outbox monitor -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DestinationPanel:
    """One destination's card: the shared summary plus what the page decides from it."""

    summary: DestinationSummary
    label: str
    paused: bool
    breaker_open: bool

    @property
    def destination(self) -> str:
        return self.summary.destination

    @property
    def counts(self) -> dict[str, int]:
        return self.summary.counts

    @property
    def needs_attention(self) -> int:
        return self.summary.counts[MessageState.NEEDS_ATTENTION]

    @property
    def status(self) -> str:
        """ok, paused, breaker, attention: the card's colour."""
        if self.paused:
            return "paused"
        if self.breaker_open:
            return "breaker"
        return "attention" if self.needs_attention else "ok"


def destination_panels() -> list[DestinationPanel]:
    now = timezone.now()
    return [
        DestinationPanel(
            summary=s,
            label=Destination(s.destination).label,
            paused=s.paused_until is not None,  # outbox_summary already drops pauses that have ended
            breaker_open=bool(s.breaker_open_until and s.breaker_open_until > now),
        )
        for s in outbox_summary()
    ]


def attempts_per_hour(*, hours: int = 24, now: datetime | None = None) -> list[tuple[datetime, tuple[int, int]]]:
    """Delivery attempts per hour over the last `hours` hours (this hour last): (sent, not sent) each, from one
    grouped query on the indexed `started_at`. Hours are cut in UTC and shown in local time, so a DST change
    never merges or drops an hour."""
    last = (now or timezone.now()).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = last - timedelta(hours=hours - 1)
    rows = (
        DeliveryAttempt.objects.filter(started_at__gte=first)
        .annotate(hour=TruncHour("started_at", tzinfo=UTC))
        .values("hour")
        .annotate(sent=Count("id", filter=Q(outcome="sent")), failed=Count("id", filter=~Q(outcome="sent")))
        .order_by()
    )
    counts = {row["hour"]: (row["sent"], row["failed"]) for row in rows}
    return fill_hours(counts, last=last, hours=hours, width=2)  # type: ignore[return-value]


def needs_attention_messages(*, limit: int = ATTENTION_LIST_LIMIT) -> list[OutboxMessage]:
    """Messages a human must act on, oldest first, capped: the counts on the cards give the total."""
    return list(
        OutboxMessage.objects.filter(state=MessageState.NEEDS_ATTENTION)
        .select_related("order")
        .only(*ATTENTION_FIELDS)
        .order_by("created_at", "id")[:limit]
    )


def outbox_message_for_action(*, message_id: int) -> OutboxMessage | None:
    """One message with its order, for a confirmation page (mark as sent)."""
    return OutboxMessage.objects.select_related("order").filter(pk=message_id).first()
