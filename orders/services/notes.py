"""Staff notes on an order. Operators and admins write them; the author alone edits or deletes a note, and only
within NOTE_EDIT_WINDOW of writing it: after that it is part of the order's record."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from orders.errors import InvalidInput, NotAllowed
from orders.models import NOTE_MAX_LENGTH, Order, OrderNote
from orders.roles import can_operate
from orders.services.context import Actor


def note_add(*, actor: Actor, order_id: int, text: str, pinned: bool = False) -> OrderNote:
    _require_operator(actor)
    text = _clean_text(text)
    with transaction.atomic(durable=True):
        order = Order.objects.only("id").get(pk=order_id)  # raises Order.DoesNotExist
        return OrderNote.objects.create(order=order, author=actor.user, text=text, pinned=pinned)


def note_edit(*, actor: Actor, note_id: int, text: str, pinned: bool) -> OrderNote:
    _require_operator(actor)
    text = _clean_text(text)
    with transaction.atomic(durable=True):
        note = _locked_changeable(actor, note_id)
        note.text, note.pinned, note.edited_at = text, pinned, timezone.now()
        note.save(update_fields=["text", "pinned", "edited_at"])
    return note


def note_delete(*, actor: Actor, note_id: int) -> OrderNote:
    """Remove a note its author wrote less than NOTE_EDIT_WINDOW ago (a slip, not a record yet)."""
    _require_operator(actor)
    with transaction.atomic(durable=True):
        note = _locked_changeable(actor, note_id)
        note.delete()
    return note


def _locked_changeable(actor: Actor, note_id: int) -> OrderNote:
    note = OrderNote.objects.select_for_update().get(pk=note_id)  # raises OrderNote.DoesNotExist
    if note.author_id is None or actor.user is None or note.author_id != actor.user.pk:
        raise NotAllowed("Only the author of a note can change or delete it.")
    if not note.changeable_by(actor.user, now=timezone.now()):
        raise NotAllowed("This note is permanent: notes can be changed or deleted for 15 minutes after writing.")
    return note


def _require_operator(actor: Actor) -> None:
    if actor.user is None or not can_operate(actor.user):
        raise NotAllowed("Only operators and admins write notes.")


def _clean_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Write the note first.", field_errors={"text": ["A note cannot be empty."]})
    if len(text) > NOTE_MAX_LENGTH:
        raise InvalidInput(
            "The note is too long.", field_errors={"text": [f"Use at most {NOTE_MAX_LENGTH} characters."]}
        )
    return text
