"""Tracking lookup: one box, the packages of the orders `order_search` finds, links and where they came from, the
copyable summary, htmx variants, roles and a fixed query count."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from orders import services
from orders.models import Order
from orders.selectors import tracking as tracking_selectors
from orders.selectors import tracking_lookup
from orders.services import Actor, PackageData, ShipmentData
from tests.test_search import UPS, add_packages, new_customer, new_order, sent

URL = "/tracking/"
HX = {"HTTP_HX_REQUEST": "true"}
UPS_LINK = f"https://www.ups.com/track?tracknum={UPS}"


@pytest.fixture
def shipped(make_order) -> Order:
    """Two packages: the UPS one with TulaERP's link, a FedEx one whose link is built from the template."""
    order = sent(new_order(make_order, number="TR-1", po_number="PO-4711", erp_order_number="ERP-88"))
    Order.objects.filter(pk=order.pk).update(tulaerp_short_order_number="TU0000077")
    shipped_at = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.get_current_timezone())
    services.shipment_upsert(
        actor=Actor.system("test"),
        order_id=order.pk,
        shipments=[
            ShipmentData(
                tulaerp_id=7001,
                shipment_date=shipped_at,
                packages=(
                    PackageData(
                        package_number=1,
                        carrier="UPS",
                        tracking_number1=UPS,
                        tracking_link=UPS_LINK,
                        tracking_link_source="erp",
                        delivery_status="Delivered",
                        delivery_date=shipped_at + timedelta(days=2),
                    ),
                    PackageData(
                        package_number=2,
                        carrier="FedEx",
                        tracking_number1="123456789012",
                        delivery_status="In Transit",
                    ),
                ),
            )
        ],
    )
    order.refresh_from_db()
    return order


@pytest.mark.django_db
def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(URL, {"q": UPS})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_empty_box_explains_itself_without_querying_orders(client, viewer, django_assert_num_queries):
    client.force_login(viewer)
    with django_assert_num_queries(6):  # session, user, permissions (2), layout banner (2)
        response = client.get(URL)
    assert response.status_code == 200 and "Type or paste something above" in response.text
    assert " autofocus" in response.text


@pytest.mark.django_db
def test_a_tracking_number_shows_every_package_of_its_order(client, viewer, shipped):
    client.force_login(viewer)
    response = client.get(URL, {"q": " 1z999aa10123456784 "})
    text = response.text
    assert response.status_code == 200 and "<html" in text
    assert 'href="/orders/TR-1/"' in text
    assert f'<a class="track" href="{UPS_LINK}" target="_blank" rel="noopener">' in text
    assert "From TulaERP" in text and "Built from carrier template" in text
    assert 'href="https://www.fedex.com/fedextrack/?trknbr=123456789012"' in text
    assert "Delivered" in text and "Nov 4, 2026" in text and "Nov 2, 2026" in text
    assert re.search(r'<tr class="matched">\s*<td class="num">1</td>', text)
    (tracked,) = response.context["lookup"].orders
    assert [p.tracking_numbers for p in tracked.packages] == [(UPS,), ("123456789012",)]
    assert [p.matched for p in tracked.packages] == [True, False]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "q", ["TR-1", "tr-", "PO-4711", "erp-88", "TU0000077", "buyer@northwind.example", "northwind", "123456789012"]
)
def test_anything_staff_are_given_finds_the_order(client, viewer, shipped, q):
    client.force_login(viewer)
    lookup = client.get(URL, {"q": q}).context["lookup"]
    assert [t.order.order_number for t in lookup.orders] == ["TR-1"]


@pytest.mark.django_db
def test_copy_summary_holds_every_package_as_plain_text(client, viewer, shipped):
    client.force_login(viewer)
    text = client.get(URL, {"q": "TR-1"}).text
    assert f'data-copy="#summary-{shipped.pk}"' in text
    summary = re.search(rf'<pre id="summary-{shipped.pk}" hidden>(.*?)</pre>', text, re.S).group(1)
    assert "<" not in summary  # plain text
    assert summary.splitlines() == [
        "Order TR-1 (PO PO-4711)",
        "",
        f"Package 1 of 2: UPS {UPS}, delivered Nov 4, 2026",
        f"Track: {UPS_LINK.replace('&', '&amp;')}",
        "",
        "Package 2 of 2: FedEx 123456789012, shipped Nov 2, 2026 (In Transit)",
        "Track: https://www.fedex.com/fedextrack/?trknbr=123456789012",
    ]


@pytest.mark.django_db
def test_link_sources_and_unsafe_links(make_order):
    actor = Actor.system("test")
    order = sent(new_order(make_order, number="LK-1"))
    received = datetime(2026, 10, 1, 9, 0, tzinfo=timezone.get_current_timezone())
    services.shipment_upsert(
        actor=actor,
        order_id=order.pk,
        shipments=[
            ShipmentData(
                package_number=1,
                packages=(
                    PackageData(package_number=1, carrier="Estes", tracking_number1="PRO-1"),  # nothing to build
                    PackageData(
                        package_number=2,
                        carrier="UPS",
                        tracking_number1=UPS,
                        tracking_link="javascript:alert(1)",
                        tracking_link_source="erp",
                        carrier_receive_date=received,
                    ),
                    PackageData(
                        package_number=3,
                        carrier="USPS",
                        tracking_number1="EA123456789US",
                        tracking_link="https://tools.usps.com/go/TrackConfirmAction?tLabels=EA123456789US",
                        tracking_link_source="template",
                    ),
                ),
            )
        ],
    )
    (tracked,) = tracking_lookup("LK-1").orders
    none, unsafe, template = tracked.packages
    assert (none.link, none.link_source, none.link_source_label) == ("", "none", "No link")
    assert unsafe.link == UPS_LINK and unsafe.link_source == "template"  # rebuilt, never javascript:
    assert unsafe.shipped_at == received  # no shipment date: the carrier's receive date
    assert template.link_source == "template" and template.link.startswith("https://tools.usps.com/")


@pytest.mark.django_db
def test_an_order_without_packages_says_so(client, viewer, make_order):
    order = new_order(make_order, number="NP-1")
    client.force_login(viewer)
    text = client.get(URL, {"q": "NP-1"}).text
    assert "No packages yet" in text and f'data-copy="#summary-{order.pk}"' in text
    assert "Not shipped yet" in text


@pytest.mark.django_db
def test_nothing_found_says_why(client, viewer, shipped):
    client.force_login(viewer)
    assert "tracking numbers match exactly" in client.get(URL, {"q": "1Z999AA10123456799"}).text
    assert "Emails match exactly" in client.get(URL, {"q": "nobody@example.com"}).text
    assert "Nothing found for “zzz”" in client.get(URL, {"q": "zzz"}).text


@pytest.mark.django_db
def test_htmx_gets_the_partial_boosted_and_history_restore_the_page(client, viewer, shipped):
    client.force_login(viewer)
    partial = client.get(URL, {"q": UPS}, HTTP_HX_TARGET="anything", **HX)
    assert "<html" not in partial.text and 'id="tracking-search"' not in partial.text
    assert f'id="summary-{shipped.pk}"' in partial.text
    assert partial["HX-Push-Url"] == f"/tracking/?q={UPS}" and "HX-Request" in partial["Vary"]
    for extra in ({"HTTP_HX_BOOSTED": "true"}, {"HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}):
        page = client.get(URL, {"q": UPS}, **HX, **extra)
        assert "<html" in page.text and 'id="tracking-search"' in page.text


@pytest.mark.django_db
def test_customer_names_are_escaped(client, viewer, make_order):
    new_order(make_order, number="XS-1", customer=new_customer("<script>alert(1)</script>"))
    client.force_login(viewer)
    text = client.get(URL, {"q": "script"}).text
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


@pytest.mark.django_db
def test_only_the_newest_orders_are_shown(client, viewer, make_order, monkeypatch):
    monkeypatch.setattr(tracking_selectors, "TRACKING_ORDER_LIMIT", 2)
    for _ in range(3):
        new_order(make_order)
    client.force_login(viewer)
    response = client.get(URL, {"q": "northwind"})
    lookup = response.context["lookup"]
    assert len(lookup.orders) == 2 and lookup.more and "the newest 2 are shown" in response.text
    assert lookup.orders[0].order.created_at >= lookup.orders[1].order.created_at


@pytest.mark.django_db
def test_query_count_does_not_grow_with_orders_or_packages(client, viewer, make_order, django_assert_num_queries):
    def orders_with_packages(n: int, start: int) -> None:
        for position in range(start, start + n):
            numbers = [f"1Z999AA1{position:02d}{i:08d}" for i in range(1 + position % 3)]
            add_packages(new_order(make_order), *numbers)

    client.force_login(viewer)
    orders_with_packages(2, 0)
    # session, user, permissions (2: context processor), orders, packages, layout banner (2)
    with django_assert_num_queries(8):
        assert len(client.get(URL, {"q": "northwind"}).context["lookup"].orders) == 2
    orders_with_packages(10, 2)
    with django_assert_num_queries(8):
        lookup = client.get(URL, {"q": "northwind"}).context["lookup"]
    assert len(lookup.orders) == 12 and sum(len(t.packages) for t in lookup.orders) == 24
    with django_assert_num_queries(6):  # the partial: no banner
        client.get(URL, {"q": "northwind"}, **HX)
