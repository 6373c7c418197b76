"""Staff notes on the order page: add, edit and delete (own notes, for 15 minutes), in place with htmx and as
plain form posts without JavaScript. The services decide who may change what; these views map their answers."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from orders import selectors, services
from orders.errors import DomainError, InvalidInput
from orders.models import Order, OrderNote
from orders.services import Actor
from orders.views.auth import operator_required
from orders.views.htmx import add_domain_errors, wants_partial
from orders.views.order_detail import TEMPLATE, NoteForm, detail_context

NOTE_FORM_PREFIX = "edit"  # an edit form's fields are "edit-<id>-text": one page holds several


@operator_required
@require_POST
def note_add(request: HttpRequest, number: str) -> HttpResponse:
    order = _order(number)
    form = NoteForm(request.POST)
    return _save(request, order, form, partial(services.note_add, order_id=order.pk), "Note added.", note_form=form)


@operator_required
@require_POST
def note_edit(request: HttpRequest, number: str, note_id: int) -> HttpResponse:
    order, note = _order(number), _note(number, note_id)
    form = NoteForm(request.POST, prefix=f"{NOTE_FORM_PREFIX}-{note.pk}")
    save = partial(services.note_edit, note_id=note.pk)
    return _save(request, order, form, save, "Note saved.", edit_form=form, edit_id=note.pk)


@operator_required
@require_POST
def note_delete(request: HttpRequest, number: str, note_id: int) -> HttpResponse:
    order, note = _order(number), _note(number, note_id)
    try:
        services.note_delete(actor=Actor.from_request(request), note_id=note.pk)
    except DomainError as exc:
        return _done(request, order, exc.message, error=True)
    return _done(request, order, "Note deleted.")


def _order(number: str) -> Order:
    try:
        return selectors.order_for_action(number=number)
    except Order.DoesNotExist:
        raise Http404(f"No order {number}.") from None


def _note(number: str, note_id: int) -> OrderNote:
    try:
        note = selectors.note_for_action(note_id=note_id)
    except OrderNote.DoesNotExist:
        raise Http404("No such note.") from None
    if note.order.order_number.lower() != number.strip().lower():
        raise Http404("No such note on this order.")
    return note


def _save(
    request: HttpRequest,
    order: Order,
    form: NoteForm,
    save: Callable[..., OrderNote],
    success: str,
    **again: Any,
) -> HttpResponse:
    """Bind the form and call the service. Bad input stays on the form with what was typed; any other refusal
    (not the author, too late) is the outcome shown."""
    if form.is_valid():
        fields = {"text": form.cleaned_data["text"], "pinned": form.cleaned_data["pinned"]}
        try:
            save(actor=Actor.from_request(request), **fields)
        except InvalidInput as exc:
            add_domain_errors(form, exc)
        except DomainError as exc:
            return _done(request, order, exc.message, error=True)
        else:
            return _done(request, order, success)
    return _render(request, order, **again)


def _done(request: HttpRequest, order: Order, text: str, *, error: bool = False) -> HttpResponse:
    """htmx: the notes and timeline again with the outcome in them. Without JavaScript: back to the page."""
    if wants_partial(request):
        return _render(request, order, note_status=text, note_error=error)
    (messages.error if error else messages.success)(request, text)
    return redirect("orders:order-detail", number=order.order_number)


def _render(request: HttpRequest, order: Order, **extra) -> HttpResponse:
    """The notes and timeline (htmx) or the whole page, with a bound form's errors and what was typed kept."""
    detail = selectors.order_detail(number=order.order_number)
    template = f"{TEMPLATE}#notes" if wants_partial(request) else TEMPLATE
    return render(request, template, detail_context(request, detail, **extra))


urls = [
    path("orders/<ordernumber:number>/notes/", note_add, name="order-note-add"),
    path("orders/<ordernumber:number>/notes/<int:note_id>/edit/", note_edit, name="order-note-edit"),
    path("orders/<ordernumber:number>/notes/<int:note_id>/delete/", note_delete, name="order-note-delete"),
]
