"""The list, search and lookup queries can use their indexes (issue #8), asserted on PostgreSQL's EXPLAIN.

The data is small, so the planner would rightly prefer sequential scans; `SET LOCAL enable_seqscan = off` makes a
sequential scan the last resort, so one that still shows up means no index can serve the SQL the ORM generated.
That proves the indexes are usable by these queries (bench/scale.py shows the planner choosing them at a million
orders, docs/bench/scale-explain/).
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from orders import selectors
from orders.models import Order, OrderEvent, Package
from orders.selectors.api import order_api_by_number

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def history():
    call_command("generate_orders", count=300, seed=5, stdout=io.StringIO())
    order = Order.objects.exclude(po_number="").filter(shipments__isnull=False).order_by("id").first()
    return {
        "order": order,
        "tracking": Package.objects.filter(shipment__order=order, carrier="UPS")
        .values_list("tracking_number1", flat=True)
        .first()
        or Package.objects.filter(carrier="UPS").values_list("tracking_number1", flat=True).first(),
        "fedex": Package.objects.filter(carrier="FedEx").values_list("tracking_number1", flat=True).first(),
    }


NO_FULL_INDEX_READ = ("indexonlyscan",)


def plans(run, *off: str) -> list[tuple[str, str]]:
    """(sql, plan) of every query `run()` makes, explained with sequential scans (and the `off` plan types)
    disabled."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            for plan_type in ("seqscan", *off):
                cursor.execute(f"SET LOCAL enable_{plan_type} = off")
        with CaptureQueriesContext(connection) as captured:
            run()
        out = []
        with connection.cursor() as cursor:
            for query in captured.captured_queries:
                cursor.execute("EXPLAIN " + query["sql"])
                out.append((query["sql"], "\n".join(row[0] for row in cursor.fetchall())))
    assert out, "the code under test ran no query"
    return out


def assert_indexed(run, *expected: str, off: tuple[str, ...] = ()) -> str:
    explained = plans(run, *off)
    for sql, plan in explained:
        assert "Seq Scan" not in plan, f"sequential scan for {sql}\n{plan}"
    together = "\n".join(plan for _, plan in explained)
    for index in expected:
        assert index in together, f"{index} not used:\n{together}"
    return together


def test_order_list_first_and_deep_pages_walk_the_created_index(history):
    assert_indexed(lambda: selectors.order_list_page(), "order_created_idx")
    page = selectors.order_list_page(limit=100)
    assert_indexed(lambda: selectors.order_list_page(after=page.next_cursor), "order_created_idx")


@pytest.mark.parametrize(
    ("sort", "index"),
    [
        ("number", "order_number_sort_idx"),
        ("-customer", "order_customer_name_sort_idx"),
        ("total", "order_total_sort_idx"),
    ],
)
def test_each_sort_reads_its_index(history, sort, index):
    page = selectors.order_list_page(sort=sort, limit=20)
    assert_indexed(lambda: selectors.order_list_page(sort=sort, after=page.next_cursor), index)


def test_email_search_uses_the_three_email_indexes(history):
    email = history["order"].email
    assert selectors.order_list_page(q=email.upper()).orders
    assert_indexed(
        lambda: selectors.order_list_page(q=email),
        "order_email_idx",
        "order_customer_email_idx",
        "order_ship_to_email_idx",
    )


def test_tracking_search_uses_the_package_index(history):
    assert selectors.order_list_page(q=history["tracking"]).orders
    assert_indexed(lambda: selectors.order_list_page(q=history["tracking"]), "package_tracking1_idx")
    # All digits: the exact identifiers join in, each on its own index.
    assert_indexed(
        lambda: selectors.order_list_page(q=history["fedex"]),
        "package_tracking1_idx",
        "package_tracking2_idx",
        "order_number_unique_ci",
        "order_erp_number_idx",
        "order_tula_number_idx",
        "order_po_idx",
    )


def test_identifier_search_uses_an_index_per_rule(history):
    order = history["order"]
    assert [o.pk for o in selectors.order_list_page(q=order.order_number).orders] == [order.pk]
    assert_indexed(
        lambda: selectors.order_list_page(q=order.order_number),
        "order_number_prefix_idx",
        "order_erp_number_idx",
        "order_tula_number_idx",
        "order_po_idx",
        "line_sku_idx",
        "package_tracking1_idx",
        "order_customer_name_trgm_idx",
        "order_customer_no_trgm_idx",
        off=NO_FULL_INDEX_READ,
    )


def test_customer_name_substring_uses_the_trigram_index(history):
    word = history["order"].customer_name.split()[0][1:]  # a substring, not a prefix
    found = selectors.order_list_page(q=word).orders
    assert found and all(word.lower() in o.customer_name.lower() or word.lower() in o.order_number for o in found)
    # generate_orders VACUUMs, so on these few hundred all-visible rows reading the whole name-sort index and
    # filtering is cheaper; without index-only scans, the substring must find the trigram index.
    assert_indexed(lambda: selectors.order_list_page(q=word), "order_customer_name_trgm_idx", off=NO_FULL_INDEX_READ)


def test_customer_lookups_use_their_indexes(history):
    customer = history["order"].customer
    word = customer.name.split()[0][1:]  # a substring, not a prefix
    found = selectors.customer_search(q=word)
    assert found and all(word.lower() in c.name.lower() or word.lower() in c.customer_no.lower() for c in found)
    assert_indexed(lambda: selectors.customer_search(q=word), "customer_name_trgm_idx", "customer_no_trgm_idx")
    assert customer in selectors.customer_list_page(query=customer.email.upper()).rows
    # On a few rows the planner rightly walks the name index and filters; without that walk, the filter's three
    # branches must each find an index.
    assert_indexed(
        lambda: selectors.customer_list_page(query=customer.email),
        "customer_name_trgm_idx",
        "customer_no_trgm_idx",
        "customer_email_lower_idx",
        off=("indexscan",),
    )


def test_tracking_lookup_and_api_detail_are_indexed(history):
    order = history["order"]
    assert_indexed(lambda: selectors.tracking_lookup(history["tracking"]), "package_tracking1_idx")
    assert_indexed(lambda: order_api_by_number(number=order.order_number.lower()), "order_number_unique_ci")
    assert_indexed(lambda: selectors.order_detail(number=order.order_number), "order_number_unique_ci")


def test_recent_activity_reads_the_event_time_index(history):
    assert OrderEvent.objects.exists()
    assert_indexed(lambda: list(selectors.recent_activity()), "event_time_idx")


def test_sessions_run_without_jit():
    # JIT compiling took 70 ms of a 1 ms search at a million orders; the settings turn it off per connection.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
