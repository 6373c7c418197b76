"""Saved views and the list's tabs: built-in tabs, saving the current query, personal views invisible to others,
who deletes, capped counts, and a query budget that does not grow with tabs or pinned notes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders import services
from orders.errors import InvalidInput, NotAllowed
from orders.models import OrderState, SavedView, Shipment
from orders.services import Actor, note_add, saved_view_create, saved_view_delete
from orders.views import order_list as view
from tests.test_search import new_customer, new_order

LIST = "/orders/"


def _tabs(response) -> dict[str, object]:
    return {tab.name: tab for tab in response.context["tabs"]}


def _save(user, name, query="", shared=False) -> SavedView:
    return saved_view_create(actor=Actor(user=user), name=name, query=query, shared=shared)


@pytest.mark.django_db
def test_built_in_tabs_count_their_orders(client, viewer, make_order):
    draft = new_order(make_order)
    review = new_order(make_order, customer=new_customer("Held Co"))
    review.state = OrderState.AWAITING_REVIEW
    review.save(update_fields=["state"])
    Shipment.objects.create(order=draft, package_number=1, shipment_date=timezone.now())
    Shipment.objects.create(order=review, package_number=1, shipment_date=timezone.now() - timedelta(days=3))
    client.force_login(viewer)
    with CaptureQueriesContext(connection) as queries:
        tabs = _tabs(client.get(LIST))
    # One query counts the other tabs; the page shown is counted by its own query, not again.
    (tab_counts,) = [q["sql"] for q in queries if q["sql"].upper().startswith("SELECT (SELECT COUNT(*)")]
    assert tab_counts.upper().count("COUNT(*)") == 3
    assert list(tabs)[:4] == ["All orders", "Awaiting review", "Needs attention", "Shipped today"]
    assert [tabs[name].count for name in list(tabs)[:4]] == [2, 1, 0, 1]
    assert tabs["All orders"].active and not tabs["Awaiting review"].active
    assert tabs["Awaiting review"].url == "/orders/?state=awaiting_review"
    shipped = client.get(tabs["Shipped today"].url)
    assert [row.order.pk for row in shipped.context["rows"]] == [draft.pk]
    assert _tabs(shipped)["Shipped today"].active


@pytest.mark.django_db
def test_needs_attention_tab_follows_the_latest_message_of_any_destination(client, viewer, make_order):
    from tests.test_views_order_list import fail, submitted

    failing, fixed = submitted(make_order), submitted(make_order)
    submitted(make_order)  # all well: not listed
    fail(failing, "tulaerp")
    fail(fixed, "cimcloud")
    services.outbox_retry_now(actor=Actor.system("t"), message_id=fixed.outbox_messages.get(destination="cimcloud").pk)
    client.force_login(viewer)
    response = client.get(LIST, {"attention": "1"})
    assert [row.order.pk for row in response.context["rows"]] == [failing.pk]
    assert _tabs(response)["Needs attention"].count == 1 and _tabs(response)["Needs attention"].active


@pytest.mark.django_db
def test_saving_the_current_query_makes_a_tab_that_reopens_it(client, operator, make_order):
    new_order(make_order, customer=new_customer("Acme Supply"))
    new_order(make_order, customer=new_customer("Blue Ridge"))
    client.force_login(operator)
    response = client.post(
        "/orders/views/", {"name": "  Acme   drafts ", "query": "q=acme&state=draft&after=xyz&bogus=1"}, follow=True
    )
    assert response.redirect_chain == [("/orders/?q=acme&state=draft", 302)]
    saved = SavedView.objects.get()
    assert (saved.name, saved.query, saved.shared, saved.owner) == (
        "Acme drafts",
        "q=acme&state=draft",
        False,
        operator,
    )
    tab = _tabs(response)["Acme drafts"]
    assert tab.active and tab.count == 1 and tab.can_delete
    assert 'href="/orders/?q=acme&amp;state=draft"' in response.text


@pytest.mark.django_db
def test_personal_views_are_invisible_to_others_and_shared_ones_are_not(client, operator, operator2, admin_user):
    _save(operator, "Mine only", "state=draft")
    _save(operator, "For the team", "state=submitted", shared=True)
    for user in (operator2, admin_user):
        client.force_login(user)
        response = client.get(LIST)
        names = list(_tabs(response))
        assert "Mine only" not in names and "Mine only" not in response.text
        assert "For the team" in names
    client.force_login(operator)
    assert {"Mine only", "For the team"} <= set(_tabs(client.get(LIST)))


@pytest.mark.django_db
def test_only_the_owner_or_an_admin_deletes(client, operator, operator2, admin_user):
    personal = _save(operator, "Mine", "state=draft")
    shared = _save(operator, "Team", "state=submitted", shared=True)
    client.force_login(operator2)
    assert client.post(f"/orders/views/{personal.pk}/delete/").status_code == 404  # not even visible
    response = client.post(f"/orders/views/{shared.pk}/delete/", follow=True)
    assert "Only its owner or an admin" in response.text
    assert not _tabs(response)["Team"].can_delete
    client.force_login(admin_user)
    assert client.post(f"/orders/views/{personal.pk}/delete/").status_code == 404
    client.post(f"/orders/views/{shared.pk}/delete/")
    client.force_login(operator)
    assert client.post(f"/orders/views/{personal.pk}/delete/", follow=True).status_code == 200
    assert not SavedView.objects.exists()


@pytest.mark.django_db
def test_viewers_save_personal_views_but_do_not_share(viewer):
    assert _save(viewer, "My look", "q=acme").shared is False
    with pytest.raises(NotAllowed):
        _save(viewer, "Everyone look", "q=acme", shared=True)


@pytest.mark.django_db
def test_names_are_required_and_unique_per_owner_ignoring_case(client, operator, operator2):
    _save(operator, "Rush")
    with pytest.raises(InvalidInput) as error:
        _save(operator, "rush")
    assert list(error.value.field_errors) == ["name"]
    assert _save(operator2, "RUSH").name == "RUSH"  # another owner may use it
    client.force_login(operator)
    response = client.post("/orders/views/", {"name": "", "query": "q=x"}, follow=True)
    assert response.redirect_chain == [("/orders/?q=x", 302)] and "The view was not saved" in response.text
    response = client.post("/orders/views/", {"name": "RUSH", "query": ""}, follow=True)
    assert "already have a view with that name" in response.text
    assert SavedView.objects.count() == 2


@pytest.mark.django_db
def test_service_refuses_deleting_a_foreign_personal_view(operator, operator2):
    personal = _save(operator, "Mine")
    with pytest.raises(SavedView.DoesNotExist):
        saved_view_delete(actor=Actor(user=operator2), view_id=personal.pk)
    assert SavedView.objects.filter(pk=personal.pk).exists()


@pytest.mark.django_db
def test_tab_counts_are_capped(client, viewer, make_order, monkeypatch):
    for _ in range(4):
        make_order()
    monkeypatch.setattr(view, "TAB_COUNT_CAP", 3)
    client.force_login(viewer)
    response = client.get(LIST)
    tab = _tabs(response)["All orders"]
    assert tab.count == 4 and tab.count_is_capped  # counted to cap + 1, no further
    assert '<span class="tab-count">3+</span>' in response.text


@pytest.mark.django_db
def test_list_budget_is_constant_with_saved_view_tabs_and_pinned_notes(
    client, operator, operator2, make_order, django_assert_num_queries
):
    orders = [new_order(make_order) for _ in range(3)]
    client.force_login(operator)
    # session, user, permissions (2), page with its count, sync states, packages, pinned notes, saved views, every
    # tab's count (one query), layout banner (2)
    with django_assert_num_queries(12):
        client.get(LIST)
    for index in range(8):
        _save(operator if index % 2 else operator2, f"View {index}", "q=D-&sort=total", shared=True)
        _save(operator, f"Personal {index}", "state=draft")
    for order in orders + [new_order(make_order) for _ in range(5)]:
        for text in ("Fragile", "Call first"):
            note_add(actor=Actor(user=operator), order_id=order.pk, text=text, pinned=True)
    with django_assert_num_queries(12):
        response = client.get(LIST)
    assert len(response.context["tabs"]) == 4 + 16
    assert response.text.count('class="pin"') == 8
