"""The order list page: roles, htmx variants, search, filters, sort and pages through the view, sync badges,
bulk retry and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from orders import services
from orders.models import AttentionReason, EventKind, MessageState, Order, OrderEvent, OutboxMessage, Priority
from orders.services import Actor, LineInput
from orders.views import order_list as view
from tests.test_search import UPS, add_packages, new_customer, new_order

LIST = "/orders/"
HX = {"HTTP_HX_REQUEST": "true"}


def submitted(make_order, **kwargs) -> Order:
    return services.order_submit(actor=Actor.system("test"), order_id=new_order(make_order, **kwargs).pk)


def fail(order: Order, destination: str, state: str = MessageState.NEEDS_ATTENTION) -> OutboxMessage:
    message = OutboxMessage.objects.get(order=order, destination=destination)
    message.state = state
    message.attention_reason = AttentionReason.PERMANENT if state == MessageState.NEEDS_ATTENTION else ""
    message.not_before = timezone.now() + timedelta(minutes=5)
    message.save()
    return message


def rows_of(response) -> list[str]:
    return [row.order.order_number for row in response.context["rows"]]


# --- access --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_is_sent_to_the_login_page(client):
    for response in (client.get(LIST), client.get("/orders/export/"), client.post("/orders/bulk/", {"order": "1"})):
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_htmx_request_without_a_session_is_redirected_by_htmx(client):
    response = client.get(LIST, **HX)
    assert response.status_code == 200 and response["HX-Redirect"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_viewer_sees_the_list_read_only(client, viewer, make_order):
    order = submitted(make_order)
    client.force_login(viewer)
    response = client.get(LIST)
    assert response.status_code == 200
    assert order.order_number in response.text
    assert 'name="order"' not in response.text and "Retry sync" not in response.text
    assert "Export CSV" in response.text  # reading is allowed


@pytest.mark.django_db
def test_operator_gets_selection_and_bulk_retry(client, operator, make_order):
    order = submitted(make_order)
    client.force_login(operator)
    response = client.get(LIST)
    assert f'name="order" value="{order.pk}"' in response.text
    assert 'name="action" value="retry"' in response.text


@pytest.mark.django_db
def test_row_shows_link_columns_badges_and_single_package_tracking(client, viewer, make_order):
    order = add_packages(
        submitted(make_order, number="R-1", skus=("A", "B", "C")),
        UPS,
        link="https://www.ups.com/track?tracknum=" + UPS,
        link_source="erp",
    )
    two = add_packages(submitted(make_order, number="R-2"), "1Z999AA10123456785", "1Z999AA10123456786")
    client.force_login(viewer)
    text = client.get(LIST).text
    assert 'href="/orders/R-1/"' in text and "Portland, OR" in text and "Northwind Traders" in text
    assert f'href="https://www.ups.com/track?tracknum={UPS}" target="_blank" rel="noopener"' in text
    assert f'id="sync-{order.pk}"' in text and "CIMcloud pending" in text and "TulaERP pending" in text
    assert "2 packages" in text and f"/tracking/?q={two.order_number}" in text
    assert '<td class="num">30.00</td>' in text  # three lines of 10.00


@pytest.mark.django_db
def test_customer_names_are_escaped(client, viewer, make_order):
    new_order(make_order, customer=new_customer("<script>alert(1)</script>"))
    client.force_login(viewer)
    text = client.get(LIST).text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


# --- htmx variants -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_htmx_gets_the_results_partial_whatever_the_target(client, viewer, make_order):
    new_order(make_order, customer=new_customer("Acme Supply"))
    client.force_login(viewer)
    for target in ("results", "something-else", None):
        headers = {**HX, **({"HTTP_HX_TARGET": target} if target else {})}
        response = client.get(LIST, {"q": "acme", "state": ""}, **headers)
        assert response.status_code == 200
        assert "<html" not in response.text and 'id="order-search"' not in response.text
        assert 'class="count"' in response.text and "Acme Supply" in response.text
        assert response["HX-Push-Url"] == "/orders/?q=acme"  # canonical: no empty parameters
        assert "HX-Request" in response["Vary"]


@pytest.mark.django_db
def test_boosted_and_history_restore_requests_get_the_whole_page(client, viewer, make_order):
    make_order()
    client.force_login(viewer)
    for extra in ({"HTTP_HX_BOOSTED": "true"}, {"HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}):
        response = client.get(LIST, {"q": "D-"}, **HX, **extra)
        assert "<html" in response.text and 'id="order-search"' in response.text
        assert "HX-Push-Url" not in response


@pytest.mark.django_db
def test_page_works_without_javascript(client, viewer, make_order):
    make_order()
    client.force_login(viewer)
    text = client.get(LIST, {"q": "north"}).text
    assert 'method="get" action="/orders/"' in text and 'value="north"' in text
    assert "<script>" not in text.split("</head>")[1]  # no inline script in the body
    assert " style=" not in text and "hx-on" not in text


# --- search, filters, sort and pages through the view ------------------------------------------------------------


@pytest.mark.django_db
def test_search_and_filters_narrow_the_list(client, viewer, make_order):
    acme = new_customer("Acme Supply")
    draft = new_order(make_order, number="V-1", customer=acme)
    sent = submitted(make_order, number="V-2", customer=acme)
    submitted(make_order, number="V-3")
    client.force_login(viewer)
    assert set(rows_of(client.get(LIST, {"q": "acme"}))) == {draft.order_number, sent.order_number}
    assert rows_of(client.get(LIST, {"q": "acme", "state": "draft"})) == [draft.order_number]
    assert rows_of(client.get(LIST, {"q": "v-3"})) == ["V-3"]
    assert rows_of(client.get(LIST, {"sync_tulaerp": "none"})) == ["V-1"]
    assert rows_of(client.get(LIST, {"fulfilment": "shipped"})) == []


@pytest.mark.django_db
def test_invalid_filter_values_are_ignored_and_said_so(client, viewer, make_order):
    make_order()
    client.force_login(viewer)
    response = client.get(LIST, {"state": "bogus", "created_from": "not-a-date", "sort": "sideways"})
    assert response.status_code == 200 and len(response.context["rows"]) == 1
    assert "Ignored (not valid): Created from, Sort, State." in response.text


@pytest.mark.django_db
def test_empty_states(client, viewer, make_order):
    client.force_login(viewer)
    assert "No orders yet." in client.get(LIST).text
    make_order()
    text = client.get(LIST, {"q": "someone@nowhere.example"}).text
    assert "No orders match “someone@nowhere.example”" in text and "Emails match exactly" in text
    assert "tracking numbers match exactly" in client.get(LIST, {"q": UPS}).text


@pytest.mark.django_db
@pytest.mark.parametrize("sort", ["-created", "number", "-customer", "total"])
def test_next_page_links_walk_every_sort_without_gaps(client, viewer, make_order, monkeypatch, sort):
    monkeypatch.setattr(view, "PAGE_SIZE", 3)
    names = ["Acme", "Birch", "Acme", "Cobalt", "Birch", "Acme", "Delta"]
    for position, name in enumerate(names):
        order = new_order(make_order, number=f"P-{position}", customer=new_customer(name))
        Order.objects.filter(pk=order.pk).update(total=Decimal(position % 3))
    client.force_login(viewer)
    url, seen, pages = f"{LIST}?sort={sort}&q=p-", [], 0
    while url:
        response = client.get(url)
        seen += rows_of(response)
        pages += 1
        first = response.context["first_url"]
        assert bool(first) == (pages > 1)
        if first:
            assert "after" not in parse_qs(urlsplit(first).query)
            assert 'rel="next"' in response.text or not response.context["next_url"]
        url = response.context["next_url"]
        if url:
            assert parse_qs(urlsplit(url).query)["q"] == ["p-"]
    assert pages == 3 and len(seen) == len(set(seen)) == 7
    expected = [o.order_number for o in view.selectors.order_query(q="p-", sort=sort)]
    assert seen == expected


@pytest.mark.django_db
def test_sort_links_toggle_and_keep_the_query(client, viewer, make_order):
    make_order()
    client.force_login(viewer)
    links = client.get(LIST, {"q": "north", "sort": "total"}).context["sort_links"]
    assert links["total"]["url"] == "/orders/?q=north&sort=-total" and links["total"]["aria"] == "ascending"
    assert links["created"]["url"] == "/orders/?q=north"  # the default sort is left out
    assert links["number"]["url"] == "/orders/?q=north&sort=number" and links["number"]["aria"] == ""


@pytest.mark.django_db
def test_capped_count_is_shown(client, viewer, make_order, monkeypatch):
    for _ in range(4):
        make_order()
    monkeypatch.setattr(view.selectors.search, "COUNT_CAP", 3)
    client.force_login(viewer)
    assert "4 orders" in client.get(LIST).text
    response = client.get(LIST, {"q": "d-"}, **HX)
    assert response.context["page"].count == 4  # default cap: exact


# --- query budget --------------------------------------------------------------------------------------------


def _orders_with_lines_and_packages(make_order, n: int) -> None:
    actor = Actor.system("test")
    for position in range(n):
        order = make_order(
            lines=[LineInput(sku=f"SKU-{i}", quantity=i + 1, unit_price=Decimal("5.00")) for i in range(4)]
        )
        services.order_submit(actor=actor, order_id=order.pk)
        numbers = [f"1Z999AA1{position:02d}{i:08d}" for i in range(1 + position % 3)]
        add_packages(order, *numbers)


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_the_page(client, operator, make_order, django_assert_num_queries):
    client.force_login(operator)
    _orders_with_lines_and_packages(make_order, 5)
    # session, user, permissions (2), page with its count, sync states, packages, pinned notes, saved views, every
    # tab's count (one query), layout banner (2)
    with django_assert_num_queries(12):
        response = client.get(LIST)
    assert len(response.context["rows"]) == 5 and response.context["in_flight"]
    _orders_with_lines_and_packages(make_order, 35)
    with django_assert_num_queries(12):
        response = client.get(LIST)
    assert len(response.context["rows"]) == 40
    with django_assert_num_queries(8):  # the partial has no layout banner and no tabs
        client.get(LIST, {"q": "1Z999AA10100000000", "sort": "total"}, **HX)


# --- live sync badges --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_badges_poll_only_while_something_is_on_its_way(client, viewer, make_order):
    order = submitted(make_order)
    client.force_login(viewer)
    text = client.get(LIST).text
    assert 'hx-trigger="every 3s"' in text and f"/orders/?badges={order.pk}" in text
    OutboxMessage.objects.filter(order=order).update(state=MessageState.SENT, sent_at=timezone.now())
    text = client.get(LIST).text
    assert 'hx-trigger="every 3s"' not in text and "CIMcloud sent" in text


@pytest.mark.django_db
def test_badge_poll_returns_out_of_band_badges_and_stops_when_settled(
    client, viewer, make_order, django_assert_num_queries
):
    a, b = submitted(make_order), submitted(make_order)
    fail(a, "cimcloud", MessageState.RETRY_SCHEDULED)
    client.force_login(viewer)
    with django_assert_num_queries(6):  # session, user, permissions (2: context processor), orders, sync states
        response = client.get(LIST, {"badges": f"{a.pk},{b.pk},x,"}, **HX)
    text = response.text
    assert f'<span id="sync-{a.pk}" class="sync-cell" hx-swap-oob="true">' in text
    assert f'id="sync-{b.pk}"' in text and "CIMcloud retry" in text
    assert 'id="sync-poll"' in text and 'hx-trigger="every 3s"' in text and "HX-Push-Url" not in response
    OutboxMessage.objects.update(state=MessageState.SENT, sent_at=timezone.now())
    text = client.get(LIST, {"badges": f"{a.pk},{b.pk}"}, **HX).text
    assert '<div id="sync-poll" class="sync-poll"></div>' in text  # polling stops
    assert "<html" in client.get(LIST, {"badges": f"{a.pk}"}).text  # without htmx: the page


# --- bulk retry ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bulk_retry_requeues_failed_and_scheduled_messages_of_the_selected_orders(client, operator, make_order):
    a, b, c, untouched = (submitted(make_order) for _ in range(4))
    fail(a, "cimcloud")
    fail(a, "tulaerp", MessageState.RETRY_SCHEDULED)
    fail(b, "tulaerp")
    sent = OutboxMessage.objects.get(order=b, destination="cimcloud")
    OutboxMessage.objects.filter(pk=sent.pk).update(state=MessageState.SENT, sent_at=timezone.now())
    fail(untouched, "cimcloud")
    client.force_login(operator)
    events_before = OrderEvent.objects.filter(kind=EventKind.SYNC_ACTION).count()
    response = client.post(
        "/orders/bulk/",
        {"action": "retry", "order": [a.pk, b.pk, c.pk, "junk"], "next": "/orders/?q=d-&sort=total"},
        follow=True,
    )
    assert response.redirect_chain == [("/orders/?q=d-&sort=total", 302)]
    assert "Queued 3 sync messages of 2 orders again" in response.text
    assert "1 selected order had nothing to retry" in response.text
    requeued = OutboxMessage.objects.filter(order__in=[a, b], state=MessageState.PENDING, priority=Priority.BULK)
    assert requeued.count() == 3
    assert OutboxMessage.objects.get(pk=sent.pk).state == MessageState.SENT
    assert OutboxMessage.objects.get(order=untouched, destination="cimcloud").state == MessageState.NEEDS_ATTENTION
    assert OutboxMessage.objects.filter(order=c, priority=Priority.BULK).count() == 0  # pending stays as it was
    events = OrderEvent.objects.filter(kind=EventKind.SYNC_ACTION).order_by("id")[events_before:]
    assert [e.order_id for e in events] == [a.pk, b.pk]  # one event per affected order
    assert events[0].actor == operator and "CIMcloud, TulaERP" in events[0].message


@pytest.mark.django_db
def test_bulk_retry_skips_cancelled_orders_and_says_when_nothing_happened(client, operator, make_order):
    order = submitted(make_order)
    fail(order, "cimcloud")
    services.order_cancel(actor=Actor(user=operator), order_id=order.pk, reason="customer called")
    client.force_login(operator)
    response = client.post("/orders/bulk/", {"action": "retry", "order": [order.pk]}, follow=True)
    assert response.redirect_chain == [("/orders/", 302)]
    assert "Nothing to retry" in response.text


@pytest.mark.django_db
def test_bulk_without_selection_or_action_and_with_a_foreign_next(client, operator):
    client.force_login(operator)
    response = client.post("/orders/bulk/", {"action": "retry", "next": "https://evil.example/"}, follow=True)
    assert response.redirect_chain == [("/orders/", 302)] and "Select at least one order." in response.text
    response = client.post("/orders/bulk/", {"order": ["1"], "next": "//evil.example/orders/"}, follow=True)
    assert response.redirect_chain == [("/orders/", 302)] and "Choose an action" in response.text
    assert client.get("/orders/bulk/").status_code == 405


@pytest.mark.django_db
def test_viewer_cannot_bulk_retry(client, viewer, make_order):
    order = submitted(make_order)
    message = fail(order, "cimcloud")
    client.force_login(viewer)
    response = client.post("/orders/bulk/", {"action": "retry", "order": [order.pk]})
    assert response.status_code == 403
    assert OutboxMessage.objects.get(pk=message.pk).state == MessageState.NEEDS_ATTENTION


# --- CSV export ----------------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.mark.django_db
def test_export_streams_the_current_query_in_its_order(client, viewer, make_order):
    acme = new_customer("Acme Supply", "C-ACME")
    first = submitted(make_order, number="X-1", customer=acme, po_number="PO-1")
    second = new_order(make_order, number="X-2", customer=acme)
    new_order(make_order, number="Y-9")
    Order.objects.filter(pk=second.pk).update(total=Decimal("1234.50"))
    client.force_login(viewer)
    response = client.get("/orders/export/", {"q": "acme", "sort": "-total", "after": "ignored"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    header, *rows = _csv(response)
    assert header[:3] == ["Order number", "Created", "State"] and header[-2:] == ["CIMcloud sync", "TulaERP sync"]
    assert [row[0] for row in rows] == ["X-2", "X-1"]
    by_number = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert by_number["X-2"]["Total"] == "1234.50" and by_number["X-2"]["CIMcloud sync"] == "Not sent"
    assert by_number["X-1"]["State"] == first.get_state_display() and by_number["X-1"]["PO number"] == "PO-1"
    assert by_number["X-1"]["TulaERP sync"] == "Pending" and by_number["X-1"]["Customer number"] == "C-ACME"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1 555", "'+1 555"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rReturn", "'\rReturn"),
        ("Plain = fine", "Plain = fine"),
        (None, ""),
        (Decimal("12.50"), "12.50"),
    ],
)
def test_cells_never_start_a_formula(value, cell):
    assert view.safe_cell(value) == cell


@pytest.mark.django_db
def test_export_cells_are_formula_safe(client, viewer, make_order):
    for position, name in enumerate(["=cmd|' /C calc'!A0", "+SUM(1)", "-1+1", "@A1", "\tX", "Normal Co"]):
        new_order(make_order, number=f"Z-{position}", customer=new_customer(name), po_number=f"=PO{position}")
    client.force_login(viewer)
    header, *rows = _csv(client.get("/orders/export/", {"sort": "number"}))
    names = [dict(zip(header, row, strict=True))["Customer"] for row in rows]
    assert names == ["'=cmd|' /C calc'!A0", "'+SUM(1)", "'-1+1", "'@A1", "'\tX", "Normal Co"]
    assert all(dict(zip(header, row, strict=True))["PO number"].startswith("'=PO") for row in rows)


@pytest.mark.django_db
def test_large_exports_ask_first_then_stream(client, viewer, make_order, monkeypatch):
    monkeypatch.setattr(view, "EXPORT_CONFIRM_ROWS", 2)
    for _ in range(3):
        make_order()
    client.force_login(viewer)
    response = client.get("/orders/export/", {"q": "d-", "state": "draft"})
    assert response.status_code == 200 and not response.streaming
    assert "This export has" in response.text and "<strong>3 orders</strong>" in response.text
    assert '<input type="hidden" name="confirm" value="1">' in response.text
    assert '<input type="hidden" name="q" value="d-">' in response.text
    assert len(_csv(client.get("/orders/export/", {"q": "d-", "state": "draft", "confirm": "1"}))) == 4
    monkeypatch.setattr(view, "EXPORT_COUNT_CAP", 2)
    assert "more than 2 orders" in client.get("/orders/export/").text
    assert len(_csv(client.get("/orders/export/", {"state": "submitted"}))) == 1  # small: no question


@pytest.mark.django_db
def test_export_query_count_is_fixed(client, viewer, make_order, django_assert_num_queries):
    _orders_with_lines_and_packages(make_order, 3)
    client.force_login(viewer)
    # session, user, the user's and the groups' permissions (the role check every page makes), capped count, rows
    with django_assert_num_queries(6):
        assert len(_csv(client.get("/orders/export/"))) == 4
    _orders_with_lines_and_packages(make_order, 9)
    with django_assert_num_queries(6):
        assert len(_csv(client.get("/orders/export/"))) == 13
