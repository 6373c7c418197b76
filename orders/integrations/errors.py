"""The one family of failures at the client boundary, and the one place that maps an HTTP answer onto it.

The outbox decides the next attempt from the class alone:

- ``RetryableError``: nothing was applied (the connection failed before the request was sent, an injected or real
  5xx, 408 or 429). Send again, not before ``retry_after`` seconds when the server said so.
- ``AmbiguousError``: the request may have been applied (read timeout, connection dropped or reset after the
  request was sent, a 2xx whose body cannot be read). Only resend to a destination that recognises a repeat.
- ``PermanentError``: the server understood and refused (400 and other 4xx, CIMcloud's 200 ``"success": false``).
  Resending the same body will fail the same way; a human must fix the order. ``NotFoundError`` for a 404.
- ``ConfigurationError``: credentials rejected after re-authentication (``UnauthorizedError``), a missing setting
  (raised before any HTTP), or a redirect that means the base URL is wrong. Pause the destination.

Every error raised after an HTTP exchange carries its ``CallRecord`` with ``error_class``/``error_message`` filled.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import replace
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orders.integrations.http import CallRecord, HttpResponse

__all__ = [
    "AmbiguousError",
    "ConfigurationError",
    "IntegrationError",
    "NotFoundError",
    "PermanentError",
    "RetryableError",
    "UnauthorizedError",
    "error_for_response",
    "field_paths",
    "retry_after_seconds",
    "server_message",
    "unreadable_body",
]


class IntegrationError(Exception):
    def __init__(self, message: str, *, record: CallRecord | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The record the hooks and the outbox see names the error it ended in.
        self.record = (
            None if record is None else replace(record, error_class=type(self).__name__, error_message=message)
        )

    @property
    def status(self) -> int | None:
        return None if self.record is None else self.record.status


class RetryableError(IntegrationError):
    def __init__(self, message: str, *, record: CallRecord | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, record=record)
        self.retry_after = retry_after


class AmbiguousError(IntegrationError):
    pass


class PermanentError(IntegrationError):
    not_found = False

    def __init__(
        self,
        message: str,
        *,
        record: CallRecord | None = None,
        field: str | None = None,
        fields: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, record=record)
        self.fields = fields or ((field,) if field else ())
        self.field = field or (self.fields[0] if self.fields else None)


class NotFoundError(PermanentError):
    not_found = True


class ConfigurationError(IntegrationError):
    def __init__(self, message: str, *, record: CallRecord | None = None, setting: str | None = None) -> None:
        super().__init__(message, record=record)
        self.setting = setting


class UnauthorizedError(ConfigurationError):
    """401/403. A bearer client re-authenticates once on a 401 before letting this through."""


def error_for_response(response: HttpResponse) -> IntegrationError | None:
    """Classify a complete HTTP answer by its status; None for 2xx (the caller still checks the body)."""
    status = response.status
    record = response.record
    if 200 <= status < 300:
        return None
    message = server_message(response)
    if status in (408, 429) or status >= 500:
        # Both destinations recognise a repeated order, so a 5xx that was in fact applied is still safe to resend.
        return RetryableError(message, record=record, retry_after=retry_after_seconds(response.headers, status=status))
    if status in (401, 403):
        return UnauthorizedError(message, record=record)
    if status == 404:
        return NotFoundError(message, record=record)
    if 300 <= status < 400:
        location = response.headers.get("location", "?")
        return ConfigurationError(
            f"HTTP {status} redirect to {location} (not followed): check the base URL", record=record
        )
    fields = field_paths(response.data, message)
    return PermanentError(message, record=record, fields=fields)


def unreadable_body(response: HttpResponse, detail: str) -> IntegrationError:
    """A 2xx we cannot interpret: for a request with effects the outcome is unknown; for a read, just ask again."""
    message = f"HTTP {response.status} with an unreadable body: {detail}"
    if response.safe:
        return RetryableError(message, record=response.record)
    return AmbiguousError(message, record=response.record)


def server_message(response: HttpResponse) -> str:
    data = response.data
    if isinstance(data, Mapping):
        for key in ("message", "Message", "error", "title"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                details = _model_state_messages(data)
                return f"{value.strip()} {details}".strip() if details else value.strip()
    text = response.text.strip()
    return f"HTTP {response.status}: {text[:200]}" if text else f"HTTP {response.status}"


_PATH = r"[A-Za-z_$][\w$]*(?:\[\d+\])*(?:\.[A-Za-z_$][\w$]*(?:\[\d+\])*)*"
_MISSING_RE = re.compile(r"Missing required field\(s\):\s*(?P<paths>.+)", re.IGNORECASE)
_INVALID_RE = re.compile(rf"Invalid value for\s+(?P<path>{_PATH})", re.IGNORECASE)
_PATH_RE = re.compile(rf"^{_PATH}$")


def field_paths(data: Any, message: str) -> tuple[str, ...]:
    """The field paths a rejection names: ASP.NET ModelState keys, an explicit "field", or the message text."""
    if isinstance(data, Mapping):
        model_state = data.get("ModelState") or data.get("modelState")
        if isinstance(model_state, Mapping) and model_state:
            return tuple(str(key) for key in model_state)
        explicit = data.get("field")
        if isinstance(explicit, str) and explicit:
            return (explicit,)
        explicit_list = data.get("fields")
        if isinstance(explicit_list, list) and explicit_list:
            return tuple(str(item) for item in explicit_list)
    missing = _MISSING_RE.search(message)
    if missing:
        candidates = (part.strip().rstrip(".") for part in missing.group("paths").split(","))
        return tuple(path for path in candidates if _PATH_RE.match(path))
    invalid = _INVALID_RE.search(message)
    if invalid:
        return (invalid.group("path").rstrip("."),)
    return ()


def retry_after_seconds(headers: Mapping[str, str], *, status: int) -> float | None:
    """Seconds to wait: ``Retry-After`` (delta or HTTP date); for a 429 without it, CIMcloud's ``X-RateLimit-Reset``.

    The rate-limit reset is not used for a 5xx: it is always present and may be minutes away, which says
    nothing about when the server will recover.
    """
    retry_after = _parse_retry_after(headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    if status == 429:
        return _parse_seconds(headers.get("x-ratelimit-reset"))
    return None


def _parse_retry_after(raw: str | None) -> float | None:
    if raw is None:
        return None
    seconds = _parse_seconds(raw)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _parse_seconds(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return max(0.0, value) if value == value else None  # NaN guard


def _model_state_messages(data: Mapping[str, Any]) -> str:
    model_state = data.get("ModelState") or data.get("modelState")
    if not isinstance(model_state, Mapping):
        return ""
    parts = []
    for key, messages in model_state.items():
        texts = messages if isinstance(messages, list) else [messages]
        parts.append(f"{key}: {' '.join(str(text) for text in texts)}")
    return "; ".join(parts)
