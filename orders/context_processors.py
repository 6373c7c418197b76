from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from orders.roles import role_of


def dashboard(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    return {"app_version": settings.VERSION, "user_role": role_of(user) if user is not None else None}
