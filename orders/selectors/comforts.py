"""Reads of staff notes and saved order-list views. Reads never open transactions."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q, QuerySet

from orders.models import OrderNote, SavedView

SAVED_VIEW_TABS = 20  # the most saved views shown as tabs (their counts are one query, but each is a capped count)
PINNED_PER_ROW = 3  # pinned notes shown on a list row's icon; older ones stay on the order page


def _notes() -> QuerySet[OrderNote]:
    return OrderNote.objects.select_related("author").annotate(order_number=F("order__order_number"))


def order_notes(*, order_id: int) -> list[OrderNote]:
    """An order's notes with their authors and `order_number`, oldest first: one query."""
    return list(_notes().filter(order_id=order_id).order_by("created_at", "id"))


def order_note(*, note_id: int) -> OrderNote:
    """One note as `order_notes` gives it. Raises OrderNote.DoesNotExist."""
    return _notes().get(pk=note_id)


def note_for_action(*, note_id: int) -> OrderNote:
    """A note and its order's number (to go back to it). Raises OrderNote.DoesNotExist."""
    return OrderNote.objects.select_related("order").only("id", "order__order_number").get(pk=note_id)


def pinned_notes(*, order_ids: list[int]) -> dict[int, list[str]]:
    """The texts of the given orders' pinned notes, newest first, at most PINNED_PER_ROW each: one query."""
    texts: dict[int, list[str]] = {}
    rows = (
        OrderNote.objects.filter(order_id__in=order_ids, pinned=True)
        .order_by("order_id", "-created_at", "-id")
        .values_list("order_id", "text")
    )
    for order_id, text in rows:
        per_order = texts.setdefault(order_id, [])
        if len(per_order) < PINNED_PER_ROW:
            per_order.append(text)
    return texts


def saved_views_visible(*, user: AbstractBaseUser) -> QuerySet[SavedView]:
    """The user's own views and everyone's shared ones, by name: what the list shows as tabs."""
    return SavedView.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner").order_by("name", "id")


def saved_view_visible(*, user: AbstractBaseUser, view_id: int) -> SavedView | None:
    return saved_views_visible(user=user).filter(pk=view_id).first()
