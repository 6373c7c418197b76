"""What the API reads from a request and writes in a response. Validation of shape only: services decide."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from django.db.models import EmailField
from django.urls import get_script_prefix
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from orders.integrations.payloads import CIMCLOUD_HEADER_FIELDS
from orders.models import CUSTOMER_SNAPSHOT_FIELDS, SHIP_TO_SNAPSHOT_FIELDS, Destination, Order, OrderLine

_MONEY_HEADER_FIELDS = ("shipping_total", "tax_total", "order_total")
_TRUE, _FALSE = {"true", "1"}, {"false", "0"}


def order_api_path(order_number: str) -> str:
    # The order's own endpoint is built later; until then its path is spelled out here, in one place.
    return f"{get_script_prefix()}api/v1/orders/{quote(order_number, safe='')}/"


# --- Requests -------------------------------------------------------------------------------------------------


class QueryParamField(serializers.Field):
    def get_value(self, dictionary: Any) -> Any:
        # Given but empty (`?draft=`) is a mistake to report, not "use the default" as DRF reads HTML forms.
        return dictionary.get(self.field_name, empty)


@extend_schema_field(OpenApiTypes.BOOL)
class QueryBooleanField(QueryParamField):
    """true/false/1/0 (any case) and nothing else: DRF's BooleanField also takes yes/on/…, too loose for a flag
    that decides whether an order is sent."""

    default_error_messages = {"invalid": "Use true, false, 1 or 0."}

    def to_internal_value(self, data: Any) -> bool:
        text = str(data).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        self.fail("invalid")

    def to_representation(self, value: bool) -> bool:
        return value


@extend_schema_field(
    {"type": "string", "description": "Comma-separated destinations: cimcloud, tulaerp", "example": "cimcloud"}
)
class DestinationListField(QueryParamField):
    """A comma-separated list of destinations: `tulaerp`, `cimcloud,tulaerp`."""

    default_error_messages = {
        "empty": "Name at least one destination: {choices}.",
        "unknown": "Unknown destination {names}: use {choices}, separated by commas.",
    }

    def to_internal_value(self, data: Any) -> list[str]:
        names = list(dict.fromkeys(n.strip().lower() for n in str(data).split(",") if n.strip()))
        choices = ", ".join(Destination.values)
        if not names:
            self.fail("empty", choices=choices)
        unknown = [n for n in names if n not in Destination.values]
        if unknown:
            self.fail("unknown", names=", ".join(repr(n) for n in unknown), choices=choices)
        return names

    def to_representation(self, value: list[str]) -> str:
        return ",".join(value)


class CimcloudImportQuerySerializer(serializers.Serializer):
    draft = QueryBooleanField(required=False, default=False)
    destinations = DestinationListField(required=False, default=None)


# Our field names (as services report errors) → the OrderPassthrough path the sender used. With update_master the
# service validates our Customer first and reports its bare field names (`zip`); a name that is also a header
# field (`ship_method`) is left to the header.
_CIMCLOUD_PATHS: dict[str, str] = {
    **{key: f"customer.{key}" for key in CUSTOMER_SNAPSHOT_FIELDS if key not in CIMCLOUD_HEADER_FIELDS},
    **{column: f"customer.{key}" for key, column in CUSTOMER_SNAPSHOT_FIELDS.items()},
    **{column: f"shipping_address.{key}" for key, column in SHIP_TO_SNAPSHOT_FIELDS.items()},
    "update_master": "customer.update_master",
    "lines": "details",
}
_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")
_DETAIL_KEYS = {"unit_price": "price"}


def cimcloud_error_paths(field_errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Rename a service's field errors to CIMcloud paths (`customer_zip` → `customer.zip`, `lines[1].unit_price`
    → `details[1].price`), so the sender finds them in the body it sent."""
    out: dict[str, list[str]] = {}
    for name, messages in field_errors.items():
        out.setdefault(_cimcloud_path(name), []).extend(messages)
    return out


def _cimcloud_path(name: str) -> str:
    line = _LINE_FIELD.match(name)
    if line is None:
        return _CIMCLOUD_PATHS.get(name, name)
    return f"details[{line[1]}].{_DETAIL_KEYS.get(line[2], line[2])}"


# --- Responses ------------------------------------------------------------------------------------------------


def _money(max_digits: int | None = 13, *, allow_null: bool = False) -> serializers.DecimalField:
    # coerce_to_string=False: money is a JSON number with two decimals (the renderer keeps Decimal exact).
    return serializers.DecimalField(max_digits, 2, coerce_to_string=False, read_only=True, allow_null=allow_null)


def blankable_text(**kwargs: Any) -> serializers.CharField:
    """A read-only email or link column that may be empty: plain text in the schema, since "" is not a valid
    `email` or `uri`."""
    return serializers.CharField(read_only=True, **kwargs)


def _block_serializer(name: str, keys_to_columns: dict[str, str]) -> type[serializers.ModelSerializer]:
    """A read-only block with CIMcloud's key names over the order's snapshot columns (built from the same
    mapping the import uses, so the two cannot drift apart)."""
    fields: dict[str, object] = {
        key: (blankable_text if _is_email(column) else serializers.ReadOnlyField)(
            **({} if key == column else {"source": column})
        )
        for key, column in keys_to_columns.items()
    }
    # A Meta with the model lets the schema generator type each column.
    fields["Meta"] = type("Meta", (), {"model": Order, "fields": list(keys_to_columns)})
    return type(name, (serializers.ModelSerializer,), fields)


def _is_email(column: str) -> bool:
    return any(f.name == column and isinstance(f, EmailField) for f in Order._meta.concrete_fields)


CustomerBlockSerializer = _block_serializer(
    "CustomerBlockSerializer", {**CUSTOMER_SNAPSHOT_FIELDS, "update_master": "update_master"}
)
ShipToBlockSerializer = _block_serializer("ShipToBlockSerializer", SHIP_TO_SNAPSHOT_FIELDS)


class OrderLineSerializer(serializers.ModelSerializer):
    unit_price = _money()
    line_total = _money(max_digits=None)  # quantity × price: not a stored column

    class Meta:
        model = OrderLine
        fields = ["position", "sku", "description", "quantity", "unit_price", "line_total"]
        read_only_fields = fields


class TotalsSerializer(serializers.Serializer):
    subtotal = _money()
    shipping_total = _money(allow_null=True)
    tax_total = _money(allow_null=True)
    total = _money()
    order_total = _money(allow_null=True)  # what CIMcloud sent as its total, kept as sent; null when none
    line_count = serializers.IntegerField(read_only=True)


class OrderSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    destinations = serializers.ListField(child=serializers.CharField(), read_only=True)
    customer = CustomerBlockSerializer(source="*", read_only=True)
    ship_to = ShipToBlockSerializer(source="*", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    totals = TotalsSerializer(source="*", read_only=True)
    review_reasons = serializers.ReadOnlyField()
    outbox = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "order_number",
            "uuid",
            "url",
            "state",
            "source",
            "destinations",
            "created_at",
            "submitted_at",
            *(f for f in CIMCLOUD_HEADER_FIELDS if f not in _MONEY_HEADER_FIELDS),
            "customer",
            "ship_to",
            "lines",
            "totals",
            "review_reasons",
            "outbox",
        ]
        read_only_fields = fields

    def get_url(self, order: Order) -> str:
        return order_api_path(order.order_number)

    def get_outbox(self, order: Order) -> list[dict[str, str]]:
        """Each outbox message's state, by destination (a resent destination shows its older messages too)."""
        messages = sorted(order.outbox_messages.all(), key=lambda m: (m.destination, m.created_at, m.pk))
        return [{"destination": m.destination, "kind": m.kind, "state": m.state} for m in messages]
