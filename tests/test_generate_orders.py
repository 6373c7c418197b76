"""generate_orders writes consistent history, not work, on both back ends (small counts; the big runs are in
bench/scale.py)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from orders.models import (
    Customer,
    DeliveryAttempt,
    FulfilmentPoll,
    Order,
    OrderEvent,
    OrderLine,
    OrderNumberCounter,
    OrderSource,
    OrderState,
    OutboxMessage,
    Package,
    Shipment,
)
from orders.services.bulk_load import schema_objects
from orders.services.generate import GENERATED_MODELS, OrderHistory, disk_space_needed
from orders.services.numbering import next_order_number
from orders.services.outbox import build_payload
from orders.services.shipments import refresh_fulfilment

pytestmark = pytest.mark.django_db(transaction=True)


def generate(count: int, seed: int = 3) -> None:
    call_command("generate_orders", count=count, seed=seed, stdout=io.StringIO())


def test_orders_are_consistent_history_with_nothing_left_to_do(settings):
    generate(120)
    orders = list(Order.objects.annotate(lines_n=Count("lines")).order_by("id"))
    assert len(orders) == 120
    assert all(o.seeded for o in orders)
    assert {o.state for o in orders} <= {OrderState.SUBMITTED, OrderState.CANCELLED, OrderState.REJECTED}
    assert all(1 <= o.line_count == o.lines_n <= 10 for o in orders)
    assert OrderLine.objects.count() == sum(o.line_count for o in orders)
    for order in orders:
        subtotal = sum(line.quantity * line.unit_price for line in order.lines.all())
        assert order.subtotal == subtotal
        assert order.total == subtotal + (order.shipping_total or 0) + (order.tax_total or 0)
        assert order.customer_id is not None and order.customer_name == order.customer.name

    # Every submitted or cancelled order was delivered to both destinations, once, as seeded history.
    sent = [o for o in orders if o.state != OrderState.REJECTED]
    assert OutboxMessage.objects.count() == 2 * len(sent)
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}
    assert not OutboxMessage.objects.open().exists()
    assert not OutboxMessage.objects.due().exists()
    assert DeliveryAttempt.objects.filter(seeded=True, outcome="sent", number=1).count() == 2 * len(sent)
    assert not FulfilmentPoll.objects.exists()
    assert not OutboxMessage.objects.filter(order__state=OrderState.REJECTED).exists()
    # JSON columns hold JSON (on PostgreSQL they are COPY'd in binary), readable by lookups.
    assert set(OutboxMessage.objects.filter(destination="tulaerp").values_list("result__created", flat=True)) == {True}
    assert OrderEvent.objects.filter(kind="submitted", detail__state__1=OrderState.SUBMITTED).exists()
    # The payloads are what submitting the order would have built.
    for message in OutboxMessage.objects.select_related("order")[:20]:
        assert message.payload == build_payload(message.order, message.destination)
        assert message.delivery_attempts.get().request_body == message.payload

    # Fulfilment as the shipment service would compute it; most orders shipped, with packages.
    for order in orders:
        before = order.fulfilment_state
        refresh_fulfilment(order)
        assert order.fulfilment_state == before, order.order_number
    shipped = Shipment.objects.values("order_id").distinct().count()
    assert shipped > 0.7 * len(orders)
    assert not Package.objects.filter(tracking_number1="").exists()
    assert Package.objects.filter(shipment__order__state=OrderState.CANCELLED).count() == 0

    # Three years of history, oldest first, the timeline never in the future.
    now = timezone.now()
    assert orders[0].created_at < now - timedelta(days=365 * 2.5)
    assert orders[-1].created_at > now - timedelta(days=60)
    assert [o.created_at for o in orders] == sorted(o.created_at for o in orders)
    assert not OrderEvent.objects.filter(created_at__gt=now).exists()
    assert OrderEvent.objects.filter(kind="created").count() == 120
    assert Customer.objects.count() >= 20


def test_numbers_never_collide_with_the_counter_or_earlier_data(settings, make_order, operator):
    existing = make_order(operator)  # a manual order through the service takes D-000001
    generate(80)
    generate(80, seed=4)  # a second run adds, with fresh numbers and uuids
    assert Order.objects.count() == 161
    numbers = [n.lower() for n in Order.objects.values_list("order_number", flat=True)]
    assert len(set(numbers)) == len(numbers)
    manual = Order.objects.filter(order_number__startswith=settings.ORDER_NUMBER_PREFIX, seeded=True)
    assert manual.exists() and Order.objects.filter(source=OrderSource.IMPORT).exists()
    counter = OrderNumberCounter.objects.get(prefix=settings.ORDER_NUMBER_PREFIX)
    prefix_len = len(settings.ORDER_NUMBER_PREFIX)
    highest = max(int(n[prefix_len:]) for n in manual.values_list("order_number", flat=True))
    assert counter.last_value >= highest
    with transaction.atomic():
        fresh = next_order_number()
    assert fresh.lower() not in numbers and fresh != existing.order_number
    # Ids continue after the existing rows; later inserts through the ORM get fresh ids.
    later = make_order(operator)
    assert later.pk > max(Order.objects.exclude(pk=later.pk).values_list("id", flat=True))


def test_a_count_beyond_the_free_disk_stops_before_writing():
    with pytest.raises(CommandError, match=r"Not enough free disk for 1,000,000,000,000 orders: .* GB needed"):
        generate(10**12)
    assert not Order.objects.exists() and not Customer.objects.exists()
    assert disk_space_needed(10**6) == 20 * 10**9
    assert disk_space_needed(10**5) == 2 * 10**9


@pytest.mark.postgres
def test_postgres_schema_is_exactly_the_migrations_after_a_load():
    tables = [m._meta.db_table for m in GENERATED_MODELS]
    before = schema_objects(tables)
    assert any(name == "order_customer_name_trgm_idx" for name, _ in before)
    generate(50)
    assert schema_objects(tables) == before
    with connection.cursor() as cursor:  # statistics are fresh: ANALYZE ran, on the customers too
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname IN ('orders_order', 'orders_customer')")
        assert dict(cursor.fetchall()) == {"orders_order": 50, "orders_customer": Customer.objects.count()}
        # The customers went in through the ORM, trigram indexes in place: nothing left in their pending lists.
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        cursor.execute(
            "SELECT pending_tuples FROM pgstatginindex('customer_name_trgm_idx') "
            "UNION ALL SELECT pending_tuples FROM pgstatginindex('customer_no_trgm_idx')"
        )
        assert [row[0] for row in cursor.fetchall()] == [0, 0]
        # VACUUM ran after the commit: index-only scans find the pages all-visible.
        cursor.execute("SELECT relpages, relallvisible FROM pg_class WHERE relname = 'orders_orderline'")
        pages, visible = cursor.fetchone()
        assert pages > 0 and visible == pages


def test_a_failed_load_leaves_nothing_behind(monkeypatch, settings):
    """One transaction: rows, customers, the counter and (on PostgreSQL) the dropped indexes all come back."""
    postgres = connection.vendor == "postgresql"
    tables = [m._meta.db_table for m in GENERATED_MODELS]
    before = schema_objects(tables) if postgres else None

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(OrderHistory, "_shipment", broken)
    with pytest.raises(RuntimeError, match="boom"):
        generate(30)
    assert not Order.objects.exists() and not Customer.objects.exists()
    assert not OrderNumberCounter.objects.filter(last_value__gt=0).exists()
    if postgres:
        assert schema_objects(tables) == before
