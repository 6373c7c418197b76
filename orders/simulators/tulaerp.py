"""TulaERP simulator: the ASP.NET Web API shape of `POST /api/v1/Orders` and the read routes around it.

Fulfilment is computed from the clock whenever an order is read: `fulfil_after_s` after creation it has one
shipment ("Shipped", 1-3 packages with carrier tracking numbers), `deliver_after_s` later it is "Delivered".
Everything about a shipment is drawn from a generator seeded by the order, so every read agrees.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
import secrets
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from orders.simulators import carriers
from orders.simulators.base import (
    ERROR,
    RESET,
    BadJson,
    Fault,
    Headers,
    SimApp,
    SimHandler,
    dumps,
    loads,
    seconds_header,
)

ORDER_TYPES = ("Unknown", "Standard", "Template", "Replacement")
ORDER_SOURCES = ("Unknown", "Api", "Portal", "Manual")
ORDER_STATUSES = ("Unknown", "New", "Released", "Picked", "Packed", "Shipped", "Delivered", "Cancelled", "OnHold")

_ENUMS = {"orderTypeId": ORDER_TYPES, "orderSourceId": ORDER_SOURCES, "orderStatusId": ORDER_STATUSES}
_REQUIRED_STR = ("shipName", "shipAddress1", "shipCity", "shipState", "shipZip")
_OPTIONAL_STR = (
    "shipAddress2",
    "shipAddress3",
    "shipPhone",
    "email",
    "shippingServiceLevel",
    "preferredShipMethod",
    "packslipMessage",
)
_REQUIRED_INT = ("clientId", "memberId")
# Echoed in the seed's order of properties.
_SHIP_TO = ("shipName", "shipAddress1", "shipAddress2", "shipAddress3", "shipCity", "shipState", "shipZip", "shipPhone")
_ECHOED = (*_SHIP_TO, "email", "shippingServiceLevel", "preferredShipMethod", "packslipMessage", "mustShipByDate")
_DATES = ("orderDate", "mustShipByDate")
_INT_RE = re.compile(r"^[+-]?\d+$")
_INT32_MAX = 2147483647

UNAUTHORIZED = dumps({"Message": "Authorization has been denied for this request."})


@dataclass(frozen=True)
class TulaerpConfig:
    auth_header: str = "X-Api-Key"
    auth_value: str = "sim-tulaerp-key"
    basic_username: str | None = None
    basic_password: str | None = None
    fulfil_after_s: float = 10.0
    deliver_after_s: float = 30.0
    first_id: int = 10001


@dataclass(frozen=True)
class TulaOrder:
    id: int
    order_number: str  # as the client sent it
    fields: dict[str, Any]  # validated request fields, canonical names and enum names
    items: list[dict[str, Any]]  # [{"itemCode", "quantity"}]
    created_at: datetime
    created_mono: float

    @property
    def short_number(self) -> str:
        return f"TU{self.id:07d}"


# --- validation ----------------------------------------------------------------------------------------------


def _pascal(name: str) -> str:
    return name[0].upper() + name[1:]


def _fold(obj: dict[str, Any]) -> dict[str, Any]:
    """Json.NET binds property names case-insensitively and ignores its `$id`/`$ref` bookkeeping."""
    return {key.lower(): value for key, value in obj.items() if not key.startswith("$")}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        return int(value)
    return None


def _as_enum(value: Any, names: tuple[str, ...]) -> str | None:
    if isinstance(value, str):
        for name in names:
            if name.lower() == value.strip().lower():
                return name
        return None
    number = _as_int(value) if not isinstance(value, str) else None
    return names[number] if number is not None and 0 <= number < len(names) else None


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def _invalid(value: Any, name: str) -> str:
    return f"The value '{value}' is not valid for {_pascal(name)}."


def _validate_items(raw: Any, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    if raw is None:
        errors["order.orderItems"] = ["The OrderItems field is required."]
        return []
    if not isinstance(raw, list) or not raw:
        errors["order.orderItems"] = ["The OrderItems field must contain at least one item."]
        return []
    items = []
    for i, line in enumerate(raw):
        path = f"order.orderItems[{i}]"
        if not isinstance(line, dict):
            errors[path] = ["The OrderItem field is required."]
            continue
        line = _fold(line)
        code, quantity = line.get("itemcode"), line.get("quantity")
        if _blank(code) or not isinstance(code, str):
            errors[f"{path}.itemCode"] = ["The ItemCode field is required."]
        number = _as_int(quantity)
        if quantity is None:
            errors[f"{path}.quantity"] = ["The Quantity field is required."]
        elif number is None:
            errors[f"{path}.quantity"] = [_invalid(quantity, "quantity")]
        elif not 1 <= number <= _INT32_MAX:
            errors[f"{path}.quantity"] = [f"The field Quantity must be between 1 and {_INT32_MAX}."]
        else:
            items.append({"itemCode": code, "quantity": number})
    return items


def validate_order(body: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, list[str]]]:
    """(fields, items, ModelState errors) for an order body; errors maps `order.<field>` to messages."""
    given = _fold(body)
    errors: dict[str, list[str]] = {}
    fields: dict[str, Any] = {}
    number = given.get("ordernumber")
    if _blank(number):
        errors["order.orderNumber"] = ["The OrderNumber field is required."]
    else:
        try:
            uuid.UUID(str(number))
            fields["orderNumber"] = str(number)
        except ValueError:
            errors["order.orderNumber"] = [_invalid(number, "orderNumber")]
    for name in _REQUIRED_INT:
        value = given.get(name.lower())
        if value is None:
            errors[f"order.{name}"] = [f"The {_pascal(name)} field is required."]
        elif _as_int(value) is None:
            errors[f"order.{name}"] = [_invalid(value, name)]
        else:
            fields[name] = _as_int(value)
    template = given.get("ordertemplateid")
    if template is not None and _as_int(template) is None:
        errors["order.orderTemplateId"] = [_invalid(template, "orderTemplateId")]
    fields["orderTemplateId"] = _as_int(template) if template is not None else None
    for name, names in _ENUMS.items():
        value = given.get(name.lower())
        if value is not None and _as_enum(value, names) is None:
            errors[f"order.{name}"] = [f"{_invalid(value, name)} Expected one of: {', '.join(names)}."]
        fields[name] = _as_enum(value, names) if value is not None else None
    for name in _DATES:
        value = given.get(name.lower())
        if value is not None and not _is_date(value):
            errors[f"order.{name}"] = [_invalid(value, name)]
        fields[name] = value
    for name in _REQUIRED_STR:
        value = given.get(name.lower())
        if _blank(value):
            errors[f"order.{name}"] = [f"The {_pascal(name)} field is required."]
        elif not isinstance(value, str):
            errors[f"order.{name}"] = [_invalid(value, name)]
        fields[name] = value
    for name in _OPTIONAL_STR:
        value = given.get(name.lower())
        if isinstance(value, dict | list):
            errors[f"order.{name}"] = [_invalid(value, name)]
        fields[name] = value
    items = _validate_items(given.get("orderitems"), errors)
    return fields, items, errors


def model_state(errors: dict[str, list[str]]) -> bytes:
    return dumps({"Message": "The request is invalid.", "ModelState": errors})


# --- rendering -----------------------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _stamp(value: Any, ms: int, tx: str) -> Any:
    """Every object carries executionTime and txID, as TulaERP's do (a Json.NET `$ref` stub stays bare)."""
    if isinstance(value, dict):
        for child in value.values():
            _stamp(child, ms, tx)
        if "$ref" not in value:
            value["executionTime"] = ms
            value["txID"] = tx
    elif isinstance(value, list):
        for child in value:
            _stamp(child, ms, tx)
    return value


def item_object(code: str) -> dict[str, Any]:
    item_id = zlib.crc32(code.encode()) % 900000 + 100000
    return {
        "id": item_id,
        "itemCode": code,
        "description": f"Simulated item {code}",
        "unitOfMeasure": "EA",
        "weight": round(0.25 + (item_id % 400) / 100, 2),
        "isActive": True,
    }


def client_object(client_id: int) -> dict[str, Any]:
    return {"id": client_id, "name": f"Simulated Client {client_id}", "code": f"C{client_id:05d}", "isActive": True}


class TulaerpSimulator(SimApp):
    name = "tulaerp"
    server_name = "Microsoft-IIS/10.0 (TulaERP simulator)"
    internal_error_body = dumps({"Message": "An error has occurred."})

    def __init__(self, config: TulaerpConfig) -> None:
        super().__init__()
        self.config = config
        self._basic = None
        if config.basic_username and config.basic_password:
            self._basic = f"{config.basic_username}:{config.basic_password}"
        self.reset_state()

    def reset_state(self) -> None:
        self._by_guid: dict[str, TulaOrder] = {}
        self._by_short: dict[str, TulaOrder] = {}
        self._next_id = self.config.first_id

    # --- auth ---
    def auth(self, handler: SimHandler) -> tuple[str | None, bool]:
        """(scheme the client tried, whether it is accepted)."""
        cfg = self.config
        value = handler.headers.get(cfg.auth_header)
        if value is not None:
            return "header", secrets.compare_digest(value.encode(), cfg.auth_value.encode())
        authorization = handler.headers.get("Authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None, False
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "basic", False
        return "basic", self._basic is not None and secrets.compare_digest(decoded.encode(), self._basic.encode())

    # --- request pipeline ---
    def handle_api(self, handler: SimHandler, fault: Fault | None) -> None:
        if fault is not None and fault.kind == RESET:
            handler.reset_connection()
            return
        raw = handler.read_body()
        parts = [unquote(part) for part in handler.route_path.split("/") if part]
        lowered = [part.lower() for part in parts]
        is_order = handler.command == "POST" and lowered == ["api", "v1", "orders"]
        body: Any = None
        if is_order and raw:
            try:
                body = loads(raw)
            except BadJson as exc:
                body = exc
        scheme, authorized = self.auth(handler)
        applied, assigned, early = False, None, False
        headers: Headers = []
        if fault is not None and fault.kind == ERROR:
            early, status = True, fault.status
            out = dumps({"Message": "An error has occurred." if status >= 500 else f"Simulated HTTP {status}."})
            if status == 429:
                headers = [("Retry-After", seconds_header(fault.retry_after_s))]
        elif not authorized:
            status, out = 401, UNAUTHORIZED
        elif is_order:
            status, out, applied, assigned = self.post_order(body, handler)
        else:
            status, out = self.route(handler, parts, lowered)
        if is_order and isinstance(body, dict):
            key = _order_key(body)
            if key is not None:
                with self.lock:
                    self.received.record(key, body, scheme, status, applied, assigned)
        if early:
            self.answer_early(handler, fault, status, out, headers)
        else:
            self.answer(handler, fault, status, out, headers)

    def route(self, handler: SimHandler, parts: list[str], lowered: list[str]) -> tuple[int, bytes]:
        method = handler.command
        if lowered[:2] != ["api", "v1"] or len(lowered) < 3:
            return _no_resource(handler)
        tail, arg = lowered[2:-1], parts[-1]
        known = {("orders", "shortordernumber"), ("fulfillment", "ordershipmentbynumber"), ("items", "itemcode")}
        if (len(lowered) == 5 and tuple(tail) in known) or (len(lowered) == 4 and tail == ["client"]):
            if method != "GET":
                return 405, dumps({"Message": f"The requested resource does not support http method '{method}'."})
        elif lowered[2:] == ["orders"]:
            return 405, dumps({"Message": f"The requested resource does not support http method '{method}'."})
        else:
            return _no_resource(handler)
        ms, tx = _elapsed_ms(handler), str(uuid.uuid4())
        if tail == ["items", "itemcode"]:
            return 200, dumps(_stamp(item_object(arg), ms, tx))
        if tail == ["client"]:
            client_id = _as_int(arg)
            if client_id is None or client_id <= 0:
                return 404, dumps({"Message": f"Client {arg} was not found."})
            return 200, dumps(_stamp(client_object(client_id), ms, tx))
        with self.lock:
            order = self._by_short.get(arg.upper())
        if order is None:
            return 404, dumps({"Message": f"Order {arg} was not found."})
        if tail == ["orders", "shortordernumber"]:
            return 200, dumps(_stamp(self.render(order), ms, tx))
        shipment = self.shipment(order, time.monotonic())
        if shipment is None:
            return 404, dumps({"Message": f"No shipment was found for order {order.short_number}."})
        return 200, dumps(_stamp(shipment, ms, tx))

    def post_order(self, body: Any, handler: SimHandler) -> tuple[int, bytes, bool, int | None]:
        """(status, answer, applied, assigned id)."""
        if isinstance(body, BadJson):
            return 400, model_state({"order": [f"The request body is not valid JSON: {body}"]}), False, None
        if not isinstance(body, dict):
            return 400, model_state({"order": ["The order field is required."]}), False, None
        fields, items, errors = validate_order(body)
        if errors:
            return 400, model_state(errors), False, None
        guid = str(uuid.UUID(fields["orderNumber"]))
        with self.lock:
            order = self._by_guid.get(guid)
            created = order is None
            if created:
                order = TulaOrder(
                    self._next_id, fields["orderNumber"], fields, items, datetime.now(UTC), time.monotonic()
                )
                self._next_id += 1
                self._by_guid[guid] = order
                self._by_short[order.short_number] = order
        payload = _stamp(self.render(order), _elapsed_ms(handler), str(uuid.uuid4()))
        return (201 if created else 200), dumps(payload), created, order.id

    # --- rendering ---
    def stage(self, order: TulaOrder, now: float) -> int:
        """0 new, 1 shipped, 2 delivered: computed from the clock, no background work."""
        elapsed = now - order.created_mono
        if elapsed < self.config.fulfil_after_s:
            return 0
        return 2 if elapsed >= self.config.fulfil_after_s + self.config.deliver_after_s else 1

    def render(self, order: TulaOrder) -> dict[str, Any]:
        now = time.monotonic()
        stage = self.stage(order, now)
        status = ("New", "Shipped", "Delivered")[stage]
        f = order.fields
        order_type = f["orderTypeId"] or "Standard"
        shipped_at = order.created_at + timedelta(seconds=self.config.fulfil_after_s)
        modified = (order.created_at, shipped_at, shipped_at + timedelta(seconds=self.config.deliver_after_s))[stage]
        references: dict[str, str] = {}
        items = []
        for line in order.items:
            code = line["itemCode"]
            if code in references:
                item: dict[str, Any] = {"$ref": references[code]}
            else:
                references[code] = str(len(references) + 1)
                item = {"$id": references[code], **item_object(code)}
            items.append({"itemCode": code, "quantity": line["quantity"], "item": item})
        shipment = self.shipment(order, now)
        return {
            "id": order.id,
            "orderNumber": order.order_number,
            "shortOrderNumber": order.short_number,
            "clientId": f["clientId"],
            "clientName": f"Simulated Client {f['clientId']}",
            "memberId": f["memberId"],
            "orderTypeId": order_type,
            "displayOrderType": order_type,
            "displayOrderStatus": status,
            "orderSourceId": f["orderSourceId"] or "Api",
            "orderStatusId": status,
            "orderDate": f["orderDate"] or order.created_at.isoformat(),
            "orderTemplateId": f["orderTemplateId"],
            **{name: f[name] for name in _ECHOED},
            "modifiedDateTime": modified.isoformat(),
            "orderItems": items,
            "orderShipments": [shipment] if shipment is not None else [],
            "client": {"$id": str(len(references) + 1), **client_object(f["clientId"])},
        }

    def shipment(self, order: TulaOrder, now: float) -> dict[str, Any] | None:
        stage = self.stage(order, now)
        if stage == 0:
            return None
        cfg = self.config
        rng = random.Random(f"{order.id}:{order.order_number}")  # the same shipment on every read
        shipped_at = order.created_at + timedelta(seconds=cfg.fulfil_after_s)
        delivered_at = shipped_at + timedelta(seconds=cfg.deliver_after_s) if stage == 2 else None
        shipment_id = 500000 + order.id
        items = [
            {
                "id": shipment_id * 100 + i + 1,
                "orderShipmentId": shipment_id,
                "itemId": item_object(line["itemCode"])["id"],
                "itemCode": line["itemCode"],
                "quantity": line["quantity"],
                "locationName": f"{rng.choice('ABCDEF')}-{rng.randint(1, 40):02d}-{rng.randint(1, 6)}",
                "pickedQuantity": line["quantity"],
                "pickedDateTime": _iso(order.created_at + timedelta(seconds=cfg.fulfil_after_s * rng.random())),
                "kitBuildBarcode": f"KB{rng.randint(0, 10**10 - 1):010d}",
            }
            for i, line in enumerate(order.items)
        ]
        packages = [_package(rng, shipment_id, n, shipped_at, delivered_at) for n in range(1, rng.randint(1, 3) + 1)]
        f = order.fields
        return {
            "id": shipment_id,
            "orderId": order.id,
            "shortOrderNumber": order.short_number,
            "orderShipmentDate": _iso(shipped_at),
            "orderShipmentPackageNumber": len(packages),
            "orderShipmentStatusId": "Delivered" if stage == 2 else "Shipped",
            "warehouseId": 1 + order.id % 3,
            **{name: f[name] for name in _SHIP_TO},
            "weight": round(sum(p["actualShipWeight"] for p in packages), 2),
            "orderShipmentItems": items,
            "orderShipmentPackages": packages,
        }


def _package(
    rng: random.Random, shipment_id: int, number: int, shipped_at: datetime, delivered_at: datetime | None
) -> dict[str, Any]:
    carrier = rng.choice(carriers.CARRIERS)
    tracking = carriers.tracking_number(carrier, rng)
    return {
        "id": shipment_id * 10 + number,
        "orderShipmentId": shipment_id,
        "packageNumber": number,
        "actualShipWeight": round(rng.uniform(0.5, 25.0), 2),
        "shipCarrier": carrier,
        "trackingNumber1": tracking,
        "trackingNumber2": None,
        "trackingLink": carriers.tracking_link(carrier, tracking, rng),
        "deliveryStatus": "Delivered" if delivered_at is not None else "In Transit",
        "carrierReceiveDate": _iso(shipped_at),
        "transitDays": float(rng.choice((1, 2, 3, 5))),
        "deliveryDate": _iso(delivered_at),
    }


def _order_key(body: dict[str, Any]) -> str | None:
    value = _fold(body).get("ordernumber")
    if _blank(value) or isinstance(value, dict | list):
        return None
    return value if isinstance(value, str) else str(value)


def _elapsed_ms(handler: SimHandler) -> int:
    return int((time.perf_counter() - handler.started) * 1000)


def _no_resource(handler: SimHandler) -> tuple[int, bytes]:
    uri = f"http://{handler.headers.get('Host', 'localhost')}{handler.path}"
    return 404, dumps({"Message": f"No HTTP resource was found that matches the request URI '{uri}'."})
