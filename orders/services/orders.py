"""Every write to an order: create, edit, submit, review, cancel. One durable transaction each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from orders.errors import Conflict, InvalidInput, InvalidTransition, NotAllowed, StaleVersion, limited_text
from orders.integrations.validation import presend_check

if TYPE_CHECKING:
    from orders.integrations.parsing import CimcloudImport
from orders.models import (
    CUSTOMER_SNAPSHOT_FIELDS,
    OPEN_STATES,
    SHIP_TO_SNAPSHOT_FIELDS,
    AttentionReason,
    Customer,
    CustomerShipTo,
    Destination,
    EventKind,
    MessageState,
    Order,
    OrderLine,
    OrderSource,
    OrderState,
)
from orders.services.context import NOTE_MAX, Actor, record_event
from orders.services.customers import upsert_customer_master
from orders.services.numbering import next_order_number
from orders.services.outbox import cancel_unsent_messages, enqueue_order

# Fields only services set: state, numbering, materialised values, what TulaERP gave back, and the audit columns.
_SYSTEM_FIELDS = frozenset(
    {
        "id",
        "order_number",
        "uuid",
        "state",
        "source",
        "seeded",
        "version",
        "send_to_cimcloud",
        "send_to_tulaerp",
        "customer",
        "tulaerp_id",
        "tulaerp_short_order_number",
        "tulaerp_status",
        "subtotal",
        "total",
        "line_count",
        "fulfilment_state",
        "review_reasons",
        "review_comment",
        "cancel_reason",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "submitted_at",
        "submitted_by",
        "reviewed_at",
        "reviewed_by",
        "cancelled_at",
        "cancelled_by",
    }
)
EDITABLE_FIELDS: frozenset[str] = frozenset(f.name for f in Order._meta.concrete_fields if f.name not in _SYSTEM_FIELDS)


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: int
    unit_price: Decimal
    description: str = ""


def order_create(
    *,
    actor: Actor,
    fields: Mapping[str, Any],
    lines: Sequence[LineInput],
    customer: Customer | None = None,
    ship_to: CustomerShipTo | None = None,
    order_number: str | None = None,
    source: str = OrderSource.MANUAL,
    destinations: Sequence[str] | None = None,
    seeded: bool = False,
) -> Order:
    """Create a draft. The customer and ship-to are copied onto the order (a snapshot); `fields` win over them,
    so an import keeps the values it was sent. Without `order_number`, the next manual number is given."""
    with transaction.atomic(durable=True):
        return _create(
            actor=actor,
            fields=fields,
            lines=lines,
            customer=customer,
            ship_to=ship_to,
            order_number=order_number,
            source=source,
            destinations=destinations,
            seeded=seeded,
        )


def order_create_and_submit(
    *,
    actor: Actor,
    fields: Mapping[str, Any],
    lines: Sequence[LineInput],
    customer: Customer | None = None,
    source: str = OrderSource.MANUAL,
    destinations: Sequence[str] | None = None,
) -> Order:
    """Create and submit in one transaction: an order the submit refuses is not kept as a draft, so a client
    that retries after an error cannot leave drafts behind."""
    with transaction.atomic(durable=True):
        order = _create(
            actor=actor,
            fields=fields,
            lines=lines,
            customer=customer,
            ship_to=None,
            order_number=None,
            source=source,
            destinations=destinations,
            seeded=False,
        )
        _submit(order, actor)
    return order


def order_import(
    *, actor: Actor, data: CimcloudImport, submit: bool = True, destinations: Sequence[str] | None = None
) -> Order:
    """An order that arrives in CIMcloud's shape: created and (unless `submit` is false) submitted in one
    transaction, so a refused import leaves nothing behind. `update_master` also updates our customer record."""
    with transaction.atomic(durable=True):
        customer = (
            Customer.objects.select_for_update().filter(customer_no=data.customer_no).first()
            if (data.customer_no)
            else None
        )
        if data.update_master and data.customer_no:
            customer = upsert_customer_master(actor=actor, customer=customer, values=data.customer_fields)
        order = _create(
            actor=actor,
            fields=data.fields,
            lines=data.lines,
            customer=None,
            ship_to=None,
            order_number=data.order_number,
            source=OrderSource.API if actor.channel == "api" else OrderSource.IMPORT,
            destinations=destinations,
            seeded=False,
        )
        if customer is not None:
            order.customer = customer
            order.save(update_fields=["customer"])
        if submit:
            _submit(order, actor)
    return order


def _create(
    *,
    actor: Actor,
    fields: Mapping[str, Any],
    lines: Sequence[LineInput],
    customer: Customer | None,
    ship_to: CustomerShipTo | None,
    order_number: str | None,
    source: str,
    destinations: Sequence[str] | None,
    seeded: bool,
) -> Order:
    now = timezone.now()
    order = Order(
        source=source, seeded=seeded, created_at=now, updated_at=now, created_by=actor.user, updated_by=actor.user
    )
    _set_destinations(order, destinations)
    _apply_fields(order, fields, customer=customer, ship_to=ship_to)
    if order_number is None:
        order.order_number = next_order_number()
    else:
        order.order_number = order_number.strip()
        _refuse_taken_number(order.order_number)
    line_rows = _validated(order, lines)
    try:
        with transaction.atomic():
            order.save(force_insert=True)
    except IntegrityError:
        _refuse_taken_number(order.order_number)
        raise
    _write_lines(order, line_rows)
    record_event(order, actor, EventKind.CREATED, f"Order {order.order_number} created as a draft.")
    return order


def order_update_draft(
    *,
    actor: Actor,
    order_id: int,
    version: int,
    fields: Mapping[str, Any],
    lines: Sequence[LineInput],
    customer: Customer | None = None,
    ship_to: CustomerShipTo | None = None,
    destinations: Sequence[str] | None = None,
) -> Order:
    """Replace a draft's header and lines. `version` is what the editor loaded: if someone saved in between,
    StaleVersion says who and when, and nothing is written."""
    with transaction.atomic(durable=True):
        order = _locked(order_id)
        if order.state != OrderState.DRAFT:
            raise InvalidTransition(
                f"Order {order.order_number} is {order.get_state_display().lower()}; only drafts can be edited."
            )
        _set_destinations(order, destinations)
        _revise(
            order,
            actor,
            version=version,
            fields=fields,
            lines=lines,
            customer=customer,
            ship_to=ship_to,
            message="{n} field(s) changed.",
        )
    return order


@dataclass(frozen=True)
class FixResult:
    order: Order
    resent: list[str]  # destinations queued again with the corrected payload
    by_hand: list[str]  # what staff must still do in the other systems


def order_fix_and_resend(
    *,
    actor: Actor,
    order_id: int,
    version: int,
    fields: Mapping[str, Any],
    lines: Sequence[LineInput],
    also_update_cimcloud: bool = False,
) -> FixResult:
    """Correct a submitted order that a destination rejected, and send it again.

    Saving writes a revision (an event with the field diff) and rebuilds the payload for every destination that
    has not accepted the order; the rejected message is closed and kept, the new one points back at it. A
    destination that already accepted the order is not re-sent on its own: CIMcloud upserts by order number, so
    `also_update_cimcloud` sends it the correction; TulaERP has no update, so staff correct it there by hand.
    """
    with transaction.atomic(durable=True):
        order = _locked(order_id)
        rejected = order.outbox_messages.filter(
            state=MessageState.NEEDS_ATTENTION, attention_reason=AttentionReason.PERMANENT
        )
        if order.state != OrderState.SUBMITTED or not rejected.exists():
            raise InvalidTransition(f"Order {order.order_number} has no rejected message to fix and resend.")
        _revise(
            order,
            actor,
            version=version,
            fields=fields,
            lines=lines,
            customer=None,
            ship_to=None,
            message="Corrected for resending: {n} field(s) changed.",
        )
        check = presend_check(order, list(order.lines.all()))
        if check.errors:
            raise InvalidInput(
                "The corrected order still cannot be sent; correct the marked fields.",
                field_errors=check.field_errors(),
            )
        resent, by_hand = [], []
        for destination in order.destinations:
            latest = order.outbox_messages.filter(destination=destination).order_by("-created_at", "-id").first()
            accepted = latest is not None and latest.state == MessageState.SENT
            if accepted and destination == Destination.TULAERP:
                by_hand.append(
                    f"TulaERP already has this order ({latest.external_reference or 'no reference'}): "
                    "correct it in TulaERP too."
                )
                continue
            if accepted and not also_update_cimcloud:
                by_hand.append('CIMcloud already has this order: choose "also update CIMcloud" to send the correction.')
                continue
            if latest is not None and latest.state in OPEN_STATES:
                if latest.state == MessageState.IN_FLIGHT:
                    raise Conflict(f"A send to {latest.get_destination_display()} is in flight; try again shortly.")
                latest.state, latest.note = MessageState.CANCELLED, "Superseded by fix and resend."
                latest.save(update_fields=["state", "note", "updated_at"])
            [new] = enqueue_order(order, destinations=[destination])
            new.replaces = latest
            new.save(update_fields=["replaces"])
            resent.append(destination)
        record_event(
            order,
            actor,
            EventKind.SYNC_ACTION,
            "Resent to " + (", ".join(resent) or "no destination") + ". " + " ".join(by_hand),
            {"resent": resent, "by_hand": by_hand},
        )
    return FixResult(order=order, resent=resent, by_hand=by_hand)


def _revise(
    order: Order,
    actor: Actor,
    *,
    version: int,
    fields: Mapping[str, Any],
    lines: Sequence[LineInput],
    customer: Customer | None,
    ship_to: CustomerShipTo | None,
    message: str,
) -> None:
    """Apply an edit under optimistic locking and write the revision event with its field diff."""
    if order.version != version:
        who = order.updated_by.get_username() if order.updated_by else "another process"
        raise StaleVersion(
            f"{who} changed this order at {timezone.localtime(order.updated_at):%H:%M:%S}; "
            "reload it to see their changes, then apply yours again.",
            changed_by=who,
            changed_at=order.updated_at,
        )
    before = _snapshot(order)
    before_lines = _line_summary(order.lines.all())
    _apply_fields(order, fields, customer=customer, ship_to=ship_to)
    line_rows = _validated(order, lines)
    order.version += 1
    order.updated_at = timezone.now()
    order.updated_by = actor.user
    order.save()
    order.lines.all().delete()
    _write_lines(order, line_rows)
    diff = {k: [before[k], v] for k, v in _snapshot(order).items() if before[k] != v}
    after_lines = _line_summary(line_rows)
    if after_lines != before_lines:
        diff["lines"] = [before_lines, after_lines]
    record_event(order, actor, EventKind.EDITED, message.format(n=len(diff)), {"diff": diff})


def order_submit(*, actor: Actor, order_id: int) -> Order:
    """Submit a draft: to review when a review rule applies, else submitted (frozen, queued for both systems)."""
    with transaction.atomic(durable=True):
        order = _locked(order_id)
        _submit(order, actor)
    return order


def _submit(order: Order, actor: Actor) -> None:
    _require_transition(order, OrderState.SUBMITTED)
    lines = list(order.lines.all())
    if not lines:
        raise InvalidInput("Add at least one line before submitting.", field_errors={"lines": ["Add a line."]})
    check = presend_check(order, lines)
    if check.errors:
        raise InvalidInput(
            "The order cannot be sent as it is; correct the marked fields.", field_errors=check.field_errors()
        )
    reasons = review_reasons(order, check)
    if reasons:
        order.review_reasons = reasons
        _transition(
            order,
            actor,
            OrderState.AWAITING_REVIEW,
            EventKind.SENT_TO_REVIEW,
            "Sent to review: " + "; ".join(r["message"] for r in reasons),
            {"reasons": reasons},
        )
    else:
        _mark_submitted(order, actor, EventKind.SUBMITTED, "Submitted.")


def order_approve(*, actor: Actor, order_id: int) -> Order:
    """Approve an order awaiting review. Four eyes: an operator cannot approve what they created or last
    edited; an admin can."""
    with transaction.atomic(durable=True):
        order = _locked(order_id)
        _require_transition(order, OrderState.SUBMITTED)
        if order.state != OrderState.AWAITING_REVIEW:
            raise InvalidTransition(f"Order {order.order_number} is not awaiting review.")
        if actor.user is None:
            raise NotAllowed("Only a signed-in reviewer can approve an order.")
        if not actor.is_admin and actor.user.pk in {order.created_by_id, order.updated_by_id}:
            raise NotAllowed("You created or last edited this order: another operator or an admin must approve it.")
        order.reviewed_at, order.reviewed_by = timezone.now(), actor.user
        _mark_submitted(order, actor, EventKind.APPROVED, "Approved and submitted.")
    return order


def order_reject(*, actor: Actor, order_id: int, comment: str) -> Order:
    comment = limited_text(comment, field="comment", limit=NOTE_MAX)
    if not comment:
        raise InvalidInput("Say why the order is rejected.", field_errors={"comment": ["A comment is required."]})
    with transaction.atomic(durable=True):
        order = _locked(order_id)
        _require_transition(order, OrderState.REJECTED)
        if actor.user is None:
            raise NotAllowed("Only a signed-in reviewer can reject an order.")
        order.review_comment = comment
        order.reviewed_at, order.reviewed_by = timezone.now(), actor.user
        _transition(order, actor, OrderState.REJECTED, EventKind.REJECTED, f"Rejected: {comment}")
    return order


def order_cancel(*, actor: Actor, order_id: int, reason: str = "") -> Order:
    with transaction.atomic(durable=True):
        order = _locked(order_id)
        _require_transition(order, OrderState.CANCELLED)
        order.cancel_reason = limited_text(reason, field="reason", limit=NOTE_MAX)
        order.cancelled_at, order.cancelled_by = timezone.now(), actor.user
        cancel_unsent_messages(order, note="Order cancelled.")
        _transition(
            order,
            actor,
            OrderState.CANCELLED,
            EventKind.CANCELLED,
            "Cancelled." + (f" {order.cancel_reason}" if order.cancel_reason else ""),
        )
    return order


def review_reasons(order: Order, check: Any) -> list[dict[str, str]]:
    """Why an order must be reviewed before it is sent; empty means it can go straight out."""
    reasons = []
    credit_hold = order.customer.credit_hold if order.customer_id else order.customer_credit_hold
    if credit_hold:
        reasons.append(
            {
                "code": "credit_hold",
                "message": f"Customer {order.customer_no or order.customer_name} is on credit hold.",
            }
        )
    if order.po_number.strip():
        other = (
            Order.objects.not_cancelled()
            .alias(po=Lower("po_number"), cust=Lower("customer_no"))
            .filter(po=order.po_number.strip().lower(), cust=order.customer_no.strip().lower())
            .exclude(pk=order.pk)
            .values_list("order_number", flat=True)
            .first()
        )
        if other:
            reasons.append(
                {
                    "code": "duplicate_po",
                    "message": f"PO {order.po_number} is already used by order {other} of the same customer.",
                }
            )
    reasons.extend(
        {"code": "presend_warning", "message": w.message, "destination": w.destination, "field": w.field}
        for w in check.warnings
    )
    return reasons


# --- internals ----------------------------------------------------------------------------------------------


def _locked(order_id: int) -> Order:
    try:
        return Order.objects.select_for_update().get(pk=order_id)
    except Order.DoesNotExist:
        raise InvalidInput(f"There is no order with id {order_id}.") from None


def _require_transition(order: Order, to: str) -> None:
    if not order.can_transition_to(to):
        raise InvalidTransition(
            f"Order {order.order_number} is {order.get_state_display().lower()} and cannot become "
            f"{OrderState(to).label.lower()}."
        )


def _transition(order: Order, actor: Actor, to: str, kind: str, message: str, detail: dict | None = None) -> None:
    """The one place `state` changes: checks the allowed transitions and writes the audit row."""
    _require_transition(order, to)
    before = order.state
    order.state = to
    order.updated_at = timezone.now()
    order.save()
    record_event(order, actor, kind, message, {"state": [before, to], **(detail or {})})


def _mark_submitted(order: Order, actor: Actor, kind: str, message: str) -> None:
    """Submitting freezes the order and writes its outbox messages in the same transaction."""
    order.submitted_at, order.submitted_by = timezone.now(), actor.user
    _transition(order, actor, OrderState.SUBMITTED, kind, message)
    enqueue_order(order)


def _set_destinations(order: Order, destinations: Sequence[str] | None) -> None:
    if destinations is None:
        return
    unknown = set(destinations) - set(Destination.values)
    if unknown or not destinations:
        raise InvalidInput(
            "Choose at least one destination.", field_errors={"destinations": [f"Use {', '.join(Destination.values)}."]}
        )
    order.send_to_cimcloud = Destination.CIMCLOUD in destinations
    order.send_to_tulaerp = Destination.TULAERP in destinations


def _apply_fields(
    order: Order, fields: Mapping[str, Any], *, customer: Customer | None, ship_to: CustomerShipTo | None
) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise InvalidInput("Unknown order fields.", field_errors={k: ["Unknown field."] for k in sorted(unknown)})
    if customer is not None:
        order.customer = customer
        for source, target in CUSTOMER_SNAPSHOT_FIELDS.items():
            setattr(order, target, getattr(customer, source))
        order.client_id = customer.tulaerp_client_id
        order.member_id = customer.tulaerp_member_id
    if ship_to is not None:
        for source, target in SHIP_TO_SNAPSHOT_FIELDS.items():
            setattr(order, target, getattr(ship_to, source))
    for name, value in fields.items():
        setattr(order, name, value)
    _resolve_tulaerp_ids(order)


def _resolve_tulaerp_ids(order: Order) -> None:
    from django.conf import settings

    if order.client_id is None:
        order.client_id = settings.TULAERP_CLIENT_ID
    if order.member_id is None:
        order.member_id = settings.TULAERP_MEMBER_ID


def _refuse_taken_number(number: str) -> None:
    taken = Order.objects.filter(order_number__iexact=number).values_list("order_number", flat=True).first()
    if taken is not None:
        raise Conflict(
            f"Order number {taken} already exists.", field_errors={"order_number": [f"Order {taken} already exists."]}
        )


def _validated(order: Order, lines: Sequence[LineInput]) -> list[OrderLine]:
    """Validate the header and every line together, so each error comes back on its own field and row."""
    errors: dict[str, list[str]] = {}
    try:
        order.full_clean(exclude={"created_by", "updated_by"}, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    rows = []
    for index, line in enumerate(lines):
        row = OrderLine(
            order=order,
            position=index + 1,
            sku=(line.sku or "").strip(),
            description=(line.description or "").strip(),
            quantity=line.quantity,
            unit_price=line.unit_price,
        )
        try:
            row.full_clean(exclude={"order"}, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(f"lines[{index}].{name}", []).extend(messages)
        rows.append(row)
    if errors:
        raise InvalidInput("Please correct the marked fields.", field_errors=errors)
    _set_totals(order, rows)
    return rows


def _set_totals(order: Order, rows: Sequence[OrderLine]) -> None:
    order.subtotal = sum((r.line_total for r in rows), Decimal("0.00"))
    order.total = order.subtotal + (order.shipping_total or 0) + (order.tax_total or 0)
    order.line_count = len(rows)


def _write_lines(order: Order, rows: list[OrderLine]) -> None:
    if len(rows) > settings.ORDER_MAX_LINES:
        raise InvalidInput(
            f"An order holds at most {settings.ORDER_MAX_LINES} lines; this one has {len(rows)}. Split it in two.",
            field_errors={"lines": [f"At most {settings.ORDER_MAX_LINES} lines."]},
        )
    for row in rows:
        row.order = order
    OrderLine.objects.bulk_create(rows)


def _snapshot(order: Order) -> dict[str, Any]:
    return {name: _plain(getattr(order, name)) for name in sorted(EDITABLE_FIELDS)}


def _line_summary(rows: Any) -> list[str]:
    return [f"{r.sku} × {r.quantity} @ {r.unit_price}" for r in rows]


def _plain(value: Any) -> Any:
    """A JSON-safe form of a field value for the event diff."""
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)
