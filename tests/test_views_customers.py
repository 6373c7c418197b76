"""Customers: search with keyset pages, the customer with ship-tos and orders, and the audited edit."""

from __future__ import annotations

import re

import pytest

from orders import services
from orders.models import AuditEntry, AuditKind, Customer
from orders.selectors import customer_list_page
from orders.services import Actor

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
SYSTEM = Actor.system("test")


def _customers(count: int, *, prefix: str = "Acme") -> list[Customer]:
    return Customer.objects.bulk_create(
        Customer(
            customer_no=f"{prefix[0]}{n:04d}", name=f"{prefix} {n:04d}", email=f"buyer{n}@{prefix.lower()}.example"
        )
        for n in range(count)
    )


def _form(customer: Customer, **changes) -> dict:
    customer.refresh_from_db()
    data = {
        "seen": customer.updated_at.isoformat(),
        **{
            name: getattr(customer, name)
            for name in (
                "name",
                "email",
                "telephone",
                "telephone_ext",
                "fax",
                "address1",
                "address2",
                "address3",
                "city",
                "state",
                "zip",
                "country_code",
                "ship_method",
            )
        },  # fmt: skip
    }
    if customer.credit_hold:
        data["credit_hold"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


def test_anonymous_goes_to_login(client, customer):
    for url in ("/customers/", f"/customers/{customer.pk}/", f"/customers/{customer.pk}/edit/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_search_by_name_or_number_substring_and_whole_email(client, viewer, customer):
    _customers(3)
    client.force_login(viewer)
    assert "Northwind Traders" in client.get("/customers/?q=northw").text
    by_number = client.get("/customers/?q=A000").text
    assert "Acme 0000" in by_number and "Northwind" not in by_number
    assert "Northwind Traders" in client.get("/customers/?q=BUYER@northwind.example").text
    partial_email = client.get("/customers/?q=buyer@north").text
    assert "Northwind Traders" not in partial_email and "No customer matches" in partial_email


def test_keyset_pages_continue_by_name_then_id(viewer, client):
    made = _customers(5)
    Customer.objects.filter(pk=made[4].pk).update(name="acme 0001")  # same name, different case: id breaks the tie
    first = customer_list_page(limit=2)
    assert [c.name for c in first.rows] == ["Acme 0000", "Acme 0001"] and first.next_after == made[1].pk
    second = customer_list_page(limit=2, after=first.next_after)
    assert [c.pk for c in second.rows] == [made[4].pk, made[2].pk]
    third = customer_list_page(limit=2, after=second.next_after)
    assert [c.pk for c in third.rows] == [made[3].pk] and third.next_after is None

    _customers(60, prefix="Bulk")
    client.force_login(viewer)
    page = client.get("/customers/?q=bulk").text
    assert len(re.findall(r'href="/customers/\d+/"', page)) == 50 and "Next 50" in page
    rest = client.get(f"/customers/?q=bulk&after={customer_list_page(query='bulk').next_after}").text
    assert len(re.findall(r'href="/customers/\d+/"', rest)) == 10 and "First page" in rest and "Next" not in rest
    assert client.get("/customers/?after=abc").status_code == 200  # a broken cursor starts at the beginning


def test_htmx_search_gets_the_results_partial(client, viewer, customer):
    client.force_login(viewer)
    response = client.get("/customers/?q=north", headers=HTMX)
    assert (
        "<html" not in response.text and "Northwind Traders" in response.text and 'role="search"' not in response.text
    )
    boosted = client.get("/customers/?q=north", headers={**HTMX, "HX-Boosted": "true"})
    assert "<html" in boosted.text


def test_empty_list_says_so(client, viewer):
    client.force_login(viewer)
    assert "No customers yet." in client.get("/customers/").text


def test_detail_shows_block_ship_tos_and_recent_orders(client, viewer, operator, customer, make_order):
    services.customer_ship_to_save(
        actor=SYSTEM, customer_id=customer.pk, code="DOCK", fields={"name": "Northwind Dock", "city": "Portland"}
    )
    order = make_order(operator)
    client.force_login(viewer)
    page = client.get(f"/customers/{customer.pk}/").text
    assert "1 Harbor Way" in page and "buyer@northwind.example" in page
    assert "DOCK" in page and "Northwind Dock" in page
    assert f'href="/orders/{order.order_number}/"' in page
    assert f"/customers/{customer.pk}/edit/" not in page  # viewers get no edit button
    assert client.get("/customers/999999/").status_code == 404


def test_viewer_cannot_edit(client, viewer, customer):
    client.force_login(viewer)
    assert client.get(f"/customers/{customer.pk}/edit/").status_code == 403
    assert client.post(f"/customers/{customer.pk}/edit/", _form(customer, city="Salem")).status_code == 403
    customer.refresh_from_db()
    assert customer.city == "Portland"


def _audit(customer: Customer) -> list[tuple[str, str, dict]]:
    entries = AuditEntry.objects.filter(target_type="customer", target_id=str(customer.pk)).order_by("id")
    return [(e.kind, e.actor_name, e.detail) for e in entries]


def test_operator_edits_the_address_but_not_the_credit_hold(client, operator, customer):
    client.force_login(operator)
    form = client.get(f"/customers/{customer.pk}/edit/")
    assert form.status_code == 200 and "Only an admin can place or lift a credit hold." in form.text
    response = client.post(
        f"/customers/{customer.pk}/edit/", _form(customer, city="Salem", credit_hold="on"), follow=True
    )
    assert response.redirect_chain == [(f"/customers/{customer.pk}/", 302)]
    assert "Northwind Traders saved." in response.text
    customer.refresh_from_db()
    assert customer.city == "Salem" and customer.credit_hold is False  # the posted hold is ignored
    assert _audit(customer)[1:] == [(AuditKind.CUSTOMER_CHANGED, "op1", {"city": ["Portland", "Salem"]})]


def test_admin_toggles_the_credit_hold_and_it_is_recorded(client, admin_user, customer):
    client.force_login(admin_user)
    placed = client.post(f"/customers/{customer.pk}/edit/", _form(customer, credit_hold="on"), follow=True)
    customer.refresh_from_db()
    assert customer.credit_hold is True
    assert "Northwind Traders is on credit hold: new orders go to review. Recorded as boss." in placed.text
    assert "On credit hold" in placed.text

    lifted = client.post(f"/customers/{customer.pk}/edit/", _form(customer, credit_hold=False), follow=True)
    customer.refresh_from_db()
    assert (
        customer.credit_hold is False and "Credit hold lifted for Northwind Traders. Recorded as boss." in lifted.text
    )
    holds = [entry for entry in _audit(customer) if entry[0] == AuditKind.CREDIT_HOLD_CHANGED]
    assert holds == [
        (AuditKind.CREDIT_HOLD_CHANGED, "boss", {"credit_hold": [False, True]}),
        (AuditKind.CREDIT_HOLD_CHANGED, "boss", {"credit_hold": [True, False]}),
    ]


def test_edit_errors_stay_on_the_form(client, operator, customer):
    client.force_login(operator)
    bad = client.post(f"/customers/{customer.pk}/edit/", _form(customer, email="not-an-email", name=""))
    assert (
        bad.status_code == 200 and "Enter a valid email address." in bad.text and "This field is required." in bad.text
    )
    stale = _form(customer, city="Eugene")
    services.customer_update(actor=SYSTEM, customer_id=customer.pk, fields={"city": "Bend"})
    refused = client.post(f"/customers/{customer.pk}/edit/", stale)
    assert refused.status_code == 200 and "Someone else changed this customer" in refused.text
    customer.refresh_from_db()
    assert customer.city == "Bend"
    unchanged = client.post(f"/customers/{customer.pk}/edit/", _form(customer), follow=True)
    assert "Nothing changed." in unchanged.text
    assert client.get("/customers/999999/edit/").status_code == 404


@pytest.mark.parametrize("partial", [False, True], ids=["page", "htmx"])
def test_customer_list_query_count_is_fixed(client, viewer, django_assert_num_queries, partial):
    # session, user, permissions (2), one page of customers; the full page adds the banner (2)
    expected = 5 if partial else 7
    headers = HTMX if partial else {}
    client.force_login(viewer)
    _customers(3)
    with django_assert_num_queries(expected):
        client.get("/customers/?q=acme", headers=headers)
    _customers(80, prefix="More")
    with django_assert_num_queries(expected):
        client.get("/customers/?q=more&after=1", headers=headers)


def test_customer_detail_query_count_is_fixed(
    client, viewer, operator, customer, make_order, django_assert_num_queries
):
    # session, user, permissions (2), customer, recent orders, ship-tos, the banner (2)
    client.force_login(viewer)
    make_order(operator)
    with django_assert_num_queries(9):
        client.get(f"/customers/{customer.pk}/")
    for n in range(12):
        make_order(operator)
        services.customer_ship_to_save(actor=SYSTEM, customer_id=customer.pk, code=f"S{n}", fields={"name": f"S{n}"})
    with django_assert_num_queries(9):
        client.get(f"/customers/{customer.pk}/")
