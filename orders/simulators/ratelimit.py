"""CIMcloud's documented rate limits: fixed windows per credential, a 1-second and a 15-minute bucket."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from orders.simulators.base import Headers, fmt_seconds


@dataclass
class _Window:
    start: float = float("-inf")
    count: int = 0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: Headers


class RateLimiter:
    """Counts calls per key; a window is anchored at the first call made after the previous one ended.

    A refused call leaves no trace (it neither counts nor anchors a window).
    """

    def __init__(
        self, per_second: int, per_window: int, window_s: float, scale: float = 1.0, enabled: bool = True
    ) -> None:
        self.per_second = per_second
        self.per_window = per_window
        self.short_s = 1.0 / scale
        self.long_s = window_s / scale
        self.whole = scale == 1.0  # integer seconds in headers unless the windows are scaled
        self.enabled = enabled
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[_Window, _Window]] = {}
        self._unlimited = Verdict(True, self._headers(per_window, self.long_s))

    def clear(self) -> None:
        with self._lock:
            self._keys = {}

    def _headers(self, remaining: int, reset_s: float) -> Headers:
        return [
            ("X-RateLimit-Limit", str(self.per_window)),
            ("X-RateLimit-Remaining", str(max(0, remaining))),
            ("X-RateLimit-Reset", fmt_seconds(reset_s, self.whole)),
        ]

    def hit(self, key: str) -> Verdict:
        if not self.enabled:
            return self._unlimited
        now = time.monotonic()
        with self._lock:
            windows = self._keys.get(key)
            if windows is None:
                windows = self._keys[key] = (_Window(), _Window())
            short, long = windows
            short_open = now < short.start + self.short_s
            long_open = now < long.start + self.long_s
            short_count = short.count if short_open else 0
            long_count = long.count if long_open else 0
            retry = 0.0
            if short_count >= self.per_second:
                retry = self.short_s - (now - short.start)
            if long_count >= self.per_window:
                retry = max(retry, self.long_s - (now - long.start))
            if retry > 0:
                reset_s = self.long_s - (now - long.start) if long_open else self.long_s
                headers = self._headers(self.per_window - long_count, reset_s)
                headers.append(("Retry-After", fmt_seconds(retry, self.whole)))
                return Verdict(False, headers)
            if not short_open:
                short.start, short.count = now, 0
            if not long_open:
                long.start, long.count = now, 0
            short.count += 1
            long.count += 1
            return Verdict(True, self._headers(self.per_window - long.count, self.long_s - (now - long.start)))
