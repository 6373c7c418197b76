"""CIMcloud simulator: authenticate, health checks, validate and OrderPassthrough under `/{sitename}/`.

Contract: ../shared/contracts/README.md (CIMcloud section). Rate limits are counted per credential before
anything else happens; injected errors come next, then authentication, then the route.
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from orders.simulators.base import ERROR, RESET, BadJson, Fault, SimApp, SimHandler, dumps, loads, seconds_header
from orders.simulators.ratelimit import RateLimiter


@dataclass(frozen=True)
class CimcloudConfig:
    sitename: str = "demo"
    auth_key: str = "sim-cimcloud-key"
    username: str = "sim-cimcloud-user"
    password: str = "sim-cimcloud-pass"
    token_ttl_s: float = 7 * 24 * 3600
    max_details: int = 10
    rate_per_second: int = 2
    rate_per_window: int = 100
    rate_window_s: float = 900.0
    rate_scale: float = 1.0
    limits: bool = True


@dataclass(frozen=True)
class Principal:
    scheme: str | None  # "bearer", "basic" or None (no usable Authorization header)
    user: str | None  # who the credential claims to be, valid or not (keys the rate limit)
    valid: bool


ANONYMOUS = Principal(None, None, False)

CUSTOMER_FIELDS = ("name", "address1", "city", "state", "zip", "country_code")
SHIPPING_FIELDS = ("address1", "city", "state", "zip", "country_code")
DETAIL_FIELDS = ("sku", "quantity", "price")


def _envelope(success: bool, message: str | None, imported: int = 0, updated: int = 0, action: str = "DataImported"):
    return {
        "action": action,
        "success": success,
        "importedRecords": imported,
        "updatedRecords": updated,
        "recordCountInRequest": 1,
        "message": message,
    }


# The two answers of the fast path, encoded once.
IMPORTED = dumps(_envelope(True, None, imported=1))
UPDATED = dumps(_envelope(True, None, updated=1))
QUEUED = dumps(_envelope(True, "Queued for asynchronous processing.", action="Queued"))
UNAUTHORIZED = dumps({"success": False, "message": "Authorization has been denied for this request."})
RATE_LIMITED = dumps({"success": False, "message": "Rate limit exceeded."})
ORDER_UNAUTHORIZED = dumps(_envelope(False, "Authorization has been denied for this request."))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def missing_fields(order: dict[str, Any]) -> list[str]:
    """Every required field that is absent or empty, as a path (`customer.zip`, `details[1].price`)."""
    missing = ["order_number"] if _missing(order.get("order_number")) else []
    for section, names in (("customer", CUSTOMER_FIELDS), ("shipping_address", SHIPPING_FIELDS)):
        block = order.get(section)
        block = block if isinstance(block, dict) else {}
        missing.extend(f"{section}.{name}" for name in names if _missing(block.get(name)))
    details = order.get("details")
    if not isinstance(details, list) or not details:
        missing.append("details")
        return missing
    for i, line in enumerate(details):
        line = line if isinstance(line, dict) else {}
        missing.extend(f"details[{i}].{name}" for name in DETAIL_FIELDS if _missing(line.get(name)))
    return missing


def _positive_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return value.is_integer() and value > 0
    return isinstance(value, int) and value > 0


def _price(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value) and value >= 0


def invalid_values(order: dict[str, Any]) -> list[str]:
    """Present but unusable values: CIMcloud answers these with 200 and `success: false`."""
    problems = []
    for i, line in enumerate(order["details"]):
        if not _positive_int(line["quantity"]):
            problems.append(f"Invalid value for details[{i}].quantity: must be a positive integer")
        if not _price(line["price"]):
            problems.append(f"Invalid value for details[{i}].price: must be a non-negative number")
    return problems


def order_key(body: Any) -> str | None:
    value = body.get("order_number") if isinstance(body, dict) else None
    if _missing(value) or isinstance(value, dict | list):
        return None
    return value if isinstance(value, str) else str(value)


class CimcloudSimulator(SimApp):
    name = "cimcloud"
    server_name = "CIMcloud-Simulator/1.0"
    internal_error_body = dumps({"success": False, "message": "An error has occurred."})

    def __init__(self, config: CimcloudConfig) -> None:
        super().__init__()
        self.config = config
        self.site = config.sitename.lower()
        self.limiter = RateLimiter(
            config.rate_per_second, config.rate_per_window, config.rate_window_s, config.rate_scale, config.limits
        )
        self._basic_cache: dict[str, Principal] = {}
        self.reset_state()

    def reset_state(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (user, monotonic expiry)
        self._orders: dict[str, Any] = {}
        self.limiter.clear()

    # --- credentials ---
    def principal(self, authorization: str | None) -> Principal:
        if not authorization:
            return ANONYMOUS
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            with self.lock:
                entry = self._tokens.get(value.strip())
            if entry is None:
                return Principal("bearer", None, False)
            return Principal("bearer", entry[0], time.monotonic() < entry[1])
        if scheme == "basic":
            return self._basic(value.strip())
        return ANONYMOUS

    def _basic(self, value: str) -> Principal:
        cached = self._basic_cache.get(value)
        if cached is None:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return Principal("basic", None, False)
            ok = secrets.compare_digest(user.encode(), self.config.username.encode()) and secrets.compare_digest(
                password.encode(), self.config.password.encode()
            )
            cached = Principal("basic", user, ok)
            if len(self._basic_cache) < 1000:  # bounded: a client trying random passwords can't grow it forever
                self._basic_cache[value] = cached
        return cached

    def rate_key(self, handler: SimHandler, route: str, body: Any, principal: Principal) -> str:
        if route == "authenticate":
            user = body.get("AuthUserName") if isinstance(body, dict) else None
            if isinstance(user, str) and user:
                return "user:" + user
        elif principal.user:
            return "user:" + principal.user
        return "addr:" + handler.client_ip

    # --- request pipeline ---
    def handle_api(self, handler: SimHandler, fault: Fault | None) -> None:
        site, _, rest = handler.route_path.lstrip("/").partition("/")
        route = rest.strip("/").lower() if site.lower() == self.site else None
        principal = self.principal(handler.headers.get("Authorization"))
        if fault is not None and fault.kind == RESET:
            self.limiter.hit(self.rate_key(handler, "", None, principal))  # counts; the body is never read
            handler.reset_connection()
            return
        raw = handler.read_body()
        is_order = route == "orderpassthrough" and handler.command == "POST"
        body: Any = None
        if raw and (is_order or route == "authenticate"):
            try:
                body = loads(raw)
            except BadJson:
                body = BadJson
        verdict = self.limiter.hit(self.rate_key(handler, route or "", body, principal))
        applied, early, headers = False, True, verdict.headers
        if not verdict.allowed:
            status, out = 429, RATE_LIMITED
        elif fault is not None and fault.kind == ERROR:
            status, out = fault.status, dumps({"success": False, "message": f"Simulated HTTP {fault.status}."})
            if status == 429:
                headers = headers + [("Retry-After", seconds_header(fault.retry_after_s))]
        elif is_order:
            early = False
            status, out, applied = self.order(body, principal)
        else:
            early = False
            status, out = self.route(handler.command, route, body, principal, site)
        if is_order:
            self._record(body, principal, status, applied)  # before answering: the client may look right after
        if early:
            self.answer_early(handler, fault, status, out, headers)
        else:
            self.answer(handler, fault, status, out, headers)

    def _record(self, body: Any, principal: Principal, status: int, applied: bool) -> None:
        key = order_key(body)
        if key is not None:
            with self.lock:
                self.received.record(key, body, principal.scheme, status, applied)

    def route(self, method: str, route: str | None, body: Any, principal: Principal, site: str) -> tuple[int, bytes]:
        if route is None:
            return 404, dumps({"success": False, "message": f"Site '{site}' was not found."})
        handler = _ROUTES.get(route)
        if route == "orderpassthrough" or (handler is not None and method != handler[0]):
            return 405, dumps({"success": False, "message": f"Method {method} is not allowed here."})
        if handler is None:
            return 404, dumps({"success": False, "message": f"No route /{self.config.sitename}/{route}."})
        return handler[1](self, body, principal)

    # --- routes ---
    def authenticate(self, body: Any, principal: Principal) -> tuple[int, bytes]:
        cfg = self.config
        if not isinstance(body, dict):
            return 400, dumps(
                {"success": False, "message": "Body must be a JSON object with AuthKey, AuthUserName and AuthPassword."}
            )
        given = (body.get("AuthKey"), body.get("AuthUserName"), body.get("AuthPassword"))
        expected = (cfg.auth_key, cfg.username, cfg.password)
        if not all(
            isinstance(g, str) and secrets.compare_digest(g.encode(), e.encode())
            for g, e in zip(given, expected, strict=True)
        ):
            return 401, dumps({"success": False, "message": "Invalid AuthKey, AuthUserName or AuthPassword."})
        token = secrets.token_urlsafe(32)
        with self.lock:
            self._tokens[token] = (cfg.username, time.monotonic() + cfg.token_ttl_s)
        expiration = datetime.now(UTC) + timedelta(seconds=cfg.token_ttl_s)
        return 200, dumps({"expiration": expiration.isoformat(), "token": token})

    def canary(self, body: Any, principal: Principal) -> tuple[int, bytes]:
        return 200, _CANARY

    def healthcheck(self, body: Any, principal: Principal) -> tuple[int, bytes]:
        if principal.scheme != "bearer" or not principal.valid:
            return 401, UNAUTHORIZED
        return 200, dumps(
            {
                "status": "Running",
                "databaeConnection": "Connected",  # sic: the documented key is misspelt
                "usingStagingDB": "False",  # a string, as documented
                "siteName": self.config.sitename,
                "serverTime": datetime.now(UTC).isoformat(),
                "version": "simulator",
            }
        )

    def validate(self, body: Any, principal: Principal) -> tuple[int, bytes]:
        if not principal.valid:
            return 401, UNAUTHORIZED
        return 200, dumps({"success": True, "message": "Credentials are valid.", "authType": principal.scheme})

    def order(self, body: Any, principal: Principal) -> tuple[int, bytes, bool]:
        """OrderPassthrough: (status, answer, applied)."""
        if not principal.valid:
            return 401, ORDER_UNAUTHORIZED, False
        if not isinstance(body, dict):
            reason = "is not valid JSON" if body is BadJson else "must be a JSON object"
            return 400, dumps(_envelope(False, f"The request body {reason}.")), False
        missing = missing_fields(body)
        if missing:
            return 400, dumps(_envelope(False, "Missing required field(s): " + ", ".join(missing))), False
        problems = invalid_values(body)
        if problems:
            return 200, dumps(_envelope(False, "; ".join(problems))), False
        key = order_key(body)
        with self.lock:
            existed = key in self._orders
            self._orders[key] = body
        if len(body["details"]) > self.config.max_details:
            return 202, QUEUED, True
        return 200, (UPDATED if existed else IMPORTED), True

    # --- /_sim extras ---
    def handle_admin_extra(self, handler: SimHandler, method: str, route: str) -> bool:
        if method == "POST" and route == "expire-tokens":
            with self.lock:
                self._tokens = {token: (user, 0.0) for token, (user, _) in self._tokens.items()}
                count = len(self._tokens)
            handler.send_json(200, {"expired": count})
            return True
        return False


_CANARY = dumps({"status": "Running"})
_ROUTES = {
    "authenticate": ("POST", CimcloudSimulator.authenticate),
    "healthcheck/canary": ("GET", CimcloudSimulator.canary),
    "healthcheck": ("GET", CimcloudSimulator.healthcheck),
    "validate": ("GET", CimcloudSimulator.validate),
}
