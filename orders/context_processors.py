from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from orders.roles import can_administer, can_operate, role_of
from orders.selectors import layout_alerts


def dashboard(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    return {
        "app_version": settings.VERSION,
        "user_role": role_of(user) if signed_in else None,
        "can_operate": signed_in and can_operate(user),
        "can_administer": signed_in and can_administer(user),
        # Lazy: only pages that render the banner pay its two queries.
        "layout_alerts": (lambda: layout_alerts()) if signed_in else list,
    }
