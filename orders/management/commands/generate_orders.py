"""Years of order history for scale work and benchmarks: `generate_orders --count 1000000`."""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from orders.models import Customer
from orders.services.bulk_load import PostgresLoader, SqliteLoader, next_ids
from orders.services.generate import (
    GENERATED_MODELS,
    OrderHistory,
    build_customers,
    customers_for,
    disk_space_needed,
    reserve_numbers,
)

CHUNK = 5000


class Command(BaseCommand):
    help = (
        "Add COUNT generated orders over the last three years, as history (sent, shipped, nothing left to do). "
        "COPY on PostgreSQL with indexes rebuilt after the load; bulk inserts on SQLite. Adds to existing data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True, help="How many orders to add.")
        parser.add_argument("--seed", type=int, default=8, help="Random seed of names, amounts and dates.")

    def handle(self, *args, count: int, seed: int, **options):
        if count < 1:
            raise CommandError("--count must be at least 1.")
        check_free_disk(count)
        started = time.monotonic()
        rng = random.Random(seed)
        postgres = connection.vendor == "postgresql"
        loader = (PostgresLoader if postgres else SqliteLoader)(GENERATED_MODELS, written=[Customer])
        say = self.stdout.write
        with transaction.atomic(durable=True):
            taken_customers = set(Customer.objects.values_list("customer_no", flat=True))
            new_customers = build_customers(rng, n=customers_for(count), taken_numbers=taken_customers)
            Customer.objects.bulk_create(new_customers, batch_size=2000)
            numbers = {c.customer_no for c in new_customers}
            customers = list(Customer.objects.filter(customer_no__in=numbers).order_by("id"))
            # Manual and API orders (about 45%) take numbers from the counter; reserve a few more than expected.
            manual_numbers, taken = reserve_numbers(manual=int(count * 0.47) + 50)
            loader.prepare()
            history = OrderHistory(
                rng,
                count=count,
                now=timezone.now(),
                customers=customers,
                first_ids=next_ids(GENERATED_MODELS),
                manual_numbers=manual_numbers,
                taken=taken,
            )
            with tqdm(total=count, desc="Orders", unit="order", file=self.stdout._out) as bar:
                for n, bundle in history.chunks(CHUNK):
                    loader.write(bundle.rows)
                    bar.update(n)
            loaded = time.monotonic()
            say(f"Rows written in {loaded - started:.0f} s; building indexes and constraints…")
            loader.finish(lambda step: say(f"  {step}") if options["verbosity"] > 1 else None)
        indexed = time.monotonic()
        vacuumed = ""
        if postgres:
            say("Committed; VACUUM, so index-only scans need not read the tables (autovacuum may be off or late)…")
            loader.vacuum()
            vacuumed = f", VACUUM {time.monotonic() - indexed:.0f} s"
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {count:,} orders and {len(customers):,} customers in {elapsed:.0f} s "
                f"(load {loaded - started:.0f} s, indexes and ANALYZE {indexed - loaded:.0f} s{vacuumed})."
            )
        )


def database_directory() -> Path:
    """Where the database keeps its files: PostgreSQL's data directory (when it is on this machine), or the
    SQLite file's directory."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW data_directory")
            return Path(cursor.fetchone()[0])
    return Path(settings.DATABASES["default"]["NAME"]).resolve().parent


def check_free_disk(count: int) -> None:
    directory = database_directory()
    if not directory.exists():
        raise CommandError(
            f"Cannot check free disk space: the database directory {directory} is not on this machine. "
            "Run generate_orders on the database server."
        )
    free, needed = shutil.disk_usage(directory).free, disk_space_needed(count)
    if free < needed:
        raise CommandError(
            f"Not enough free disk for {count:,} orders: {free / 10**9:.1f} GB free in {directory}, "
            f"{needed / 10**9:.1f} GB needed (20 GB per million orders). Free some space or use a smaller --count."
        )
