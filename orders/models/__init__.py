from orders.models.choices import (
    Channel,
    Destination,
    EventKind,
    FulfilmentState,
    LinkSource,
    OrderSource,
    OrderState,
    TulaOrderStatus,
    TulaOrderType,
)
from orders.models.customers import Customer, CustomerShipTo
from orders.models.events import ExternalToken, OrderEvent
from orders.models.orders import (
    CUSTOMER_SNAPSHOT_FIELDS,
    ORDER_TRANSITIONS,
    RESERVED_ORDER_NUMBERS,
    SHIP_TO_SNAPSHOT_FIELDS,
    Order,
    OrderLine,
    OrderNumberCounter,
    validate_order_number,
)
from orders.models.shipments import Package, Shipment, ShipmentItem

__all__ = [
    "CUSTOMER_SNAPSHOT_FIELDS",
    "SHIP_TO_SNAPSHOT_FIELDS",
    "ORDER_TRANSITIONS",
    "RESERVED_ORDER_NUMBERS",
    "Channel",
    "Customer",
    "CustomerShipTo",
    "Destination",
    "EventKind",
    "ExternalToken",
    "FulfilmentState",
    "LinkSource",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderNumberCounter",
    "OrderSource",
    "OrderState",
    "Package",
    "Shipment",
    "ShipmentItem",
    "TulaOrderStatus",
    "TulaOrderType",
    "validate_order_number",
]
