"""The one HTTP session for the external APIs, and the helper that performs and records one call.

A session from ``build_session()``:
- refuses any call without a ``(connect, read)`` timeout tuple (TypeError, not a silent default);
- never follows a redirect on POST (a 30x would turn the order into a GET or resend it somewhere unplanned);
- never retries at the transport level (``max_retries=0``): the outbox decides every resend;
- discards pooled keep-alive connections that sat idle longer than ``HTTP_POOL_IDLE_SECONDS``, because a server
  that closed one meanwhile would turn the next POST into an ambiguous failure;
- sends ``User-Agent: ordersite-dashboard/<VERSION>``;
- never reads ``~/.netrc``: credentials come from the settings only.

A session is meant for one worker thread, like ``requests.Session`` itself.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.exceptions import ProxyError as Urllib3ProxyError

from orders.integrations import jsonutil
from orders.integrations.errors import AmbiguousError, ConfigurationError, IntegrationError, RetryableError

__all__ = [
    "CallRecord",
    "HttpResponse",
    "IdleRecyclingAdapter",
    "JsonText",
    "OutboundSession",
    "RateLimit",
    "build_session",
    "call",
    "perform",
]

T = TypeVar("T")
Timeout = tuple[float, float]
BeforeCall = Callable[[str], None]
AfterCall = Callable[["CallRecord"], None]

RESPONSE_BODY_LIMIT = 8 * 1024
REDACTED = "[redacted]"
# JSON keys whose values never reach a CallRecord (compared case-insensitively).
SECRET_KEYS = frozenset(
    {"authkey", "authpassword", "password", "token", "access_token", "refresh_token", "authorization", "apikey"}
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_NO_BODY: Any = object()


class JsonText(str):
    """A body already encoded as JSON (the outbox's stored payload): sent as it is, not parsed and re-encoded."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    limit: int | None
    remaining: int | None
    reset_seconds: float | None


@dataclass(frozen=True, slots=True)
class CallRecord:
    kind: str
    method: str
    url: str
    status: int | None
    started_at: datetime
    duration_ms: int
    request_body: str | None
    response_body: str | None
    rate: RateLimit | None = None
    error_class: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A complete answer. ``headers`` keys are lower-case; ``data`` is the parsed JSON (Decimal for fractions),
    None when the body is empty or not JSON (``malformed`` tells the two apart)."""

    status: int
    headers: Mapping[str, str]
    text: str
    data: Any
    malformed: bool
    safe: bool
    duration_ms: int
    record: CallRecord


class IdleRecyclingAdapter(HTTPAdapter):
    def __init__(self, *, idle_seconds: float) -> None:
        super().__init__(max_retries=0)
        self.idle_seconds = idle_seconds
        self._last_used: float | None = None

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        now = time.monotonic()
        if self._last_used is not None and now - self._last_used > self.idle_seconds:
            # The server may have closed these keep-alive connections; a fresh connect is cheap, an ambiguous
            # POST is not.
            self.poolmanager.clear()
        try:
            return super().send(request, *args, **kwargs)
        finally:
            self._last_used = time.monotonic()


class OutboundSession(requests.Session):
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        _check_timeout(kwargs.get("timeout"))
        if request.method not in _SAFE_METHODS:
            # Following a 30x would resend the order to a place nobody configured, or turn it into a GET.
            kwargs["allow_redirects"] = False
        return super().send(request, **kwargs)


class _SettingsCredentialsOnly(requests.auth.AuthBase):
    """Credentials come from the settings as headers; this stops requests from looking for a ~/.netrc on every
    call (a file lookup per request, and a second source of credentials nobody configured)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


def build_session(*, idle_seconds: float | None = None) -> OutboundSession:
    session = OutboundSession()
    session.auth = _SettingsCredentialsOnly()
    adapter = IdleRecyclingAdapter(
        idle_seconds=settings.HTTP_POOL_IDLE_SECONDS if idle_seconds is None else idle_seconds
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"ordersite-dashboard/{settings.VERSION}"
    session.headers["Accept"] = "application/json"
    session.max_redirects = 3
    return session


def _check_timeout(timeout: Any) -> None:
    if not (
        isinstance(timeout, tuple)
        and len(timeout) == 2
        and all(isinstance(part, int | float) and not isinstance(part, bool) and part > 0 for part in timeout)
    ):
        raise TypeError(f"every outbound call needs timeout=(connect_seconds, read_seconds); got {timeout!r}")


def call(
    session: requests.Session,
    *,
    kind: str,
    method: str,
    url: str,
    timeout: Timeout,
    interpret: Callable[[HttpResponse], T],
    body: Any = _NO_BODY,
    headers: Mapping[str, str] | None = None,
    secrets: Iterable[str | None] = (),
    safe: bool | None = None,
    before_call: BeforeCall | None = None,
    after_call: AfterCall | None = None,
) -> T:
    """One HTTP exchange between the hooks: ``before_call(kind)`` first, ``after_call(record)`` once at the end with
    the final record (the error's, if ``perform`` or ``interpret`` raised an IntegrationError)."""
    if before_call is not None:
        before_call(kind)
    try:
        response = perform(
            session,
            kind=kind,
            method=method,
            url=url,
            timeout=timeout,
            body=body,
            headers=headers,
            secrets=secrets,
            safe=safe,
        )
        result = interpret(response)
    except IntegrationError as exc:
        if after_call is not None and exc.record is not None:
            after_call(exc.record)
        raise
    if after_call is not None:
        after_call(response.record)
    return result


def perform(
    session: requests.Session,
    *,
    kind: str,
    method: str,
    url: str,
    timeout: Timeout,
    body: Any = _NO_BODY,
    headers: Mapping[str, str] | None = None,
    secrets: Iterable[str | None] = (),
    safe: bool | None = None,
) -> HttpResponse:
    """Send one request and read the whole answer; any status is returned, transport failures raise.

    ``safe`` says the request has no effect on the server (default: GET/HEAD/OPTIONS). For a safe request an
    unknown outcome is merely retryable; otherwise a failure after the request may have been sent is ambiguous.
    """
    method = method.upper()
    safe = method in _SAFE_METHODS if safe is None else safe
    secret_values = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
    request_headers = dict(headers or {})
    data: bytes | None = None
    request_text: str | None = None
    if body is not _NO_BODY:
        text = body if isinstance(body, JsonText) else jsonutil.dumps(body)
        data = text.encode("utf-8")
        request_headers.setdefault("Content-Type", "application/json; charset=utf-8")
        request_text = _recorded_body(body, text, secret_values)
    started_at = datetime.now(UTC)
    started = time.monotonic()

    def record(**fields: Any) -> CallRecord:
        return CallRecord(
            kind=kind,
            method=method,
            url=_public_url(url),
            started_at=started_at,
            duration_ms=round((time.monotonic() - started) * 1000),
            request_body=request_text,
            **fields,
        )

    try:
        raw = session.request(method, url, data=data, headers=request_headers, timeout=timeout)
    except requests.RequestException as exc:
        raise _transport_error(exc, safe=safe, record=record(status=None, response_body=None)) from exc

    if raw.encoding is None:
        raw.encoding = "utf-8"  # JSON is UTF-8; requests would otherwise guess from the bytes
    text = raw.text
    parsed, malformed = _parse_json(text)
    response_headers = {name.lower(): value for name, value in raw.headers.items()}
    raw.close()
    call_record = record(
        status=raw.status_code,
        response_body=_recorded_response(text, parsed, secret_values),
        rate=_rate_limit(response_headers),
    )
    return HttpResponse(
        status=raw.status_code,
        headers=response_headers,
        text=text,
        data=parsed,
        malformed=malformed,
        safe=safe,
        duration_ms=call_record.duration_ms,
        record=call_record,
    )


def _transport_error(exc: requests.RequestException, *, safe: bool, record: CallRecord) -> IntegrationError:
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return ConfigurationError(f"invalid URL ({detail})", record=record)
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return ConfigurationError(f"redirect loop ({detail}): check the base URL", record=record)
    if _failed_before_sending(exc):
        return RetryableError(f"connection failed before the request was sent ({detail})", record=record)
    if safe:
        return RetryableError(f"no complete answer to a safe request ({detail})", record=record)
    # Read timeout, connection dropped or reset once the request was on the wire: it may have been applied.
    return AmbiguousError(f"no complete answer; the request may have been applied ({detail})", record=record)


def _failed_before_sending(exc: requests.RequestException) -> bool:
    """True when the failure happened while connecting, so not one byte of the request reached the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.ProxyError):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    if not isinstance(reason, MaxRetryError):
        return False
    # With max_retries=0 and read retries off, urllib3 wraps only connect-phase failures in MaxRetryError.
    cause = reason.reason
    if isinstance(cause, NewConnectionError | ConnectTimeoutError | Urllib3ProxyError):
        return True
    # A certificate the handshake refused: nothing sent. Other TLS errors may come mid-response.
    return _chain_has(cause, ssl.SSLCertVerificationError)


def _chain_has(exc: BaseException | None, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return True
        seen.add(id(exc))
        nested = next((arg for arg in exc.args if isinstance(arg, BaseException)), None)
        exc = nested or exc.__cause__ or exc.__context__
    return False


def _parse_json(text: str) -> tuple[Any, bool]:
    if not text.strip():
        return None, False
    try:
        return jsonutil.loads(text), False
    except ValueError:
        return None, True


def _rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    names = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
    if not any(name in headers for name in names):
        return None
    return RateLimit(
        limit=_int_or_none(headers.get(names[0])),
        remaining=_int_or_none(headers.get(names[1])),
        reset_seconds=_float_or_none(headers.get(names[2])),
    )


def _int_or_none(raw: str | None) -> int | None:
    value = _float_or_none(raw)
    return None if value is None else int(value)


def _float_or_none(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw.strip())
    except ValueError:
        return None


def _public_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _recorded_body(body: Any, sent_text: str, secret_values: tuple[str, ...]) -> str:
    # Keep the exact text sent (it is the evidence of what the server got) unless it holds a secret.
    if _may_hold_secret(sent_text):
        redacted, changed = _redact(jsonutil.loads(body) if isinstance(body, JsonText) else body)
        if changed:
            sent_text = jsonutil.dumps(redacted)
    return _scrub(sent_text, secret_values)


def _recorded_response(text: str, parsed: Any, secret_values: tuple[str, ...]) -> str:
    if parsed is not None and _may_hold_secret(text):
        redacted, changed = _redact(parsed)
        if changed:
            text = jsonutil.dumps(redacted)
    text = _scrub(text, secret_values)
    if len(text) > RESPONSE_BODY_LIMIT:
        return f"{text[:RESPONSE_BODY_LIMIT]}…[truncated {len(text) - RESPONSE_BODY_LIMIT} characters]"
    return text


def _may_hold_secret(text: str) -> bool:
    """False when no JSON key in `text` can be a secret key: none of their names appears anywhere in it and no
    escape could spell one (so the walk over the parsed body is skipped for an ordinary order)."""
    lowered = text.lower()
    return "\\u" in text or any(key in lowered for key in SECRET_KEYS)


def _redact(value: Any) -> tuple[Any, bool]:
    if isinstance(value, Mapping):
        changed = False
        result: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and key.lower() in SECRET_KEYS:
                result[key] = REDACTED
                changed = True
            else:
                result[key], item_changed = _redact(item)
                changed = changed or item_changed
        return result, changed
    if isinstance(value, list | tuple):
        items = [_redact(item) for item in value]
        return [item for item, _ in items], any(changed for _, changed in items)
    return value, False


def _scrub(text: str, secret_values: tuple[str, ...]) -> str:
    # Belt and braces: a server that echoes a header or the token back must not leak it into the log either.
    for secret in secret_values:
        text = text.replace(secret, REDACTED)
    return text
