"""The ORM's fixed cost per query: single small reads through the ORM vs the same SQL on a raw cursor.

bench/scale.py holds every page's ORM time within 1.5x of its SQL replayed raw. This measures the floor under
that goal: the cheapest reads the pages are made of (one order by id, one order's lines, one message's attempts),
each as a queryset and as the same SQL on the raw psycopg cursor, and how much of the ORM's time is compiling.
Run by hand on a generated PostgreSQL database (README, "Scale"):

    .venv/bin/python bench/orm_floor.py [--db orders_bench_10k] [--repeat 400] [--no-write]

Each figure is the median of `--repeat` runs after a tenth as many discarded; ORM and raw alternate, so both
see the same machine. Figures go to docs/BENCHMARKS.md ("## ORM floor").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import measured_on, progress, write_section  # noqa: E402

SECTION = "## ORM floor: one small read, ORM vs raw SQL"


def cases() -> list[tuple[str, Callable]]:
    """(what, a function making the unevaluated queryset)."""
    from django.db.models import Count

    from orders.models import DeliveryAttempt, Order, OrderLine, OutboxMessage

    order = Order.objects.filter(line_count__gte=3).order_by("id").values_list("id", flat=True).first()
    message = (
        OutboxMessage.objects.annotate(n=Count("delivery_attempts"))
        .order_by("-n", "id")
        .values_list("id", flat=True)
        .first()
    )
    if order is None or message is None:
        raise SystemExit("No generated orders here: run generate_orders first (README, 'Scale').")
    few = ("id", "order_number", "state")
    return [
        ("Order by id: model instance (98 columns)", lambda: Order.objects.filter(pk=order)),
        ("Order by id: `.values()` (98 columns)", lambda: Order.objects.filter(pk=order).values()),
        ("Order by id: `.only()` 3 columns", lambda: Order.objects.filter(pk=order).only(*few)),
        ("Order by id: `.values_list()` 3 columns", lambda: Order.objects.filter(pk=order).values_list(*few)),
        ("One order's lines (7 columns)", lambda: OrderLine.objects.filter(order_id=order).order_by("position")),
        (
            "One message's attempts (15 columns)",
            lambda: DeliveryAttempt.objects.filter(message_id=message).order_by("started_at", "id"),
        ),
    ]


def measure(make: Callable, repeat: int) -> dict:
    from django.db import connection

    queryset = make()
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    raw = connection.connection
    rows = len(list(make()))

    def run_raw() -> None:
        with raw.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    orm, compiled, replayed = [], [], []
    for index in range(repeat + repeat // 10):
        started = time.perf_counter()
        list(make())
        took = time.perf_counter() - started
        started = time.perf_counter()
        fresh = make()
        fresh.query.get_compiler(using=fresh.db).as_sql()
        compile_took = time.perf_counter() - started
        started = time.perf_counter()
        run_raw()
        raw_took = time.perf_counter() - started
        if index >= repeat // 10:
            orm.append(took)
            compiled.append(compile_took)
            replayed.append(raw_took)
    return {
        "rows": rows,
        "orm": statistics.median(orm),
        "compile": statistics.median(compiled),
        "raw": statistics.median(replayed),
    }


def report(results: list[tuple[str, dict]], database: str, repeat: int) -> str:
    rows = [
        f"| {name} | {r['rows']} | {r['orm'] * 1000:.3f} | {r['compile'] * 1000:.3f} | {r['raw'] * 1000:.3f} | "
        f"{r['orm'] / r['raw']:.2f} | {(r['orm'] - r['raw']) * 1000:.3f} |"
        for name, r in results
    ]
    return "\n".join(
        [
            SECTION,
            "",
            measured_on(),
            "",
            f"What: the cheapest reads the order page and the API order are made of, on `{database}`, each through "
            "the ORM (`list(queryset)`: building the queryset, compiling it, running it, making the rows) and as "
            "the same SQL on the raw psycopg cursor with `fetchall()`, alternating; 'compile' is building and "
            "compiling the queryset alone (`query.get_compiler().as_sql()`, no database). Each figure is the "
            f"median of {repeat} runs. It is the floor under bench/scale.py's ORM / raw goal (≤ 1.5×): a page of "
            "such reads cannot be nearer its raw SQL than they are.",
            "",
            "Reproduce: `.venv/bin/python bench/orm_floor.py` (after README 'Scale' made `orders_bench_10k`).",
            "",
            "| read | rows | ORM ms | of which compile ms | raw ms | ORM / raw | ORM − raw ms |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="orders_bench_10k", help="a PostgreSQL database made by generate_orders")
    parser.add_argument("--repeat", type=int, default=400)
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args()
    url = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    if os.environ.get("DATABASE_URL") != url:  # settings are read at import (bench._common): start again with it
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "DATABASE_URL": url})
    import django

    django.setup()
    results = [(name, measure(make, args.repeat)) for name, make in progress(cases(), desc="reads", unit="read")]
    text = report(results, args.db, args.repeat)
    if args.no_write:
        print(text)
    else:
        print(f"written to {write_section(SECTION, text)}", file=sys.stderr)
        print(text)


if __name__ == "__main__":
    main()
