"""Every read that pages, the API and commands share, one module per area. Reads never open transactions."""

from orders.selectors.customers import (
    CustomerPage,
    customer_detail,
    customer_list_page,
    customer_recent_orders,
    customer_ship_tos,
)
from orders.selectors.dashboard import (
    DestinationPanel,
    HomeOverview,
    attempts_per_hour,
    destination_panels,
    home_overview,
    needs_attention_messages,
    outbox_message_for_action,
    recent_activity,
)
from orders.selectors.orders import (
    LIST_FIELDS,
    any_in_flight,
    order_api_detail,
    order_lines,
    order_list_recent,
    order_number_existing,
    order_shipments,
    sync_states,
)
from orders.selectors.outbox import DestinationSummary, last_heartbeat, layout_alerts, outbox_summary

__all__ = [
    "LIST_FIELDS",
    "CustomerPage",
    "DestinationPanel",
    "DestinationSummary",
    "HomeOverview",
    "any_in_flight",
    "attempts_per_hour",
    "customer_detail",
    "customer_list_page",
    "customer_recent_orders",
    "customer_ship_tos",
    "destination_panels",
    "home_overview",
    "last_heartbeat",
    "layout_alerts",
    "needs_attention_messages",
    "order_api_detail",
    "order_lines",
    "order_list_recent",
    "order_number_existing",
    "order_shipments",
    "outbox_message_for_action",
    "outbox_summary",
    "recent_activity",
    "sync_states",
]

# Order search, list pages and tracking (order list and tracking screens; the API reuses them).
from orders.selectors.search import (  # noqa: E402
    COUNT_CAP,
    DEFAULT_SORT,
    SORTS,
    SYNC_NONE,
    OrderFilters,
    OrderPage,
    SearchShape,
    capped_count,
    capped_counts,
    order_destinations,
    order_export_rows,
    order_list_page,
    order_query,
    order_search,
    search_shape,
)
from orders.selectors.tracking import (  # noqa: E402
    PackageSummary,
    TrackedOrder,
    TrackedPackage,
    TrackingLookup,
    package_link,
    package_summaries,
    tracking_lookup,
)

__all__ += [
    "COUNT_CAP",
    "DEFAULT_SORT",
    "SORTS",
    "SYNC_NONE",
    "OrderFilters",
    "OrderPage",
    "PackageSummary",
    "SearchShape",
    "TrackedOrder",
    "TrackedPackage",
    "TrackingLookup",
    "capped_count",
    "capped_counts",
    "order_destinations",
    "order_export_rows",
    "order_list_page",
    "order_query",
    "order_search",
    "package_link",
    "package_summaries",
    "search_shape",
    "tracking_lookup",
]

# The order page, its form's lookups, and the review queue.
from orders.selectors.detail import (  # noqa: E402
    FixState,
    OrderDetail,
    catalog_search,
    customer_by_id,
    customer_search,
    order_detail,
    order_fix_state,
    order_for_action,
    order_sync_badges,
)
from orders.selectors.review import ReviewQueue, review_queue  # noqa: E402

__all__ += [
    "FixState",
    "OrderDetail",
    "ReviewQueue",
    "catalog_search",
    "customer_by_id",
    "customer_search",
    "order_detail",
    "order_fix_state",
    "order_for_action",
    "order_sync_badges",
    "review_queue",
]

# Staff notes and saved views (issue #9).
from orders.selectors.comforts import (  # noqa: E402
    SAVED_VIEW_TABS,
    note_for_action,
    order_note,
    order_notes,
    pinned_notes,
    saved_view_visible,
    saved_views_visible,
)

__all__ += [
    "SAVED_VIEW_TABS",
    "note_for_action",
    "order_note",
    "order_notes",
    "pinned_notes",
    "saved_view_visible",
    "saved_views_visible",
]
