"""Every read that pages, the API and commands share, one module per area. Reads never open transactions."""

from orders.selectors.orders import (
    LIST_FIELDS,
    any_in_flight,
    order_api_detail,
    order_list_recent,
    order_number_existing,
    sync_states,
)
from orders.selectors.outbox import DestinationSummary, last_heartbeat, layout_alerts, outbox_summary

__all__ = [
    "LIST_FIELDS",
    "DestinationSummary",
    "any_in_flight",
    "last_heartbeat",
    "layout_alerts",
    "order_api_detail",
    "order_list_recent",
    "order_number_existing",
    "outbox_summary",
    "sync_states",
]
