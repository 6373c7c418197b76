"""Bodies from outside → our data. Pure functions: no database access, no HTTP.

`cimcloud_import` reads an OrderPassthrough body (what the import endpoint receives); `tulaerp_shipments` reads a
TulaERP Order or OrderShipment answer. Errors name the sender's own field paths (`customer.zip`,
`details[1].price`) so the sender can find them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime

from orders.errors import InvalidInput
from orders.integrations.carriers import tracking_link
from orders.integrations.payloads import CIMCLOUD_DETAIL_FIELDS, CIMCLOUD_HEADER_FIELDS
from orders.integrations.validation import CIMCLOUD_REQUIRED
from orders.models import CUSTOMER_SNAPSHOT_FIELDS, SHIP_TO_SNAPSHOT_FIELDS, TulaOrderStatus
from orders.services.orders import LineInput
from orders.services.shipments import PackageData, ShipmentData, ShipmentItemData

_MONEY = {"shipping_total", "tax_total", "order_total"}
_DATETIME = {"order_date"}
_CUSTOMER_KEYS = set(CUSTOMER_SNAPSHOT_FIELDS) | {"update_master"}
_BOOLEAN = {"credit_hold", "update_master"}


@dataclass
class CimcloudImport:
    order_number: str
    fields: dict[str, Any]
    lines: list[LineInput]
    customer_no: str = ""
    update_master: bool = False
    customer_fields: dict[str, Any] = field(default_factory=dict)  # Customer model fields, for update_master


def cimcloud_import(body: Any) -> CimcloudImport:
    """Validate and convert an OrderPassthrough body. Every error is collected, each under its body path."""
    errors: dict[str, list[str]] = {}
    if not isinstance(body, dict):
        raise InvalidInput(
            "The body must be a JSON object in CIMcloud OrderPassthrough shape.",
            field_errors={"body": ["Expected a JSON object."]},
        )
    allowed = {"order_number", "customer", "shipping_address", "details", *CIMCLOUD_HEADER_FIELDS}
    for key in sorted(set(body) - allowed):
        errors[key] = ["Not a documented OrderPassthrough field."]

    fields: dict[str, Any] = {}
    order_number = _text(body, "order_number", "order_number", errors, required=True)
    for name in CIMCLOUD_HEADER_FIELDS:
        if name in body:
            value = _value(body[name], name, name, errors)
            if value is not None:
                fields[name] = value

    customer = _block(body, "customer", _CUSTOMER_KEYS, errors)
    customer_fields = {}
    for key, value in customer.items():
        if key == "update_master":
            continue
        fields[CUSTOMER_SNAPSHOT_FIELDS[key]] = value
        customer_fields[key] = value
    update_master = bool(customer.get("update_master", False))
    fields["update_master"] = update_master
    for key, value in _block(body, "shipping_address", set(SHIP_TO_SNAPSHOT_FIELDS), errors).items():
        fields[SHIP_TO_SNAPSHOT_FIELDS[key]] = value

    lines = _details(body, errors)
    if errors:
        raise InvalidInput("The order was not imported: correct the fields named.", field_errors=errors)
    return CimcloudImport(
        order_number=order_number,
        fields=fields,
        lines=lines,
        customer_no=customer.get("customer_no", ""),
        update_master=update_master,
        customer_fields=customer_fields,
    )


def _block(body: dict, name: str, keys: set[str], errors: dict[str, list[str]]) -> dict[str, Any]:
    block = body.get(name)
    if not isinstance(block, dict):
        errors[name] = ["Required: an object." if block is None else "Expected an object."]
        return {}
    out = {}
    for key in sorted(set(block) - keys):
        errors[f"{name}.{key}"] = ["Not a documented OrderPassthrough field."]
    for key in keys & set(block):
        value = _value(block[key], key, f"{name}.{key}", errors)
        if value is not None:
            out[key] = value
    for key in CIMCLOUD_REQUIRED[name]:
        if not out.get(key) and f"{name}.{key}" not in errors:
            errors[f"{name}.{key}"] = ["This field is required."]
    return out


def _details(body: dict, errors: dict[str, list[str]]) -> list[LineInput]:
    details = body.get("details")
    if not isinstance(details, list) or not details:
        errors["details"] = ["Required: a list with at least one line."]
        return []
    lines = []
    for index, detail in enumerate(details):
        path = f"details[{index}]"
        if not isinstance(detail, dict):
            errors[path] = ["Expected an object."]
            continue
        for key in sorted(set(detail) - set(CIMCLOUD_DETAIL_FIELDS)):
            errors[f"{path}.{key}"] = ["Not a documented OrderPassthrough field."]
        sku = _text(detail, "sku", f"{path}.sku", errors, required=True)
        quantity = detail.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            errors[f"{path}.quantity"] = ["Required: a whole number of at least 1."]
        price = _money(detail.get("price"), f"{path}.price", errors, required=True)
        if price is not None and price < 0:
            errors[f"{path}.price"] = ["A price cannot be negative."]
        if f"{path}.quantity" not in errors and price is not None and sku:
            lines.append(LineInput(sku=sku, quantity=quantity, unit_price=price))
    return lines


def _value(raw: Any, key: str, path: str, errors: dict[str, list[str]]) -> Any:
    if key in _MONEY:
        return _money(raw, path, errors)
    if key in _BOOLEAN:
        if not isinstance(raw, bool):
            errors[path] = ["Expected true or false."]
        return raw if isinstance(raw, bool) else None
    if key in _DATETIME:
        parsed = parse_datetime(raw) if isinstance(raw, str) else None
        if raw is not None and parsed is None:
            errors[path] = ["Expected an ISO-8601 date and time."]
        return parsed
    if raw is None:
        return None
    if not isinstance(raw, str):
        errors[path] = ["Expected a string."]
        return None
    return raw


def _text(data: dict, key: str, path: str, errors: dict[str, list[str]], *, required: bool = False) -> str:
    raw = data.get(key)
    if raw is None or raw == "":
        if required:
            errors[path] = ["This field is required."]
        return ""
    if not isinstance(raw, str):
        errors[path] = ["Expected a string."]
        return ""
    return raw


def _money(raw: Any, path: str, errors: dict[str, list[str]], *, required: bool = False) -> Decimal | None:
    if raw is None:
        if required:
            errors[path] = ["This field is required."]
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
        errors[path] = ["Expected a number."]
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        errors[path] = ["Expected a number."]
        return None
    if value != value.quantize(Decimal("0.01")) or abs(value) >= Decimal("1e11"):
        errors[path] = ["Use at most 2 decimal places and 11 digits before the point."]
        return None
    return value


# --- TulaERP --------------------------------------------------------------------------------------------


def resolve_refs(data: Any) -> Any:
    """Json.NET reference handling: replace {"$ref": id} by the object that declared {"$id": id}."""
    declared: dict[str, Any] = {}

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if "$id" in node:
                declared[str(node["$id"])] = node
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    def replace(node: Any, path: frozenset[str] = frozenset()) -> Any:
        if isinstance(node, dict):
            if set(node) == {"$ref"}:
                ref = str(node["$ref"])
                # A reference back into its own ancestors would recurse forever: leave it empty.
                return {} if ref in path or ref not in declared else replace(declared[ref], path | {ref})
            return {k: replace(v, path) for k, v in node.items() if k != "$id"}
        if isinstance(node, list):
            return [replace(v, path) for v in node]
        return node

    collect(data)
    return replace(data)


def tulaerp_shipments(body: dict[str, Any]) -> list[ShipmentData]:
    """Shipments of a TulaERP Order answer (`orderShipments`), or a single OrderShipment answer."""
    body = resolve_refs(body)
    raw = body.get("orderShipments") if "orderShipments" in body else [body]
    return [_shipment(s) for s in raw or [] if isinstance(s, dict)]


def _shipment(raw: dict[str, Any]) -> ShipmentData:
    return ShipmentData(
        tulaerp_id=_int(raw.get("id")),
        package_number=_int(raw.get("orderShipmentPackageNumber")),
        short_order_number=_str(raw.get("shortOrderNumber")),
        shipment_date=_when(raw.get("orderShipmentDate")),
        status=_status(raw.get("orderShipmentStatusId")),
        warehouse_id=_int(raw.get("warehouseId")),
        ship_name=_str(raw.get("shipName")),
        ship_address1=_str(raw.get("shipAddress1")),
        ship_address2=_str(raw.get("shipAddress2")),
        ship_address3=_str(raw.get("shipAddress3")),
        ship_city=_str(raw.get("shipCity")),
        ship_state=_str(raw.get("shipState")),
        ship_zip=_str(raw.get("shipZip")),
        ship_phone=_str(raw.get("shipPhone")),
        weight=_decimal(raw.get("weight")),
        items=tuple(_item(i) for i in raw.get("orderShipmentItems") or [] if isinstance(i, dict)),
        packages=tuple(_package(p) for p in raw.get("orderShipmentPackages") or [] if isinstance(p, dict)),
    )


def _item(raw: dict[str, Any]) -> ShipmentItemData:
    return ShipmentItemData(
        item_code=_str(raw.get("itemCode")),
        quantity=_int(raw.get("quantity")) or 0,
        tulaerp_id=_int(raw.get("id")),
        location_name=_str(raw.get("locationName")),
        picked_quantity=_int(raw.get("pickedQuantity")),
        picked_at=_when(raw.get("pickedDateTime")),
        kit_build_barcode=_str(raw.get("kitBuildBarcode")),
    )


def _package(raw: dict[str, Any]) -> PackageData:
    carrier = _str(raw.get("shipCarrier"))
    number = _str(raw.get("trackingNumber1"))
    link, source = tracking_link(carrier, number, _str(raw.get("trackingLink")) or None)
    return PackageData(
        package_number=_int(raw.get("packageNumber")) or 0,
        tulaerp_id=_int(raw.get("id")),
        weight=_decimal(raw.get("actualShipWeight")),
        carrier=carrier,
        tracking_number1=number,
        tracking_number2=_str(raw.get("trackingNumber2")),
        tracking_link=link,
        tracking_link_source=source,
        delivery_status=_str(raw.get("deliveryStatus")),
        carrier_receive_date=_when(raw.get("carrierReceiveDate")),
        transit_days=_decimal(raw.get("transitDays")),
        delivery_date=_when(raw.get("deliveryDate")),
    )


def _str(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _int(value: Any) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None or isinstance(value, bool) else Decimal(str(value))
    except InvalidOperation:
        return None


def _when(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


def _status(value: Any) -> str:
    return value if value in TulaOrderStatus.values else TulaOrderStatus.UNKNOWN
