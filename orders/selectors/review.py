"""Reads of the review queue."""

from __future__ import annotations

from dataclasses import dataclass

from orders.models import Order

QUEUE_FIELDS = (
    "id", "order_number", "created_at", "updated_at", "customer_name", "customer_no", "customer_credit_hold",
    "po_number", "line_count", "total", "state", "review_reasons", "created_by", "updated_by",
    "created_by__username", "updated_by__username",
)  # fmt: skip


@dataclass(frozen=True)
class ReviewQueue:
    orders: list[Order]
    more: bool  # there are more waiting than shown


def review_queue(*, limit: int = 100) -> ReviewQueue:
    """Orders awaiting review, oldest first, with who created and last edited them (the four-eyes rule's
    people). One query, whatever the length of the queue."""
    rows = list(
        Order.objects.awaiting_review()
        .select_related("created_by", "updated_by")
        .only(*QUEUE_FIELDS)
        .order_by("created_at", "id")[: limit + 1]
    )
    return ReviewQueue(orders=rows[:limit], more=len(rows) > limit)
