"""Every write goes through these functions; pages, the API and commands call the same ones."""

from orders.services.context import Actor, record_event
from orders.services.customers import customer_create, customer_ship_to_save, customer_update
from orders.services.destinations import destination_pause, destination_resume
from orders.services.orders import (
    LineInput,
    order_approve,
    order_cancel,
    order_create,
    order_create_and_submit,
    order_fix_and_resend,
    order_import,
    order_reject,
    order_submit,
    order_update_draft,
)
from orders.services.outbox import (
    outbox_bulk_retry,
    outbox_cancel_message,
    outbox_mark_sent,
    outbox_record_history,
    outbox_retry_now,
)
from orders.services.shipments import PackageData, ShipmentData, ShipmentItemData, apply_shipments, shipment_upsert

__all__ = [
    "Actor",
    "LineInput",
    "PackageData",
    "ShipmentData",
    "ShipmentItemData",
    "apply_shipments",
    "customer_create",
    "customer_ship_to_save",
    "customer_update",
    "destination_pause",
    "destination_resume",
    "order_approve",
    "order_import",
    "order_cancel",
    "order_create",
    "order_create_and_submit",
    "order_fix_and_resend",
    "order_reject",
    "order_submit",
    "order_update_draft",
    "outbox_bulk_retry",
    "outbox_cancel_message",
    "outbox_mark_sent",
    "outbox_record_history",
    "outbox_retry_now",
    "record_event",
    "shipment_upsert",
]

from orders.services.duplicate import order_duplicate  # noqa: E402

__all__ += ["order_duplicate"]

from orders.services.notes import note_add, note_delete, note_edit  # noqa: E402
from orders.services.saved_views import saved_view_create, saved_view_delete  # noqa: E402

__all__ += ["note_add", "note_delete", "note_edit", "saved_view_create", "saved_view_delete"]
