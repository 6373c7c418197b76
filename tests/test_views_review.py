"""The review queue: oldest first with reasons, approve or reject one at a time or in bulk, four eyes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import services
from orders.models import Order, OrderState
from orders.services import Actor, LineInput

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def held(customer, make_order):
    """`held(user, po=...)`: an order of a customer on credit hold, submitted, so waiting for review."""
    customer.credit_hold = True
    customer.save()

    def make(user, *, po: str = "") -> Order:
        order = make_order(user, fields={"po_number": po})
        return services.order_submit(actor=Actor(user=user), order_id=order.pk)

    return make


def test_the_queue_oldest_first_with_reasons(client, viewer, operator, held, make_order):
    newer, older = held(operator, po="P-1"), held(operator, po="P-1")
    Order.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=2))
    make_order(operator)  # a draft: not in the queue
    client.force_login(viewer)
    html = client.get("/orders/review/").content.decode()
    assert html.index(older.order_number) < html.index(newer.order_number)
    assert "Customer C100 is on credit hold." in html
    assert f"PO P-1 is already used by order {newer.order_number}" in html
    # A viewer reads the queue; nothing to tick or press.
    assert 'name="order"' not in html and "Approve" not in html


def test_an_empty_queue(client, operator):
    client.force_login(operator)
    assert "Nothing is waiting for review." in client.get("/orders/review/").content.decode()


def test_anonymous_sign_in_and_viewers_may_not_act(client, viewer, operator, held):
    order = held(operator)
    assert client.get("/orders/review/")["Location"].startswith("/accounts/login/")
    client.force_login(viewer)
    response = client.post("/orders/review/bulk/", {"order": order.pk, "action": "approve"})
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.state == OrderState.AWAITING_REVIEW


def test_bulk_approve_keeps_four_eyes_per_order(client, operator, operator2, held):
    by_op1 = [held(operator) for _ in range(2)]
    by_op2 = held(operator2)
    client.force_login(operator2)
    ids = [o.pk for o in [*by_op1, by_op2]]
    response = client.post("/orders/review/bulk/", {"order": ids, "action": "approve"}, follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == "/orders/review/"
    numbers = ", ".join(o.order_number for o in by_op1)
    assert f"Approved and submitted 2 orders: {numbers}." in html
    assert f"{by_op2.order_number}: You created or last edited this order" in html
    states = dict(Order.objects.values_list("pk", "state"))
    assert [states[o.pk] for o in by_op1] == [OrderState.SUBMITTED] * 2
    assert states[by_op2.pk] == OrderState.AWAITING_REVIEW
    assert all(o.outbox_messages.count() == 2 for o in by_op1)


def test_an_admin_may_approve_their_own(client, admin_user, held):
    order = held(admin_user)
    client.force_login(admin_user)
    client.post("/orders/review/bulk/", {"order": order.pk, "action": "approve"})
    order.refresh_from_db()
    assert order.state == OrderState.SUBMITTED


def test_bulk_reject_needs_a_comment(client, operator, operator2, held):
    orders = [held(operator) for _ in range(2)]
    client.force_login(operator2)
    ids = [o.pk for o in orders]
    response = client.post("/orders/review/bulk/", {"order": ids, "action": "reject", "comment": ""}, follow=True)
    assert "Say why the orders are rejected" in response.content.decode()
    assert not Order.objects.filter(state=OrderState.REJECTED).exists()
    client.post("/orders/review/bulk/", {"order": ids, "action": "reject", "comment": "Duplicate of phone order"})
    assert set(Order.objects.values_list("state", "review_comment")) == {
        (OrderState.REJECTED, "Duplicate of phone order")
    }


def test_nothing_ticked_or_no_action(client, operator2, operator, held):
    held(operator)
    client.force_login(operator2)
    assert (
        "Tick at least one order."
        in client.post("/orders/review/bulk/", {"action": "approve"}, follow=True).content.decode()
    )
    assert (
        "Choose approve or reject." in client.post("/orders/review/bulk/", {"order": 1}, follow=True).content.decode()
    )
    gone = client.post("/orders/review/bulk/", {"order": 99999, "action": "approve"}, follow=True).content.decode()
    assert "Order #99999 no longer exists." in gone


def test_one_at_a_time_with_htmx_redraws_the_queue_with_its_messages(client, operator, operator2, held):
    first, second = held(operator), held(operator)
    client.force_login(operator2)
    response = client.post("/orders/review/bulk/", {"order": first.pk, "action": "approve"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="review-queue"')
    assert f"Approved and submitted 1 order: {first.order_number}." in html
    assert f'id="review-{first.pk}"' not in html and f'id="review-{second.pk}"' in html
    page = client.get("/orders/review/").content.decode()
    assert "Approved and submitted" not in page  # shown once


def _queue(size: int, user) -> None:
    for i in range(size):
        order = services.order_create(
            actor=Actor(user=user),
            fields={
                "customer_name": f"Held {i}",
                "customer_credit_hold": True,
                "ship_to_name": "Dock",
                "ship_to_address1": "1 Pier",
                "ship_to_city": "Salem",
                "ship_to_state": "OR",
                "ship_to_zip": "97301",
                "customer_address1": "1 Main",
                "customer_city": "Salem",
                "customer_state": "OR",
                "customer_zip": "97301",
                "customer_country_code": "USA",
                "ship_to_country_code": "USA",
            },  # fmt: skip
            lines=[LineInput(sku="S", quantity=1, unit_price=Decimal("1"))],
        )
        services.order_submit(actor=Actor(user=user), order_id=order.pk)


# Session, user, the role's two permission lookups, the layout banner's two, and the queue's one.
REVIEW_QUERIES = 7


@pytest.mark.parametrize("size", [2, 20])
def test_the_queue_costs_the_same_queries_whatever_its_length(
    client, operator, operator2, django_assert_num_queries, size
):
    _queue(size, operator)
    client.force_login(operator2)
    with django_assert_num_queries(REVIEW_QUERIES):
        response = client.get("/orders/review/")
    assert response.content.decode().count('class="card review-item"') == size
