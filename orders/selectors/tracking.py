"""Packages and their tracking, for the tracking lookup, the order list's fulfilment column and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Max

from orders.integrations.carriers import tracking_link
from orders.models import LinkSource, Package, TulaOrderStatus
from orders.selectors.orders import OrderListRow
from orders.selectors.search import (
    SearchShape,
    normalise_query,
    order_search,
    search_shape,
    tracking_variants,
)

TRACKING_ORDER_LIMIT = 20  # a lookup shows the newest matching orders; staff narrow the search for older ones
TRACKING_ORDER_FIELDS = (
    "id", "order_number", "created_at", "customer_name", "po_number", "tulaerp_short_order_number", "state",
    "fulfilment_state", "ship_to_city", "ship_to_state",
)  # fmt: skip
TRACKING_PACKAGE_FIELDS = (
    "package_number", "carrier", "tracking_number1", "tracking_number2", "tracking_link", "tracking_link_source",
    "delivery_status", "carrier_receive_date", "delivery_date", "shipment__order_id", "shipment__shipment_date",
    "shipment__status",
)  # fmt: skip


def package_link(*, carrier: str, number: str, stored_link: str, stored_source: str) -> tuple[str, str]:
    """(link, LinkSource) to show for a package: the stored link when it is a web link (keeping where it came
    from), else one built from the carrier's template, else none. Never a javascript: or data: URL."""
    link, source = tracking_link(carrier, number, stored_link)
    if source == LinkSource.ERP and stored_source in (LinkSource.ERP, LinkSource.TEMPLATE):
        return link, stored_source
    return link, source


@dataclass(frozen=True)
class PackageSummary:
    """What the order list shows of an order's packages: how many, and the only one's tracking when just one."""

    count: int
    carrier: str
    tracking_number: str
    link: str
    link_source: str


def package_summaries(*, order_ids: list[int]) -> dict[int, PackageSummary]:
    """Per order with packages, in one aggregate query (one row per order, whatever the number of packages).
    With a single package, Max() of each column is that package's value."""
    rows = (
        Package.objects.filter(shipment__order_id__in=order_ids)
        .values(order_id=F("shipment__order_id"))
        .annotate(
            n=Count("id"),
            carrier_max=Max("carrier"),
            number=Max("tracking_number1"),
            link=Max("tracking_link"),
            source=Max("tracking_link_source"),
        )
        .order_by()
    )
    out = {}
    for row in rows:
        single = row["n"] == 1
        link, source = (
            package_link(
                carrier=row["carrier_max"], number=row["number"], stored_link=row["link"], stored_source=row["source"]
            )
            if single
            else ("", LinkSource.NONE)
        )
        out[row["order_id"]] = PackageSummary(
            count=row["n"],
            carrier=row["carrier_max"] if single else "",
            tracking_number=row["number"] if single else "",
            link=link,
            link_source=source,
        )
    return out


@dataclass(frozen=True)
class TrackedPackage:
    package_number: int
    carrier: str
    tracking_numbers: tuple[str, ...]
    delivery_status: str
    link: str
    link_source: str
    shipped_at: datetime | None  # the shipment's date, else the carrier's receive date
    delivered_at: datetime | None
    matched: bool  # its tracking number is what was searched for

    @property
    def link_source_label(self) -> str:
        return LinkSource(self.link_source).label


_SHIPMENT_STATUS_LABELS = dict(TulaOrderStatus.choices)


def _delivery_status(package: dict) -> str:
    """The carrier's words when TulaERP passed them on, else what the dates and the shipment say."""
    if package["delivery_status"].strip():
        return package["delivery_status"].strip()
    if package["delivery_date"]:
        return "Delivered"
    status = package["shipment__status"]
    return "" if status == TulaOrderStatus.UNKNOWN else _SHIPMENT_STATUS_LABELS.get(status, status)


@dataclass(frozen=True)
class TrackedOrder:
    order: OrderListRow
    packages: list[TrackedPackage]


@dataclass(frozen=True)
class TrackingLookup:
    q: str
    shape: SearchShape
    orders: list[TrackedOrder]
    more: bool  # more orders matched than are shown
    limit: int


def tracking_lookup(q: str | None, *, limit: int | None = None) -> TrackingLookup:
    """The newest orders `order_search` finds for `q` (at most `limit`, TRACKING_ORDER_LIMIT by default), each with
    its packages: two queries whatever the numbers of orders and packages, none for an empty `q`."""
    limit = limit or TRACKING_ORDER_LIMIT
    text = normalise_query(q)
    shape = search_shape(text)
    if shape is SearchShape.EMPTY:
        return TrackingLookup(q=text, shape=shape, orders=[], more=False, limit=limit)
    # Plain rows, not model instances: with Order's many columns deferred, instances cost more than the query.
    found = order_search(q=text).order_by("-created_at", "-id").values(*TRACKING_ORDER_FIELDS)[: limit + 1]
    orders = [OrderListRow(**row) for row in found]
    more, orders = len(orders) > limit, orders[:limit]
    searched = set(tracking_variants(text))
    by_order: dict[int, list[TrackedPackage]] = {order.pk: [] for order in orders}
    packages = (
        Package.objects.filter(shipment__order_id__in=list(by_order))
        .order_by("shipment__order_id", "shipment__shipment_date", "shipment_id", "package_number")
        .values(*TRACKING_PACKAGE_FIELDS)
    )
    for package in packages:
        numbers = tuple(n for n in (package["tracking_number1"], package["tracking_number2"]) if n)
        link, source = package_link(
            carrier=package["carrier"],
            number=package["tracking_number1"],
            stored_link=package["tracking_link"],
            stored_source=package["tracking_link_source"],
        )
        by_order[package["shipment__order_id"]].append(
            TrackedPackage(
                package_number=package["package_number"],
                carrier=package["carrier"],
                tracking_numbers=numbers,
                delivery_status=_delivery_status(package),
                link=link,
                link_source=source,
                shipped_at=package["shipment__shipment_date"] or package["carrier_receive_date"],
                delivered_at=package["delivery_date"],
                matched=bool(searched.intersection(numbers)),
            )
        )
    return TrackingLookup(
        q=text,
        shape=shape,
        orders=[TrackedOrder(order=order, packages=by_order[order.pk]) for order in orders],
        more=more,
        limit=limit,
    )
