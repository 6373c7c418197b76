"""Pre-send validation: would each destination accept this order as we would send it?

It checks the bodies the mappers build, so it can never drift from what is sent. Errors block submission;
warnings (our assumptions about undocumented limits) send the order to review. Pages and API call the same
function, also on an unsaved order built from a form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from orders.integrations.payloads import TULAERP_SHIP_FIELDS, cimcloud_order_body, tulaerp_order_body
from orders.models import CUSTOMER_SNAPSHOT_FIELDS, SHIP_TO_SNAPSHOT_FIELDS, Destination, Order, OrderLine

CIMCLOUD_REQUIRED = {
    "customer": ("name", "address1", "city", "state", "zip", "country_code"),
    "shipping_address": ("address1", "city", "state", "zip", "country_code"),
}
TULAERP_REQUIRED = ("shipName", "shipAddress1", "shipCity", "shipState", "shipZip")
# CIMcloud block key → which assumed length applies (settings.CIMCLOUD_MAX_LENGTHS).
_LENGTH_KIND = {
    "name": "name",
    "address1": "address",
    "address2": "address",
    "address3": "address",
    "city": "city",
    "state": "state",
    "zip": "zip",
    "country_code": "country_code",
}
_BLOCK_FIELDS = {"customer": CUSTOMER_SNAPSHOT_FIELDS, "shipping_address": SHIP_TO_SNAPSHOT_FIELDS}


@dataclass(frozen=True)
class Finding:
    destination: str
    field: str  # our field, as forms and the API name it: "ship_to_zip", "lines[1].sku"
    remote_field: str  # the destination's own path: "shipping_address.zip", "order.shipZip"
    message: str


@dataclass
class PresendResult:
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    def field_errors(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for finding in self.errors:
            out.setdefault(finding.field, []).append(finding.message)
        return out


def presend_check(order: Order, lines: Sequence[OrderLine]) -> PresendResult:
    result = PresendResult()
    if order.send_to_cimcloud:
        _check_cimcloud(order, lines, result)
    if order.send_to_tulaerp:
        _check_tulaerp(order, lines, result)
    return result


def _check_cimcloud(order: Order, lines: Sequence[OrderLine], result: PresendResult) -> None:
    body = cimcloud_order_body(order, lines)
    dest, limits = Destination.CIMCLOUD, settings.CIMCLOUD_MAX_LENGTHS
    if not body.get("order_number"):
        result.errors.append(Finding(dest, "order_number", "order_number", "CIMcloud requires an order number."))
    elif len(body["order_number"]) > limits["order_number"]:
        result.warnings.append(
            Finding(
                dest,
                "order_number",
                "order_number",
                f"Order number is longer than CIMcloud's assumed {limits['order_number']}.",
            )
        )
    for block, keys in CIMCLOUD_REQUIRED.items():
        for key in keys:
            if not body[block].get(key):
                label = "customer" if block == "customer" else "ship-to"
                result.errors.append(
                    Finding(
                        dest,
                        _BLOCK_FIELDS[block][key],
                        f"{block}.{key}",
                        f"CIMcloud requires the {label} {key.replace('_', ' ')}.",
                    )
                )
    for block, values in (("customer", body["customer"]), ("shipping_address", body["shipping_address"])):
        for key, kind in _LENGTH_KIND.items():
            value = values.get(key) or ""
            if len(value) > limits[kind]:
                result.warnings.append(
                    Finding(
                        dest,
                        _BLOCK_FIELDS[block][key],
                        f"{block}.{key}",
                        f"Longer than CIMcloud's assumed {limits[kind]} characters: it may be cut off.",
                    )
                )
    if not body["details"]:
        result.errors.append(Finding(dest, "lines", "details", "CIMcloud requires at least one detail line."))
    for index, detail in enumerate(body["details"]):
        if not detail["sku"]:
            result.errors.append(Finding(dest, f"lines[{index}].sku", f"details[{index}].sku", "SKU is required."))
    if len(body["details"]) > settings.CIMCLOUD_SYNC_MAX_DETAILS:
        result.warnings.append(
            Finding(
                dest,
                "lines",
                "details",
                f"More than {settings.CIMCLOUD_SYNC_MAX_DETAILS} lines: CIMcloud queues the "
                "order for asynchronous import instead of importing it at once.",
            )
        )


def _check_tulaerp(order: Order, lines: Sequence[OrderLine], result: PresendResult) -> None:
    body = tulaerp_order_body(order, lines)
    dest = Destination.TULAERP
    for key in TULAERP_REQUIRED:
        if not body.get(key):
            result.errors.append(
                Finding(dest, TULAERP_SHIP_FIELDS[key][0], f"order.{key}", f"TulaERP requires {_words(key)}.")
            )
    countries = {c.upper() for c in settings.TULAERP_SHIP_COUNTRIES}
    if order.ship_to_country_code.upper() not in countries:
        result.errors.append(
            Finding(
                dest,
                "ship_to_country_code",
                "order.shipCountry",
                f"TulaERP ships only to {', '.join(settings.TULAERP_SHIP_COUNTRIES)}; "
                "send this order to CIMcloud only or change the ship-to.",
            )
        )
    if not body["orderItems"]:
        result.errors.append(Finding(dest, "lines", "order.orderItems", "TulaERP requires at least one item."))
    for key in ("clientId", "memberId"):
        if body.get(key) is None:
            result.errors.append(
                Finding(
                    dest,
                    "client_id" if key == "clientId" else "member_id",
                    f"order.{key}",
                    f"TulaERP requires {_words(key)}.",
                )
            )


def _words(key: str) -> str:
    return "".join(f" {c.lower()}" if c.isupper() else c for c in key).replace("ship ", "the ship-to ").strip()
