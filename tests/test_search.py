"""order_search: every branch (exact, prefix, substring), case and whitespace, and the shape routing; the list's
filters, each sort's keyset pages and the capped count."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders import services
from orders.models import AttentionReason, Customer, MessageState, Order, OrderSource, OrderState, OutboxMessage
from orders.selectors import (
    SORTS,
    OrderFilters,
    SearchShape,
    capped_count,
    order_list_page,
    order_query,
    order_search,
    search_shape,
)
from orders.selectors.search import SEARCH_MAX_LENGTH, decode_cursor, encode_cursor
from orders.services import Actor, LineInput, PackageData, ShipmentData

UPS = "1Z999AA10123456784"
_serial = count(1)


# --- helpers shared by the list and tracking tests (plain functions: tests import them) ------------------------


def new_customer(name: str, number: str | None = None, email: str = "") -> Customer:
    return services.customer_create(
        actor=Actor.system("test"),
        fields={
            "customer_no": number or f"T{next(_serial):05d}",
            "name": name,
            "address1": "1 Main St",
            "city": "Austin",
            "state": "TX",
            "zip": "78701",
            "country_code": "USA",
            "email": email,
        },
    )


def new_order(
    make_order, *, customer: Customer | None = None, number: str | None = None, skus=("SKU-1",), **fields
) -> Order:
    kwargs = {"customer": customer} if customer else {}
    return make_order(
        lines=[LineInput(sku=sku, quantity=1, unit_price=Decimal("10.00")) for sku in skus],
        fields=fields,
        order_number=number,
        **kwargs,
    )


def add_packages(order: Order, *numbers: str, carrier: str = "UPS", link: str = "", link_source: str = "none",
                 number2: str = "", delivered: bool = False, shipped_at: datetime | None = None) -> Order:  # fmt: skip
    shipped_at = shipped_at or timezone.now() - timedelta(days=2)
    packages = tuple(
        PackageData(
            package_number=position,
            carrier=carrier,
            tracking_number1=number,
            tracking_number2=number2 if position == 1 else "",
            tracking_link=link,
            tracking_link_source=link_source,
            delivery_status="Delivered" if delivered else "In Transit",
            delivery_date=shipped_at + timedelta(days=1) if delivered else None,
        )
        for position, number in enumerate(numbers, start=1)
    )
    services.shipment_upsert(
        actor=Actor.system("test"),
        order_id=sent(order).pk,
        shipments=[ShipmentData(tulaerp_id=order.pk * 100 + 1, shipment_date=shipped_at, packages=packages)],
    )
    order.refresh_from_db()
    return order


def sent(order: Order) -> Order:
    """Submit a draft: only a sent order can have shipments."""
    order.refresh_from_db()
    if order.state == OrderState.DRAFT:
        return services.order_submit(actor=Actor.system("test"), order_id=order.pk)
    return order


def found(q: str) -> set[str]:
    return set(order_search(q=q).values_list("order_number", flat=True))


# --- shape routing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("", SearchShape.EMPTY),
        ("   ", SearchShape.EMPTY),
        (" Buyer@Example.com ", SearchShape.EMAIL),
        ("@", SearchShape.EMAIL),
        (UPS, SearchShape.TRACKING),
        ("1z 999 aa1 0123 4567 84", SearchShape.TRACKING),
        ("123456789012", SearchShape.TRACKING),  # FedEx, 12 digits
        ("EA123456789US", SearchShape.TRACKING),  # USPS S10
        ("D-000123", SearchShape.IDENTIFIER),
        ("Northwind", SearchShape.IDENTIFIER),
        ("PO-4711", SearchShape.IDENTIFIER),
    ],
)
def test_the_shape_of_the_input_picks_the_branch(text, shape):
    assert search_shape(text) is shape


# --- identifier branch ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_order_numbers_match_exactly_or_by_prefix_ignoring_case_and_spaces(make_order):
    for number in ("WEB-1001", "WEB-1002", "WEB-2001", "XWEB-1"):
        new_order(make_order, number=number)
    assert found("WEB-1001") == {"WEB-1001"}
    assert found("  web-1001 ") == {"WEB-1001"}
    assert found("web-10") == {"WEB-1001", "WEB-1002"}
    assert found("WEB") == {"WEB-1001", "WEB-1002", "WEB-2001"}
    assert found("EB-10") == set()  # a prefix, not a substring
    assert found("WEB-10011") == set()


@pytest.mark.django_db
def test_erp_tulaerp_and_po_numbers_match_exactly(make_order):
    erp = new_order(make_order, number="A-1", erp_order_number="ERP-555")
    po = new_order(make_order, number="A-2", po_number="PO-7788")
    tula = new_order(make_order, number="A-3")
    Order.objects.filter(pk=tula.pk).update(tulaerp_short_order_number="TU0000042")
    assert found("erp-555") == {erp.order_number}
    assert found(" ERP-555\t") == {erp.order_number}
    assert found("ERP-55") == set()
    assert found("po-7788") == {po.order_number}
    assert found("PO-778") == set() and found("7788") == set()
    assert found("tu0000042") == {tula.order_number}
    assert found("TU000004") == set()


@pytest.mark.django_db
def test_skus_match_exactly_through_the_lines(make_order):
    order = new_order(make_order, number="S-1", skus=("TONER-HP26", "PAPER-A4"))
    new_order(make_order, number="S-2", skus=("TONER-HP260",))
    assert found("toner-hp26") == {order.order_number}
    assert found("PAPER-A4 ") == {order.order_number}
    assert found("TONER") == set()


@pytest.mark.django_db
def test_customer_name_and_number_match_as_substrings(make_order):
    acme = new_customer("Acme Supply Co", "CUST-9001")
    other = new_customer("Blue Ridge Dental", "CUST-7002")
    a = new_order(make_order, number="N-1", customer=acme)
    b = new_order(make_order, number="N-2", customer=other)
    assert found("acme") == {a.order_number}
    assert found("SUPPLY c") == {a.order_number}
    assert found("ridge") == {b.order_number}
    assert found("9001") == {a.order_number}
    assert found("cust-") == {a.order_number, b.order_number}
    assert found("Zebra") == set()


@pytest.mark.django_db
def test_empty_search_finds_everything_and_long_input_is_cut(make_order):
    orders = {new_order(make_order).order_number for _ in range(3)}
    assert found("") == orders == found("   ")
    long = "x" * (SEARCH_MAX_LENGTH + 50)
    assert found(long) == set()  # cut, still a valid query


@pytest.mark.django_db
def test_like_wildcards_are_literal(make_order):
    new_order(make_order, number="W-1", customer=new_customer("100% Cotton"))
    new_order(make_order, number="W-2", customer=new_customer("Plain_Goods"))
    new_order(make_order, number="W-3", customer=new_customer("Lemonaging Goods"))
    assert found("100%") == {"W-1"}
    assert found("n_g") == {"W-2"}


# --- email branch --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_email_field_matches_exactly_ignoring_case(make_order):
    by_order = new_order(make_order, number="E-1", email="orders@acme.example")
    by_customer = new_order(make_order, number="E-2", customer=new_customer("Lumen", email="Buyer@Lumen.example"))
    by_ship_to = new_order(make_order, number="E-3", ship_to_email="dock@harbor.example")
    assert found("ORDERS@acme.example") == {by_order.order_number}
    assert found(" buyer@lumen.example ") == {by_customer.order_number}
    assert found("dock@harbor.example") == {by_ship_to.order_number}
    assert found("buyer@lumen") == set()  # exact only
    assert found("@lumen.example") == set()


@pytest.mark.django_db
def test_an_email_never_matches_a_name_number_or_po(make_order):
    new_order(make_order, number="E-9", customer=new_customer("Write to team@acme.example", "team@acme.example"))
    new_order(make_order, number="E-8", po_number="team@acme.example")
    assert found("team@acme.example") == set()
    assert found("Write to team") == {"E-9"}  # the name itself is still found as a name


# --- tracking branch -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tracking_numbers_match_exactly_with_spaces_and_case_ignored(make_order):
    shipped = add_packages(new_order(make_order, number="T-1"), UPS, "1Z999AA10123456785")
    second = add_packages(new_order(make_order, number="T-2"), "123456789012", carrier="FedEx", number2="EA123456789US")
    assert found(UPS.lower()) == {shipped.order_number}
    assert found("1Z 999 AA1 0123 4567 84") == {shipped.order_number}
    assert found("1Z999AA10123456785") == {shipped.order_number}
    assert found("123456789012") == {second.order_number}
    assert found("ea123456789us") == {second.order_number}  # tracking_number2
    assert found("1Z999AA10123456789") == set()


@pytest.mark.django_db
def test_a_tracking_number_only_searches_tracking(make_order):
    """A PO, ERP number or customer number that happens to look like a 1Z… number is not found by it."""
    new_order(make_order, number="T-3", po_number=UPS, erp_order_number=UPS, customer=new_customer("X", UPS))
    assert found(UPS) == set()
    shipped = add_packages(new_order(make_order, number="T-4"), UPS)
    assert found(UPS) == {shipped.order_number}


@pytest.mark.django_db
def test_tracking_numbers_without_a_known_shape_are_found_as_identifiers(make_order):
    freight = add_packages(new_order(make_order, number="T-5"), "PRO-778899", carrier="Estes")
    assert search_shape("pro-778899") is SearchShape.IDENTIFIER
    assert found("pro-778899") == {freight.order_number}


# --- filters -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_filters_state_fulfilment_source_and_created_range(make_order, settings):
    draft = new_order(make_order, number="F-1")
    submitted = services.order_submit(actor=Actor.system("test"), order_id=new_order(make_order, number="F-2").pk)
    shipped = add_packages(
        services.order_submit(actor=Actor.system("test"), order_id=new_order(make_order, number="F-3").pk), UPS
    )
    Order.objects.filter(pk=draft.pk).update(source=OrderSource.API)
    # Local days (America/Chicago): created_to is inclusive up to local midnight.
    local = timezone.get_current_timezone()
    Order.objects.filter(pk=draft.pk).update(created_at=datetime(2026, 3, 1, 23, 30, tzinfo=local))
    Order.objects.filter(pk=submitted.pk).update(created_at=datetime(2026, 3, 2, 0, 15, tzinfo=local))
    Order.objects.filter(pk=shipped.pk).update(created_at=datetime(2026, 3, 5, 12, 0, tzinfo=local))

    def numbers(**kwargs) -> set[str]:
        return set(order_query(filters=OrderFilters(**kwargs)).values_list("order_number", flat=True))

    assert numbers(state="draft") == {"F-1"}
    assert numbers(state="submitted") == {"F-2", "F-3"}
    assert numbers(fulfilment="shipped") == {"F-3"}
    assert numbers(fulfilment="unshipped") == {"F-1", "F-2"}
    assert numbers(source="api") == {"F-1"}
    assert numbers(source="manual") == {"F-2", "F-3"}
    assert numbers(created_from=datetime(2026, 3, 2).date()) == {"F-2", "F-3"}
    assert numbers(created_to=datetime(2026, 3, 1).date()) == {"F-1"}
    assert numbers(created_from=datetime(2026, 3, 2).date(), created_to=datetime(2026, 3, 4).date()) == {"F-2"}
    assert numbers(state="submitted", fulfilment="unshipped") == {"F-2"}


@pytest.mark.django_db
def test_sync_filter_uses_the_latest_message_per_destination(make_order):
    actor = Actor.system("test")
    never = new_order(make_order, number="Y-1")
    attention = services.order_submit(actor=actor, order_id=new_order(make_order, number="Y-2").pk)
    sent = services.order_submit(actor=actor, order_id=new_order(make_order, number="Y-3").pk)
    OutboxMessage.objects.filter(order=attention, destination="cimcloud").update(
        state=MessageState.NEEDS_ATTENTION, attention_reason=AttentionReason.PERMANENT
    )
    OutboxMessage.objects.filter(order=sent).update(state=MessageState.SENT, sent_at=timezone.now())
    # An older failed message of Y-3 does not count: its latest CIMcloud message is sent.
    old = OutboxMessage.objects.get(order=sent, destination="cimcloud")
    OutboxMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=1))
    OutboxMessage.objects.create(
        order=sent,
        destination="cimcloud",
        payload="{}",
        idempotency_key="old-try",
        state=MessageState.CANCELLED,
        created_at=timezone.now() - timedelta(hours=2),
    )

    def numbers(**sync) -> set[str]:
        return set(order_query(filters=OrderFilters(sync=sync)).values_list("order_number", flat=True))

    assert numbers(cimcloud="needs_attention") == {attention.order_number}
    assert numbers(cimcloud="sent") == {sent.order_number}
    assert numbers(cimcloud="cancelled") == set()
    assert numbers(tulaerp="pending") == {attention.order_number}
    assert numbers(cimcloud="none") == {never.order_number}
    assert numbers(cimcloud="sent", tulaerp="sent") == {sent.order_number}
    assert numbers(nowhere="sent") == {"Y-1", "Y-2", "Y-3"}  # an unknown destination is ignored


# --- sorting and keyset pages ------------------------------------------------------------------------------------


@pytest.fixture
def sortable_orders(make_order):
    """Nine orders with ties in every sort column, so pages must break ties by id."""
    now = timezone.now().replace(microsecond=0)
    names = ["Acme", "acme", "Birch", "Acme", "Zed", "Birch", "Acme", "Cobalt", "Birch"]
    totals = ["10.00", "25.50", "10.00", "99.99", "10.00", "25.50", "0.00", "1000.00", "25.50"]
    orders = []
    for position, (name, total) in enumerate(zip(names, totals, strict=True)):
        order = new_order(make_order, number=f"K-{(position * 7) % 9:02d}", customer=new_customer(name))
        Order.objects.filter(pk=order.pk).update(
            total=Decimal(total),
            created_at=now - timedelta(minutes=position // 3),  # three per instant
        )
        orders.append(order)
    return orders


@pytest.mark.django_db
@pytest.mark.parametrize("sort", list(SORTS))
def test_each_sort_pages_by_keyset_without_duplicates_or_gaps(sortable_orders, sort):
    expected = list(order_query(sort=sort).values_list("id", flat=True))
    assert len(expected) == 9
    seen, after, pages = [], None, 0
    while True:
        page = order_list_page(sort=sort, after=after, limit=2)
        seen += [order.pk for order in page.orders]
        pages += 1
        assert page.count == 9
        if page.next_cursor is None:
            break
        after = page.next_cursor
        assert pages < 10
    assert seen == expected
    assert pages == 5


@pytest.mark.django_db
def test_sort_orders_are_what_they_say(sortable_orders):
    def column(sort, name):
        return [getattr(o, name) for o in order_list_page(sort=sort, limit=50).orders]

    assert column("-created", "created_at") == sorted(column("-created", "created_at"), reverse=True)
    assert column("total", "total") == sorted(column("total", "total"))
    assert column("-total", "total")[0] == Decimal("1000.00")
    assert column("number", "order_number") == sorted(column("number", "order_number"))
    assert column("-number", "order_number") == sorted(column("number", "order_number"), reverse=True)


@pytest.mark.django_db
def test_keyset_pages_combine_with_search_and_filters(sortable_orders):
    expected = list(order_query(q="acme", sort="customer").values_list("id", flat=True))
    assert len(expected) == 4
    first = order_list_page(q="acme", sort="customer", limit=3)
    second = order_list_page(q="acme", sort="customer", limit=3, after=first.next_cursor)
    assert [o.pk for o in first.orders + second.orders] == expected
    assert second.next_cursor is None and first.count == second.count == 4


@pytest.mark.django_db
def test_a_foreign_or_mangled_cursor_starts_at_the_first_page(sortable_orders):
    first = order_list_page(sort="total", limit=2)
    assert decode_cursor(first.next_cursor, sort="total") is not None
    assert decode_cursor(first.next_cursor, sort="-total") is None
    for cursor in (first.next_cursor, "garbage", "e30", "!!", encode_cursor("number", first.orders[0]) + "x"):
        page = order_list_page(sort="-created", after=cursor, limit=2)
        assert [o.pk for o in page.orders] == list(order_query(sort="-created").values_list("id", flat=True)[:2])


@pytest.mark.django_db
def test_count_is_capped_and_never_counts_the_whole_table(make_order):
    for _ in range(5):
        new_order(make_order)
    assert capped_count(Order.objects.all(), cap=10) == 5
    with CaptureQueriesContext(connection) as queries:
        page = order_list_page(count_cap=3, limit=2)
    assert page.count == 4 and page.count_is_capped
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "LIMIT 4" in counts[0]
    assert len(queries) == 1  # the page, its count a subquery of it
    last = order_list_page(count_cap=3, limit=5)
    beyond = order_list_page(count_cap=3, limit=5, after=encode_cursor("-created", last.orders[-1]))
    assert (beyond.orders, beyond.count) == ([], 4)  # past the end: counted on its own
    assert (order_list_page(q="no-such-order", count_cap=3).count, order_list_page(q="no-such-order").orders) == (0, [])


@pytest.mark.django_db
def test_an_all_digit_po_that_looks_like_a_tracking_number_is_still_found(make_order, operator):
    from orders.selectors.search import order_search

    order = make_order(operator, fields={"po_number": "4500012345"})  # 10 digits: DHL Express's shape
    other = make_order(operator, fields={"customer_name": "Firm 4500012345 Ltd"})
    found = set(order_search(q="4500012345").values_list("pk", flat=True))
    assert order.pk in found and other.pk not in found  # exact identifiers join in; name substrings do not
