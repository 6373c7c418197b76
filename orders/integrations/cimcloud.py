"""CIMcloud API client: OrderPassthrough, validate, canary; bearer (token cached in the database) or Basic auth."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, Self, TypeVar

import requests
from django.conf import settings
from django.utils import timezone

from orders.integrations.errors import (
    ConfigurationError,
    PermanentError,
    UnauthorizedError,
    error_for_response,
    field_paths,
    server_message,
    unreadable_body,
)
from orders.integrations.http import AfterCall, BeforeCall, CallRecord, HttpResponse, JsonText, build_session, call
from orders.models import ExternalToken

__all__ = ["DESTINATION", "CimcloudCheckResult", "CimcloudClient", "CimcloudConfig", "CimcloudOrderResult"]

DESTINATION = "cimcloud"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CimcloudConfig:
    base_url: str
    sitename: str
    auth_mode: Literal["bearer", "basic"]
    username: str
    password: str = field(repr=False)
    auth_key: str | None = field(default=None, repr=False)
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    # Refresh a cached token this long before CIMcloud's expiration, so no call races the expiry.
    token_refresh_margin: timedelta = timedelta(minutes=10)
    # Used only when the authenticate answer has no readable expiration.
    token_fallback_ttl: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls) -> CimcloudConfig:
        mode = _setting("CIMCLOUD_AUTH_MODE") or "bearer"
        if mode not in ("bearer", "basic"):
            raise ConfigurationError(
                f"CIMCLOUD_AUTH_MODE={mode!r}: use 'bearer' or 'basic'", setting="CIMCLOUD_AUTH_MODE"
            )
        required = ["CIMCLOUD_BASE_URL", "CIMCLOUD_SITENAME", "CIMCLOUD_AUTH_USERNAME", "CIMCLOUD_AUTH_PASSWORD"]
        if mode == "bearer":
            required.insert(2, "CIMCLOUD_AUTH_KEY")
        for name in required:
            if not _setting(name):
                raise ConfigurationError(f"{name} is not set (CIMcloud, {mode} auth)", setting=name)
        return cls(
            base_url=str(_setting("CIMCLOUD_BASE_URL")),
            sitename=str(_setting("CIMCLOUD_SITENAME")),
            auth_mode=mode,
            username=str(_setting("CIMCLOUD_AUTH_USERNAME")),
            password=str(_setting("CIMCLOUD_AUTH_PASSWORD")),
            auth_key=_setting("CIMCLOUD_AUTH_KEY"),
            connect_timeout=float(settings.HTTP_CONNECT_TIMEOUT),
            read_timeout=float(settings.HTTP_READ_TIMEOUT),
            token_refresh_margin=timedelta(
                seconds=float(getattr(settings, "CIMCLOUD_TOKEN_REFRESH_MARGIN_SECONDS", 600))
            ),
        )

    @property
    def site_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/{self.sitename.strip('/')}/"


@dataclass(frozen=True, slots=True)
class CimcloudOrderResult:
    action: str
    success: bool
    queued: bool
    imported_records: int
    updated_records: int
    record_count: int
    message: str | None
    record: CallRecord


@dataclass(frozen=True, slots=True)
class CimcloudCheckResult:
    ok: bool
    status: str | None
    record: CallRecord


class CimcloudClient:
    def __init__(
        self,
        config: CimcloudConfig,
        *,
        session: requests.Session | None = None,
        before_call: BeforeCall | None = None,
        after_call: AfterCall | None = None,
    ) -> None:
        self.config = config
        self._owns_session = session is None
        self._session = session if session is not None else build_session()
        self._before_call = before_call
        self._after_call = after_call

    @classmethod
    def from_settings(
        cls,
        *,
        session: requests.Session | None = None,
        before_call: BeforeCall | None = None,
        after_call: AfterCall | None = None,
    ) -> Self:
        return cls(CimcloudConfig.from_settings(), session=session, before_call=before_call, after_call=after_call)

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def canary(self) -> CimcloudCheckResult:
        return self._call("canary", "GET", "healthcheck/canary", interpret=_canary_result, authorized=False)

    def validate(self) -> CimcloudCheckResult:
        return self._call("validate", "GET", "validate", interpret=_validate_result)

    def post_order(self, payload: Mapping[str, Any] | JsonText) -> CimcloudOrderResult:
        return self._call("order", "POST", "orderpassthrough/", body=payload, interpret=_order_result)

    def _call(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        interpret: Callable[[HttpResponse], T],
        body: Any = None,
        authorized: bool = True,
    ) -> T:
        if not authorized:
            return self._exchange(kind, method, path, body=body, headers={}, interpret=interpret)
        if self.config.auth_mode == "basic":
            return self._exchange(kind, method, path, body=body, headers=self._basic_headers(), interpret=interpret)
        token = self._memory_token() or self._cached_token() or self._authenticate()
        try:
            return self._exchange(kind, method, path, body=body, headers=_bearer(token), interpret=interpret)
        except UnauthorizedError as exc:
            if exc.status != 401:
                raise
        # The token was revoked or expired early: one fresh token, one more try; a second 401 is configuration.
        token = self._replacement_token(rejected=token)
        return self._exchange(kind, method, path, body=body, headers=_bearer(token), interpret=interpret)

    def _exchange(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        body: Any,
        headers: dict[str, str],
        interpret: Callable[[HttpResponse], T],
        safe: bool | None = None,
    ) -> T:
        extra = {} if body is None else {"body": body}
        return call(
            self._session,
            kind=kind,
            method=method,
            url=self.config.site_url + path,
            timeout=(self.config.connect_timeout, self.config.read_timeout),
            interpret=interpret,
            headers=headers,
            secrets=self._secrets(headers),
            safe=safe,
            before_call=self._before_call,
            after_call=self._after_call,
            **extra,
        )

    def _secrets(self, headers: Mapping[str, str]) -> tuple[str | None, ...]:
        auth = headers.get("Authorization", "")
        credential = auth.split(" ", 1)[1] if " " in auth else None
        return (self.config.password, self.config.auth_key, credential)

    def _basic_headers(self) -> dict[str, str]:
        raw = f"{self.config.username}:{self.config.password}".encode()
        return {"Authorization": f"Basic {base64.b64encode(raw).decode('ascii')}"}

    def _memory_token(self) -> str | None:
        """The token this client last read or got, while fresh: no database read per call."""
        remembered = getattr(self, "_remembered", None)
        if remembered and remembered[1] > timezone.now() + self.config.token_refresh_margin:
            return remembered[0]
        return None

    def _cached_token(self) -> str | None:
        fresh_until = timezone.now() + self.config.token_refresh_margin
        row = (
            ExternalToken.objects.filter(destination=DESTINATION, expires_at__gt=fresh_until)
            .values_list("token", "expires_at")
            .first()
        )
        self._remembered = row
        return row[0] if row else None

    def _replacement_token(self, *, rejected: str) -> str:
        # Another worker may already have re-authenticated: reuse its token instead of spending another call.
        cached = self._cached_token()
        if cached and cached != rejected:
            return cached
        return self._authenticate()

    def _authenticate(self) -> str:
        """POST /authenticate and store the token for every worker.

        Two workers that find no fresh token at once both authenticate (CIMcloud allows any number of tokens);
        the last one stored wins. Serialising them would need a lock held across an HTTP call.
        """
        body = {
            "AuthKey": self.config.auth_key,
            "AuthUserName": self.config.username,
            "AuthPassword": self.config.password,
        }
        # Asking for a token has no effect worth guarding, so an interrupted answer is simply retryable.
        token, expires_at = self._exchange(
            "authenticate", "POST", "authenticate", body=body, headers={}, interpret=self._token_result, safe=True
        )
        ExternalToken.objects.update_or_create(
            destination=DESTINATION, defaults={"token": token, "expires_at": expires_at}
        )
        self._remembered = (token, expires_at)
        return token

    def _token_result(self, response: HttpResponse) -> tuple[str, datetime]:
        if 400 <= response.status < 500 and response.status not in (408, 429):
            raise ConfigurationError(
                f"CIMcloud refused the credentials: {server_message(response)}",
                record=response.record,
                setting="CIMCLOUD_AUTH_KEY",
            )
        _raise_for_status(response)
        data = response.data
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise unreadable_body(response, "no token in the authenticate answer")
        expires_at = _parse_expiration(data.get("expiration"))
        return token, expires_at or timezone.now() + self.config.token_fallback_ttl


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _raise_for_status(response: HttpResponse) -> None:
    error = error_for_response(response)
    if error is not None:
        raise error


def _order_result(response: HttpResponse) -> CimcloudOrderResult:
    _raise_for_status(response)
    data = response.data
    if response.malformed or not isinstance(data, dict):
        raise unreadable_body(response, "expected the import envelope")
    success = data.get("success")
    message = data.get("message") if isinstance(data.get("message"), str) else None
    if success is False:
        text = message or f"HTTP {response.status}: success false"
        raise PermanentError(text, record=response.record, fields=field_paths(data, text))
    if success is not True:
        raise unreadable_body(response, 'no "success" in the import envelope')
    action = str(data.get("action") or "")
    return CimcloudOrderResult(
        action=action,
        success=True,
        queued=response.status == 202 or action.lower() == "queued",
        imported_records=_count(data.get("importedRecords")),
        updated_records=_count(data.get("updatedRecords")),
        record_count=_count(data.get("recordCountInRequest")),
        message=message,
        record=response.record,
    )


def _canary_result(response: HttpResponse) -> CimcloudCheckResult:
    _raise_for_status(response)
    data = response.data
    status = data.get("status") if isinstance(data, dict) else None
    status = status if isinstance(status, str) else None
    return CimcloudCheckResult(ok=status == "Running", status=status, record=response.record)


def _validate_result(response: HttpResponse) -> CimcloudCheckResult:
    _raise_for_status(response)
    data = response.data
    status = data.get("status") if isinstance(data, dict) else None
    return CimcloudCheckResult(ok=True, status=status if isinstance(status, str) else None, record=response.record)


def _count(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


_DOTNET_DATE_RE = re.compile(r"^/Date\((?P<ms>-?\d+)(?:[+-]\d{4})?\)/$")


def _parse_expiration(value: Any) -> datetime | None:
    """ISO-8601 (naive means UTC), .NET ``/Date(ms)/`` or epoch seconds; None when unreadable."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return _from_epoch(float(value))
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    dotnet = _DOTNET_DATE_RE.match(text)
    if dotnet:
        return _from_epoch(int(dotnet.group("ms")) / 1000)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _from_epoch(seconds: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _setting(name: str) -> str | None:
    value = getattr(settings, name, None)
    return str(value) if value not in (None, "") else None
