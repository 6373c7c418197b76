"""Per-token rate limits. The counts live in the default cache (Redis when REDIS_URL is set, so all web processes
share them); a 429 carries `Retry-After` (api_exception_handler)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from orders.models import ApiToken

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "600/minute" → (600, 60): DRF's notation (only the period's first letter counts)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[0].lower()]


class TokenRateThrottle(BaseThrottle):
    """Reads and writes have separate budgets (settings.API_THROTTLE_RATES, DRF's "N/second|minute|hour|day"),
    counted per bearer token, so two tools of one user do not starve each other; a browser session counts per
    user.

    A fixed window per token: one counter that the cache increments (atomic INCR on Redis) and expires with the
    window. That is O(1) per request, unlike DRF's SimpleRateThrottle, which stores and rewrites a list of every
    request time in the window. A client may burst up to twice the rate across a window boundary.
    """

    def allow_request(self, request: Request, view: Any) -> bool:
        scope = "read" if request.method in SAFE_METHODS else "write"
        limit, duration = parse_rate(settings.API_THROTTLE_RATES[scope])
        now = time.time()
        window = int(now // duration)
        key = f"api-throttle:{scope}:{self._ident(request)}:{window}"
        cache.add(key, 0, timeout=duration + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: this request opens the window
            cache.add(key, 1, timeout=duration + 1)
            count = 1
        self._wait = (window + 1) * duration - now
        return count <= limit

    def wait(self) -> float:
        return self._wait

    def _ident(self, request: Request) -> str:
        if isinstance(request.auth, ApiToken):
            return f"token-{request.auth.pk}"
        if request.user is not None and request.user.is_authenticated:
            return f"user-{request.user.pk}"
        return f"ip-{self.get_ident(request)}"
