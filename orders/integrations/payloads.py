"""Our order → the bodies CIMcloud and TulaERP expect. Pure functions: no database access, no HTTP.

Money stays Decimal (the JSON encoder writes it as a number); dates go out as ISO-8601 with an offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.utils import timezone

from orders.models import CUSTOMER_SNAPSHOT_FIELDS, SHIP_TO_SNAPSHOT_FIELDS, Order, OrderLine, OrderSource

# CIMcloud's documented order header fields (besides order_number and the three blocks), as on its help page.
CIMCLOUD_HEADER_FIELDS: tuple[str, ...] = (
    "erp_order_number", "ref_id", "order_source", "po_number", "carrier_code", "ship_method", "erp_ship_via",
    "carrier_name", "requested_date", "order_date", "lifecycle_stage", "comments", "shipping_total", "tax_total",
    "order_total", "erp_ship_to_code", "erp_ship_to_tax_schedule", "erp_sales_tax_schedule",
    "erp_ship_to_warehouse", "erp_print_sales_order", "erp_print_pick_sheet", "erp_order_type",
    "erp_order_status", "erp_hold_reason_code",
)  # fmt: skip
CIMCLOUD_DETAIL_FIELDS = ("sku", "quantity", "price")
CIMCLOUD_BOOLEAN_CUSTOMER_FIELDS = ("credit_hold", "update_master")

# TulaERP body key → the order field it is built from (first non-empty wins). Used by the mapper and to
# report a pre-send problem on the field staff can correct.
TULAERP_SHIP_FIELDS: dict[str, tuple[str, ...]] = {
    "shipName": ("ship_to_name", "customer_name"),
    "shipAddress1": ("ship_to_address1",),
    "shipAddress2": ("ship_to_address2",),
    "shipAddress3": ("ship_to_address3",),
    "shipCity": ("ship_to_city",),
    "shipState": ("ship_to_state",),
    "shipZip": ("ship_to_zip",),
    "shipPhone": ("ship_to_telephone", "customer_telephone"),
    "email": ("email", "ship_to_email", "customer_email"),
    "shippingServiceLevel": ("shipping_service_level",),
    "preferredShipMethod": ("preferred_ship_method", "ship_method"),
    "packslipMessage": ("packslip_message",),
}
_TULAERP_SOURCE = {OrderSource.MANUAL: "Manual", OrderSource.DEMO: "Manual"}


def json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def cimcloud_order_body(order: Order, lines: Sequence[OrderLine]) -> dict[str, Any]:
    """The OrderPassthrough body. Empty optional values are left out, so what CIMcloud stores is what we hold."""
    body: dict[str, Any] = {"order_number": order.order_number}
    for name in CIMCLOUD_HEADER_FIELDS:
        value = getattr(order, name)
        if value not in ("", None):
            body[name] = json_value(value)
    customer = _block(order, CUSTOMER_SNAPSHOT_FIELDS)
    customer["credit_hold"] = order.customer_credit_hold
    customer["update_master"] = order.update_master
    body["customer"] = customer
    body["shipping_address"] = _block(order, SHIP_TO_SNAPSHOT_FIELDS)
    body["details"] = [{"sku": line.sku, "quantity": line.quantity, "price": line.unit_price} for line in lines]
    return body


def tulaerp_order_body(order: Order, lines: Sequence[OrderLine]) -> dict[str, Any]:
    """The TulaERP Order body: camelCase, enums by name, our stable uuid as `orderNumber`."""
    body: dict[str, Any] = {
        "orderNumber": str(order.uuid),
        "clientId": order.client_id,
        "memberId": order.member_id,
        "orderTypeId": order.order_type,
        "orderSourceId": _TULAERP_SOURCE.get(order.source, "Api"),
        "orderStatusId": "New",
        "orderDate": json_value(order.submitted_at or order.created_at),
    }
    if order.order_template_id is not None:
        body["orderTemplateId"] = order.order_template_id
    for key, sources in TULAERP_SHIP_FIELDS.items():
        body[key] = first_filled(order, sources)
    if order.must_ship_by_date:
        body["mustShipByDate"] = timezone.make_aware(datetime.combine(order.must_ship_by_date, time(17))).isoformat()
    body["orderItems"] = [{"itemCode": line.sku, "quantity": line.quantity} for line in lines]
    return body


def first_filled(order: Order, names: Sequence[str]) -> str:
    return next((value for name in names if (value := getattr(order, name))), "")


def _block(order: Order, fields: dict[str, str]) -> dict[str, Any]:
    block = {}
    for key, attr in fields.items():
        value = getattr(order, attr)
        if value not in ("", None) and not isinstance(value, bool):
            block[key] = value
    return block


def decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
