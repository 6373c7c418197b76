"""Staff notes on an order and saved order-list views (issue #9)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from orders.models.orders import Order
from orders.roles import can_administer

NOTE_EDIT_WINDOW = timedelta(minutes=15)
NOTE_MAX_LENGTH = 2000


class OrderNote(models.Model):
    """A staff note on an order. Its author may edit or delete it for NOTE_EDIT_WINDOW; after that it is permanent.

    On PostgreSQL, migration 0006 adds a trigram index on UPPER(text) (note_text_trgm_idx): that is the expression
    Django's `icontains` compares, so the order search's note branch can use it.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(max_length=NOTE_MAX_LENGTH)
    pinned = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "created_at", "id"]
        indexes = [
            models.Index(fields=["order", "created_at", "id"], name="note_order_time_idx"),
            models.Index(fields=["order", "created_at"], condition=Q(pinned=True), name="note_pinned_idx"),
        ]
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="note_text_not_empty")]

    def __str__(self) -> str:
        return f"Note on {self.order_id} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def author_name(self) -> str:
        return self.author.get_username() if self.author_id else "(former user)"

    @property
    def editable_until(self) -> datetime:
        return self.created_at + NOTE_EDIT_WINDOW

    def changeable_by(self, user: AbstractBaseUser | AnonymousUser | None, *, now: datetime | None = None) -> bool:
        """Only its author, and only within the edit window (the services enforce it; pages use it for buttons)."""
        if user is None or not user.is_authenticated or user.pk != self.author_id:
            return False
        return (now or timezone.now()) < self.editable_until


class SavedView(models.Model):
    """A named order-list query (search + filters + sort, as the list's canonical query string). Personal views are
    seen by their owner only; shared ones by everyone. Only the owner or an admin deletes one."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=1000, blank=True)  # "q=acme&state=submitted", no leading "?", no cursor
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint("owner", Lower("name"), name="saved_view_unique_name_per_owner"),
            models.CheckConstraint(condition=~Q(name=""), name="saved_view_name_not_empty"),
        ]
        indexes = [models.Index(fields=["shared"], condition=Q(shared=True), name="saved_view_shared_idx")]

    def __str__(self) -> str:
        return self.name

    def deletable_by(self, user: AbstractBaseUser | AnonymousUser | None) -> bool:
        """Its owner; for a shared view also an admin (the services enforce it; the list uses it for the button)."""
        if user is None or not user.is_authenticated:
            return False
        return self.owner_id == user.pk or (self.shared and can_administer(user))
