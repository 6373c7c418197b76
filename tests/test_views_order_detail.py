"""The order page: what each role sees and may do, the actions, the timeline, the badges, the query budget."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders import services
from orders.models import (
    AttentionReason,
    DeliveryAttempt,
    EventKind,
    LinkSource,
    MessageState,
    Order,
    OrderEvent,
    OrderState,
    OutboxMessage,
    Package,
    Shipment,
    ShipmentItem,
)
from orders.services import Actor, LineInput

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
ACTIONS = ["submit", "approve", "reject", "cancel", "duplicate"]


def submitted(make_order, user) -> Order:
    return services.order_submit(actor=Actor(user=user), order_id=make_order(user).pk)


def awaiting_review(make_order, user, customer) -> Order:
    customer.credit_hold = True
    customer.save()
    order = services.order_submit(actor=Actor(user=user), order_id=make_order(user).pk)
    assert order.state == OrderState.AWAITING_REVIEW
    return order


# --- who may -------------------------------------------------------------------------------------------------------


def test_unknown_order_is_404_in_the_layout(client, viewer):
    client.force_login(viewer)
    response = client.get("/orders/NO-SUCH-1/")
    assert response.status_code == 404
    assert b"Not found" in response.content and b'class="mainnav"' in response.content


def test_anonymous_users_sign_in_first(client, make_order, operator):
    order = make_order(operator)
    response = client.get(f"/orders/{order.order_number}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_viewer_reads_but_has_no_buttons(client, viewer, make_order, operator):
    order = submitted(make_order, operator)
    client.force_login(viewer)
    html = client.get(f"/orders/{order.order_number}/").content.decode()
    assert order.order_number in html and "SKU-1" in html and "Timeline" in html
    for word in ("Cancel order", "Duplicate", "Retry now", "Mark as sent", "/cancel/", "/duplicate/", "/retry/"):
        assert word not in html
    assert html.count('method="post"') == 1  # signing out


@pytest.mark.parametrize("action", ACTIONS)
def test_a_viewer_gets_403_on_every_action(client, viewer, make_order, operator, action):
    order = make_order(operator)
    client.force_login(viewer)
    assert client.post(f"/orders/{order.order_number}/{action}/", {"comment": "x"}).status_code == 403
    assert client.get(f"/orders/{order.order_number}/{action}/").status_code == 403
    order.refresh_from_db()
    assert order.state == OrderState.DRAFT and Order.objects.count() == 1


def test_actions_follow_the_state(client, operator, operator2, make_order, customer):
    client.force_login(operator)
    draft = make_order(operator)
    html = client.get(f"/orders/{draft.order_number}/").content.decode()
    assert (
        f'href="/orders/{draft.order_number}/edit/"' in html
        and f'action="/orders/{draft.order_number}/submit/"' in html
    )
    assert "/cancel/" not in html and "/approve/" not in html
    held = awaiting_review(make_order, operator, customer)
    html = client.get(f"/orders/{held.order_number}/").content.decode()
    assert "/approve/" in html and "/reject/" in html and "Waiting for review" in html
    assert "Customer C100 is on credit hold." in html
    customer.credit_hold = False
    customer.save()
    sent = submitted(make_order, operator)
    html = client.get(f"/orders/{sent.order_number}/").content.decode()
    assert f'action="/orders/{sent.order_number}/cancel/"' in html and "/edit/" not in html
    assert f'action="/outbox/{sent.outbox_messages.first().pk}/' in html  # per-message actions


# --- actions -------------------------------------------------------------------------------------------------------


def test_submit_from_the_page(client, operator, make_order):
    order = make_order(operator)
    client.force_login(operator)
    response = client.post(f"/orders/{order.order_number}/submit/", follow=True)
    order.refresh_from_db()
    assert order.state == OrderState.SUBMITTED
    assert "submitted; it is being sent to CIMcloud and TulaERP" in response.content.decode()


def test_submit_refused_says_which_fields(client, operator, make_order):
    order = make_order(operator, fields={"ship_to_zip": "", "ship_to_city": ""})
    client.force_login(operator)
    response = client.post(f"/orders/{order.order_number}/submit/", follow=True)
    html = response.content.decode()
    assert "The order cannot be sent as it is" in html and "Ship-to ZIP: CIMcloud requires the ship-to zip." in html
    order.refresh_from_db()
    assert order.state == OrderState.DRAFT


def test_four_eyes_on_approve(client, operator, operator2, make_order, customer):
    order = awaiting_review(make_order, operator, customer)
    client.force_login(operator)
    response = client.post(f"/orders/{order.order_number}/approve/", follow=True)
    assert "another operator or an admin must approve it" in response.content.decode()
    order.refresh_from_db()
    assert order.state == OrderState.AWAITING_REVIEW
    client.force_login(operator2)
    response = client.post(f"/orders/{order.order_number}/approve/", follow=True)
    assert f"Order {order.order_number} approved and submitted." in response.content.decode()
    order.refresh_from_db()
    assert order.state == OrderState.SUBMITTED and order.reviewed_by == operator2


def test_reject_needs_a_comment(client, operator, operator2, make_order, customer):
    order = awaiting_review(make_order, operator, customer)
    client.force_login(operator2)
    response = client.post(f"/orders/{order.order_number}/reject/", {"comment": " "}, follow=True)
    assert "Say why the order is rejected." in response.content.decode()
    client.post(f"/orders/{order.order_number}/reject/", {"comment": "Wrong customer"})
    order.refresh_from_db()
    assert order.state == OrderState.REJECTED and order.review_comment == "Wrong customer"
    html = client.get(f"/orders/{order.order_number}/").content.decode()
    assert "Rejected by op2" in html and "Wrong customer" in html


def test_cancel_lists_what_to_cancel_by_hand(client, operator, make_order):
    order = submitted(make_order, operator)
    OutboxMessage.objects.filter(order=order, destination="tulaerp").update(
        state=MessageState.SENT, external_reference="TU0000042"
    )
    client.force_login(operator)
    response = client.post(f"/orders/{order.order_number}/cancel/", {"reason": "Customer called"}, follow=True)
    html = response.content.decode()
    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED and order.cancel_reason == "Customer called"
    assert "TulaERP already has this order:</strong> cancel it in TulaERP by hand" in html
    assert '<span class="mono">TU0000042</span>' in html
    assert "CIMcloud already has" not in html  # its message was still pending: stopped, not sent
    assert order.outbox_messages.get(destination="cimcloud").state == MessageState.CANCELLED


def test_duplicate_as_a_new_draft(client, operator2, operator, make_order):
    lines = [LineInput(sku=f"S{i}", quantity=i + 1, unit_price=Decimal("3.25")) for i in range(3)]
    original = make_order(operator, lines=lines, fields={"po_number": "P1"})
    client.force_login(operator2)
    response = client.post(f"/orders/{original.order_number}/duplicate/")
    copy = Order.objects.exclude(pk=original.pk).get()
    assert response["Location"] == f"/orders/{copy.order_number}/edit/"
    assert copy.state == OrderState.DRAFT and copy.created_by == operator2 and copy.customer == original.customer
    assert copy.po_number == "" and copy.ship_to_name == original.ship_to_name and copy.total == original.total
    assert [(ln.sku, ln.quantity) for ln in copy.lines.all()] == [("S0", 1), ("S1", 2), ("S2", 3)]
    assert copy.events.get().message.endswith(f"copied from {original.order_number}.")


def test_next_is_followed_only_within_the_site(client, operator, operator2, make_order, customer):
    order = awaiting_review(make_order, operator, customer)
    client.force_login(operator2)
    response = client.post(f"/orders/{order.order_number}/reject/", {"comment": "x", "next": "https://evil.example/"})
    assert response["Location"] == f"/orders/{order.order_number}/"
    other = awaiting_review(make_order, operator, customer)
    response = client.post(f"/orders/{other.order_number}/reject/", {"comment": "x", "next": "/orders/review/"})
    assert response["Location"] == "/orders/review/"


def test_actions_answer_post_only(client, operator, make_order):
    order = make_order(operator)
    client.force_login(operator)
    assert client.get(f"/orders/{order.order_number}/submit/").status_code == 405
    assert client.post("/orders/NOPE-1/submit/").status_code == 404


# --- what the page shows -------------------------------------------------------------------------------------------


def with_shipment(order: Order, packages: int) -> Shipment:
    shipment = Shipment.objects.create(order=order, tulaerp_id=1, status="Shipped", short_order_number="TU0000042")
    ShipmentItem.objects.bulk_create(
        ShipmentItem(shipment=shipment, position=i, item_code=f"SKU-{i}", quantity=1) for i in range(packages)
    )
    Package.objects.bulk_create(
        Package(
            shipment=shipment,
            package_number=i + 1,
            carrier="UPS",
            tracking_number1=f"1Z99900{i:04d}",
            tracking_link=f"https://www.ups.com/track?tracknum=1Z99900{i:04d}" if i % 2 == 0 else "",
            tracking_link_source=LinkSource.ERP if i % 2 == 0 else LinkSource.NONE,
        )
        for i in range(packages)
    )
    return shipment


def with_attempts(order: Order, attempts: int) -> None:
    now = timezone.now()
    for message in order.outbox_messages.all():
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                message=message,
                number=i + 1,
                started_at=now + timedelta(seconds=i),
                duration_ms=120,
                request_body=f'{{"attempt": {i}, "to": "{message.destination}"}}',
                response_status=503 if i < attempts - 1 else 200,
                response_body='{"success": true}',
                outcome="retry" if i < attempts - 1 else "sent",
                error_class="RetryableError" if i < attempts - 1 else "",
            )
            for i in range(attempts)
        )


def test_shipments_packages_and_the_tracking_summary(client, viewer, make_order, operator):
    order = submitted(make_order, operator)
    with_shipment(order, 2)
    client.force_login(viewer)
    html = client.get(f"/orders/{order.order_number}/").content.decode()
    assert 'href="https://www.ups.com/track?tracknum=1Z999000000" target="_blank" rel="noopener noreferrer"' in html
    assert "From TulaERP" in html and "no link" in html
    assert 'data-copy="#tracking-summary"' in html
    summary = html[html.index('<pre id="tracking-summary">') :].split("</pre>")[0]
    assert "Package 1: UPS 1Z999000000 — https://www.ups.com/track?tracknum=1Z999000000" in summary
    assert "Package 2: UPS 1Z999000001" in summary


def test_the_timeline_merges_events_and_attempts(client, operator, make_order):
    order = make_order(operator)
    services.order_update_draft(
        actor=Actor(user=operator),
        order_id=order.pk,
        version=1,
        fields={"po_number": "PO-NEW"},
        lines=[LineInput(sku="SKU-2", quantity=1, unit_price=Decimal("4.00"))],
    )
    order = services.order_submit(actor=Actor(user=operator), order_id=order.pk)
    with_attempts(order, 2)
    client.force_login(operator)
    html = client.get(f"/orders/{order.order_number}/").content.decode()
    diff = html[html.index('<table class="diff">') :].split("</table>")[0]
    assert "po number" in diff and '<td class="old">—</td>' in diff and '<td class="new">PO-NEW</td>' in diff
    assert "SKU-1 × 2 @ 10.50" in diff and "SKU-2 × 1 @ 4.00" in diff
    timeline = html[html.index('<ol class="timeline">') :]
    kinds = ('<span class="kind">Created', '<span class="kind">Edited', '<span class="kind">Submitted', "attempt 1")
    assert [timeline.index(k) for k in kinds] == sorted(timeline.index(k) for k in kinds)
    assert html.count('<details class="attempt">') == 4
    assert "{&quot;attempt&quot;: 0, &quot;to&quot;: &quot;cimcloud&quot;}" in html
    assert "HTTP 503" in html and "RetryableError" in html


def test_a_rejected_order_offers_fix_and_resend(client, operator, make_order):
    order = submitted(make_order, operator)
    OutboxMessage.objects.filter(order=order, destination="cimcloud").update(
        state=MessageState.NEEDS_ATTENTION, attention_reason=AttentionReason.PERMANENT, last_error="Bad zip"
    )
    client.force_login(operator)
    html = client.get(f"/orders/{order.order_number}/").content.decode()
    assert f'href="/orders/{order.order_number}/fix/"' in html and "Bad zip" in html


# --- the badges --------------------------------------------------------------------------------------------------


def test_badges_poll_only_while_something_is_on_its_way(client, viewer, make_order, operator):
    order = submitted(make_order, operator)
    client.force_login(viewer)
    page = client.get(f"/orders/{order.order_number}/").content.decode()
    assert f'hx-get="/orders/{order.order_number}/sync/" hx-trigger="every 2s"' in page
    badges = client.get(f"/orders/{order.order_number}/sync/", **HTMX).content.decode()
    assert badges.lstrip().startswith('<div id="sync-badges"') and "hx-trigger" in badges
    assert "CIMcloud pending" in badges and "TulaERP pending" in badges
    order.outbox_messages.update(state=MessageState.SENT)
    badges = client.get(f"/orders/{order.order_number}/sync/", **HTMX).content.decode()
    assert "CIMcloud sent" in badges and "hx-trigger" not in badges  # done: stops polling
    assert (
        "hx-trigger" not in client.get(f"/orders/{order.order_number}/").content.decode().split("sync-badges")[1][:200]
    )
    response = client.get(f"/orders/{order.order_number}/sync/")
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.order_number}/"


def test_htmx_gets_the_page_partial(client, viewer, make_order, operator):
    order = make_order(operator)
    client.force_login(viewer)
    html = client.get(f"/orders/{order.order_number}/", **HTMX).content.decode()
    assert html.lstrip().startswith('<div class="detail" id="order-page">') and "<html" not in html


# --- queries -------------------------------------------------------------------------------------------------------


def _big(make_order, operator, n: int) -> Order:
    order = make_order(operator, lines=[LineInput(sku=f"S-{i}", quantity=1, unit_price=Decimal("2")) for i in range(n)])
    order = services.order_submit(actor=Actor(user=operator), order_id=order.pk)
    with_shipment(order, n)
    with_attempts(order, n)
    OrderEvent.objects.bulk_create(
        OrderEvent(order=order, kind=EventKind.EDITED, actor=operator, channel="page", detail={"diff": {"a": [1, 2]}})
        for _ in range(n)
    )
    return order


# Session, user, the role's two permission lookups, the layout banner's two; then the page's nine: the order (with
# its customer and people), lines, shipments, shipment items, packages, events (with actors), notes (with authors),
# messages, attempts.
DETAIL_QUERIES = 15


@pytest.mark.parametrize("size", [2, 30])
def test_the_page_costs_the_same_queries_whatever_the_size(
    client, operator, make_order, django_assert_num_queries, settings, size
):
    settings.CIMCLOUD_SYNC_MAX_DETAILS = 100  # 30 lines would otherwise send the order to review
    order = _big(make_order, operator, size)
    assert order.state == OrderState.SUBMITTED
    client.force_login(operator)
    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(f"/orders/{order.order_number}/")
    assert response.content.decode().count('<details class="attempt">') == 2 * size


def test_the_badges_cost_four_queries(client, operator, make_order):
    order = _big(make_order, operator, 5)
    client.force_login(operator)
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/orders/{order.order_number}/sync/", **HTMX)
    # session, user, the role's two permission lookups, the order, its latest messages
    assert len(queries) == 6, [q["sql"] for q in queries]
