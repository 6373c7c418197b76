"""Saving the order list's current search and filters as a named tab, and deleting one. Plain form posts (the
tabs are links): they work without JavaScript, and a full page load shows the tabs with their new counts."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from orders import services
from orders.errors import DomainError
from orders.models import SavedView
from orders.services import Actor
from orders.views.order_list import LIST_PATH, OrderListForm


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=SavedView._meta.get_field("name").max_length)
    query = forms.CharField(required=False, max_length=SavedView._meta.get_field("query").max_length)
    shared = forms.BooleanField(required=False)


def _list_url(query: str) -> str:
    return f"{LIST_PATH}?{query}" if query else LIST_PATH


@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    # Whatever the page sent, the view keeps only what the list understands, in its canonical spelling.
    query = urlencode(OrderListForm(QueryDict(request.POST.get("query", ""))).params())
    if not form.is_valid():
        problems = "; ".join(f"{form[name].label}: {' '.join(errors)}" for name, errors in form.errors.items())
        messages.error(request, f"The view was not saved. {problems}")
        return redirect(_list_url(query))
    try:
        view = services.saved_view_create(
            actor=Actor.from_request(request),
            name=form.cleaned_data["name"],
            query=query,
            shared=form.cleaned_data["shared"],
        )
    except DomainError as exc:
        details = " ".join(" ".join(errors) for errors in exc.field_errors.values())
        messages.error(request, f"The view was not saved: {exc.message} {details}".strip())
        return redirect(_list_url(query))
    messages.success(request, f"Saved “{view.name}”{' for everyone' if view.shared else ''}: it is a tab now.")
    return redirect(_list_url(view.query))


@require_POST
def saved_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    try:
        view = services.saved_view_delete(actor=Actor.from_request(request), view_id=view_id)
    except SavedView.DoesNotExist:
        raise Http404("No such saved view.") from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect(LIST_PATH)


urls = [
    path("orders/views/", saved_view_create, name="saved-view-create"),
    path("orders/views/<int:view_id>/delete/", saved_view_delete, name="saved-view-delete"),
]
