"""Role checks for views: forbidden actions answer 403 (never a redirect to the login page)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from orders.roles import can_administer, can_operate


def operator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_operate(request.user):
            raise PermissionDenied("Operators and admins only.")
        return view(request, *args, **kwargs)

    return wrapped


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_administer(request.user):
            raise PermissionDenied("Admins only.")
        return view(request, *args, **kwargs)

    return wrapped


class HtmxAwareLoginRequiredMiddleware(LoginRequiredMiddleware):
    """An htmx request without a session gets HX-Redirect to the login page, so the login form is never swapped
    into a table cell; the page it came from is where the user returns."""

    def handle_no_permission(self, request: HttpRequest, view_func) -> HttpResponse:
        if getattr(request, "htmx", False):
            back = request.htmx.current_url_abs_path or "/"
            return HttpResponseClientRedirect(
                f"{resolve_url(self.get_login_url(view_func))}?{urlencode({'next': back})}"
            )
        return super().handle_no_permission(request, view_func)
