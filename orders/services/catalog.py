from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models.functions import Lower

from orders.models import AuditKind, CatalogItem
from orders.services.context import Actor, field_diff, record_audit

_AUDITED = ("sku", "description", "default_price", "active")


def catalog_item_save(
    *, actor: Actor, sku: str, description: str, default_price: Decimal, active: bool = True
) -> CatalogItem:
    """Create or update the catalogue entry for `sku` (matched case-insensitively); audited."""
    # Not durable: the admin's change form runs this inside its own transaction.
    with transaction.atomic():
        item = CatalogItem.objects.alias(key=Lower("sku")).filter(key=sku.strip().lower()).first() or CatalogItem()
        created = item.pk is None
        before = {name: getattr(item, name) for name in _AUDITED}
        item.sku, item.description, item.default_price, item.active = sku.strip(), description, default_price, active
        item.full_clean(validate_constraints=False)
        item.save()
        diff = field_diff({} if created else before, {name: getattr(item, name) for name in _AUDITED})
        if created or diff:
            record_audit(
                actor,
                AuditKind.CATALOG_ITEM_CREATED if created else AuditKind.CATALOG_ITEM_CHANGED,
                target_type="catalog_item",
                target_id=item.pk,
                target_label=item.sku,
                message=", ".join(sorted(diff)),
                detail=diff,
            )
    return item
