"""Changes that concern no order (those are OrderEvents): tokens, users and roles, destinations, customers and
the catalogue. Written by the service that made the change, inside its transaction; never edited."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from orders.models.choices import Channel


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


class AuditEntry(models.Model):
    kind = models.CharField(max_length=30, choices=AuditKind.choices)
    # What changed, as "customer 42" / "user 7" / "destination cimcloud": the row may be gone later, the entry stays.
    target_type = models.CharField(max_length=30)
    target_id = models.CharField(max_length=100)
    target_label = models.CharField(max_length=200, blank=True)  # its name then: "C100 Northwind Traders"
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)  # field diff {"field": [old, new]} or small facts
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["created_at", "id"], name="audit_time_idx"),
            models.Index(fields=["target_type", "target_id", "created_at"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target_label or self.target_id} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def actor_name(self) -> str:
        return self.actor.get_username() if self.actor_id else (self.actor_label or self.get_channel_display())
