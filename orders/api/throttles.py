"""Per-token rate limits. The counts live in the default cache (Redis when REDIS_URL is set, so all web processes
share them); a 429 carries `Retry-After` (api_exception_handler)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from orders.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """Reads and writes have separate budgets (settings.API_THROTTLE_RATES), counted per bearer token, so two
    tools of one user do not starve each other; a browser session counts per user."""

    def __init__(self) -> None:
        # The rate depends on the request's method and is read per request, so a test setting applies at once.
        pass

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = "read" if request.method in SAFE_METHODS else "write"
        self.rate = settings.API_THROTTLE_RATES[self.scope]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return f"api-throttle:{self.scope}:{ident}"
