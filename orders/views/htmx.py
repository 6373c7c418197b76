"""What every screen's views share: the one rule for which requests get a template partial instead of the whole
page, and how a domain error lands on the form that caused it."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse

from orders.errors import DomainError


def wants_partial(request: HttpRequest) -> bool:
    """htmx asked for a region. A boosted request or a history restore (Back after htmx dropped its cache)
    needs the whole page, whatever HX-Target says."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    # Same URL, two bodies: the browser's cache must not hand the fragment back as the page.
    response["Vary"] = ", ".join(filter(None, [response.get("Vary"), "HX-Request", "HX-History-Restore-Request"]))
    return response


def add_domain_errors(form: forms.Form, exc: DomainError) -> None:
    """A service's refusal shown on the form: each field error on its field (or the form, for a field it lacks),
    else the message."""
    for field, errors in exc.field_errors.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
    if not exc.field_errors:
        form.add_error(None, exc.message)
