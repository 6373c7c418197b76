"""The order search's note branch on PostgreSQL: with the trigram index (note_text_trgm_idx) against the same
query with index scans turned off, in the same run (run by hand).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<your database> .venv/bin/python bench/note_search.py \
        [--notes 200000] [--orders 200] [--rounds 7] [--no-write]

The database is migrated and gets --orders orders (through the services) and --notes notes spread over them
(the notes table is emptied and refilled with INSERT … SELECT generate_series), one of which matches. Each
figure is the best of --rounds runs of `order_search(q="blind drop")` fetched to the end. The result goes to
stdout and to the `## Note search` section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal

from _common import measured_on, write_section

SECTION = "## Note search"
QUERY = "blind drop"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of yours: the trigram index exists only there.")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from orders.selectors import order_search

    call_command("migrate", verbosity=0)
    _fill(args.orders, args.notes)
    found = list(order_search(q=QUERY).values_list("pk", flat=True))
    assert len(found) == 1, found

    def best() -> float:
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            list(order_search(q=QUERY).values_list("pk", flat=True))
            times.append(time.perf_counter() - start)
        return min(times)

    indexed = best()
    with connection.cursor() as cursor:  # the baseline: the same SQL when no index may serve the LIKE
        cursor.execute("SET enable_bitmapscan = off")
        cursor.execute("SET enable_indexscan = off")
    scanned = best()
    with connection.cursor() as cursor:
        cursor.execute("RESET enable_bitmapscan")
        cursor.execute("RESET enable_indexscan")
    text = (
        f"{SECTION}\n\n{measured_on()}\n\n"
        f"What: `order_search(q={QUERY!r})` (the order list's search box) over {args.orders:,} orders and "
        f"{args.notes:,} staff notes, one matching; best of {args.rounds}. Baseline: the same query with index "
        "scans turned off (`enable_bitmapscan`, `enable_indexscan`), so the notes are scanned.\n\n"
        "| | ms |\n|---|---|\n"
        f"| with note_text_trgm_idx | {indexed * 1000:.1f} |\n| notes scanned (baseline) | {scanned * 1000:.1f} |\n\n"
        f"Scanned / indexed = **{scanned / indexed:.0f}×**.\n\n"
        "Reproduce: `DATABASE_URL=postgres://…/<your database> .venv/bin/python bench/note_search.py`.\n"
    )
    print(text)
    if not args.no_write:
        print(f"written to {write_section(SECTION, text)}")


def _fill(orders: int, notes: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from orders import services
    from orders.models import Order
    from orders.services import Actor, LineInput

    user, _ = get_user_model().objects.get_or_create(username="bench-notes")
    missing = orders - Order.objects.count()
    for _ in range(max(0, missing)):
        services.order_create(
            actor=Actor(user=user),
            customer=None,
            fields={
                "customer_name": "Bench Co",
                "ship_to_name": "Dock",
                "ship_to_address1": "1 Main St",
                "ship_to_city": "Austin",
                "ship_to_state": "TX",
                "ship_to_zip": "78701",
                "ship_to_country_code": "USA",
            },  # fmt: skip
            lines=[LineInput(sku="BENCH-1", quantity=1, unit_price=Decimal("1.00"))],
        )
    ids = list(Order.objects.order_by("id").values_list("id", flat=True)[:orders])
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE orders_ordernote")
        cursor.execute(
            """INSERT INTO orders_ordernote (order_id, author_id, text, pinned, created_at)
               SELECT (%s::bigint[])[1 + g %% %s], %s, 'Called about the delivery window ' || md5(g::text), false,
                      now()
               FROM generate_series(1, %s) AS g""",
            [ids, len(ids), user.pk, notes - 1],
        )
        cursor.execute(
            "INSERT INTO orders_ordernote (order_id, author_id, text, pinned, created_at) "
            "VALUES (%s, %s, 'Customer wants a BLIND drop-ship', false, now())",
            [ids[0], user.pk],
        )
        cursor.execute("ANALYZE orders_ordernote")


if __name__ == "__main__":
    main()
