"""Every read that pages and the API share. Reads never open transactions."""

from __future__ import annotations

from django.db.models import QuerySet

from orders.models import Order

LIST_FIELDS = (
    "id", "order_number", "created_at", "customer_name", "customer_no", "ship_to_city", "ship_to_state",
    "line_count", "total", "state", "fulfilment_state", "source",
)  # fmt: skip


def order_list_recent(*, limit: int = 25) -> QuerySet[Order]:
    return Order.objects.newest_first().only(*LIST_FIELDS)[:limit]
