"""Role checks for views: forbidden actions answer 403 (never a redirect to the login page)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from orders.roles import can_administer, can_operate, role_of


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
    """Every page needs a login, and the dashboard's pages a role too (a signed-in user in no group sees
    nothing). An htmx request without a session gets HX-Redirect to the login page, so the login form is never
    swapped into a table cell; the page it came from is where the user returns."""

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        response = super().process_view(request, view_func, view_args, view_kwargs)
        if response is None and request.resolver_match.app_name == "orders" and role_of(request.user) is None:
            raise PermissionDenied("Your account has no role yet: ask an admin to give you one.")
        return response

    def handle_no_permission(self, request: HttpRequest, view_func) -> HttpResponse:
        if getattr(request, "htmx", False):
            back = request.htmx.current_url_abs_path or "/"
            return HttpResponseClientRedirect(
                f"{resolve_url(self.get_login_url(view_func))}?{urlencode({'next': back})}"
            )
        return super().handle_no_permission(request, view_func)


# The page regions that ask for themselves on a timer (hx-trigger="every …"); htmx names the element in HX-Trigger.
POLLING_REGIONS = frozenset({"home-overview", "outbox-live", "sync-poll", "sync-badges"})


SEEN_KEY = "_activity_at"
ACTIVITY_RESOLUTION_SECONDS = 60  # the expiry moves on at most once a minute: not one session write per request


class SessionActivityMiddleware:
    """Sign-out after SESSION_COOKIE_AGE of inactivity: a request a person makes saves the session (at most once a
    minute), which moves its expiry on; a page polling by itself does not, so a monitor left open still signs out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not is_polling(request):
            now = int(time.time())
            if now - request.session.get(SEEN_KEY, 0) >= ACTIVITY_RESOLUTION_SECONDS:
                request.session[SEEN_KEY] = now  # SessionMiddleware (outside) saves it with a fresh expiry
        return response


def mark_signed_in(sender, request: HttpRequest, user, **kwargs) -> None:
    """Signing in is activity (connected to user_logged_in in apps.py)."""
    request.session[SEEN_KEY] = int(time.time())


def is_polling(request: HttpRequest) -> bool:
    return request.method == "GET" and bool(request.htmx) and request.htmx.trigger in POLLING_REGIONS
