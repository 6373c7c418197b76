from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from orders.errors import InvalidInput
from orders.models import AuditKind, Customer, CustomerShipTo
from orders.services.context import Actor, field_diff, record_audit

_SYSTEM = {"id", "created_at", "updated_at"}
CUSTOMER_FIELDS = frozenset(f.name for f in Customer._meta.concrete_fields if f.name not in _SYSTEM)


def customer_create(*, actor: Actor, fields: Mapping[str, Any]) -> Customer:
    customer = Customer()
    _assign(customer, fields)
    _clean(customer)
    with transaction.atomic(durable=True):
        customer.save(force_insert=True)
        _audit_saved(actor, customer, before=None)
    return customer


def customer_update(*, actor: Actor, customer_id: int, fields: Mapping[str, Any]) -> Customer:
    """Change a customer. Orders keep the snapshot they were placed with; only new orders see the change.
    Every change is audited; a credit-hold change gets an entry of its own (who placed or lifted it)."""
    # Not durable: the admin's change form runs this inside its own transaction.
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        before = _values(customer)
        _assign(customer, fields)
        _clean(customer)
        customer.save()
        _audit_saved(actor, customer, before=before)
    return customer


def _values(customer: Customer) -> dict[str, Any]:
    return {name: getattr(customer, name) for name in CUSTOMER_FIELDS}


def _audit_saved(actor: Actor, customer: Customer, *, before: dict[str, Any] | None) -> None:
    label = f"{customer.customer_no} {customer.name}".strip()
    diff = field_diff(before or {}, _values(customer))
    hold = diff.pop("credit_hold", None)
    target = {"target_type": "customer", "target_id": customer.pk, "target_label": label}
    if before is None:
        record_audit(actor, AuditKind.CUSTOMER_CREATED, **target, detail=diff)
    elif diff:
        record_audit(actor, AuditKind.CUSTOMER_CHANGED, **target, message=", ".join(sorted(diff)), detail=diff)
    if hold is not None and (before is not None or customer.credit_hold):
        word = "placed" if customer.credit_hold else "lifted"
        record_audit(
            actor, AuditKind.CREDIT_HOLD_CHANGED, **target, message=f"credit hold {word}", detail={"credit_hold": hold}
        )


def _assign(customer: Customer, fields: Mapping[str, Any]) -> None:
    unknown = set(fields) - CUSTOMER_FIELDS
    if unknown:
        raise InvalidInput("Unknown customer fields.", field_errors={k: ["Unknown field."] for k in sorted(unknown)})
    for name, value in fields.items():
        setattr(customer, name, value)


def _clean(customer: Customer) -> None:
    try:
        customer.full_clean()
    except ValidationError as exc:
        raise InvalidInput("Please correct the marked fields.", field_errors=exc.message_dict) from None


def customer_ship_to_save(*, actor: Actor, customer_id: int, code: str, fields: Mapping[str, Any]) -> CustomerShipTo:
    """Create or replace the customer's saved ship-to with this `code`."""
    with transaction.atomic(durable=True):
        ship_to = CustomerShipTo.objects.filter(customer_id=customer_id, code=code).first() or CustomerShipTo(
            customer_id=customer_id, code=code
        )
        for name, value in fields.items():
            setattr(ship_to, name, value)
        try:
            ship_to.full_clean()
        except ValidationError as exc:
            raise InvalidInput("Please correct the marked fields.", field_errors=exc.message_dict) from None
        created = ship_to.pk is None
        ship_to.save()
        record_audit(
            actor,
            AuditKind.CUSTOMER_CHANGED,
            target_type="customer",
            target_id=customer_id,
            target_label=ship_to.customer.customer_no,
            message=f"ship-to {code} {'added' if created else 'replaced'}",
            detail={"ship_to": code},
        )
    return ship_to


def upsert_customer_master(*, actor: Actor, customer: Customer | None, values: Mapping[str, Any]) -> Customer:
    """CIMcloud's `update_master`: the customer block of an order becomes our customer record.
    Runs inside the caller's transaction (the import)."""
    # A credit hold is ours to set (staff, audited): an inbound order may start one for a new customer but never
    # lifts or sets it on a customer we already have.
    keep = CUSTOMER_FIELDS - ({"credit_hold"} if customer is not None else set())
    before = None if customer is None else _values(customer)
    customer = customer or Customer()
    _assign(customer, {k: v for k, v in values.items() if k in keep})
    _clean(customer)
    customer.save()
    _audit_saved(actor, customer, before=before)
    return customer
