"""Saved order-list views: a name for a list query, personal or shared. The owner or an admin deletes one."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from orders.errors import InvalidInput, NotAllowed
from orders.models import SavedView
from orders.roles import can_operate
from orders.services.context import Actor

NAME_MAX_LENGTH = SavedView._meta.get_field("name").max_length
QUERY_MAX_LENGTH = SavedView._meta.get_field("query").max_length


def saved_view_create(*, actor: Actor, name: str, query: str, shared: bool = False) -> SavedView:
    """`query` is the list's canonical query string (the caller builds it from the list form)."""
    if actor.user is None:
        raise NotAllowed("A saved view needs a signed-in owner.")
    if shared and not can_operate(actor.user):
        raise NotAllowed("Viewers save personal views; sharing with everyone needs an operator or admin.")
    name = " ".join((name or "").split())
    query = (query or "").lstrip("?")
    if not name:
        raise InvalidInput("Name the view.", field_errors={"name": ["A name is required."]})
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(
            "The name is too long.", field_errors={"name": [f"Use at most {NAME_MAX_LENGTH} characters."]}
        )
    if len(query) > QUERY_MAX_LENGTH:
        raise InvalidInput("This search is too long to save.", field_errors={"query": ["Shorten the search."]})
    taken = SavedView.objects.alias(key=Lower("name")).filter(owner=actor.user, key=name.lower())
    if taken.exists():
        raise InvalidInput("You already have a view with that name.", field_errors={"name": ["Choose another name."]})
    try:
        with transaction.atomic(durable=True):
            return SavedView.objects.create(owner=actor.user, name=name, query=query, shared=shared)
    except IntegrityError:  # the same name saved at the same moment from another tab
        raise InvalidInput(
            "You already have a view with that name.", field_errors={"name": ["Choose another name."]}
        ) from None


def saved_view_delete(*, actor: Actor, view_id: int) -> SavedView:
    with transaction.atomic(durable=True):
        view = SavedView.objects.select_for_update().get(pk=view_id)  # raises SavedView.DoesNotExist
        if not view.deletable_by(actor.user):
            if not view.shared:  # someone else's personal view does not exist for this actor
                raise SavedView.DoesNotExist("No such view.")
            raise NotAllowed("Only its owner or an admin can delete a shared view.")
        view.delete()
    return view
