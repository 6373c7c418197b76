from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from orders.models.choices import Channel, EventKind
from orders.models.orders import Order


class ActorRecord(models.Model):
    """Who made a change, how it reached us, and what it was: shared by order events and audit entries."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=100, blank=True)  # "worker 4711", "seed_demo" when no user
    channel = models.CharField(max_length=10, choices=Channel.choices)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)  # field diff {"field": [old, new]} or small facts
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    @property
    def actor_name(self) -> str:
        return self.actor.get_username() if self.actor_id else (self.actor_label or self.get_channel_display())


class OrderEvent(ActorRecord):
    """The order's timeline and its audit trail: one row per change, written by the service that made it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=EventKind.choices)

    class Meta:
        ordering = ["order", "created_at", "id"]
        indexes = [
            models.Index(fields=["order", "created_at", "id"], name="event_order_time_idx"),
            models.Index(fields=["created_at", "id"], name="event_time_idx"),  # the home page's recent activity
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class ExternalToken(models.Model):
    """A bearer token of an external API, shared by every worker so a restart does not spend rate-limit budget."""

    destination = models.CharField(max_length=20, unique=True)
    token = models.TextField()
    expires_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.destination} token until {self.expires_at:%Y-%m-%d %H:%M}"
