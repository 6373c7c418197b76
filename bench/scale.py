"""Pages and API at a million orders vs ten thousand, against Django's admin and against raw SQL (issue #8).

Run by hand, on PostgreSQL, after generating the two bench databases (README, "Scale"):

    .venv/bin/python bench/scale.py [--large orders_bench] [--small orders_bench_10k] [--repeat 15] [--rounds 3]
                                    [--no-write]

One run measures both databases, each in a child process (`bench/scale.py measure`), through Django's test
Client in-process (no HTTP server: the figures are the application's own time, the same way for both sizes).
The two alternate for `--rounds` rounds of `--repeat / --rounds` requests per case after two discarded warm-ups;
every figure is the median of the rounds' medians. Per request the SQL time is
summed in a `connection.execute_wrapper`, so "outside SQL" is the rest (URL routing, forms, ORM, templates,
serializers). "ORM vs raw" times the page's selector call against its captured SQL replayed on a raw psycopg
cursor with `fetchall()`. EXPLAIN (ANALYZE, BUFFERS) of every query of every measured request at the large size
goes to docs/bench/scale-explain/; the figures to docs/BENCHMARKS.md ("## Scale").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import PYTHON, REPO, measured_on, write_section  # noqa: E402

EXPLAIN_DIR = REPO / "docs" / "bench" / "scale-explain"
SECTION = "## Scale: a million orders"
BIG_ORDER_PO = "BENCH-50-10-100"  # marks the order given 50 lines, 10 packages and 100 attempts
WARMUP = 2


@dataclass
class Case:
    name: str
    url: str
    api: bool = False
    admin: bool = False
    selector: object = None  # the ORM call behind the page, for ORM vs raw
    repeat: int | None = None
    warmup: int = 2


# --- the child: one database ---------------------------------------------------------------------------------


def child(out: Path, repeat: int, explain: bool, with_admin: bool) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_test_environment

    setup_test_environment(debug=False)  # no query log; allows the test client's host
    settings.ROOT_URLCONF = "bench.scale_urls"
    from django.db import connection
    from django.test import Client

    fixtures = prepare()
    cases = [case for case in build_cases(fixtures) if with_admin or not case.admin]
    results = {"orders": fixtures["orders"], "terms": fixtures["terms"], "cases": {}}
    browser, api = Client(), Client()
    browser.force_login(fixtures["admin"])
    for case in cases:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {fixtures['token']}"} if case.api else {}
        n = case.repeat or repeat
        samples = [request(connection, api if case.api else browser, case.url, headers) for _ in range(case.warmup + n)]
        kept = samples[case.warmup :]
        entry = {
            "total": statistics.median(s["total"] for s in kept),
            "sql": statistics.median(s["sql"] for s in kept),
            "outside": statistics.median(s["total"] - s["sql"] for s in kept),
            "outside_cpu": statistics.median(s["outside_cpu"] for s in kept),
            "queries": kept[-1]["count"],
            "repeat": n,
        }
        if case.selector is not None:
            entry.update(orm_vs_raw(connection, case.selector, n))
        results["cases"][case.name] = entry
        if explain:
            write_explain(connection, case, kept[-1]["statements"])
        print(f"  {case.name}: {entry['total'] * 1000:.1f} ms", file=sys.stderr)
    out.write_text(json.dumps(results, indent=1))


def request(connection, client, url: str, headers: dict) -> dict:
    statements: list[tuple[str, object]] = []
    sql_time, sql_cpu = [0.0], [0.0]

    def timed(execute, sql, params, many, context):
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_time[0] += time.perf_counter() - started
            sql_cpu[0] += time.process_time() - cpu
            statements.append((sql, params))

    with connection.execute_wrapper(timed):
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get(url, **headers)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        total, cpu = time.perf_counter() - started, time.process_time() - cpu
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.content[:300]!r}")
    return {
        "total": total,
        "sql": sql_time[0],
        "outside_cpu": cpu - sql_cpu[0],
        "count": len(statements),
        "statements": statements,
    }


def orm_vs_raw(connection, selector, n: int) -> dict:
    """The ORM's time inside the page's selector call (building, compiling and running its querysets, making the
    objects, prefetching) vs the same SQL on a raw psycopg cursor with fetchall()."""
    statements: list[tuple[str, object]] = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        selector()
    raw = connection.connection

    def run_raw():
        with raw.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()

    orm_times, raw_times = [], []
    for index in range(WARMUP + n):
        with orm_clock() as orm:
            selector()
        started = time.perf_counter()
        run_raw()
        if index >= WARMUP:
            orm_times.append(orm[0])
            raw_times.append(time.perf_counter() - started)
    return {"orm": statistics.median(orm_times), "raw": statistics.median(raw_times)}


@contextmanager
def orm_clock():
    """Seconds spent in the QuerySet methods that hit the database (outermost calls only: a prefetch or a
    `get()` runs others inside)."""
    from django.db.models.query import QuerySet

    spent, depth = [0.0], [0]
    names = ("_fetch_all", "count", "exists", "aggregate")
    originals = {name: getattr(QuerySet, name) for name in names}

    def timed(original):
        def method(self, *args, **kwargs):
            depth[0] += 1
            started = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    spent[0] += time.perf_counter() - started

        return method

    for name, original in originals.items():
        setattr(QuerySet, name, timed(original))
    try:
        yield spent
    finally:
        for name, original in originals.items():
            setattr(QuerySet, name, original)


def write_explain(connection, case: Case, statements: list) -> None:
    parts = [f"# {case.name}: GET {case.url}\n# EXPLAIN (ANALYZE, BUFFERS) of each query the request ran\n"]
    with connection.cursor() as cursor:
        for sql, params in statements:
            if "orders_" not in sql or sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE")):
                continue  # the session and user lookups are the same on every page
            text = connection.ops.compose_sql(sql, params)
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            parts.append(f"\n-- {text}\n{plan}\n")
    EXPLAIN_DIR.mkdir(parents=True, exist_ok=True)
    (EXPLAIN_DIR / f"{case.name}.txt").write_text("".join(parts))


def prepare() -> dict:
    """Users, a token, the 50/10/100 order, and the values searched for, picked the same way at every size."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db.models import Max, Min

    from orders.models import ApiToken, Order, Package
    from orders.selectors.search import encode_cursor
    from orders.services import Actor
    from orders.services.tokens import api_token_create

    User = get_user_model()
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_staff": True, "is_superuser": True})
    admin.groups.add(Group.objects.get(name="admin"))
    # A fresh token per run (only its hash is stored); the previous runs' ones go rather than pile up.
    ApiToken.objects.filter(user=admin, name="bench/scale.py").delete()
    _, token = api_token_create(actor=Actor.system("bench"), user=admin, name="bench/scale.py")
    orders = Order.objects.count()
    newest = Order.objects.order_by("-created_at", "-id")
    deep = (
        newest.only("id", "created_at")[10_000 - 1]
        if orders >= 10_050
        else newest.only("id", "created_at")[orders // 2]
    )
    # Terms from an order 40% into the table, so each size searches for something of the same age.
    bounds = Order.objects.aggregate(lo=Min("id"), hi=Max("id"))
    order = (
        Order.objects.filter(
            pk__gte=bounds["lo"] + (bounds["hi"] - bounds["lo"]) * 2 // 5,
            state="submitted",
            shipments__packages__carrier="UPS",
        )
        .exclude(po_number=BIG_ORDER_PO)
        .order_by("id")
        .first()
    )
    tracking = Package.objects.filter(shipment__order=order, carrier="UPS").values_list("tracking_number1", flat=True)[
        0
    ]
    big = big_order()
    name_term = order.customer_name.split()[0][1:] + " " + order.customer_name.split()[1][:3]
    return {
        "admin": admin,
        "token": token,
        "orders": orders,
        "deep_cursor": encode_cursor("-created", deep),
        "big": big.order_number,
        "customer_name": order.customer_name,
        "small": Order.objects.filter(line_count=1, shipments__packages__package_number=1)
        .exclude(shipments__packages__package_number=2)
        .values_list("order_number", flat=True)
        .first(),
        "terms": {
            "tracking": tracking,
            "order_number": order.order_number,
            "email": order.customer_email,
            "name": name_term,
        },
    }


def big_order():
    """An order with 50 lines, 10 packages and 100 delivery attempts (made once per database)."""
    from decimal import Decimal

    from django.db import transaction

    from orders.models import DeliveryAttempt, Order, OrderLine, OutboxMessage, Package, Shipment

    existing = Order.objects.filter(po_number=BIG_ORDER_PO).first()
    if existing:
        return existing
    with transaction.atomic():
        order = Order.objects.filter(state="submitted", shipments__isnull=False).order_by("-id").first()
        shipment = Shipment.objects.filter(order=order).first()
        last = OrderLine.objects.filter(order=order).count()
        OrderLine.objects.bulk_create(
            OrderLine(order=order, position=p, sku=f"BENCH-{p:02d}", quantity=1, unit_price=Decimal("1.00"))
            for p in range(last + 1, 51)
        )
        have = Package.objects.filter(shipment=shipment).count()
        template = Package.objects.filter(shipment=shipment).first()
        Package.objects.bulk_create(
            Package(
                shipment=shipment,
                package_number=n,
                carrier=template.carrier,
                tracking_number1=f"{template.tracking_number1[:-3]}{n:03d}",
                tracking_link=template.tracking_link,
                tracking_link_source=template.tracking_link_source,
                delivery_status=template.delivery_status,
            )
            for n in range(have + 1, 11)
        )
        for message in OutboxMessage.objects.filter(order=order):
            first = message.delivery_attempts.get()
            DeliveryAttempt.objects.bulk_create(
                DeliveryAttempt(
                    message=message, number=n, started_at=first.started_at, worker="seed", outcome="sent", seeded=True
                )
                for n in range(2, 51)
            )
            OutboxMessage.objects.filter(pk=message.pk).update(attempts=50)
        lines = OrderLine.objects.filter(order=order)
        subtotal = sum((line.quantity * line.unit_price for line in lines), Decimal("0.00"))
        Order.objects.filter(pk=order.pk).update(
            po_number=BIG_ORDER_PO,
            line_count=50,
            subtotal=subtotal,
            total=subtotal + (order.shipping_total or 0) + (order.tax_total or 0),
        )
    return Order.objects.get(pk=order.pk)


def build_cases(f: dict) -> list[Case]:
    from orders import selectors
    from orders.selectors.api import order_api_by_number

    terms = f["terms"]
    cases = [
        Case("list_first", "/orders/", selector=lambda: selectors.order_list_page()),
        Case(
            "list_deep_10000",
            f"/orders/?after={f['deep_cursor']}",
            selector=lambda: selectors.order_list_page(after=f["deep_cursor"]),
        ),
    ]
    for kind, term in terms.items():
        cases.append(Case(f"search_{kind}", f"/orders/?q={quote(term)}", selector=_search(term)))
    cases += [
        Case("detail_50_10_100", f"/orders/{f['big']}/", selector=lambda: selectors.order_detail(number=f["big"])),
        Case("detail_1_1_2", f"/orders/{f['small']}/", selector=lambda: selectors.order_detail(number=f["small"])),
        Case("home", "/", selector=lambda: (selectors.home_overview(), list(selectors.recent_activity()))),
        Case(
            "api_detail",
            f"/api/v1/orders/{f['big']}/",
            api=True,
            selector=lambda: order_api_by_number(number=f["big"]),
        ),
        Case("api_list", "/api/v1/orders/", api=True, selector=lambda: selectors.order_list_page()),
        Case(
            "api_tracking",
            f"/api/v1/tracking/?q={quote(terms['tracking'])}",
            api=True,
            selector=lambda: selectors.tracking_lookup(terms["tracking"]),
        ),
        Case(
            "tracking_page",
            f"/tracking/?q={quote(terms['tracking'])}",
            selector=lambda: selectors.tracking_lookup(terms["tracking"]),
        ),
        # The customers page and the order form's lookup (trigram indexes of migration 0009), for the searched
        # order's customer by name: a substring that finds about one customer at both sizes, so the rows shown
        # are alike (the name term above finds 1 customer among 200 but 7 among 20,000).
        Case(
            "customers_search",
            f"/customers/?q={quote(f['customer_name'])}",
            selector=lambda: selectors.customer_list_page(query=f["customer_name"]),
        ),
        Case(
            "order_form_customer_lookup",
            f"/orders/new/customers/?q={quote(f['customer_name'])}",
            selector=lambda: selectors.customer_search(q=f["customer_name"]),
        ),
    ]
    for kind, term in terms.items():
        # A changelist search reads the whole table (minutes at a million): one warm-up, the median of two.
        url = f"/bench-admin/orders/order/?q={quote(term)}"
        cases.append(Case(f"admin_search_{kind}", url, admin=True, repeat=2, warmup=1))
    return cases


def _search(term: str):
    from orders import selectors

    return lambda: selectors.order_list_page(q=term)


def quote(text: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(text)


# --- the parent: both databases, the report ---------------------------------------------------------------


def measure(database: str, repeat: int, *, explain: bool, admin: bool) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}", "DJANGO_DEBUG": "1"}
    command = [PYTHON, __file__, "measure", str(out), "--repeat", str(repeat)]
    command += (["--explain"] if explain else []) + (["--admin"] if admin else [])
    print(f"{database}:", file=sys.stderr)
    subprocess.run(command, env=env, check=True, cwd=REPO)
    return json.loads(out.read_text())


def combined(rounds: list[dict]) -> dict:
    """One result from several rounds: per case, the median of the rounds' medians (the query count of the
    last); a case measured in some rounds only (the admin's) keeps those."""
    out = {**rounds[0], "cases": {}}
    for name in dict.fromkeys(name for r in rounds for name in r["cases"]):
        entries = [r["cases"][name] for r in rounds if name in r["cases"]]
        merged = {key: statistics.median(e[key] for e in entries) for key in entries[0] if key != "queries"}
        out["cases"][name] = {**merged, "queries": entries[-1]["queries"], "repeat": sum(e["repeat"] for e in entries)}
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def verdict(ok: bool) -> str:
    return "meets" if ok else "**MISSES**"


def report(small: dict, large: dict, repeat: int, heading: str) -> str:
    s, g = small["cases"], large["cases"]
    rows = []
    for name, big in g.items():
        if name.startswith("admin_"):
            continue
        little = s[name]
        orm = f"{ms(big['orm'])} / {ms(big['raw'])} = {big['orm'] / big['raw']:.2f}" if "orm" in big else "—"
        rows.append(
            f"| {name} | {ms(little['total'])} | {ms(big['total'])} | {big['total'] / little['total']:.2f} | "
            f"{ms(little['outside'])} / {ms(big['outside'])} | "
            f"{ms(little['outside_cpu'])} / {ms(big['outside_cpu'])} | "
            f"{big['outside_cpu'] / little['outside_cpu']:.2f} | "
            f"{orm} | {little['queries']} / {big['queries']} |"
        )
    checks = []

    def check(what: str, value: float, goal: str, ok: bool) -> None:
        checks.append(f"| {what} | {value:.2f} | {goal} | {verdict(ok)} |")

    deep = g["list_deep_10000"]["total"] / g["list_first"]["total"]
    check("list: 10,000 rows deep / first page (large)", deep, "≤ 1.5", deep <= 1.5)
    growth = g["list_first"]["total"] / s["list_first"]["total"]
    check("list first page: large / small", growth, "≤ 2", growth <= 2)
    for kind in large["terms"]:
        ratio = g[f"admin_search_{kind}"]["total"] / g[f"search_{kind}"]["total"]
        check(f"search by {kind}: admin changelist / ours (large)", ratio, "≥ 10", ratio >= 10)
    for name, big in g.items():
        if "orm" in big:
            ratio = big["orm"] / big["raw"]
            check(f"{name}: ORM / raw SQL (large)", ratio, "≤ 1.5", ratio <= 1.5)
    for name, big in g.items():
        if not name.startswith("admin_"):
            ratio = big["outside_cpu"] / s[name]["outside_cpu"]
            check(f"{name}: CPU time outside SQL, large / small", ratio, "≤ 1.2", ratio <= 1.2)
    same = g["detail_50_10_100"]["queries"] == g["detail_1_1_2"]["queries"] == s["detail_1_1_2"]["queries"]
    checks.append(
        f"| order detail queries: 50 lines/10 packages/100 attempts vs 1/1/2, both sizes | "
        f"{g['detail_50_10_100']['queries']} vs {g['detail_1_1_2']['queries']} | equal | {verdict(same)} |"
    )
    for name in ("api_list", "api_tracking", "api_detail", "list_first", "tracking_page", "home"):
        equal = g[name]["queries"] == s[name]["queries"]
        checks.append(
            f"| {name} queries, large vs small | {g[name]['queries']} vs {s[name]['queries']} | equal | "
            f"{verdict(equal)} |"
        )
    admin_rows = [
        f"| {kind} | `{term}` | {ms(g[f'search_{kind}']['total'])} | {ms(g[f'admin_search_{kind}']['total'])} | "
        f"{g[f'admin_search_{kind}']['queries']} |"
        for kind, term in large["terms"].items()
    ]
    return "\n".join(
        [
            heading,
            "",
            measured_on(),
            "",
            f"What: the staff pages and the API on PostgreSQL with **{large['orders']:,}** generated orders "
            f"(`orders_bench`) vs **{small['orders']:,}** (`orders_bench_10k`), both made by `generate_orders`. "
            "Requests go through Django's test Client in-process (no HTTP server), signed in as an admin "
            "(the API with a bearer token); the two databases alternate in rounds (this VM's speed drifts "
            f"within minutes), each figure the median of the rounds' medians, {repeat} requests in all after 2 "
            "discarded warm-ups per round (the admin baseline: the median of 2 after 1, at the large size only, "
            "in the last round: each of its searches reads the whole table), all in one run. SQL time is "
            "summed per request around every `execute`; 'outside SQL' is the rest of the request, in wall time "
            "and in this process's CPU time (`time.process_time()`, which waiting for a busy CPU does not inflate: "
            "the goal is checked on it). ORM / raw is the wall time inside the QuerySet methods that hit the "
            "database (outermost `_fetch_all`, `count`, `exists`, `aggregate`: building, compiling, running, "
            "making objects, prefetching) during the page's selector call, against the same SQL replayed on a "
            "raw psycopg cursor with `fetchall()`. "
            "The baseline is Django's admin changelist over the same table (bench/scale_urls.py: a plain "
            "ModelAdmin with `search_fields` on the fields our search reads, default `icontains` lookups, "
            "`show_full_result_count` on). EXPLAIN (ANALYZE, BUFFERS) of every query at the large size: "
            "`docs/bench/scale-explain/<case>.txt`.",
            "",
            "Reproduce (README, 'Scale'): generate both databases, then `.venv/bin/python bench/scale.py`.",
            "",
            "| case | small ms | large ms | large / small | outside SQL ms small / large | outside SQL CPU ms "
            "small / large | CPU ratio | ORM / raw ms (large) | queries small / large |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Searches against the admin changelist at the large size (the term searched for is picked the same "
            "way at both sizes, from an order 40% into the table):",
            "",
            "| search | term | ours ms | admin ms | admin queries |",
            "|---|---|---|---|---|",
            *admin_rows,
            "",
            "| goal | figure | target | |",
            "|---|---|---|---|",
            *checks,
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--large", default="orders_bench")
    parser.add_argument("--small", default="orders_bench_10k")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3, help="alternate the two databases this many times")
    parser.add_argument("--no-write", action="store_true", help="print the report instead of writing the files")
    args = parser.parse_args()
    # This VM's speed drifts by a third within minutes: measuring one size after the other put the drift into every
    # large / small ratio. The sizes alternate in rounds, so both see the same stretches of the run.
    per_round = max(1, args.repeat // args.rounds)
    smalls, larges = [], []
    for index in range(args.rounds):
        last = index == args.rounds - 1
        smalls.append(measure(args.small, per_round, explain=False, admin=False))  # the admin matters at scale only
        larges.append(measure(args.large, per_round, explain=last and not args.no_write, admin=last))
    small, large = combined(smalls), combined(larges)
    text = report(small, large, per_round * args.rounds, SECTION)
    if args.no_write:
        print(text)
    else:
        print(f"wrote {write_section(SECTION, text)}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "measure":
        measure_parser = argparse.ArgumentParser()
        measure_parser.add_argument("command")
        measure_parser.add_argument("out", type=Path)
        measure_parser.add_argument("--repeat", type=int, default=15)
        measure_parser.add_argument("--explain", action="store_true")
        measure_parser.add_argument("--admin", action="store_true")
        options = measure_parser.parse_args()
        child(options.out, options.repeat, options.explain, options.admin)
    else:
        main()
