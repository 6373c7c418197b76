"""Home: numbers of today and this week, the review queue, failures per destination, the chart, recent activity."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from orders import services
from orders.models import MessageState, Order, OrderState, OutboxMessage
from orders.selectors.dashboard import home_overview, local_zone, orders_per_day
from orders.services import Actor

pytestmark = pytest.mark.django_db


def _local(day, hour=12, minute=0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=local_zone())


def _today():
    return timezone.localtime(timezone.now(), local_zone()).date()


def _at(order: Order, when: datetime) -> Order:
    Order.objects.filter(pk=order.pk).update(created_at=when)
    return order


def test_anonymous_goes_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_today_this_week_and_the_chart_count_local_days(client, viewer, operator, make_order):
    today = _today()
    monday = today - timedelta(days=today.weekday())
    _at(make_order(operator), _local(today, 0, 1))
    _at(make_order(operator), _local(today, 0, 2))
    _at(make_order(operator), _local(monday - timedelta(days=3)))  # last week's Friday: in the chart, not the week
    _at(make_order(operator), _local(today - timedelta(days=45)))  # outside the chart
    # 23:30 local is the next day in UTC: it still counts for its local date.
    _at(make_order(operator), _local(today - timedelta(days=2), 23, 30))

    overview = home_overview()
    assert overview.today == 2
    assert overview.this_week == 2 + (1 if today - timedelta(days=2) >= monday else 0)
    per_day = dict(orders_per_day(days=30))
    assert len(per_day) == 30 and max(per_day) == today
    assert per_day[today] == 2 and per_day[monday - timedelta(days=3)] == 1
    assert per_day[today - timedelta(days=2)] == 1 and per_day[today - timedelta(days=1)] == 0
    assert sum(per_day.values()) == 4

    client.force_login(viewer)
    page = client.get("/").text
    assert "Orders today" in page and "Orders this week" in page
    assert page.count('class="bar-orders"') == 3  # one rectangle per day with orders
    assert 'role="img"' in page and "Orders per day, last 30 days" in page
    assert "4 orders" in page  # the chart's total over 30 days


def test_awaiting_review_and_needs_attention_link_to_their_screens(client, viewer, operator, make_order, customer):
    services.customer_update(actor=Actor.system("test"), customer_id=customer.pk, fields={"credit_hold": True})
    held = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    assert held.state == OrderState.AWAITING_REVIEW
    services.customer_update(actor=Actor.system("test"), customer_id=customer.pk, fields={"credit_hold": False})
    sent = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    OutboxMessage.objects.filter(order=sent, destination="tulaerp").update(
        state=MessageState.NEEDS_ATTENTION, attention_reason="ambiguous", last_error="timeout"
    )
    overview = home_overview()
    assert overview.awaiting_review == 1
    assert [(d.destination, d.count) for d in overview.needs_attention] == [("cimcloud", 0), ("tulaerp", 1)]

    client.force_login(viewer)
    page = client.get("/").text
    assert 'href="/orders/review/"' in page and 'href="/outbox/"' in page
    assert "CIMcloud 0 · TulaERP 1" in page
    assert "stat-warn" in page and "stat-bad" in page


def test_recent_activity_shows_number_actor_and_kind(client, viewer, operator, make_order):
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    client.force_login(viewer)
    page = client.get("/").text
    assert f'href="/orders/{order.order_number}/"' in page
    assert "Recent activity" in page and "op1" in page
    assert "kind-submitted" in page and "kind-created" in page
    assert order.customer_name in page  # the recent orders table keeps the customer


def test_empty_dashboard_says_so(client, viewer):
    client.force_login(viewer)
    page = client.get("/").text
    assert "No orders in the last 30 days." in page and "Nothing has happened yet." in page
    assert "<svg" not in page


def test_htmx_gets_the_overview_partial_and_boosted_gets_the_page(client, viewer, operator, make_order):
    make_order(operator)
    client.force_login(viewer)
    partial = client.get("/", headers={"HX-Request": "true", "HX-Target": "anything"})
    assert partial.status_code == 200
    assert "<html" not in partial.text and "Orders today" in partial.text and 'id="home-overview"' not in partial.text
    boosted = client.get("/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.text and 'hx-trigger="every 30s"' in boosted.text
    restore = client.get("/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_home_refuses_writes(client, operator):
    client.force_login(operator)
    assert client.post("/").status_code == 405


def _populate(operator, make_order, count: int) -> None:
    today = _today()
    for n in range(count):
        order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
        _at(order, _local(today - timedelta(days=n % 30), 10))
        if n % 3 == 0:
            OutboxMessage.objects.filter(order=order, destination="cimcloud").update(
                state=MessageState.NEEDS_ATTENTION, attention_reason="permanent_rejection", last_error="bad zip"
            )


@pytest.mark.parametrize("partial", [False, True], ids=["page", "htmx"])
def test_home_query_count_does_not_grow_with_the_data(
    client, viewer, operator, make_order, django_assert_num_queries, partial
):
    headers = {"HX-Request": "true"} if partial else {}
    # session, user, permissions (2), overview (3), recent orders, recent activity; the page adds the banner (2)
    expected = 9 if partial else 11
    client.force_login(viewer)
    _populate(operator, make_order, 2)
    with django_assert_num_queries(expected):
        assert client.get("/", headers=headers).status_code == 200
    _populate(operator, make_order, 25)
    with django_assert_num_queries(expected):
        assert client.get("/", headers=headers).status_code == 200
