"""Reads of one order for its page and its form, with a fixed number of queries however big the order is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.functions import Lower

from orders.models import (
    AttentionReason,
    CatalogItem,
    Customer,
    DeliveryAttempt,
    Destination,
    MessageState,
    Order,
    OrderEvent,
    OrderNote,
    OrderState,
    OutboxMessage,
    Shipment,
)
from orders.selectors.orders import SyncRow, any_in_flight, order_lines, order_shipments, sync_states

_RETRYABLE = (MessageState.PENDING, MessageState.RETRY_SCHEDULED, MessageState.NEEDS_ATTENTION)


def _by_number(number: str) -> QuerySet[Order]:
    # Order numbers are unique ignoring case; this lookup uses that index.
    return Order.objects.alias(number_key=Lower("order_number")).filter(number_key=number.strip().lower())


@dataclass(frozen=True)
class MessageView:
    """The latest message to one destination, and what staff may do with it now."""

    message: OutboxMessage
    label: str
    can_retry: bool
    can_mark_sent: bool
    can_cancel: bool


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    event: OrderEvent | None = None
    attempt: DeliveryAttempt | None = None
    note: OrderNote | None = None
    destination: str = ""  # label, for attempts
    diff: list[tuple[str, str, str]] = field(default_factory=list)  # (field, old, new) of an edit


@dataclass(frozen=True)
class HandCancel:
    destination: str
    reference: str


@dataclass
class OrderDetail:
    order: Order
    lines: list[Any]
    shipments: list[Shipment]
    package_count: int
    latest: dict[str, OutboxMessage]  # destination → its latest message
    messages: list[MessageView]
    notes: list[OrderNote]
    timeline: list[TimelineEntry]
    in_flight: bool
    can_fix: bool
    cimcloud_accepted: bool
    cancel_by_hand: list[HandCancel]
    tracking_summary: str

    # What the order's state allows (the services check again; these only decide which buttons to show).
    @property
    def can_edit(self) -> bool:
        return self.order.is_editable

    @property
    def can_submit(self) -> bool:
        return self.order.state == OrderState.DRAFT

    @property
    def can_review(self) -> bool:
        return self.order.state == OrderState.AWAITING_REVIEW

    @property
    def can_cancel(self) -> bool:
        return self.order.can_transition_to(OrderState.CANCELLED)

    @property
    def badges(self) -> list[tuple[str, OutboxMessage | None]]:
        return badge_rows(self.order, self.latest)


def badge_rows(order: Order, latest: dict[str, Any]) -> list[tuple[str, OutboxMessage | SyncRow | None]]:
    """(destination label, its latest message or None) for each destination the order goes to."""
    return [(Destination(d).label, latest.get(d)) for d in order.destinations]


# The people the order page names: their usernames are joined in as `<person>_name` (no user instances).
_PEOPLE = ("created_by", "updated_by", "reviewed_by", "cancelled_by")
_USERNAME = get_user_model().USERNAME_FIELD
_NOT_SHOWN = tuple(f.name for f in get_user_model()._meta.concrete_fields if f.name not in ("id", _USERNAME))


def _with_username(queryset: QuerySet, user: str) -> QuerySet:
    """Rows with their user joined for its username alone: a timeline entry names its author, nothing else."""
    return queryset.select_related(user).defer(*(f"{user}__{name}" for name in _NOT_SHOWN))


def order_detail(*, number: str) -> OrderDetail:
    """Everything the order page shows, in nine queries: the order (with its people's names), lines, shipments,
    their items and packages, events with actors, staff notes with authors, outbox messages, and their delivery
    attempts."""
    order = _by_number(number).annotate(**{f"{person}_name": F(f"{person}__{_USERNAME}") for person in _PEOPLE}).get()
    # Each child table read by the one order's id: for a single parent, prefetch_related's bookkeeping cost more
    # than the queries themselves. Shipments and messages keep theirs for their own children.
    lines = order_lines(order_id=order.pk)
    shipments = order_shipments(order_id=order.pk)
    events = list(_with_username(OrderEvent.objects, "actor").filter(order_id=order.pk).order_by("created_at", "id"))
    notes = list(_with_username(OrderNote.objects, "author").filter(order_id=order.pk).order_by("created_at", "id"))
    messages = list(
        OutboxMessage.objects.defer("payload")
        .filter(order_id=order.pk)
        .order_by("created_at", "id")
        .prefetch_related(Prefetch("delivery_attempts", queryset=DeliveryAttempt.objects.order_by("started_at", "id")))
    )
    latest: dict[str, OutboxMessage] = {}
    for message in messages:  # oldest first: the last one seen per destination is the latest
        latest[message.destination] = message
    return OrderDetail(
        order=order,
        lines=lines,
        shipments=shipments,
        package_count=sum(len(s.packages.all()) for s in shipments),
        latest=latest,
        messages=[_message_view(order, m) for m in latest.values()],
        notes=notes,
        timeline=_timeline(events, messages, notes),
        in_flight=any_in_flight({order.pk: latest}),
        can_fix=order.state == OrderState.SUBMITTED
        and any(
            m.state == MessageState.NEEDS_ATTENTION and m.attention_reason == AttentionReason.PERMANENT
            for m in messages
        ),
        cimcloud_accepted=_accepted(latest.get(Destination.CIMCLOUD)),
        cancel_by_hand=[
            HandCancel(Destination(d).label, m.external_reference or order.order_number)
            for d, m in latest.items()
            if order.state == OrderState.CANCELLED and _accepted(m)
        ],
        tracking_summary=_tracking_summary(order, shipments),
    )


def _accepted(message: OutboxMessage | None) -> bool:
    """The destination has the order: sent, or accepted after we had cancelled it."""
    return message is not None and (
        message.state == MessageState.SENT
        or (
            message.state == MessageState.NEEDS_ATTENTION
            and message.attention_reason == AttentionReason.SENT_AFTER_CANCEL
        )
    )


def _message_view(order: Order, message: OutboxMessage) -> MessageView:
    cancelled = order.state == OrderState.CANCELLED
    return MessageView(
        message=message,
        label=Destination(message.destination).label,
        can_retry=message.state in _RETRYABLE and not cancelled,
        can_mark_sent=message.state not in (MessageState.SENT, MessageState.CANCELLED, MessageState.IN_FLIGHT)
        and message.attention_reason != AttentionReason.SENT_AFTER_CANCEL,
        can_cancel=message.state in _RETRYABLE,
    )


def _timeline(events: list[OrderEvent], messages: list[OutboxMessage], notes: list[OrderNote]) -> list[TimelineEntry]:
    entries = [TimelineEntry(at=e.created_at, event=e, diff=_diff_rows(e.detail)) for e in events]
    entries.extend(TimelineEntry(at=n.created_at, note=n) for n in notes)
    for message in messages:
        label = Destination(message.destination).label
        entries.extend(
            TimelineEntry(at=a.started_at, attempt=a, destination=label) for a in message.delivery_attempts.all()
        )
    return sorted(entries, key=lambda e: (e.at, e.event is not None))


def _diff_rows(detail: dict[str, Any]) -> list[tuple[str, str, str]]:
    diff = detail.get("diff") if isinstance(detail, dict) else None
    if not isinstance(diff, dict):
        return []
    return [
        (_field_name(name), _shown(change[0]), _shown(change[1]))
        for name, change in diff.items()
        if isinstance(change, list) and len(change) == 2
    ]


def _field_name(name: str) -> str:
    try:
        return str(getattr(Order._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:
        return name


def _shown(value: Any) -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value) or "—"
    return str(value)


def _tracking_summary(order: Order, shipments: list[Shipment]) -> str:
    """Plain text for a customer email: one line per package with its carrier, tracking number and link."""
    lines = [f"Order {order.order_number}" + (f" (PO {order.po_number})" if order.po_number else "")]
    number = 0
    for shipment in shipments:
        for package in shipment.packages.all():
            number += 1
            tracking = ", ".join(filter(None, [package.tracking_number1, package.tracking_number2])) or "no number yet"
            text = f"Package {number}: {package.carrier or 'Carrier unknown'} {tracking}"
            if package.tracking_link:
                text += f" — {package.tracking_link}"
            if package.is_delivered:
                text += " (delivered)"
            lines.append(text)
    return "\n".join(lines)


def order_sync_badges(*, number: str) -> tuple[Order, dict[str, SyncRow], bool]:
    """For the badge strip that refreshes while something is in flight: two queries."""
    order = _by_number(number).only("id", "order_number", "send_to_cimcloud", "send_to_tulaerp").get()
    states = sync_states([order.pk])
    return order, states[order.pk], any_in_flight(states)


def order_for_action(*, number: str) -> Order:
    """The order a form or an action works on (raises Order.DoesNotExist)."""
    return _by_number(number).select_related("customer").get()


@dataclass(frozen=True)
class FixState:
    """Whether "fix and resend" applies (submitted, a destination rejected it), and which destinations already
    have the order (they are not re-sent on their own: CIMcloud only when asked, TulaERP never)."""

    can_fix: bool
    accepted: frozenset[str] = frozenset()

    @property
    def cimcloud_accepted(self) -> bool:
        return Destination.CIMCLOUD in self.accepted


def order_fix_state(*, order: Order) -> FixState:
    if order.state != OrderState.SUBMITTED:
        return FixState(can_fix=False)
    latest = sync_states([order.pk])[order.pk]
    return FixState(
        can_fix=any(
            m.state == MessageState.NEEDS_ATTENTION and m.attention_reason == AttentionReason.PERMANENT
            for m in latest.values()
        ),
        accepted=frozenset(d for d, m in latest.items() if _accepted(m)),
    )


# --- lookups of the order form --------------------------------------------------------------------------------


def customer_search(*, q: str, limit: int = 10) -> list[Customer]:
    """Customers whose name or number contains `q` (any case), by name."""
    q = q.strip()
    if not q:
        return []
    return list(
        Customer.objects.filter(Q(name__icontains=q) | Q(customer_no__icontains=q))
        .order_by("name", "id")
        .only("id", "name", "customer_no", "city", "state", "credit_hold")[:limit]
    )


def customer_by_id(*, customer_id: int) -> Customer | None:
    return Customer.objects.filter(pk=customer_id).first()


def catalog_search(*, q: str, limit: int = 15) -> list[CatalogItem]:
    """Active catalogue items whose SKU or description contains `q`, SKUs that start with it first."""
    q = q.strip()
    if not q:
        return []
    items = list(
        CatalogItem.objects.filter(active=True)
        .filter(Q(sku__icontains=q) | Q(description__icontains=q))
        .order_by("sku")[: limit * 2]
    )
    items.sort(key=lambda item: (not item.sku.lower().startswith(q.lower()), item.sku.lower()))
    return items[:limit]
