"""TulaERP API client: create an order, read it back with its shipments, read its shipment."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar
from urllib.parse import quote

import requests
from django.conf import settings

from orders.integrations.errors import ConfigurationError, error_for_response, unreadable_body
from orders.integrations.http import AfterCall, BeforeCall, CallRecord, HttpResponse, JsonText, build_session, call

__all__ = ["TulaerpClient", "TulaerpConfig", "TulaerpOrderResult", "TulaerpShipmentResult"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TulaerpConfig:
    base_url: str
    # Exactly one of the two: a header (name, value) or Basic credentials (username, password).
    auth_header: str | None = None
    auth_value: str | None = field(default=None, repr=False)
    basic_username: str | None = None
    basic_password: str | None = field(default=None, repr=False)
    connect_timeout: float = 5.0
    read_timeout: float = 15.0

    @classmethod
    def from_settings(cls) -> TulaerpConfig:
        base_url = _setting("TULAERP_BASE_URL")
        if not base_url:
            raise ConfigurationError("TULAERP_BASE_URL is not set", setting="TULAERP_BASE_URL")
        timeouts = {
            "connect_timeout": float(settings.HTTP_CONNECT_TIMEOUT),
            "read_timeout": float(settings.HTTP_READ_TIMEOUT),
        }
        username, password = _setting("TULAERP_BASIC_USERNAME"), _setting("TULAERP_BASIC_PASSWORD")
        # Basic wins when configured: with DEBUG on, the header settings default to the simulator's key.
        if username or password:
            if not (username and password):
                missing = "TULAERP_BASIC_PASSWORD" if username else "TULAERP_BASIC_USERNAME"
                raise ConfigurationError(f"{missing} is not set (TulaERP Basic auth)", setting=missing)
            return cls(base_url=base_url, basic_username=username, basic_password=password, **timeouts)
        for name in ("TULAERP_AUTH_HEADER", "TULAERP_AUTH_VALUE"):
            if not _setting(name):
                raise ConfigurationError(f"{name} is not set (TulaERP header auth)", setting=name)
        return cls(
            base_url=base_url,
            auth_header=_setting("TULAERP_AUTH_HEADER"),
            auth_value=_setting("TULAERP_AUTH_VALUE"),
            **timeouts,
        )

    def auth_headers(self) -> dict[str, str]:
        if self.basic_username and self.basic_password:
            raw = f"{self.basic_username}:{self.basic_password}".encode()
            return {"Authorization": f"Basic {base64.b64encode(raw).decode('ascii')}"}
        if self.auth_header and self.auth_value:
            return {self.auth_header: self.auth_value}
        raise ConfigurationError("TulaERP has no credentials", setting="TULAERP_AUTH_VALUE")


@dataclass(frozen=True, slots=True)
class TulaerpOrderResult:
    id: int
    short_order_number: str
    status: str | None
    created: bool
    body: dict[str, Any]
    record: CallRecord


@dataclass(frozen=True, slots=True)
class TulaerpShipmentResult:
    short_order_number: str
    status: str | None
    packages: tuple[dict[str, Any], ...]
    body: dict[str, Any]
    record: CallRecord


class TulaerpClient:
    def __init__(
        self,
        config: TulaerpConfig,
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
        return cls(TulaerpConfig.from_settings(), session=session, before_call=before_call, after_call=after_call)

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def post_order(self, payload: Mapping[str, Any] | JsonText) -> TulaerpOrderResult:
        """Create the order. TulaERP answers 201 for a new ``orderNumber`` and 200 with the existing order for a
        repeat, so resending after an ambiguous failure is safe and ``created`` tells which happened."""
        return self._call("order", "POST", "/api/v1/Orders", body=payload, interpret=_order_result)

    def get_order(self, short_order_number: str) -> TulaerpOrderResult:
        path = f"/api/v1/Orders/ShortOrderNumber/{quote(short_order_number, safe='')}"
        return self._call("get_order", "GET", path, interpret=_order_result)

    def get_shipment(self, short_order_number: str) -> TulaerpShipmentResult:
        path = f"/api/v1/Fulfillment/OrderShipmentByNumber/{quote(short_order_number, safe='')}"
        return self._call("get_shipment", "GET", path, interpret=_shipment_result)

    def _call(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        interpret: Callable[[HttpResponse], T],
        body: Any = None,
    ) -> T:
        headers = self.config.auth_headers()
        extra = {} if body is None else {"body": body}
        return call(
            self._session,
            kind=kind,
            method=method,
            url=self.config.base_url.rstrip("/") + path,
            timeout=(self.config.connect_timeout, self.config.read_timeout),
            interpret=interpret,
            headers=headers,
            secrets=(self.config.auth_value, self.config.basic_password, *headers.values()),
            before_call=self._before_call,
            after_call=self._after_call,
            **extra,
        )


def _json_object(response: HttpResponse) -> dict[str, Any]:
    error = error_for_response(response)
    if error is not None:
        raise error
    if response.malformed or not isinstance(response.data, dict):
        raise unreadable_body(response, "expected a JSON object")
    return response.data


def _order_result(response: HttpResponse) -> TulaerpOrderResult:
    data = _json_object(response)
    order_id, short_number = data.get("id"), data.get("shortOrderNumber")
    if not isinstance(order_id, int) or isinstance(order_id, bool) or not isinstance(short_number, str):
        raise unreadable_body(response, "no id/shortOrderNumber in the order")
    status = data.get("orderStatusId")
    return TulaerpOrderResult(
        id=order_id,
        short_order_number=short_number,
        status=status if isinstance(status, str) else None,
        created=response.status == 201,
        body=data,
        record=response.record,
    )


def _shipment_result(response: HttpResponse) -> TulaerpShipmentResult:
    data = _json_object(response)
    status = data.get("orderShipmentStatusId")
    packages = data.get("orderShipmentPackages")
    return TulaerpShipmentResult(
        short_order_number=str(data.get("shortOrderNumber") or ""),
        status=status if isinstance(status, str) else None,
        packages=tuple(item for item in packages if isinstance(item, dict)) if isinstance(packages, list) else (),
        body=data,
        record=response.record,
    )


def _setting(name: str) -> str | None:
    value = getattr(settings, name, None)
    return str(value) if value not in (None, "") else None
