"""Requests/s of `GET /api/v1/orders/` against a hand-written `JsonResponse` of the same rows, under gunicorn
(run by hand).

    .venv/bin/python bench/api_throughput.py [--orders 500] [--seconds 8] [--rounds 3] [--clients 4] [--no-write]

One gunicorn serves both (`bench._api_baseline:application`: the site plus the baseline view), with the worker
and thread counts the README recommends (`--workers` = CPU cores, `--threads 4`), `DJANGO_DEBUG=0` and the
bench's own SQLite database seeded through the services. `--clients` threads in this process each keep one
HTTP/1.1 connection and send requests back to back; the two targets alternate over the rounds so that drift on
the machine hits both. The API's throttle is raised for the run (it would answer 429 long before). The result
goes to stdout and to the `## API throughput` section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    PYTHON,
    REPO,
    BenchDB,
    cpu_seconds,
    measured_on,
    prepare_environment,
    wait_for_quiet,
    write_section,
)

SECTION = "## API throughput"
GOAL = 0.5
API_PATH = "/api/v1/orders/"
BASELINE_PATH = "/bench/orders-json/"
WORKERS = os.cpu_count() or 2
THREADS = 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _token(db: BenchDB) -> str:
    code = (
        "import django; django.setup()\n"
        "from django.contrib.auth.models import Group, User\n"
        "from orders.services import Actor\n"
        "from orders.services.tokens import api_token_create\n"
        "user, _ = User.objects.get_or_create(username='bench-viewer')\n"
        "user.groups.add(Group.objects.get(name='viewer'))\n"
        "print(api_token_create(actor=Actor.system('bench'), user=user)[1])\n"
    )
    done = subprocess.run([PYTHON, "-c", code], cwd=REPO, env=db.env(), capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def _start_gunicorn(db: BenchDB, port: int) -> subprocess.Popen:
    env = db.env(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="bench-only-not-a-secret",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        API_THROTTLE_READ="100000000/minute",
        LOG_LEVEL="WARNING",
    )
    command = [
        str(Path(PYTHON).parent / "gunicorn"), "bench._api_baseline:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(WORKERS), "--threads", str(THREADS), "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("gunicorn did not start")


def _get(connection: http.client.HTTPConnection, path: str, token: str) -> bytes:
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise SystemExit(f"{path} answered {response.status}: {body[:300]!r}")
    return body


def _workers_cpu(master: int) -> float:
    """CPU seconds so far of gunicorn's worker processes (the master's children)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sum(cpu_seconds(int(pid)) for pid in children)


def _measure(port: int, path: str, token: str, *, clients: int, seconds: float, master: int) -> tuple[float, float]:
    """Requests/s of `clients` keep-alive connections sending `path` back to back for `seconds`, and the server's
    CPU milliseconds per request (which other load on the machine changes much less than the rate)."""
    counts = [0] * clients
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        _get(connection, path, token)  # connect and warm this worker thread before the clock starts
        start.wait()
        while time.monotonic() < stop_at[0]:
            _get(connection, path, token)
            counts[index] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + 3600
    start.wait()
    began, cpu_before = time.monotonic(), _workers_cpu(master)
    stop_at[0] = began + seconds
    for thread in threads:
        thread.join()
    done = sum(counts)
    return done / (time.monotonic() - began), (_workers_cpu(master) - cpu_before) * 1000 / done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    args = parser.parse_args()

    prepare_environment()
    db = BenchDB("sqlite")
    db.recreate()
    db.seed(args.orders)
    token = _token(db)
    port = _free_port()
    server = _start_gunicorn(db, port)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        api_rows = json.loads(_get(connection, API_PATH, token))["results"]
        baseline_rows = json.loads(_get(connection, BASELINE_PATH, token))["results"]
        connection.close()
        same = [r["order_number"] for r in api_rows] == [r["order_number"] for r in baseline_rows]
        if not same or len(api_rows) != 50:
            raise SystemExit("the two endpoints do not answer the same 50 rows: the comparison would be void")
        wait_for_quiet(120)
        header = measured_on()
        rounds = []
        for number in range(1, args.rounds + 1):
            options = {"clients": args.clients, "seconds": args.seconds, "master": server.pid}
            baseline, baseline_cpu = _measure(port, BASELINE_PATH, token, **options)
            api, api_cpu = _measure(port, API_PATH, token, **options)
            rounds.append((number, baseline, api, baseline_cpu, api_cpu))
            print(
                f"round {number}: baseline {baseline:,.0f} req/s ({baseline_cpu:.1f} ms CPU), "
                f"API {api:,.0f} req/s ({api_cpu:.1f} ms CPU), ratio {api / baseline:.2f}"
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        db.close()

    baseline_all = sum(r[1] for r in rounds) / len(rounds)
    api_all = sum(r[2] for r in rounds) / len(rounds)
    baseline_cpu_all = sum(r[3] for r in rounds) / len(rounds)
    api_cpu_all = sum(r[4] for r in rounds) / len(rounds)
    ratio = api_all / baseline_all
    cpu_ratio = baseline_cpu_all / api_cpu_all
    verdict = "meets" if ratio >= GOAL else "MISSES"
    table = [
        "| round | JsonResponse req/s | API req/s | ratio | server CPU ms/req: JsonResponse / API | CPU ratio |",
        "|---|---|---|---|---|---|",
    ]
    table += [
        f"| {n} | {b:,.0f} | {a:,.0f} | {a / b:.2f} | {bc:.1f} / {ac:.1f} | {bc / ac:.2f} |"
        for n, b, a, bc, ac in rounds
    ]
    table.append(
        f"| **all** | **{baseline_all:,.0f}** | **{api_all:,.0f}** | **{ratio:.2f}** | "
        f"**{baseline_cpu_all:.1f} / {api_cpu_all:.1f}** | **{cpu_ratio:.2f}** |"
    )
    reproduce = (
        f".venv/bin/python bench/api_throughput.py --orders {args.orders} --seconds {args.seconds:g} "
        f"--rounds {args.rounds} --clients {args.clients}"
    )
    text = f"""{SECTION}

{header}

What: `GET {API_PATH}` (first page, 50 rows: DRF view, query serializer, bearer token, per-token throttle in the
local-memory cache, `order_list_page` with its capped count, the sync-state query, `OrderRowSerializer`,
Decimal-exact JSON) against `GET {BASELINE_PATH}` (`bench/_api_baseline.py`: the same bearer-token and role checks, the
same 50 rows and fields with their sync state, built by hand into a `JsonResponse`), both served by one gunicorn
(`--workers {WORKERS} --threads {THREADS}`, as the README recommends; `DJANGO_DEBUG=0`) over the bench's SQLite
database with {args.orders:,} submitted orders. {args.clients} client threads, one keep-alive connection each,
{args.seconds:g} s per target per round, targets alternating.

{chr(10).join(table)}

API / JsonResponse = **{ratio:.2f}** ({verdict} the goal of >= {GOAL}). The clients share the machine's
{os.cpu_count()} CPUs with gunicorn (and this machine with other people's test runs), so the ratio is the figure
to watch, not the absolute rates. The server's CPU per request (gunicorn workers, `/proc/<pid>/stat`) moves much
less with that load: by it the API costs {1 / cpu_ratio:.2f}x the hand-written view, a ratio of **{cpu_ratio:.2f}**.

Reproduce: `{reproduce}` (add `--no-write` to leave this file alone).
"""
    print(text)
    if not args.no_write:
        print(f"written to {write_section(SECTION, text)}")


if __name__ == "__main__":
    main()
