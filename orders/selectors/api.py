"""Reads the API needs beyond the pages' selectors: one order with everything it shows, and the outbox list and
detail. A fixed number of queries each, whatever the number of related rows."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.db.models.functions import Lower

from orders.models import Customer, DeliveryAttempt, Order, OutboxMessage
from orders.selectors.orders import lines_prefetch, shipments_prefetch

OUTBOX_LIST_FIELDS = (
    "id", "order_id", "order__order_number", "destination", "kind", "state", "priority", "attempts", "not_before",
    "created_at", "updated_at", "sent_at", "attention_reason", "last_error", "external_reference", "note",
)  # fmt: skip


# What the order's `outbox` and `sync` blocks show of its messages.
_MESSAGE_FIELDS = ("id", "order_id", "destination", "kind", "state", "created_at", "attempts", "attention_reason")


def _by_number(number: str) -> QuerySet[Order]:
    # Order numbers are unique ignoring case; this lookup uses that index.
    return Order.objects.alias(number_key=Lower("order_number")).filter(number_key=number.strip().lower())


def order_api_by_number(*, number: str) -> Order:
    """The order with its lines, shipments (items, packages) and outbox messages, oldest first: six queries.
    Raises Order.DoesNotExist."""
    return (
        _by_number(number)
        .prefetch_related(
            lines_prefetch(),
            shipments_prefetch(),
            Prefetch(
                "outbox_messages", queryset=OutboxMessage.objects.only(*_MESSAGE_FIELDS).order_by("created_at", "id")
            ),
        )
        .get()
    )


def order_api_id(*, number: str) -> int:
    """The id of the order with this number, for a service call. Raises Order.DoesNotExist."""
    return _by_number(number).values_list("id", flat=True).get()


def customer_by_number(*, customer_no: str) -> Customer | None:
    return Customer.objects.filter(customer_no=customer_no.strip()).first() if customer_no.strip() else None


def outbox_message_list(*, destination: str = "", state: str = "", order_number: str = "") -> QuerySet[OutboxMessage]:
    """Outbox messages, newest first (`id` breaks ties), without their payloads."""
    queryset = OutboxMessage.objects.select_related("order").only(*OUTBOX_LIST_FIELDS)
    if destination:
        queryset = queryset.filter(destination=destination)
    if state:
        queryset = queryset.filter(state=state)
    if order_number:
        queryset = queryset.alias(_number=Lower("order__order_number")).filter(_number=order_number.strip().lower())
    return queryset.order_by("-created_at", "-id")


def outbox_message_detail(*, message_id: int) -> OutboxMessage:
    """One message with its order number and delivery attempts: two queries. Raises OutboxMessage.DoesNotExist."""
    return (
        OutboxMessage.objects.select_related("order")
        .only(*OUTBOX_LIST_FIELDS, "payload", "result", "idempotency_key")
        .prefetch_related(Prefetch("delivery_attempts", queryset=DeliveryAttempt.objects.order_by("started_at", "id")))
        .get(pk=message_id)
    )


def order_api_summary(*, number: str) -> Order:
    """Just the order's number, state and fulfilment (for the shipments endpoint). Raises Order.DoesNotExist."""
    return _by_number(number).only("id", "order_number", "state", "fulfilment_state").get()


def outbox_message_exists(*, message_id: int) -> bool:
    return OutboxMessage.objects.filter(pk=message_id).exists()
