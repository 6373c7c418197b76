"""Every allowed and refused transition of an order, the review rules, and the four-eyes approval."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders import services
from orders.errors import InvalidInput, InvalidTransition, NotAllowed, StaleVersion
from orders.models import ORDER_TRANSITIONS, EventKind, OrderState
from orders.services import Actor, LineInput

pytestmark = pytest.mark.django_db


def _to_state(order, state, *, op, approver):
    """Drive a fresh draft into `state` through the services only."""
    actor = Actor(user=op)
    if state == OrderState.DRAFT:
        return order
    if state in (OrderState.AWAITING_REVIEW, OrderState.REJECTED):
        order.customer.credit_hold = True
        order.customer.save()
    order = services.order_submit(actor=actor, order_id=order.pk)
    if state == OrderState.REJECTED:
        order = services.order_reject(actor=Actor(user=approver), order_id=order.pk, comment="no")
    if state == OrderState.CANCELLED:
        order = services.order_cancel(actor=actor, order_id=order.pk)
    assert order.state == state
    return order


ACTIONS = {
    OrderState.SUBMITTED: lambda o, a: services.order_submit(actor=a, order_id=o.pk),
    OrderState.REJECTED: lambda o, a: services.order_reject(actor=a, order_id=o.pk, comment="bad"),
    OrderState.CANCELLED: lambda o, a: services.order_cancel(actor=a, order_id=o.pk),
}


@pytest.mark.parametrize("start", list(OrderState))
@pytest.mark.parametrize("target", [OrderState.SUBMITTED, OrderState.REJECTED, OrderState.CANCELLED])
def test_transition_table(start, target, make_order, operator, operator2):
    order = _to_state(make_order(operator), start, op=operator, approver=operator2)
    allowed = target in ORDER_TRANSITIONS[start]
    action = ACTIONS[target]
    if start == OrderState.AWAITING_REVIEW and target == OrderState.SUBMITTED:
        action = lambda o, a: services.order_approve(actor=a, order_id=o.pk)  # noqa: E731
    if allowed:
        result = action(order, Actor(user=operator2))
        assert result.state == target
    else:
        with pytest.raises(InvalidTransition):
            action(order, Actor(user=operator2))
        order.refresh_from_db()
        assert order.state == start


def test_submit_without_review_reasons_submits_and_freezes(make_order, operator):
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    assert order.state == OrderState.SUBMITTED
    assert order.submitted_by == operator and order.submitted_at
    with pytest.raises(InvalidTransition):
        services.order_update_draft(
            actor=Actor(user=operator),
            order_id=order.pk,
            version=order.version,
            fields={},
            lines=[LineInput(sku="X", quantity=1, unit_price=Decimal("1"))],
        )
    assert list(order.events.values_list("kind", flat=True)) == [EventKind.CREATED, EventKind.SUBMITTED]


def test_credit_hold_goes_to_review_with_reason(make_order, customer, operator):
    customer.credit_hold = True
    customer.save()
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    assert order.state == OrderState.AWAITING_REVIEW
    assert [r["code"] for r in order.review_reasons] == ["credit_hold"]


def test_duplicate_po_of_same_customer_goes_to_review(make_order, operator):
    first = make_order(operator, fields={"po_number": "PO-77"})
    services.order_submit(actor=Actor(user=operator), order_id=first.pk)
    second = services.order_submit(
        actor=Actor(user=operator), order_id=make_order(operator, fields={"po_number": "po-77 "}).pk
    )
    assert second.state == OrderState.AWAITING_REVIEW
    assert second.review_reasons[0]["code"] == "duplicate_po"
    assert first.order_number in second.review_reasons[0]["message"]


def test_po_of_cancelled_order_may_be_reused(make_order, operator):
    first = services.order_submit(
        actor=Actor(user=operator), order_id=make_order(operator, fields={"po_number": "PO-9"}).pk
    )
    services.order_cancel(actor=Actor(user=operator), order_id=first.pk)
    second = services.order_submit(
        actor=Actor(user=operator), order_id=make_order(operator, fields={"po_number": "PO-9"}).pk
    )
    assert second.state == OrderState.SUBMITTED


def test_presend_warning_goes_to_review(make_order, operator, settings):
    settings.CIMCLOUD_SYNC_MAX_DETAILS = 1
    lines = [LineInput(sku=f"S{i}", quantity=1, unit_price=Decimal("1.00")) for i in range(2)]
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator, lines=lines).pk)
    assert order.state == OrderState.AWAITING_REVIEW
    assert order.review_reasons[0]["code"] == "presend_warning"


def test_presend_error_blocks_submission_with_field_error(make_order, operator):
    order = make_order(operator, fields={"ship_to_country_code": "CAN"})
    with pytest.raises(InvalidInput) as exc:
        services.order_submit(actor=Actor(user=operator), order_id=order.pk)
    assert "ship_to_country_code" in exc.value.field_errors
    order.refresh_from_db()
    assert order.state == OrderState.DRAFT


def test_four_eyes_creator_cannot_approve(make_order, customer, operator, operator2, admin_user):
    customer.credit_hold = True
    customer.save()
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    with pytest.raises(NotAllowed):
        services.order_approve(actor=Actor(user=operator), order_id=order.pk)
    assert services.order_approve(actor=Actor(user=operator2), order_id=order.pk).state == OrderState.SUBMITTED


def test_four_eyes_last_editor_cannot_approve_but_admin_can(make_order, customer, operator, operator2, admin_user):
    customer.credit_hold = True
    customer.save()
    order = make_order(operator)
    order = services.order_update_draft(
        actor=Actor(user=operator2),
        order_id=order.pk,
        version=order.version,
        fields={"comments": "edited"},
        lines=[LineInput(sku="A", quantity=1, unit_price=Decimal("2.00"))],
    )
    order = services.order_submit(actor=Actor(user=operator), order_id=order.pk)
    with pytest.raises(NotAllowed):
        services.order_approve(actor=Actor(user=operator2), order_id=order.pk)
    admin_order = services.order_submit(actor=Actor(user=admin_user), order_id=make_order(admin_user).pk)
    assert services.order_approve(actor=Actor(user=admin_user), order_id=admin_order.pk).state == "submitted"


def test_reject_needs_a_comment(make_order, customer, operator, operator2):
    customer.credit_hold = True
    customer.save()
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    with pytest.raises(InvalidInput):
        services.order_reject(actor=Actor(user=operator2), order_id=order.pk, comment="  ")
    rejected = services.order_reject(actor=Actor(user=operator2), order_id=order.pk, comment="Call accounts")
    assert rejected.review_comment == "Call accounts"


def test_stale_draft_save_is_refused_with_who(make_order, operator, operator2):
    order = make_order(operator)
    loaded_version = order.version
    services.order_update_draft(
        actor=Actor(user=operator2),
        order_id=order.pk,
        version=loaded_version,
        fields={"comments": "theirs"},
        lines=[LineInput("A", 1, Decimal("1.00"))],
    )
    with pytest.raises(StaleVersion) as exc:
        services.order_update_draft(
            actor=Actor(user=operator),
            order_id=order.pk,
            version=loaded_version,
            fields={"comments": "mine"},
            lines=[LineInput("A", 1, Decimal("1.00"))],
        )
    assert exc.value.changed_by == "op2"
    order.refresh_from_db()
    assert order.comments == "theirs"


def test_edit_writes_a_field_diff_event(make_order, operator):
    order = make_order(operator)
    services.order_update_draft(
        actor=Actor(user=operator, remote_addr="10.1.2.3"),
        order_id=order.pk,
        version=order.version,
        fields={"po_number": "PO-1"},
        lines=[LineInput("SKU-1", 3, Decimal("10.50"))],
    )
    event = order.events.get(kind=EventKind.EDITED)
    assert event.detail["diff"]["po_number"] == ["", "PO-1"]
    assert "lines" in event.detail["diff"]
    assert event.actor == operator and event.remote_addr == "10.1.2.3"


def test_bad_lines_report_errors_on_their_row(make_order, operator):
    with pytest.raises(InvalidInput) as exc:
        make_order(operator, lines=[LineInput("A", 1, Decimal("1.00")), LineInput("", 0, Decimal("-1.00"))])
    errors = exc.value.field_errors
    assert {"lines[1].sku", "lines[1].quantity", "lines[1].unit_price"} <= set(errors)
    assert not any(key.startswith("lines[0]") for key in errors)
