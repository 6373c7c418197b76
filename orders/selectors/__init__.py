"""Every read that pages, the API and commands share, one module per area. Reads never open transactions."""

from orders.selectors.orders import LIST_FIELDS, order_api_detail, order_list_recent, order_number_existing
from orders.selectors.outbox import DestinationSummary, last_heartbeat, layout_alerts, outbox_summary

__all__ = [
    "LIST_FIELDS",
    "DestinationSummary",
    "last_heartbeat",
    "layout_alerts",
    "order_api_detail",
    "order_list_recent",
    "order_number_existing",
    "outbox_summary",
]
