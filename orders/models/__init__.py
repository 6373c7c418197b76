from orders.models.audit import AuditEntry, AuditKind
from orders.models.catalog import CatalogItem
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
from orders.models.comforts import NOTE_EDIT_WINDOW, NOTE_MAX_LENGTH, OrderNote, SavedView
from orders.models.customers import Customer, CustomerShipTo
from orders.models.events import ExternalToken, OrderEvent
from orders.models.idempotency import IdempotencyKey
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
from orders.models.outbox import (
    CLAIMABLE_STATES,
    OPEN_STATES,
    AttentionReason,
    DeliveryAttempt,
    DestinationState,
    FulfilmentPoll,
    MessageKind,
    MessageState,
    OutboxMessage,
    Priority,
    WorkerHeartbeat,
)
from orders.models.shipments import Package, Shipment, ShipmentItem
from orders.models.tokens import ApiToken

__all__ = [
    "CLAIMABLE_STATES",
    "OPEN_STATES",
    "ApiToken",
    "AuditEntry",
    "AuditKind",
    "CatalogItem",
    "IdempotencyKey",
    "AttentionReason",
    "DeliveryAttempt",
    "DestinationState",
    "FulfilmentPoll",
    "MessageKind",
    "MessageState",
    "OutboxMessage",
    "Priority",
    "WorkerHeartbeat",
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
    "NOTE_EDIT_WINDOW",
    "NOTE_MAX_LENGTH",
    "OrderNote",
    "SavedView",
]
