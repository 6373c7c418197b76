"""Changes that concern no order (those are OrderEvents): tokens, users and roles, destinations, customers and
the catalogue. Written by the service that made the change, inside its transaction; never edited."""

from __future__ import annotations

from django.db import models

from orders.models.events import ActorRecord


class AuditKind(models.TextChoices):
    TOKEN_CREATED = "token_created", "API token created"
    TOKEN_REVOKED = "token_revoked", "API token revoked"
    USER_CREATED = "user_created", "User created"
    USER_CHANGED = "user_changed", "User changed"
    ROLES_CHANGED = "roles_changed", "Roles changed"
    USER_UNLOCKED = "user_unlocked", "Sign-in unlocked"
    DESTINATION_PAUSED = "destination_paused", "Destination paused"
    DESTINATION_RESUMED = "destination_resumed", "Destination resumed"
    CUSTOMER_CREATED = "customer_created", "Customer created"
    CUSTOMER_CHANGED = "customer_changed", "Customer changed"
    CREDIT_HOLD_CHANGED = "credit_hold_changed", "Credit hold changed"
    CATALOG_ITEM_CREATED = "catalog_item_created", "Catalogue item created"
    CATALOG_ITEM_CHANGED = "catalog_item_changed", "Catalogue item changed"


class AuditEntry(ActorRecord):
    kind = models.CharField(max_length=30, choices=AuditKind.choices)
    # What changed, as "customer 42" / "user 7" / "destination cimcloud": the row may be gone later, the entry stays.
    target_type = models.CharField(max_length=30)
    target_id = models.CharField(max_length=100)
    target_label = models.CharField(max_length=200, blank=True)  # its name then: "C100 Northwind Traders"

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["created_at", "id"], name="audit_time_idx"),
            models.Index(fields=["target_type", "target_id", "created_at"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target_label or self.target_id} ({self.created_at:%Y-%m-%d %H:%M})"
