"""Reads of the customer screens: search with keyset pages, one customer with its ship-tos and recent orders."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet, Subquery
from django.db.models.functions import Lower

from orders.models import Customer, CustomerShipTo, Order
from orders.selectors.orders import LIST_FIELDS

CUSTOMER_PAGE_SIZE = 50
CUSTOMER_LIST_FIELDS = (
    "id", "customer_no", "name", "city", "state", "country_code", "email", "telephone", "credit_hold",
)  # fmt: skip


@dataclass(frozen=True)
class CustomerPage:
    rows: list[Customer]
    next_after: int | None  # the last row's id when there is a next page


def customer_list_page(*, query: str = "", after: int | None = None, limit: int = CUSTOMER_PAGE_SIZE) -> CustomerPage:
    """Customers by name, case-insensitively, then id (the `customer_name_lower_idx` order), one page at a time.

    `query` matches a substring of the name or the customer number, or the whole email address. `after` is the
    id of the previous page's last row: the page continues after its (name, id) position, looked up in the same
    query, so a page costs one query however deep it is.
    """
    rows = Customer.objects.only(*CUSTOMER_LIST_FIELDS).annotate(name_key=Lower("name"))
    query = query.strip()
    if query:
        # Each branch on its index (0009): trigram on the substrings, LOWER(email) on the address.
        rows = rows.alias(email_key=Lower("email")).filter(
            Q(name__icontains=query) | Q(customer_no__icontains=query) | Q(email_key=query.lower())
        )
    if after is not None:
        anchor = Customer.objects.filter(pk=after).annotate(key=Lower("name")).values("key")[:1]
        rows = rows.filter(Q(name_key__gt=Subquery(anchor)) | Q(name_key=Subquery(anchor), id__gt=after))
    page = list(rows.order_by("name_key", "id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return CustomerPage(rows=page, next_after=page[-1].pk if more else None)


def customer_detail(*, customer_id: int) -> Customer | None:
    return Customer.objects.filter(pk=customer_id).first()


def customer_ship_tos(*, customer_id: int) -> QuerySet[CustomerShipTo]:
    return CustomerShipTo.objects.filter(customer_id=customer_id).order_by("code")


def customer_recent_orders(*, customer_id: int, limit: int = 20) -> tuple[list[Order], bool]:
    """The customer's newest orders, and whether there are more than `limit` (one query, no count)."""
    rows = list(Order.objects.filter(customer_id=customer_id).newest_first().only(*LIST_FIELDS)[: limit + 1])
    return rows[:limit], len(rows) > limit
