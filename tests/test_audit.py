"""The audit of changes that concern no order: written by the service inside its transaction, with who and the
diff; listed in the admin beside the order events; editable by nobody."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import transaction

from orders import services
from orders.models import AuditEntry, AuditKind, CatalogItem, Customer
from orders.services import Actor
from orders.services.catalog import catalog_item_save
from orders.services.context import record_audit
from orders.services.tokens import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


def trail(**filters) -> list[tuple]:
    return [
        (e.kind, e.target_type, e.target_label, e.actor_name, e.channel, e.detail)
        for e in AuditEntry.objects.filter(**filters).order_by("id")
    ]


def test_tokens_created_and_revoked_are_audited_without_the_secret(admin_user, operator):
    actor = Actor(user=admin_user, channel="command", remote_addr="10.1.1.1")
    token, raw = api_token_create(actor=actor, user=operator, name="erp sync")
    api_token_revoke(actor=actor, token_id=token.pk)
    api_token_revoke(actor=actor, token_id=token.pk)  # again: nothing new happened, nothing new recorded
    label = f"{token.prefix}… of op1"
    detail = {"user": "op1", "name": "erp sync"}
    assert trail(target_type="api_token") == [
        (AuditKind.TOKEN_CREATED, "api_token", label, "boss", "command", detail),
        (AuditKind.TOKEN_REVOKED, "api_token", label, "boss", "command", detail),
    ]
    assert AuditEntry.objects.filter(remote_addr="10.1.1.1").count() == 2
    stored = " ".join(str(v) for e in AuditEntry.objects.all() for v in (e.message, e.detail, e.target_label))
    assert raw not in stored and token.key_hash not in stored


def test_destination_pause_and_resume_are_audited(admin_user):
    actor = Actor(user=admin_user)
    services.destination_pause(actor=actor, destination="tulaerp", reason="ERP upgrade")
    services.destination_resume(actor=actor, destination="tulaerp")
    assert [(e.kind, e.target_id, e.message) for e in AuditEntry.objects.order_by("id")] == [
        (AuditKind.DESTINATION_PAUSED, "tulaerp", "ERP upgrade"),
        (AuditKind.DESTINATION_RESUMED, "tulaerp", "was paused: ERP upgrade (by boss)"),
    ]


def test_customer_create_change_and_credit_hold(admin_user, customer):
    actor = Actor(user=admin_user)
    services.customer_update(actor=actor, customer_id=customer.pk, fields={"city": "Salem", "credit_hold": True})
    services.customer_update(actor=actor, customer_id=customer.pk, fields={"city": "Salem"})  # no change: no entry
    kinds = [(kind, detail) for kind, *_, detail in trail(target_type="customer")]
    assert kinds[0][0] == AuditKind.CUSTOMER_CREATED and kinds[0][1]["name"] == [None, "Northwind Traders"]
    assert kinds[1:] == [
        (AuditKind.CUSTOMER_CHANGED, {"city": ["Portland", "Salem"]}),
        (AuditKind.CREDIT_HOLD_CHANGED, {"credit_hold": [False, True]}),
    ]


def test_a_refused_change_leaves_no_entry(admin_user, customer):
    with pytest.raises(Exception, match="correct"):
        services.customer_update(actor=Actor(user=admin_user), customer_id=customer.pk, fields={"email": "nope"})
    assert trail(kind=AuditKind.CUSTOMER_CHANGED) == []


@pytest.mark.django_db(transaction=True)  # a real outermost transaction, not the test's wrapping one
def test_an_entry_is_written_only_inside_the_change_transaction(admin_user):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        record_audit(Actor(user=admin_user), AuditKind.USER_CHANGED, target_type="user", target_id=1)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        record_audit(Actor(user=admin_user), AuditKind.USER_CHANGED, target_type="user", target_id=1)
        raise ZeroDivisionError  # the change fails after the entry: both are rolled back
    assert not AuditEntry.objects.exists()


def test_catalogue_edits_are_audited_also_from_the_admin(client, admin_user):
    catalog_item_save(actor=Actor.system("seed"), sku="SKU-9", description="Bolt", default_price=Decimal("2.00"))
    item = CatalogItem.objects.get(sku="SKU-9")
    client.force_login(admin_user)
    response = client.post(
        f"/admin/orders/catalogitem/{item.pk}/change/",
        {"sku": "SKU-9", "description": "Hex bolt", "default_price": "2.50", "active": "on"},
    )
    assert response.status_code == 302
    assert trail(target_type="catalog_item") == [
        (
            AuditKind.CATALOG_ITEM_CREATED,
            "catalog_item",
            "SKU-9",
            "seed",
            "command",
            {
                "sku": [None, "SKU-9"],
                "description": [None, "Bolt"],
                "default_price": [None, "2.00"],
                "active": [None, True],
            },
        ),
        (
            AuditKind.CATALOG_ITEM_CHANGED,
            "catalog_item",
            "SKU-9",
            "boss",
            "admin",
            {"description": ["Bolt", "Hex bolt"], "default_price": ["2.00", "2.50"]},
        ),
    ]


def test_customer_edit_in_the_admin_goes_through_the_service(client, admin_user, customer):
    client.force_login(admin_user)
    form = {
        name: getattr(customer, name) or ""
        for name in ("customer_no", "name", "address1", "city", "state", "zip", "country_code", "email", "telephone")
    }
    management = {f"ship_tos-{k}": v for k, v in {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0}.items()}
    response = client.post(f"/admin/orders/customer/{customer.pk}/change/", {**form, "credit_hold": "on", **management})
    assert response.status_code == 302, response.text[:2000]
    assert Customer.objects.get(pk=customer.pk).credit_hold is True
    assert trail(kind=AuditKind.CREDIT_HOLD_CHANGED)[0][3:5] == ("boss", "admin")


def test_users_and_roles_changed_in_the_admin_are_audited(client, admin_user):
    client.force_login(admin_user)
    created = client.post(
        "/admin/auth/user/add/",
        {"username": "newbie", "password1": "a-long-pass-phrase-1", "password2": "a-long-pass-phrase-1"},
    )
    assert created.status_code == 302
    from django.contrib.auth import get_user_model

    newbie = get_user_model().objects.get(username="newbie")
    viewer_group = Group.objects.get(name="viewer")
    changed = client.post(
        f"/admin/auth/user/{newbie.pk}/change/",
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "is_active": "on",
            "groups": [viewer_group.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert changed.status_code == 302, changed.text[:3000]
    password = client.post(
        f"/admin/auth/user/{newbie.pk}/password/",
        {"password1": "another-long-phrase-2", "password2": "another-long-phrase-2", "usable_password": "true"},
    )
    assert password.status_code == 302
    entries = [(e.kind, e.message, e.detail) for e in AuditEntry.objects.filter(target_type="user").order_by("id")]
    assert entries[0][0] == AuditKind.USER_CREATED and entries[0][2]["username"] == [None, "newbie"]
    assert entries[1:] == [
        (AuditKind.USER_CHANGED, "email", {"email": ["", "newbie@example.com"]}),
        (AuditKind.ROLES_CHANGED, "roles none → viewer", {"roles": [[], ["viewer"]]}),
        (AuditKind.USER_CHANGED, "password set", {}),
    ]
    stored = " ".join(str(e.detail) + e.message for e in AuditEntry.objects.all())
    assert "another-long-phrase-2" not in stored and newbie.password not in stored


def test_the_admin_lists_the_audit_and_the_order_events_and_nobody_edits_them(client, admin_user, make_order):
    order = make_order(admin_user)
    services.destination_pause(actor=Actor(user=admin_user), destination="cimcloud", reason="maintenance")
    entry = AuditEntry.objects.get(kind=AuditKind.DESTINATION_PAUSED)
    client.force_login(admin_user)
    audit = client.get("/admin/orders/auditentry/")
    assert audit.status_code == 200 and "Destination paused" in audit.text and "maintenance" in audit.text
    events = client.get("/admin/orders/orderevent/")
    assert events.status_code == 200 and order.order_number in events.text
    detail = client.get(f"/admin/orders/auditentry/{entry.pk}/change/")
    assert detail.status_code == 200 and 'type="submit"' not in detail.text.split('id="content-main"')[1]
    assert client.post(f"/admin/orders/auditentry/{entry.pk}/change/", {"message": "x"}).status_code == 403
    assert client.post(f"/admin/orders/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/orders/auditentry/add/").status_code == 403
    entry.refresh_from_db()
    assert entry.message == "maintenance"
