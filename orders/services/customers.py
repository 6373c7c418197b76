from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from orders.errors import InvalidInput
from orders.models import Customer, CustomerShipTo
from orders.services.context import Actor

_SYSTEM = {"id", "created_at", "updated_at"}
CUSTOMER_FIELDS = frozenset(f.name for f in Customer._meta.concrete_fields if f.name not in _SYSTEM)


def customer_create(*, actor: Actor, fields: Mapping[str, Any]) -> Customer:
    customer = Customer()
    return _save(customer, fields, create=True)


def customer_update(*, actor: Actor, customer_id: int, fields: Mapping[str, Any]) -> Customer:
    """Change a customer. Orders keep the snapshot they were placed with; only new orders see the change."""
    with transaction.atomic(durable=True):
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        _assign(customer, fields)
        _clean(customer)
        customer.save()
    return customer


def _save(customer: Customer, fields: Mapping[str, Any], *, create: bool) -> Customer:
    _assign(customer, fields)
    _clean(customer)
    with transaction.atomic(durable=True):
        customer.save(force_insert=create)
    return customer


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
        ship_to.save()
    return ship_to


def upsert_customer_master(*, customer: Customer | None, values: Mapping[str, Any]) -> Customer:
    """CIMcloud's `update_master`: the customer block of an order becomes our customer record.
    Runs inside the caller's transaction (the import)."""
    # A credit hold is ours to set (staff, audited): an inbound order may start one for a new customer but never
    # lifts or sets it on a customer we already have.
    keep = CUSTOMER_FIELDS - ({"credit_hold"} if customer is not None else set())
    customer = customer or Customer()
    _assign(customer, {k: v for k, v in values.items() if k in keep})
    _clean(customer)
    customer.save()
    return customer
