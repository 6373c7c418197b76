from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


class CatalogItem(models.Model):
    """The small item catalogue the order form suggests SKUs from; edited in the admin."""

    sku = models.CharField(max_length=60)
    description = models.CharField(max_length=200)
    default_price = models.DecimalField(
        max_digits=13, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(0)]
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(Lower("sku"), name="catalog_sku_unique_ci"),
            models.CheckConstraint(condition=Q(default_price__gte=0), name="catalog_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} — {self.description}"
