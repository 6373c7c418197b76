"""Finding orders: the search box, the list filters, the sort orders and their keyset pages.

The order list, its CSV export, the tracking lookup and the API all search through `order_search`, so one query
string finds the same orders everywhere. Reads never open transactions.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import reduce
from operator import or_

from django.db import connections
from django.db.models import Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone

from orders.integrations.carriers import carrier_for_tracking_number
from orders.models import Destination, MessageState, Order, OrderLine, OrderNote, OutboxMessage, Package, Shipment
from orders.selectors.orders import LIST_FIELDS, OrderListRow

SEARCH_MAX_LENGTH = 100  # longer input is cut: nothing searchable is longer, and it bounds the LIKE patterns
PAGE_SIZE = 50
COUNT_CAP = 1000  # counts shown on pages stop here ("1,000+")
ORDER_ROW_FIELDS = (*LIST_FIELDS, "send_to_cimcloud", "send_to_tulaerp")

# The latest outbox message per destination decides an order's sync state; "none" is an order never sent there.
SYNC_NONE = "none"


class SearchShape(StrEnum):
    EMPTY = "empty"
    EMAIL = "email"
    TRACKING = "tracking"
    IDENTIFIER = "identifier"


def normalise_query(q: str | None) -> str:
    return (q or "").strip()[:SEARCH_MAX_LENGTH].strip()


def search_shape(q: str | None) -> SearchShape:
    """Which branch `order_search` takes for this input (see there)."""
    text = normalise_query(q)
    if not text:
        return SearchShape.EMPTY
    if "@" in text:
        return SearchShape.EMAIL
    if carrier_for_tracking_number(text) is not None:
        return SearchShape.TRACKING
    return SearchShape.IDENTIFIER


def order_search(*, q: str | None, queryset: QuerySet[Order] | None = None) -> QuerySet[Order]:
    """Orders matching what staff typed or pasted. Unordered: callers sort.

    The input is trimmed (and cut at SEARCH_MAX_LENGTH); every comparison ignores case. Its shape picks one
    branch before anything is OR-ed, so an email never matches a customer name and a tracking number never
    matches a PO by accident:

    - empty: every order (no condition);
    - contains "@" (email): exactly the order's `email`, `customer_email` or `ship_to_email`;
    - looks like a carrier tracking number (`carrier_for_tracking_number`, e.g. "1Z…", 12/15/20/22 digits,
      "EA123456789US"): exactly a package's `tracking_number1` or `tracking_number2`. Spaces and dashes inside
      the number are ignored ("1Z 999 AA1 …"), as carriers do. An all-digit number is also a common PO or ERP
      number, so for those the exact identifier matches (order, ERP, TulaERP and PO numbers) join in — still
      exact and indexed, never a name substring;
    - anything else (identifier): exactly the ERP order number, the TulaERP short order number, the PO number, a
      line's SKU or a package's tracking number (for carriers whose numbers have no recognisable shape); the
      order number exactly or by prefix ("D-0001" finds D-000100 … D-000199); the customer name or customer
      number as a substring.

    Exact matches compare `Lower(field)` with the lowered input, the expressions of the functional indexes
    (order_po_idx, order_email_idx, line_sku_idx, …); the order-number prefix and the substrings use the
    PostgreSQL-only `order_number_prefix_idx` and trigram indexes of migration 0008. Tracking numbers are stored
    upper-case and compared as such (package_tracking1_idx / package_tracking2_idx). Note text is `icontains`,
    which PostgreSQL runs as UPPER(text) LIKE: the trigram index note_text_trgm_idx.
    """
    queryset = Order.objects.all() if queryset is None else queryset
    text = normalise_query(q)
    shape = search_shape(text)
    if shape is SearchShape.EMPTY:
        return queryset
    lowered = text.lower()
    if shape is SearchShape.EMAIL:
        return queryset.alias(
            _email=Lower("email"), _customer_email=Lower("customer_email"), _ship_to_email=Lower("ship_to_email")
        ).filter(Q(_email=lowered) | Q(_customer_email=lowered) | Q(_ship_to_email=lowered))
    if shape is SearchShape.TRACKING and not text.isdigit():
        return queryset.filter(_tracking_exists(text))
    matches = [_tracking_orders(text), *_exact_number_orders(lowered, order_number=shape is SearchShape.TRACKING)]
    if shape is SearchShape.IDENTIFIER:
        lines = OrderLine.objects.alias(_sku=Lower("sku")).filter(_sku=lowered).values("order_id")
        by_text = Order.objects.alias(_number=Lower("order_number")).order_by()
        matches += [
            by_text.filter(_number__startswith=lowered).values("id"),  # includes the exact number
            lines.order_by(),
            by_text.filter(customer_name__icontains=text).values("id"),
            by_text.filter(customer_no__icontains=text).values("id"),
            OrderNote.objects.filter(text__icontains=text).order_by().values("order_id"),
        ]
    # One indexed subquery per rule, UNION-ed, rather than one OR over the orders table: the database cannot
    # serve an OR that mixes EXISTS subqueries with columns from indexes, and would read every order.
    return queryset.filter(pk__in=matches[0].union(*matches[1:]))


def _exact_number_orders(lowered: str, *, order_number: bool) -> list[QuerySet]:
    """Ids of orders whose ERP, TulaERP or PO number (and the order number, when asked) is exactly the lowered
    input."""
    names = ["erp_order_number", "tulaerp_short_order_number", "po_number"]
    if order_number:
        names.insert(0, "order_number")
    return [Order.objects.alias(_key=Lower(name)).filter(_key=lowered).order_by().values("id") for name in names]


def tracking_variants(text: str) -> list[str]:
    """The stored spellings a typed tracking number can have: as typed (upper-cased) and without spaces/dashes."""
    upper = text.strip().upper()
    cleaned = "".join(char for char in upper if char.isalnum())
    return list(dict.fromkeys(v for v in (upper, cleaned) if v))


def _tracking_packages(text: str) -> QuerySet[Package]:
    numbers = tracking_variants(text)
    return Package.objects.filter(Q(tracking_number1__in=numbers) | Q(tracking_number2__in=numbers))


def _tracking_exists(text: str) -> Exists:
    return Exists(_tracking_packages(text).filter(shipment__order_id=OuterRef("pk")))


def _tracking_orders(text: str) -> QuerySet:
    return _tracking_packages(text).order_by().values("shipment__order_id")


# --- Filters ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderFilters:
    """The list's filters; empty values mean "any". Dates are local calendar days, both ends inclusive."""

    state: str = ""
    fulfilment: str = ""
    source: str = ""
    sync: dict[str, str] = field(default_factory=dict)  # destination → message state or SYNC_NONE
    created_from: date | None = None
    created_to: date | None = None
    needs_attention: bool = False  # any destination's latest message needs a person
    shipped_on: date | None = None  # a shipment dated that local day


def latest_sync_state(destination: str) -> Subquery:
    """The state of an order's latest message to `destination` (as `sync_states` picks it); NULL when none."""
    return Subquery(
        OutboxMessage.objects.filter(order_id=OuterRef("pk"), destination=destination)
        .order_by("-created_at", "-id")
        .values("state")[:1]
    )


def order_filter(queryset: QuerySet[Order], *, filters: OrderFilters) -> QuerySet[Order]:
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    if filters.fulfilment:
        queryset = queryset.filter(fulfilment_state=filters.fulfilment)
    if filters.source:
        queryset = queryset.filter(source=filters.source)
    for destination, state in filters.sync.items():
        if not state or destination not in Destination.values:
            continue
        messages = OutboxMessage.objects.filter(order_id=OuterRef("pk"), destination=destination)
        if state == SYNC_NONE:
            queryset = queryset.filter(~Exists(messages))
            continue
        # The EXISTS lets the database start from the few messages in that state (outbox_claim_idx begins with
        # destination, state) instead of computing every order's latest message; the latest decides.
        name = f"_sync_{destination}"
        queryset = queryset.alias(**{name: latest_sync_state(destination)}).filter(
            Exists(messages.filter(state=state)), **{name: state}
        )
    if filters.needs_attention:
        attention = MessageState.NEEDS_ATTENTION
        latest = {f"_latest_{d}": latest_sync_state(d) for d in Destination.values}
        queryset = queryset.alias(**latest).filter(
            Exists(OutboxMessage.objects.filter(order_id=OuterRef("pk"), state=attention)),
            reduce(or_, (Q(**{name: attention}) for name in latest)),
        )
    if filters.shipped_on:
        start, end = _local_midnight(filters.shipped_on), _local_midnight(filters.shipped_on + timedelta(days=1))
        shipped = Shipment.objects.filter(order_id=OuterRef("pk"), shipment_date__gte=start, shipment_date__lt=end)
        queryset = queryset.filter(Exists(shipped))
    # Bounds as instants, not `created_at__date`: a plain range keeps order_created_idx usable.
    if filters.created_from:
        queryset = queryset.filter(created_at__gte=_local_midnight(filters.created_from))
    if filters.created_to:
        queryset = queryset.filter(created_at__lt=_local_midnight(filters.created_to + timedelta(days=1)))
    return queryset


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- Sorting and keyset pages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sort:
    key: str  # the URL value: "-created", "number", …
    field: str
    descending: bool

    @property
    def ordering(self) -> tuple[str, str]:
        sign = "-" if self.descending else ""
        return f"{sign}{self.field}", f"{sign}id"


# Each sort has an index ending in id (order_created_idx, order_number_sort_idx, order_customer_name_sort_idx,
# order_total_sort_idx), read forwards or backwards.
SORT_FIELDS = {"created": "created_at", "number": "order_number", "customer": "customer_name", "total": "total"}
SORTS: dict[str, Sort] = {
    f"{sign}{name}": Sort(key=f"{sign}{name}", field=column, descending=bool(sign))
    for name, column in SORT_FIELDS.items()
    for sign in ("", "-")
}
DEFAULT_SORT = "-created"


def order_query(*, q: str | None = "", filters: OrderFilters | None = None, sort: str = DEFAULT_SORT) -> QuerySet:
    """Searched, filtered and sorted (with `id` as the tie-breaker): what a page shows and an export writes."""
    queryset = order_filter(order_search(q=q), filters=filters or OrderFilters())
    return queryset.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]).ordering)


def encode_cursor(sort: str, order: Order | OrderListRow) -> str:
    """Where the next page starts: the sort, the last row's sort value and id. Opaque to users, not secret."""
    spec = SORTS[sort]
    value = getattr(order, spec.field)
    raw = json.dumps([sort, value.isoformat() if isinstance(value, datetime) else str(value), order.pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, sort: str) -> tuple[object, int] | None:
    """(sort value, id) after which the page starts; None for a missing, malformed or other sort's cursor."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
        cursor_sort, value, pk = json.loads(raw)
        if cursor_sort != sort or not isinstance(value, str) or not isinstance(pk, int) or isinstance(pk, bool):
            return None
        return _parse_sort_value(SORTS[sort].field, value), pk
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error, InvalidOperation):
        return None


def _parse_sort_value(column: str, value: str) -> object:
    if column == "created_at":
        parsed = datetime.fromisoformat(value)
        if timezone.is_naive(parsed):
            raise ValueError("naive datetime in cursor")
        return parsed
    if column == "total":
        return Decimal(value)
    return value


def after_cursor(queryset: QuerySet, *, sort: str, value: object, pk: int) -> QuerySet:
    """Rows strictly after (value, pk) in the sort's order. The redundant `>=` bound lets the database start an
    index range scan at `value` instead of evaluating the OR row by row."""
    spec = SORTS[sort]
    column = spec.field
    if spec.descending:
        return queryset.filter(
            Q(**{f"{column}__lt": value}) | Q(**{column: value, "id__lt": pk}), **{f"{column}__lte": value}
        )
    return queryset.filter(
        Q(**{f"{column}__gt": value}) | Q(**{column: value, "id__gt": pk}), **{f"{column}__gte": value}
    )


@dataclass(frozen=True)
class OrderPage:
    orders: list[OrderListRow]
    next_cursor: str | None  # None on the last page
    count: int  # matching orders, capped at count_cap + 1
    count_cap: int

    @property
    def count_is_capped(self) -> bool:
        return self.count > self.count_cap


def order_list_page(
    *,
    q: str | None = "",
    filters: OrderFilters | None = None,
    sort: str = DEFAULT_SORT,
    after: str | None = None,
    limit: int = PAGE_SIZE,
    count_cap: int = COUNT_CAP,
) -> OrderPage:
    """One keyset page of the order list (OrderListRow objects) and a capped count of everything matching, in one
    query at any size (the count is a scalar subquery of the page's SELECT; a second query only for a page past
    the end). A cursor from another sort (or a mangled one) starts at the first page."""
    sort = sort if sort in SORTS else DEFAULT_SORT
    matching = order_query(q=q, filters=filters, sort=sort)
    queryset = matching
    position = decode_cursor(after, sort=sort)
    if position is not None:
        queryset = after_cursor(queryset, sort=sort, value=position[0], pk=position[1])
    count_sql = RawSQL(*_capped_count_sql(matching, cap=count_cap), output_field=IntegerField())
    values = list(queryset.annotate(match_count=count_sql).values(*ORDER_ROW_FIELDS, "match_count")[: limit + 1])
    count = values[0]["match_count"] if values else 0
    if not values and position is not None:  # past the end of the matching rows: count them on their own
        count = capped_count(matching, cap=count_cap)
    rows = [OrderListRow(**{name: row[name] for name in ORDER_ROW_FIELDS}) for row in values]
    next_cursor = encode_cursor(sort, rows[limit - 1]) if len(rows) > limit else None
    return OrderPage(orders=rows[:limit], next_cursor=next_cursor, count=count, count_cap=count_cap)


def order_destinations(*, order_ids: list[int]) -> list[Order]:
    """Just enough of these orders to draw their sync badges (which destinations they go to)."""
    return list(Order.objects.filter(pk__in=order_ids).only("id", "send_to_cimcloud", "send_to_tulaerp").order_by("id"))


def capped_count(queryset: QuerySet, *, cap: int) -> int:
    """How many rows match, counting at most cap + 1 (COUNT over a LIMIT subquery, never the whole table)."""
    return queryset.order_by()[: cap + 1].count()


def capped_counts(querysets: list[QuerySet], *, cap: int) -> list[int]:
    """`capped_count` of each queryset, all in one query: SELECT (SELECT COUNT(*) FROM (… LIMIT cap+1)), …
    So a row of tabs costs one query however many tabs there are."""
    if not querysets:
        return []
    parts, params = [], []
    for queryset in querysets:
        sql, values = _capped_count_sql(queryset, cap=cap)
        parts.append(f"({sql})")
        params.extend(values)
    with connections[querysets[0].db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        return [int(n) for n in cursor.fetchone()]


def _capped_count_sql(queryset: QuerySet, *, cap: int) -> tuple[str, tuple]:
    """SELECT COUNT(*) over the ids of the first cap + 1 matching rows, as SQL and parameters."""
    sql, params = queryset.order_by().values("pk")[: cap + 1].query.sql_with_params()
    return f"SELECT COUNT(*) FROM ({sql}) AS capped", params


# --- Export ------------------------------------------------------------------------------------------------------

EXPORT_FIELDS = (
    "order_number", "created_at", "state", "source", "customer_no", "customer_name", "email", "po_number",
    "erp_order_number", "tulaerp_short_order_number", "ship_to_city", "ship_to_state", "line_count", "subtotal",
    "total", "fulfilment_state",
)  # fmt: skip


def order_export_rows(*, queryset: QuerySet[Order], chunk_size: int = 2000) -> Iterator[tuple]:
    """The export's rows in the queryset's order: EXPORT_FIELDS, then the sync state per destination (None when
    never sent). Streams from the database in chunks (a server-side cursor on PostgreSQL)."""
    annotated = queryset.annotate(**{f"sync_{d}": latest_sync_state(d) for d in Destination.values})
    columns = (*EXPORT_FIELDS, *(f"sync_{d}" for d in Destination.values))
    return annotated.values_list(*columns).iterator(chunk_size=chunk_size)
