"""Orders in our own shape: what a client sends to create or edit one, and what the list, the detail, shipments and
tracking answer. Shape and types only; the services decide everything else."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.api.serializers import OrderSerializer, QueryParamField, blankable_text, order_api_path
from orders.integrations.payloads import CIMCLOUD_HEADER_FIELDS
from orders.models import (
    CUSTOMER_SNAPSHOT_FIELDS,
    SHIP_TO_SNAPSHOT_FIELDS,
    Destination,
    FulfilmentState,
    MessageState,
    Order,
    OrderSource,
    OrderState,
    Package,
    Shipment,
    ShipmentItem,
    TulaOrderStatus,
)
from orders.selectors import SORTS, SYNC_NONE
from orders.selectors.search import DEFAULT_SORT, decode_cursor
from orders.services.orders import EDITABLE_FIELDS

# Limits (settings with defaults; see the contracts page for the assumed lengths, which the model fields carry).
MAX_LINES = settings.ORDER_MAX_LINES
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50

# The header fields a client may set in our shape: CIMcloud's (without its `order_total`, which we compute) and the
# TulaERP extras staff edit on the order form.
WRITABLE_HEADER_FIELDS: tuple[str, ...] = tuple(
    name
    for name in (
        *CIMCLOUD_HEADER_FIELDS,
        "email",
        "order_type",
        "shipping_service_level",
        "preferred_ship_method",
        "packslip_message",
        "must_ship_by_date",
    )
    if name in EDITABLE_FIELDS and name != "order_total"
)
_CUSTOMER_INPUT = {k: c for k, c in CUSTOMER_SNAPSHOT_FIELDS.items() if c != "customer_credit_hold"}


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know (`{"lines[0].colour": ["Unknown field."]}`) together with the other errors."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, Mapping) else []
        errors: dict[str, Any] = {}
        value = None
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            errors = dict(exc.detail)
        for key in unknown:
            errors[str(key)] = ["Unknown field."]
        if errors:
            raise serializers.ValidationError(errors)
        return value


def _order_field(column: str, **extra: Any) -> serializers.Field:
    """The serializer field DRF derives from the Order model column (types, lengths, choices), input only."""
    builder = serializers.ModelSerializer()
    field_class, kwargs = builder.build_standard_field(column, Order._meta.get_field(column))
    kwargs.pop("required", None)
    kwargs.update(required=False, **extra)
    if field_class is serializers.DecimalField:
        kwargs["coerce_to_string"] = False
    return field_class(**kwargs)


def _block(name: str, keys_to_columns: dict[str, str]) -> type[StrictSerializer]:
    fields = {
        key: _order_field(column, **({} if key == column else {"source": column}))
        for key, column in keys_to_columns.items()
    }
    return type(name, (StrictSerializer,), fields)


CustomerInputSerializer = _block("CustomerInputSerializer", _CUSTOMER_INPUT)
ShipToInputSerializer = _block("ShipToInputSerializer", SHIP_TO_SNAPSHOT_FIELDS)


class LineInputSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=60)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    unit_price = serializers.DecimalField(max_digits=13, decimal_places=2, coerce_to_string=False)


class _OrderInputBase(StrictSerializer):
    customer = CustomerInputSerializer(required=False)
    ship_to = ShipToInputSerializer(required=False)
    lines = LineInputSerializer(many=True, max_length=MAX_LINES)
    destinations = serializers.ListField(
        child=serializers.ChoiceField(choices=Destination.choices), allow_empty=False, max_length=2, required=False
    )

    def header_and_snapshot(self) -> dict[str, Any]:
        """Every order column the client set: the header fields, and the customer and ship-to snapshot."""
        data = self.validated_data
        fields = {name: data[name] for name in WRITABLE_HEADER_FIELDS if name in data}
        return {**fields, **data.get("customer", {}), **data.get("ship_to", {})}


_header_fields = {name: _order_field(name) for name in WRITABLE_HEADER_FIELDS}
OrderCreateSerializer = type(
    "OrderCreateSerializer",
    (_OrderInputBase,),
    {
        **_header_fields,
        "submit": serializers.BooleanField(required=False, default=False),
        "__doc__": "A new order in our shape: a draft unless `submit` is true.",
    },
)
OrderUpdateSerializer = type(
    "OrderUpdateSerializer",
    (_OrderInputBase,),
    {
        **{name: _order_field(name) for name in WRITABLE_HEADER_FIELDS},
        "version": serializers.IntegerField(min_value=1),
        "lines": LineInputSerializer(many=True, max_length=MAX_LINES, required=False),
        "__doc__": "Changes to a draft: only the fields given change; `lines`, when given, replace all lines.",
    },
)


class RejectSerializer(StrictSerializer):
    comment = serializers.CharField(max_length=2000, allow_blank=True)


class CancelSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


# --- List query -------------------------------------------------------------------------------------------------


class _QueryChoiceField(QueryParamField, serializers.ChoiceField):
    pass


class _QueryDateField(QueryParamField, serializers.DateField):
    pass


class _QueryTextField(QueryParamField, serializers.CharField):
    pass


class _QueryIntegerField(QueryParamField, serializers.IntegerField):
    pass


SYNC_CHOICES = [*MessageState.choices, (SYNC_NONE, "Never sent")]


class OrderListQuerySerializer(serializers.Serializer):
    q = _QueryTextField(required=False, default="", allow_blank=True, max_length=200)
    state = _QueryChoiceField(choices=OrderState.choices, required=False)
    fulfilment = _QueryChoiceField(choices=FulfilmentState.choices, required=False)
    source = _QueryChoiceField(choices=OrderSource.choices, required=False)
    sync_cimcloud = _QueryChoiceField(choices=SYNC_CHOICES, required=False)
    sync_tulaerp = _QueryChoiceField(choices=SYNC_CHOICES, required=False)
    created_from = _QueryDateField(required=False)
    created_to = _QueryDateField(required=False)
    sort = _QueryChoiceField(choices=[(key, key) for key in SORTS], required=False, default=DEFAULT_SORT)
    cursor = _QueryTextField(required=False, max_length=500)
    page_size = _QueryIntegerField(required=False, default=DEFAULT_PAGE_SIZE, min_value=1, max_value=MAX_PAGE_SIZE)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        cursor = attrs.get("cursor")
        if cursor and decode_cursor(cursor, sort=attrs["sort"]) is None:
            raise serializers.ValidationError({"cursor": ["Not a cursor of this sort: start again without one."]})
        start, end = attrs.get("created_from"), attrs.get("created_to")
        if start and end and start > end:
            raise serializers.ValidationError({"created_to": ["Must not be before created_from."]})
        return attrs


class TrackingQuerySerializer(serializers.Serializer):
    q = _QueryTextField(max_length=200)


class OutboxListQuerySerializer(serializers.Serializer):
    destination = _QueryChoiceField(choices=Destination.choices, required=False)
    state = _QueryChoiceField(choices=MessageState.choices, required=False)
    order = _QueryTextField(required=False, max_length=40)


# --- Responses ---------------------------------------------------------------------------------------------------


class SyncStateSerializer(serializers.Serializer):
    """The latest outbox message to one destination the order goes to; `state` is "none" when never sent."""

    destination = serializers.ChoiceField(choices=Destination.choices, read_only=True)
    state = serializers.ChoiceField(choices=SYNC_CHOICES, read_only=True)
    message_id = serializers.IntegerField(read_only=True, allow_null=True)
    attempts = serializers.IntegerField(read_only=True)
    attention_reason = serializers.CharField(read_only=True)


def sync_rows(order: Order, latest: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for destination in order.destinations:
        message = latest.get(destination)
        rows.append(
            {
                "destination": destination,
                "state": message.state if message else SYNC_NONE,
                "message_id": message.pk if message else None,
                "attempts": message.attempts if message else 0,
                "attention_reason": message.attention_reason if message else "",
            }
        )
    return rows


# Row columns that are plain strings and integers in the answer, exactly as stored.
_PLAIN_ROW_FIELDS = (
    "order_number", "state", "source", "fulfilment_state", "customer_no", "customer_name", "ship_to_city",
    "ship_to_state", "line_count",
)  # fmt: skip


# Unbound on purpose: `self.fields` of a ModelSerializer rebuilds every field from the model on each use.
_ROW_CREATED_AT = serializers.DateTimeField(read_only=True)
_ROW_TOTAL = serializers.DecimalField(13, 2, coerce_to_string=False, read_only=True)


class OrderRowSerializer(serializers.ModelSerializer):
    """One row of the list: what the order list page shows, and the sync state per destination."""

    url = serializers.SerializerMethodField()
    total = serializers.DecimalField(13, 2, coerce_to_string=False, read_only=True)
    destinations = serializers.ListField(child=serializers.CharField(), read_only=True)
    sync = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "order_number", "url", "created_at", "state", "source", "fulfilment_state", "customer_no",
            "customer_name", "ship_to_city", "ship_to_state", "line_count", "total", "destinations", "sync",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, order: Order) -> str:
        return order_api_path(order.order_number)

    @extend_schema_field(SyncStateSerializer(many=True))
    def get_sync(self, order: Order) -> list[dict[str, Any]]:
        return sync_rows(order, self.context["sync"].get(order.pk, {}))

    def to_representation(self, order: Order) -> dict[str, Any]:
        """The same values DRF's field walk gives (a test compares them), built directly: a page has up to 100
        rows, and the generic walk was the largest share of the list's time (bench/api_throughput.py)."""
        return {
            **{name: getattr(order, name) for name in _PLAIN_ROW_FIELDS},
            "url": order_api_path(order.order_number),
            "created_at": _ROW_CREATED_AT.to_representation(order.created_at),
            "total": _ROW_TOTAL.to_representation(order.total),
            "destinations": order.destinations,
            "sync": self.get_sync(order),
        }


class OrderPageSerializer(serializers.Serializer):
    results = OrderRowSerializer(many=True, read_only=True)
    next = serializers.CharField(read_only=True, allow_null=True, help_text="The next page's URL; null on the last.")
    count = serializers.IntegerField(read_only=True, help_text="Matching orders, counted up to count_cap + 1.")
    count_cap = serializers.IntegerField(read_only=True)


class PackageSerializer(serializers.ModelSerializer):
    tracking_link = blankable_text()
    weight = serializers.DecimalField(12, 3, coerce_to_string=False, read_only=True, allow_null=True)
    transit_days = serializers.DecimalField(None, None, coerce_to_string=False, read_only=True, allow_null=True)

    class Meta:
        model = Package
        fields = [
            "package_number", "tulaerp_id", "weight", "carrier", "tracking_number1", "tracking_number2",
            "tracking_link", "tracking_link_source", "delivery_status", "carrier_receive_date", "transit_days",
            "delivery_date",
        ]  # fmt: skip
        read_only_fields = fields


class ShipmentItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShipmentItem
        fields = [
            "position", "item_code", "quantity", "tulaerp_id", "location_name", "picked_quantity", "picked_at",
            "kit_build_barcode",
        ]  # fmt: skip
        read_only_fields = fields


class ShipmentSerializer(serializers.ModelSerializer):
    weight = serializers.DecimalField(12, 3, coerce_to_string=False, read_only=True, allow_null=True)
    items = ShipmentItemSerializer(many=True, read_only=True)
    packages = PackageSerializer(many=True, read_only=True)

    class Meta:
        model = Shipment
        fields = [
            "tulaerp_id", "package_number", "short_order_number", "shipment_date", "status", "warehouse_id",
            "ship_name", "ship_address1", "ship_address2", "ship_address3", "ship_city", "ship_state", "ship_zip",
            "ship_phone", "weight", "items", "packages",
        ]  # fmt: skip
        read_only_fields = fields


class OrderDetailSerializer(OrderSerializer):
    """The order with its lines, shipments and packages, and the sync state per destination."""

    shipments = ShipmentSerializer(many=True, read_only=True)
    sync = serializers.SerializerMethodField()
    email = blankable_text()

    class Meta(OrderSerializer.Meta):
        fields = [
            *OrderSerializer.Meta.fields[:4],
            "version",
            "fulfilment_state",
            "updated_at",
            "review_comment",
            "cancel_reason",
            "email",
            "order_type",
            "shipping_service_level",
            "preferred_ship_method",
            "packslip_message",
            "must_ship_by_date",
            *OrderSerializer.Meta.fields[4:],
            "shipments",
            "sync",
        ]
        read_only_fields = fields

    @extend_schema_field(SyncStateSerializer(many=True))
    def get_sync(self, order: Order) -> list[dict[str, Any]]:
        latest: dict[str, Any] = {}
        for message in order.outbox_messages.all():  # oldest first: the last one per destination is the latest
            latest[message.destination] = message
        return sync_rows(order, latest)


# --- TulaERP OrderShipment (camelCase) in ------------------------------------------------------------------------


_OPTIONAL: dict[str, Any] = {"required": False, "allow_null": True}


class TulaPackageSerializer(StrictSerializer):
    id = serializers.IntegerField(min_value=0, **_OPTIONAL)
    packageNumber = serializers.IntegerField(min_value=0, max_value=1_000_000)  # noqa: N815
    actualShipWeight = serializers.DecimalField(12, 3, coerce_to_string=False, **_OPTIONAL)  # noqa: N815
    shipCarrier = serializers.CharField(max_length=40, allow_blank=True, **_OPTIONAL)  # noqa: N815
    trackingNumber1 = serializers.CharField(max_length=60, allow_blank=True, **_OPTIONAL)  # noqa: N815
    trackingNumber2 = serializers.CharField(max_length=60, allow_blank=True, **_OPTIONAL)  # noqa: N815
    trackingLink = serializers.CharField(max_length=500, allow_blank=True, **_OPTIONAL)  # noqa: N815
    deliveryStatus = serializers.CharField(max_length=60, allow_blank=True, **_OPTIONAL)  # noqa: N815
    carrierReceiveDate = serializers.DateTimeField(**_OPTIONAL)  # noqa: N815
    transitDays = serializers.DecimalField(8, 2, coerce_to_string=False, **_OPTIONAL)  # noqa: N815
    deliveryDate = serializers.DateTimeField(**_OPTIONAL)  # noqa: N815


class TulaShipmentItemSerializer(StrictSerializer):
    id = serializers.IntegerField(min_value=0, **_OPTIONAL)
    itemCode = serializers.CharField(max_length=60)  # noqa: N815
    quantity = serializers.IntegerField(min_value=0, max_value=1_000_000)
    locationName = serializers.CharField(max_length=60, allow_blank=True, **_OPTIONAL)  # noqa: N815
    pickedQuantity = serializers.IntegerField(min_value=0, max_value=1_000_000, **_OPTIONAL)  # noqa: N815
    pickedDateTime = serializers.DateTimeField(**_OPTIONAL)  # noqa: N815
    kitBuildBarcode = serializers.CharField(max_length=60, allow_blank=True, **_OPTIONAL)  # noqa: N815


class TulaShipmentSerializer(StrictSerializer):
    """One OrderShipment as TulaERP sends it. `id` (or, without one, `orderShipmentPackageNumber`) is the key: the
    same keys as the fulfilment refresh, so a shipment posted here and later polled is one row."""

    id = serializers.IntegerField(min_value=0, **_OPTIONAL)
    orderId = serializers.IntegerField(min_value=0, **_OPTIONAL)  # noqa: N815
    orderShipmentPackageNumber = serializers.IntegerField(min_value=0, **_OPTIONAL)  # noqa: N815
    shortOrderNumber = serializers.CharField(max_length=40, allow_blank=True, **_OPTIONAL)  # noqa: N815
    orderShipmentDate = serializers.DateTimeField(**_OPTIONAL)  # noqa: N815
    orderShipmentStatusId = serializers.ChoiceField(choices=TulaOrderStatus.choices, **_OPTIONAL)  # noqa: N815
    warehouseId = serializers.IntegerField(min_value=0, **_OPTIONAL)  # noqa: N815
    shipName = serializers.CharField(max_length=100, allow_blank=True, **_OPTIONAL)  # noqa: N815
    shipAddress1 = serializers.CharField(max_length=100, allow_blank=True, **_OPTIONAL)  # noqa: N815
    shipAddress2 = serializers.CharField(max_length=100, allow_blank=True, **_OPTIONAL)  # noqa: N815
    shipAddress3 = serializers.CharField(max_length=100, allow_blank=True, **_OPTIONAL)  # noqa: N815
    shipCity = serializers.CharField(max_length=60, allow_blank=True, **_OPTIONAL)  # noqa: N815
    shipState = serializers.CharField(max_length=40, allow_blank=True, **_OPTIONAL)  # noqa: N815
    shipZip = serializers.CharField(max_length=20, allow_blank=True, **_OPTIONAL)  # noqa: N815
    shipPhone = serializers.CharField(max_length=40, allow_blank=True, **_OPTIONAL)  # noqa: N815
    weight = serializers.DecimalField(12, 3, coerce_to_string=False, **_OPTIONAL)
    orderShipmentItems = TulaShipmentItemSerializer(many=True, required=False, max_length=MAX_LINES)  # noqa: N815
    orderShipmentPackages = TulaPackageSerializer(many=True, required=False, max_length=100)  # noqa: N815

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("id") is None and attrs.get("orderShipmentPackageNumber") is None:
            raise serializers.ValidationError(
                {"id": ["Send the shipment's id, or its orderShipmentPackageNumber when it has none yet."]}
            )
        return attrs


class ShipmentUpsertSerializer(StrictSerializer):
    orderShipments = TulaShipmentSerializer(many=True, allow_empty=False, max_length=100)  # noqa: N815


class ShipmentListSerializer(serializers.Serializer):
    order_number = serializers.CharField(read_only=True)
    fulfilment_state = serializers.ChoiceField(choices=FulfilmentState.choices, read_only=True)
    changed = serializers.BooleanField(read_only=True, required=False)
    shipments = ShipmentSerializer(many=True, read_only=True)


# --- Tracking ---------------------------------------------------------------------------------------------------


class TrackedPackageSerializer(serializers.Serializer):
    package_number = serializers.IntegerField(read_only=True)
    carrier = serializers.CharField(read_only=True)
    tracking_numbers = serializers.ListField(child=serializers.CharField(), read_only=True)
    link = serializers.CharField(read_only=True, help_text="Empty when neither TulaERP nor a template gives one.")
    link_source = serializers.CharField(read_only=True)
    delivery_status = serializers.CharField(read_only=True)
    shipped_at = serializers.DateTimeField(read_only=True, allow_null=True)
    delivered_at = serializers.DateTimeField(read_only=True, allow_null=True)
    matched = serializers.BooleanField(read_only=True, help_text="Its tracking number is what was searched for.")


class TrackedOrderSerializer(serializers.Serializer):
    order_number = serializers.CharField(source="order.order_number", read_only=True)
    url = serializers.SerializerMethodField()
    state = serializers.CharField(source="order.state", read_only=True)
    fulfilment_state = serializers.CharField(source="order.fulfilment_state", read_only=True)
    customer_name = serializers.CharField(source="order.customer_name", read_only=True)
    po_number = serializers.CharField(source="order.po_number", read_only=True)
    created_at = serializers.DateTimeField(source="order.created_at", read_only=True)
    packages = TrackedPackageSerializer(many=True, read_only=True)

    def get_url(self, tracked: Any) -> str:
        return order_api_path(tracked.order.order_number)


class TrackingSerializer(serializers.Serializer):
    q = serializers.CharField(read_only=True)
    shape = serializers.CharField(read_only=True, help_text="How the input was read: email, tracking, identifier.")
    orders = TrackedOrderSerializer(many=True, read_only=True)
    more = serializers.BooleanField(read_only=True, help_text="More orders matched than are shown.")
    limit = serializers.IntegerField(read_only=True)
