"""The one rule for which requests get a template partial instead of the whole page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def wants_partial(request: HttpRequest) -> bool:
    """htmx asked for a region. A boosted request or a history restore (Back after htmx dropped its cache)
    needs the whole page, whatever HX-Target says."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    # Same URL, two bodies: the browser's cache must not hand the fragment back as the page.
    response["Vary"] = ", ".join(filter(None, [response.get("Vary"), "HX-Request", "HX-History-Restore-Request"]))
    return response
