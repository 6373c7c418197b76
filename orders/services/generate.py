"""Generated order history for scale work (`generate_orders`): years of orders written as history, not work.

Like `seed_demo`, every generated order is `seeded`: submitted orders have both outbox messages already `sent`
with one seeded DeliveryAttempt each, shipments and packages as TulaERP reported them, and no FulfilmentPoll, so
neither the worker nor the fulfilment refresh has anything to do. Values come from pools built once; the rows
are model instances so one builder feeds both writers (`orders/services/bulk_load.py`).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models.base import ModelState
from django.db.models.functions import Lower

from orders.integrations import jsonutil
from orders.integrations.carriers import tracking_link
from orders.models import (
    Channel,
    Customer,
    DeliveryAttempt,
    Destination,
    EventKind,
    FulfilmentState,
    MessageKind,
    MessageState,
    Order,
    OrderEvent,
    OrderLine,
    OrderNumberCounter,
    OrderSource,
    OrderState,
    OutboxMessage,
    Package,
    Shipment,
    TulaOrderStatus,
)
from orders.services.outbox import BUILDERS

M = TypeVar("M")
ACTOR_LABEL = "generate_orders"
YEARS = 3
IMPORT_PREFIX = "W"  # CIMcloud web orders; manual and API orders take numbers from the counter
CARRIERS = ("UPS", "UPS", "FedEx", "USPS")
PLACES = (
    "Acme", "Alder", "Aspen", "Bayside", "Birch", "Blue Ridge", "Boulder", "Brookside", "Canyon", "Cedar",
    "Coastal", "Copper", "Crescent", "Delta", "Eastgate", "Evergreen", "Fairview", "Foxhollow", "Frontier",
    "Glacier", "Granite", "Harbor", "Hillcrest", "Ironwood", "Juniper", "Keystone", "Lakeside", "Lumen", "Maple",
    "Meadow", "Midland", "Northwind", "Oakridge", "Orchard", "Pacific", "Pinecrest", "Pioneer", "Prairie",
    "Quarry", "Redwood", "Ridgeway", "Riverbend", "Sagebrush", "Silverline", "Southport", "Summit", "Sunrise",
    "Tidewater", "Timberline", "Union Square", "Valley", "Westfield", "Willow", "Yellowpine",
)  # fmt: skip
TRADES = (
    "Dental", "Office Works", "Print Co", "Clinics", "Schools", "Builders", "Marine", "Labs", "Cafe", "Legal",
    "Optics", "Bakery", "Traders", "Vet Care", "Hardware", "Stone Works", "Hotels", "Fitness", "Logistics",
    "Florists", "Auto Parts", "Academy", "Cabins", "Plumbing", "Electric", "Pharmacy", "Brewing", "Farms",
    "Design", "Media", "Roofing", "Landscaping", "Dental Group", "Pediatrics", "Realty", "Storage",
)  # fmt: skip
SUFFIXES = ("", "", "", " Inc", " LLC", " Co", " Group", " & Sons", " Partners")
CITIES = (
    ("Austin", "TX", "787"), ("Chicago", "IL", "606"), ("Denver", "CO", "802"), ("Portland", "OR", "972"),
    ("Nashville", "TN", "372"), ("Columbus", "OH", "432"), ("Raleigh", "NC", "276"), ("Madison", "WI", "537"),
    ("Tucson", "AZ", "857"), ("Omaha", "NE", "681"), ("Boise", "ID", "837"), ("Richmond", "VA", "232"),
    ("Spokane", "WA", "992"), ("Tulsa", "OK", "741"), ("Fresno", "CA", "937"), ("Albany", "NY", "122"),
)  # fmt: skip
STREETS = ("Main St", "Oak Ave", "Commerce Dr", "Industrial Pkwy", "Lakeview Rd", "Market St", "Elm St", "Harbor Way")
ITEM_WORDS = (
    ("TONER", "Toner cartridge"), ("PAPER", "Copy paper"), ("CHAIR", "Office chair"), ("DESK", "Desk"),
    ("CABLE", "Cable"), ("MOUSE", "Mouse"), ("LABEL", "Labels"), ("GLOVE", "Gloves"), ("COFFEE", "Coffee"),
    ("BATT", "Batteries"), ("LAMP", "Desk lamp"), ("BIN", "Storage bin"), ("PEN", "Pens"), ("TAPE", "Tape"),
)  # fmt: skip
COMMENTS = ("", "", "", "", "Leave at dock 3", "Call before delivery", "Deliver to reception")


@dataclass
class Bundle:
    """The rows of one chunk of orders, per model, in the order they must be written (foreign keys first)."""

    rows: dict[type, list] = field(default_factory=lambda: {m: [] for m in GENERATED_MODELS})


GENERATED_MODELS = (Order, OrderLine, OrderEvent, OutboxMessage, DeliveryAttempt, Shipment, Package)


def disk_space_needed(count: int) -> int:
    """Bytes of free disk `generate_orders` wants before it writes `count` orders: 20 GB per million (rows, the
    index builds' sort files and WAL), never less than 100 MB."""
    return max(100 * 10**6, 20 * 10**9 * count // 10**6)


def customers_for(count: int) -> int:
    return min(20_000, max(20, count // 50))


def build_customers(rng: random.Random, *, n: int, taken_numbers: set[str]) -> list[Customer]:
    """n new customers with realistic names and addresses; customer numbers skip those already taken."""
    customers = []
    number = 500_000
    for _ in range(n):
        number += 1
        while f"G{number}" in taken_numbers:
            number += 1
        name = f"{rng.choice(PLACES)} {rng.choice(TRADES)}{rng.choice(SUFFIXES)}"
        city, state, zip3 = rng.choice(CITIES)
        slug = "".join(ch for ch in name.lower() if ch.isalnum())
        customers.append(
            Customer(
                customer_no=f"G{number}",
                name=name,
                address1=f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
                city=city,
                state=state,
                zip=f"{zip3}{rng.randint(10, 99)}",
                country_code="USA",
                email=f"orders{number}@{slug}.example",
                telephone=f"{rng.randint(201, 989)}-555-{rng.randint(1000, 9999)}",
                terms_code=rng.choice(("NET30", "NET30", "NET15", "COD")),
                customer_type="Business",
                price_level=rng.choice(("Standard", "Standard", "Wholesale")),
                ship_method="Ground",
                credit_hold=rng.random() < 0.03,
            )
        )
    return customers


def item_pool(rng: random.Random, n: int = 400) -> list[tuple[str, str, Decimal]]:
    pool = []
    for index in range(n):
        code, words = ITEM_WORDS[index % len(ITEM_WORDS)]
        pool.append((f"{code}-{index:04d}", f"{words}, model {index}", Decimal(rng.randint(150, 49900)).scaleb(-2)))
    return pool


def reserve_numbers(*, manual: int) -> tuple[list[str], set[str]]:
    """`manual` numbers from the manual numbering counter (advanced past them, so `next_order_number` never hands
    one out again), and the lower-cased numbers already taken under that prefix and the import prefix. Call inside
    the loading transaction: the counter row stays locked until it commits."""
    assert transaction.get_connection().in_atomic_block
    prefix, digits = settings.ORDER_NUMBER_PREFIX, settings.ORDER_NUMBER_DIGITS
    taken = set(
        Order.objects.alias(_n=Lower("order_number"))
        .filter(_n__startswith=prefix.lower())
        .values_list(Lower("order_number"), flat=True)
    ) | set(
        Order.objects.alias(_n=Lower("order_number"))
        .filter(_n__startswith=IMPORT_PREFIX.lower())
        .values_list(Lower("order_number"), flat=True)
    )
    OrderNumberCounter.objects.get_or_create(prefix=prefix)
    counter = OrderNumberCounter.objects.select_for_update().get(prefix=prefix)
    numbers, value = [], counter.last_value
    while len(numbers) < manual:
        value += 1
        number = f"{prefix}{value:0{digits}d}"
        if number.lower() not in taken:
            numbers.append(number)
            taken.add(number.lower())
    counter.last_value = value
    counter.save(update_fields=["last_value"])
    return numbers, taken


class OrderHistory:
    """Builds `count` orders spread over the last three years, oldest first, with explicit ids from `first_ids`."""

    def __init__(
        self,
        rng: random.Random,
        *,
        count: int,
        now: datetime,
        customers: list[Customer],
        first_ids: dict[type, int],
        manual_numbers: list[str],
        taken: set[str],
    ) -> None:
        self.rng, self.count, self.now = rng, count, now
        self.customers = customers
        # A few customers place most orders: weights falling with the rank.
        self.customer_weights = _cumulative([1 / (rank + 1) ** 0.8 for rank in range(len(customers))])
        self.items = item_pool(rng)
        self.next_id = dict(first_ids)
        self.manual_numbers = iter(manual_numbers)
        self.taken = taken
        self.import_value = 0
        self.start = now - timedelta(days=365 * YEARS)
        self.step = (now - timedelta(hours=2) - self.start) / max(count, 1)
        self.client_id, self.member_id = settings.TULAERP_CLIENT_ID, settings.TULAERP_MEMBER_ID

    def chunks(self, size: int) -> Iterator[tuple[int, Bundle]]:
        """(orders in the chunk, its rows) for consecutive chunks of at most `size` orders."""
        for first in range(0, self.count, size):
            n = min(size, self.count - first)
            bundle = Bundle()
            picks = self.rng.choices(self.customers, cum_weights=self.customer_weights, k=n)
            for offset, customer in enumerate(picks):
                self._order(bundle, first + offset, customer)
            yield n, bundle

    def _id(self, model: type) -> int:
        value = self.next_id[model]
        self.next_id[model] = value + 1
        return value

    def _number(self, source: str) -> str:
        if source != OrderSource.IMPORT:
            return next(self.manual_numbers)
        while True:
            self.import_value += 1
            number = f"{IMPORT_PREFIX}{self.import_value:08d}"
            if number.lower() not in self.taken:
                return number

    def _order(self, bundle: Bundle, index: int, customer: Customer) -> None:
        rng = self.rng
        created = self.start + self.step * index + timedelta(seconds=rng.random() * self.step.total_seconds())
        roll = rng.random()
        source = OrderSource.MANUAL if roll < 0.35 else OrderSource.API if roll < 0.45 else OrderSource.IMPORT
        state_roll = rng.random()
        state = (
            OrderState.REJECTED
            if state_roll < 0.015
            else OrderState.CANCELLED
            if state_roll < 0.045
            else OrderState.SUBMITTED
        )
        order = new(
            Order,
            id=self._id(Order),
            order_number=self._number(source),
            uuid=uuid.uuid4(),  # from the OS, not the seed: a second run must not repeat them
            state=state,
            source=source,
            seeded=True,
            po_number=f"PO-{rng.randint(10000, 999999)}" if rng.random() < 0.6 else "",
            comments=rng.choice(COMMENTS),
            shipping_total=Decimal(rng.choice((0, 0, 995, 1495, 2450))).scaleb(-2),  # "0.00", as stored
            customer_id=customer.pk,
            email=customer.email,
            client_id=self.client_id,
            member_id=self.member_id,
            created_at=created,
            updated_at=created,
            **{snap: getattr(customer, source_name) for source_name, snap in CUSTOMER_SNAPSHOT.items()},
            ship_to_name=customer.name,
            ship_to_address1=customer.address1,
            ship_to_city=customer.city,
            ship_to_state=customer.state,
            ship_to_zip=customer.zip,
            ship_to_country_code=customer.country_code,
            ship_to_telephone=customer.telephone,
        )
        lines = []
        for position, (sku, description, price) in enumerate(rng.sample(self.items, _line_count(rng)), start=1):
            lines.append(
                new(
                    OrderLine,
                    id=self._id(OrderLine),
                    order_id=order.id,
                    position=position,
                    sku=sku,
                    description=description,
                    quantity=rng.randint(1, 12),
                    unit_price=price,
                )
            )
        order.subtotal = sum((line.quantity * line.unit_price for line in lines), Decimal("0.00"))
        order.total = order.subtotal + order.shipping_total
        order.line_count = len(lines)
        bundle.rows[Order].append(order)
        bundle.rows[OrderLine].extend(lines)
        self._event(bundle, order, created, EventKind.CREATED, f"Order {order.order_number} created as a draft.")
        if state == OrderState.REJECTED:
            self._rejected(bundle, order, created)
            return
        order.submitted_at = created + timedelta(minutes=rng.randint(1, 90))
        self._event(bundle, order, order.submitted_at, EventKind.SUBMITTED, "Submitted.", {"state": ["draft", state]})
        self._messages(bundle, order, lines)
        if state == OrderState.CANCELLED:
            order.cancelled_at = order.updated_at = order.submitted_at + timedelta(hours=rng.randint(1, 48))
            order.cancel_reason = "Customer called to cancel."
            detail = {"state": [OrderState.SUBMITTED, OrderState.CANCELLED]}
            self._event(bundle, order, order.cancelled_at, EventKind.CANCELLED, "Cancelled.", detail)
        elif rng.random() < 0.9:
            self._shipment(bundle, order)
        else:
            order.updated_at = order.submitted_at

    def _rejected(self, bundle: Bundle, order: Order, created: datetime) -> None:
        reviewed = created + timedelta(hours=self.rng.randint(1, 30))
        order.review_reasons = [{"code": "credit_hold", "message": "The customer is on credit hold."}]
        order.review_comment = "Customer is on credit hold; call accounts first."
        order.reviewed_at = order.updated_at = reviewed
        self._event(
            bundle, order, created + timedelta(minutes=5), EventKind.SENT_TO_REVIEW, "Sent to review.",
            {"state": [OrderState.DRAFT, OrderState.AWAITING_REVIEW]},
        )  # fmt: skip
        self._event(
            bundle, order, reviewed, EventKind.REJECTED, f"Rejected: {order.review_comment}",
            {"state": [OrderState.AWAITING_REVIEW, OrderState.REJECTED]},
        )  # fmt: skip

    def _messages(self, bundle: Bundle, order: Order, lines: list[OrderLine]) -> None:
        at = order.submitted_at + timedelta(minutes=2)
        tula_id = 50_000_000 + order.id
        short = f"TU{tula_id:09d}"
        order.tulaerp_id, order.tulaerp_short_order_number, order.tulaerp_status = tula_id, short, "New"
        for destination in (Destination.CIMCLOUD, Destination.TULAERP):
            payload = build_payload_from(order, lines, destination)
            if destination == Destination.TULAERP:
                status, response = 201, f'{{"id": {tula_id}}}'
                result = {"id": tula_id, "short_order_number": short, "status": "New", "created": True}
                reference = short
            else:
                status, response = 200, '{"action": "DataImported", "success": true, "importedRecords": 1}'
                result, reference = {"action": "DataImported", "queued": False, "imported": 1, "updated": 0}, ""
            message = new(
                OutboxMessage,
                id=self._id(OutboxMessage),
                order_id=order.id,
                destination=destination,
                kind=MessageKind.CREATE,
                payload=payload,
                idempotency_key=f"{destination}:{order.uuid}:{order.id:012x}",
                state=MessageState.SENT,
                attempts=1,
                not_before=at,
                created_at=at,
                updated_at=at,
                sent_at=at,
                result=result,
                external_reference=reference,
            )
            bundle.rows[OutboxMessage].append(message)
            bundle.rows[DeliveryAttempt].append(
                new(
                    DeliveryAttempt,
                    id=self._id(DeliveryAttempt),
                    message_id=message.id,
                    number=1,
                    started_at=at,
                    duration_ms=self.rng.randint(90, 900),
                    worker="seed",
                    idempotency_key=message.idempotency_key,
                    request_body=payload,
                    response_status=status,
                    response_body=response,
                    outcome="sent",
                    seeded=True,
                )
            )

    def _shipment(self, bundle: Bundle, order: Order) -> None:
        rng = self.rng
        shipped_at = order.submitted_at + timedelta(hours=rng.randint(4, 30))
        delivered = self.now - shipped_at > timedelta(days=5)
        shipment = new(
            Shipment,
            id=self._id(Shipment),
            order_id=order.id,
            tulaerp_id=order.tulaerp_id,
            short_order_number=order.tulaerp_short_order_number,
            shipment_date=shipped_at,
            status=TulaOrderStatus.DELIVERED if delivered else TulaOrderStatus.SHIPPED,
            ship_name=order.ship_to_name,
            ship_city=order.ship_to_city,
            ship_state=order.ship_to_state,
            ship_zip=order.ship_to_zip,
            created_at=shipped_at,
            updated_at=shipped_at,
        )
        bundle.rows[Shipment].append(shipment)
        numbers = []
        for number in range(1, rng.choice((1, 1, 1, 1, 2, 2, 3, 10 if rng.random() < 0.01 else 1)) + 1):
            facts = package_facts(rng, CARRIERS, shipped_at=shipped_at, delivered=delivered)
            numbers.append(facts["tracking_number1"])
            bundle.rows[Package].append(
                new(
                    Package,
                    id=self._id(Package),
                    shipment_id=shipment.id,
                    tulaerp_id=order.tulaerp_id * 100 + number,
                    package_number=number,
                    **facts,
                )
            )
        order.fulfilment_state = FulfilmentState.DELIVERED if delivered else FulfilmentState.SHIPPED
        order.tulaerp_status = shipment.status
        order.updated_at = shipped_at + timedelta(days=1)
        self._event(
            bundle, order, shipped_at, EventKind.TRACKING_ADDED, "Tracking: " + ", ".join(sorted(numbers)),
            {"tracking_numbers": sorted(numbers)},
        )  # fmt: skip
        kind = EventKind.DELIVERED if delivered else EventKind.SHIPMENT_UPDATED
        self._event(
            bundle, order, order.updated_at, kind, f"Fulfilment: {FulfilmentState(order.fulfilment_state).label}.",
            {"fulfilment_state": [FulfilmentState.UNSHIPPED, order.fulfilment_state]},
        )  # fmt: skip

    def _event(
        self, bundle: Bundle, order: Order, at: datetime, kind: str, message: str, detail: dict | None = None
    ) -> None:
        bundle.rows[OrderEvent].append(
            new(
                OrderEvent,
                id=self._id(OrderEvent),
                order_id=order.id,
                kind=kind,
                actor_label=ACTOR_LABEL,
                channel=Channel.COMMAND,
                message=message,
                detail=detail or {},
                created_at=min(at, self.now),
            )
        )


# Customer field → the order's snapshot column (the same mapping order_create uses, minus the derived ones).
CUSTOMER_SNAPSHOT = {
    "customer_no": "customer_no",
    "name": "customer_name",
    "address1": "customer_address1",
    "city": "customer_city",
    "state": "customer_state",
    "zip": "customer_zip",
    "country_code": "customer_country_code",
    "email": "customer_email",
    "telephone": "customer_telephone",
    "terms_code": "customer_terms_code",
    "customer_type": "customer_type",
    "ship_method": "customer_ship_method",
    "price_level": "customer_price_level",
    "credit_hold": "customer_credit_hold",
}


def build_payload_from(order: Order, lines: list[OrderLine], destination: str) -> str:
    """The payload `build_payload` writes at submit time, from rows not saved yet."""
    return jsonutil.dumps(BUILDERS[destination](order, lines))


_DEFAULTS: dict[type, dict] = {}


def new(model: type[M], **values) -> M:
    """An unsaved instance without Model.__init__ (a fifth of the generator's time): the fields' defaults,
    evaluated once per model, overlaid with `values`. Callable defaults (uuid, now) are always given."""
    defaults = _DEFAULTS.get(model)
    if defaults is None:
        defaults = _DEFAULTS[model] = {f.attname: f.get_default() for f in model._meta.concrete_fields}
    obj = model.__new__(model)
    obj._state = ModelState()
    obj.__dict__.update(defaults)
    obj.__dict__.update(values)
    return obj


def package_facts(rng: random.Random, carriers: Sequence[str], *, shipped_at: datetime, delivered: bool) -> dict:
    """A package's fields as TulaERP reports them (for the generator and seed_demo): the ERP sends tracking links
    for UPS and FedEx and none for USPS, so those links come from our carrier table."""
    carrier = rng.choice(carriers)
    tracking = tracking_number(rng, carrier)
    erp_link = "" if carrier == "USPS" else tracking_link(carrier, tracking, None)[0]
    link, link_source = tracking_link(carrier, tracking, erp_link)
    return {
        "weight": Decimal(rng.randint(5, 400)) / 10,
        "carrier": carrier,
        "tracking_number1": tracking,
        "tracking_link": link,
        "tracking_link_source": link_source,
        "delivery_status": "Delivered" if delivered else "In Transit",
        "carrier_receive_date": shipped_at,
        "transit_days": Decimal(rng.randint(1, 5)),
        "delivery_date": shipped_at + timedelta(days=rng.randint(1, 4)) if delivered else None,
    }


def tracking_number(rng: random.Random, carrier: str) -> str:
    if carrier == "UPS":
        shipper = "".join(rng.choices("ABCDEFGHJKLMNPRTUVWXY0123456789", k=6))
        return f"1Z{shipper}{rng.choice(('01', '02', '03', '12'))}{rng.randint(0, 99999999):08d}"
    if carrier == "FedEx":
        return f"{rng.randint(10**11, 10**12 - 1)}"
    return f"9400{rng.randint(10**17, 10**18 - 1)}"


def _line_count(rng: random.Random) -> int:
    return rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10))


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out
