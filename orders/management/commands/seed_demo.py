"""Demo users and a realistic data set: idempotent, no HTTP, history rather than work."""

from __future__ import annotations

import os
import random
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from orders import services
from orders.models import AttentionReason, Channel, Customer, Destination, Order, OrderEvent, OrderSource, OrderState
from orders.services import Actor, LineInput, PackageData, ShipmentData, ShipmentItemData
from orders.services.catalog import catalog_item_save
from orders.services.generate import package_facts

PASSWORD_FILE = Path(settings.BASE_DIR) / ".demo-password"
DEMO_USERS = (("admin", "admin"), ("operator", "operator"), ("viewer", "viewer"))
SEED = 20261123

CITIES = [
    ("Austin", "TX", "787"),
    ("Chicago", "IL", "606"),
    ("Denver", "CO", "802"),
    ("Portland", "OR", "972"),
    ("Nashville", "TN", "372"),
    ("Columbus", "OH", "432"),
    ("Raleigh", "NC", "276"),
    ("Madison", "WI", "537"),
    ("Tucson", "AZ", "857"),
    ("Omaha", "NE", "681"),
    ("Boise", "ID", "837"),
    ("Richmond", "VA", "232"),
]
STREETS = ["Main St", "Oak Ave", "Commerce Dr", "Industrial Pkwy", "Lakeview Rd", "Market St", "Elm St", "Harbor Way"]
COMPANIES = [
    "Acme Supply",
    "Blue Ridge Dental",
    "Cedar Office Works",
    "Delta Print Co",
    "Evergreen Clinics",
    "Foxhollow Schools",
    "Granite Builders",
    "Harbor Marine",
    "Ironwood Labs",
    "Juniper Cafe Group",
    "Keystone Legal",
    "Lumen Optics",
    "Maple Street Bakery",
    "Northwind Traders",
    "Orchard Vet Care",
    "Pioneer Hardware",
    "Quarry Stone Works",
    "Riverbend Hotels",
    "Summit Fitness",
    "Tidewater Logistics",
    "Union Square Florists",
    "Valley Auto Parts",
    "Westfield Academy",
    "Yellowpine Cabins",
]
PEOPLE = [
    "Ana Lopez",
    "Ben Carter",
    "Chloe Nguyen",
    "Dev Patel",
    "Emma Schultz",
    "Farah Khan",
    "Gus Olsen",
    "Hana Sato",
    "Ivan Petrov",
    "Jade Wilson",
    "Kofi Mensah",
    "Lena Novak",
]
ITEMS = [
    ("SOFTOFF365", "Office 365 license, 1 year", "72.00"),
    ("MGPAINT1", "Magnetic paint, 1 qt", "20.00"),
    ("TONER-HP26", "HP 26A toner cartridge", "89.50"),
    ("PAPER-A4-5", "Copy paper, 5 reams", "34.99"),
    ("CHAIR-ERG2", "Ergonomic chair, mesh", "249.00"),
    ("DESK-ST60", "Standing desk 60in", "489.00"),
    ("CABLE-HDMI2", "HDMI cable 2m", "9.75"),
    ("MOUSE-WL3", "Wireless mouse", "24.00"),
    ("LABEL-4x6", "Shipping labels 4x6, 500", "18.40"),
    ("GLOVE-NIT-M", "Nitrile gloves M, 100", "12.90"),
    ("COFFEE-5LB", "Coffee beans, 5 lb", "54.00"),
    ("BATT-AA24", "AA batteries, 24 pack", "16.25"),
]
CARRIERS = ("UPS", "FedEx", "USPS")


class Command(BaseCommand):
    help = "Create demo users (admin, operator, viewer) and a realistic demo data set. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=300, help="How many demo orders (first run only).")
        parser.add_argument("--force", action="store_true", help="Run even with DJANGO_DEBUG off.")

    def handle(self, *args, orders: int, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates users with a known password: it refuses to run with DJANGO_DEBUG "
                "off. Use --force if this really is a demo system."
            )
        password = self._password()
        self._users(password)
        if Order.objects.filter(source=OrderSource.DEMO).exists():
            self.stdout.write("Demo orders exist already; nothing to add.")
        else:
            DemoData(random.Random(SEED), stdout=self.stdout).create(orders)
        self.stdout.write(self.style.SUCCESS(f"Demo login: admin / operator / viewer, password: {password}"))

    def _password(self) -> str:
        if settings.DEMO_PASSWORD:
            return settings.DEMO_PASSWORD
        if PASSWORD_FILE.exists():
            return PASSWORD_FILE.read_text().strip()
        password = secrets.token_urlsafe(12)
        fd = os.open(PASSWORD_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        return password

    def _users(self, password: str) -> None:
        User = get_user_model()
        with transaction.atomic(durable=True):
            for username, role in DEMO_USERS:
                user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
                user.is_staff = role == "admin"
                user.set_password(password)
                user.save()
                user.groups.set([Group.objects.get(name=role)])


class DemoData:
    """Orders over the last four months in every state, made through the services like real ones."""

    def __init__(self, rng: random.Random, stdout) -> None:
        self.rng = rng
        self.stdout = stdout
        self.system = Actor.system("seed_demo")
        self.operator = Actor(user=get_user_model().objects.get(username="operator"), channel=Channel.PAGE)
        self.admin = Actor(user=get_user_model().objects.get(username="admin"), channel=Channel.PAGE)
        self.now = timezone.now()
        self.next_tula_id = 10001

    LIVE = 2  # the youngest submitted orders stay pending (4 messages): starting the system shows live sends
    ATTENTION = (  # realistic failures for the outbox monitor
        (Destination.CIMCLOUD, AttentionReason.PERMANENT, 400, "Missing required field(s): shipping_address.zip"),
        (
            Destination.TULAERP,
            AttentionReason.AMBIGUOUS,
            None,
            "No complete answer; the request may have been applied (ReadTimeout) — check in TulaERP whether the "
            "order arrived, then mark it as sent or retry.",
        ),
        (
            Destination.CIMCLOUD,
            AttentionReason.EXHAUSTED,
            503,
            "Still failing after 14 attempts: 503 Service Unavailable",
        ),
    )

    def create(self, count: int) -> None:
        for sku, description, price in ITEMS:
            catalog_item_save(actor=self.system, sku=sku, description=description, default_price=Decimal(price))
        customers = self._customers()
        ages = sorted((self.rng.uniform(0, 120) for _ in range(count)), reverse=True)
        self.live_left = self.LIVE
        self.attention_left = list(self.ATTENTION)
        for index, age_days in enumerate(tqdm(ages, desc="Demo orders", unit="order", file=self.stdout._out)):
            # History, not work: all but the youngest few orders are already delivered to both systems.
            youngest = count - index <= 12
            self._order(customers, timedelta(days=age_days), live=youngest, attention=count - index <= 30)

    def _customers(self) -> list[Customer]:
        customers = []
        for index, company in enumerate(COMPANIES):
            city, state, zip3 = CITIES[index % len(CITIES)]
            customer = services.customer_create(
                actor=self.system,
                fields={
                    "customer_no": f"C{10040 + index * 7}",
                    "name": company,
                    "address1": self._street(),
                    "city": city,
                    "state": state,
                    "zip": f"{zip3}{self.rng.randint(10, 99)}",
                    "country_code": "USA",
                    "email": f"orders@{company.lower().replace(' ', '')}.example",
                    "telephone": self._phone(),
                    "terms_code": self.rng.choice(["NET30", "NET15", "COD"]),
                    "customer_type": "Business",
                    "price_level": self.rng.choice(["Standard", "Wholesale"]),
                    "ship_method": "Ground",
                    "credit_hold": index % 9 == 4,
                },
            )
            for n in range(self.rng.randint(0, 3)):
                c2, s2, z2 = self.rng.choice(CITIES)
                services.customer_ship_to_save(
                    actor=self.system,
                    customer_id=customer.pk,
                    code=f"SHIP{n + 1:03d}",
                    fields={
                        "name": f"{company} {c2}",
                        "attention": self.rng.choice(PEOPLE),
                        "address1": self._street(),
                        "city": c2,
                        "state": s2,
                        "zip": f"{z2}{self.rng.randint(10, 99)}",
                        "country_code": "USA",
                        "telephone": self._phone(),
                    },
                )
            customers.append(customer)
        return customers

    def _order(self, customers: list[Customer], age: timedelta, *, live: bool, attention: bool) -> None:
        rng = self.rng
        customer = rng.choice(customers)
        ship_tos = list(customer.ship_tos.all())
        lines = [
            LineInput(sku=sku, description=desc, quantity=rng.randint(1, 12), unit_price=Decimal(price))
            for sku, desc, price in rng.sample(ITEMS, rng.randint(1, 5))
        ]
        fields = {
            "po_number": f"PO-{rng.randint(10000, 99999)}" if rng.random() < 0.7 else "",
            "email": customer.email,
            "comments": rng.choice(["", "", "Leave at dock 3", "Call before delivery"]),
        }
        if not ship_tos:
            fields.update(
                {
                    f"ship_to_{k}": getattr(customer, k)
                    for k in ("name", "address1", "city", "state", "zip", "country_code", "telephone")
                }
            )
        order = services.order_create(
            actor=self.operator,
            fields=fields,
            lines=lines,
            customer=customer,
            ship_to=rng.choice(ship_tos) if ship_tos else None,
            source=OrderSource.DEMO,
            seeded=not live,
        )
        roll = rng.random()
        if roll < 0.3 and age < timedelta(days=10):
            pass  # stays a draft
        else:
            order = services.order_submit(actor=self.operator, order_id=order.pk)
            if order.state == OrderState.AWAITING_REVIEW and age > timedelta(days=15):
                if roll < 0.15:
                    order = services.order_reject(
                        actor=self.admin, order_id=order.pk, comment="Customer is on credit hold; call accounts first."
                    )
                else:
                    order = services.order_approve(actor=self.admin, order_id=order.pk)
            if order.state == OrderState.SUBMITTED:
                if roll > 0.96:
                    order = services.order_cancel(
                        actor=self.operator, order_id=order.pk, reason="Customer called to cancel."
                    )
                elif live and self.live_left:
                    self.live_left -= 1  # left pending: the worker sends it when the system starts
                    self._backdate(order, age)
                    return
                elif attention and self.attention_left and not live:
                    failure = self.attention_left.pop(0)
                    self._history(order, age, failure=failure)
                    if failure[0] == Destination.CIMCLOUD:
                        self._fulfil(order, age)
                else:
                    self._history(order, age)
                    self._fulfil(order, age)
        if live:  # not kept as live work after all: mark it as history like the rest
            Order.objects.filter(pk=order.pk).update(seeded=True)
        self._backdate(order, age)

    def _history(self, order: Order, age: timedelta, failure: tuple | None = None) -> None:
        at = self.now - age + timedelta(minutes=2)
        short = f"TU{self.next_tula_id:07d}"
        for message in order.outbox_messages.all():
            if failure and message.destination == failure[0]:
                destination, reason, status, text = failure
                services.outbox_record_history(
                    message_id=message.pk,
                    at=at,
                    status=status or 0,
                    response="" if status is None else f'{{"message": "{text}"}}',
                    attention=(reason, text),
                )
            elif message.destination == Destination.TULAERP:
                services.outbox_record_history(
                    message_id=message.pk,
                    at=at,
                    status=201,
                    response=f'{{"id": {self.next_tula_id}}}',
                    result={"id": self.next_tula_id, "short_order_number": short, "status": "New", "created": True},
                    external_reference=short,
                )
            else:
                services.outbox_record_history(
                    message_id=message.pk,
                    at=at,
                    status=200,
                    response='{"action": "DataImported", "success": true, "importedRecords": 1}',
                    result={"action": "DataImported", "queued": False, "imported": 1, "updated": 0},
                )

    def _fulfil(self, order: Order, age: timedelta) -> None:
        rng = self.rng
        tula_id = self.next_tula_id
        self.next_tula_id += 1
        short = f"TU{tula_id:07d}"
        Order.objects.filter(pk=order.pk).update(
            tulaerp_id=tula_id, tulaerp_short_order_number=short, tulaerp_status="New"
        )
        if age < timedelta(days=1):
            return
        shipped_at = self.now - age + timedelta(hours=rng.randint(4, 30))
        delivered = age > timedelta(days=5)
        packages = []
        for number in range(1, rng.randint(1, 3) + 1):
            facts = package_facts(rng, CARRIERS, shipped_at=shipped_at, delivered=delivered)
            packages.append(PackageData(package_number=number, tulaerp_id=tula_id * 10 + number, **facts))
        items = tuple(
            ShipmentItemData(
                item_code=line.sku,
                quantity=line.quantity,
                location_name="MAIN-A1",
                picked_quantity=line.quantity,
                picked_at=shipped_at,
            )
            for line in order.lines.all()
        )
        services.shipment_upsert(
            actor=Actor.system("seed_demo"),
            order_id=order.pk,
            shipments=[
                ShipmentData(
                    tulaerp_id=tula_id,
                    short_order_number=short,
                    shipment_date=shipped_at,
                    status="Delivered" if delivered else "Shipped",
                    ship_name=order.ship_to_name,
                    ship_city=order.ship_to_city,
                    ship_state=order.ship_to_state,
                    ship_zip=order.ship_to_zip,
                    items=items,
                    packages=tuple(packages),
                )
            ],
        )
        Order.objects.filter(pk=order.pk).update(tulaerp_status="Delivered" if delivered else "Shipped")

    def _backdate(self, order: Order, age: timedelta) -> None:
        """Move the order and its timeline into the past, keeping their spacing."""
        shift = age
        order.refresh_from_db()
        updates = {
            name: getattr(order, name) - shift
            for name in ("created_at", "updated_at", "submitted_at", "reviewed_at", "cancelled_at")
            if getattr(order, name) is not None
        }
        Order.objects.filter(pk=order.pk).update(**updates)
        for event in OrderEvent.objects.filter(order=order).only("created_at"):
            OrderEvent.objects.filter(pk=event.pk).update(
                created_at=min(event.created_at - shift + self._event_gap(event), self.now)
            )

    def _event_gap(self, event: OrderEvent) -> timedelta:
        # Fulfilment events happen later than the order itself; shipment rows carry their own dates.
        return timedelta(days=1) if event.kind in ("tracking_added", "shipment_updated", "delivered") else timedelta()

    def _street(self) -> str:
        return f"{self.rng.randint(10, 9999)} {self.rng.choice(STREETS)}"

    def _phone(self) -> str:
        return f"{self.rng.randint(201, 989)}-555-{self.rng.randint(1000, 9999)}"
