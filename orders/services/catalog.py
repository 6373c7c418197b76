from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models.functions import Lower

from orders.models import CatalogItem
from orders.services.context import Actor


def catalog_item_save(
    *, actor: Actor, sku: str, description: str, default_price: Decimal, active: bool = True
) -> CatalogItem:
    """Create or update the catalogue entry for `sku` (matched case-insensitively)."""
    with transaction.atomic(durable=True):
        item = CatalogItem.objects.alias(key=Lower("sku")).filter(key=sku.strip().lower()).first() or CatalogItem()
        item.sku, item.description, item.default_price, item.active = sku.strip(), description, default_price, active
        item.full_clean(validate_constraints=False)
        item.save()
    return item
