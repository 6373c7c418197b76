"""Outbox worker throughput against a bare `requests` loop posting the same payloads, on loopback (run by hand).

    .venv/bin/python bench/outbox_throughput.py [--orders 2000] [--workers 1,4x1] [--batch-size 50]
        [--db sqlite|postgres|both] [--no-profile] [--no-write]

The simulators run with `--no-limits` (no faults) in their own process; each phase starts from `/_sim/reset`.
The bench's own databases: SQLite `/tmp/orders_bench.sqlite3`, PostgreSQL `outbox_bench` (both recreated;
`BENCH_SQLITE_PATH`, `BENCH_POSTGRES_DB` name others). Workers run with `DJANGO_DEBUG=0` (`--django-debug`: as tests).
`--orders` submitted orders give twice as many messages (CIMcloud and TulaERP; both are counted).

Per database: the bare loop (one `requests.Session`, the stored payload texts in id order, sequential, to the
routes and with the auth the worker uses) runs before and after the worker phase and its mean is the reference;
the worker phase starts the `outbox_worker` process(es) (`--no-refresh`, `OUTBOX_PACING=0`) and is timed from
process start to the last `sent_at`. SQLite: one worker (goal >= 0.5x the loop), then an identical second run
under py-spy for the CPU split. PostgreSQL: one run per `--workers` item (`N` processes, or `NxT`: T drain loops
per destination each), each on a fresh database (the goal,
>= 0.8x, applies to the largest). Figures go to stdout and to the
`## Outbox throughput` section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402  (bench/ is not a package)
    CREDENTIALS,
    LOG_DIR,
    BenchDB,
    Profile,
    Profiler,
    WorkerProcess,
    cpu_seconds,
    machine_busy_seconds,
    measured_on,
    postgres_cpu_seconds,
    postgres_session_cpu,
    prepare_environment,
    progress,
    read_profile,
    start_simulators,
    to_epoch,
    wait_for_quiet,
    wait_sent,
    worker_env,
    write_section,
)

SECTION = "## Outbox throughput"
GOALS = {"sqlite": 0.5, "postgres": 0.8}
TIMEOUT = (5.0, 15.0)  # the worker's HTTP_CONNECT_TIMEOUT / HTTP_READ_TIMEOUT defaults
THREADS = 2  # the OUTBOX_THREADS_PER_DESTINATION default


def parse_runs(text: str) -> list[tuple[int, int]]:
    """ "1,4x1" -> [(1, THREADS), (4, 1)]: (worker processes, drain loops per unlimited destination in each)."""
    runs = []
    for item in text.split(","):
        processes, _, threads = item.partition("x")
        runs.append((int(processes), int(threads or THREADS)))
    return runs


def label(workers: int, threads: int) -> str:
    return f"{workers} worker{'s' * (workers > 1)} x {threads} loop{'s' * (threads > 1)}"


@dataclass
class Loop:
    messages: int
    seconds: float
    client_cpu: float
    sim_cpu: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


@dataclass
class Drain:
    workers: int
    threads: int  # OUTBOX_THREADS_PER_DESTINATION of each worker
    messages: int
    seconds: float  # process start -> last sent_at
    startup: float  # process start -> first attempt
    worker_cpu: float
    sim_cpu: float
    db_cpu: float | None  # the bench database's sessions
    server_cpu: float | None  # the whole PostgreSQL server (other databases too)
    machine_cpu: float
    wall: float  # process start -> the poll that saw the last message sent (the CPU figures' interval)
    bench_cpu: float  # this process meanwhile: polling, progress bar
    attempts: dict[str, int]
    pg: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def ceiling(self) -> float:
        """msg/s if nothing else ran: a worker process uses one CPU at most (the GIL), all of them the machine."""
        per_message = (self.worker_cpu + self.sim_cpu + (self.db_cpu or 0.0)) / self.messages
        return min(self.messages * self.workers / self.worker_cpu, (os.cpu_count() or 1) / per_message)

    @property
    def steady_rate(self) -> float:
        return self.messages / (self.seconds - self.startup)


@dataclass
class Result:
    db: BenchDB
    loops: list[Loop]
    drain: Drain
    profile: Profile | None = None

    @property
    def loop_rate(self) -> float:
        return sum(loop.rate for loop in self.loops) / len(self.loops)

    @property
    def ratio(self) -> float:
        return self.drain.rate / self.loop_rate


# --- the phases ----------------------------------------------------------------------------------------------


def stored_messages(db: BenchDB) -> list[tuple[str, bytes]]:
    rows = db.rows("SELECT destination, payload FROM orders_outboxmessage ORDER BY id")
    return [(destination, payload.encode()) for destination, payload in rows]


def bare_loop(sim: Any, messages: list[tuple[str, bytes]], label: str) -> Loop:
    """What the worker's HTTP would cost with nothing around it: same bodies, routes, auth, one session."""
    import requests

    sim.reset()
    session = requests.Session()
    try:
        credentials = {
            "AuthKey": CREDENTIALS["CIMCLOUD_AUTH_KEY"],
            "AuthUserName": CREDENTIALS["CIMCLOUD_AUTH_USERNAME"],
            "AuthPassword": CREDENTIALS["CIMCLOUD_AUTH_PASSWORD"],
        }
        token = session.post(sim.cimcloud_url + "authenticate", json=credentials, timeout=TIMEOUT).json()["token"]
        json_type = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
        cimcloud = {**json_type, "Authorization": f"Bearer {token}"}
        tulaerp = {**json_type, CREDENTIALS["TULAERP_AUTH_HEADER"]: CREDENTIALS["TULAERP_AUTH_VALUE"]}
        routes = {
            "cimcloud": (sim.cimcloud_url + "orderpassthrough/", cimcloud),
            "tulaerp": (sim.tulaerp_base_url + "/api/v1/Orders", tulaerp),
        }
        sim_before, cpu_before = cpu_seconds(sim.process.pid), time.process_time()
        with progress(total=len(messages), desc=label, unit="msg") as bar:
            started = time.perf_counter()
            for index, (destination, body) in enumerate(messages, 1):
                url, headers = routes[destination]
                response = session.post(url, data=body, headers=headers, timeout=TIMEOUT)
                if not 200 <= response.status_code < 300:
                    raise SystemExit(f"bare loop: {destination} HTTP {response.status_code} {response.text[:300]}")
                if index % 200 == 0:  # a progress update per call would be part of the measurement
                    bar.update(200)
            seconds = time.perf_counter() - started
            bar.update(len(messages) - bar.n)
        return Loop(len(messages), seconds, time.process_time() - cpu_before, cpu_seconds(sim.process.pid) - sim_before)
    finally:
        session.close()


def drain(
    sim: Any, db: BenchDB, run: tuple[int, int], args: argparse.Namespace, name: str, profile: bool = False
) -> Drain:
    """Start `run` = (worker processes, drain loops per destination) on a full queue; time them until the last
    message is sent."""
    workers, threads = run
    sim.reset()
    expected = db.scalar("SELECT COUNT(*) FROM orders_outboxmessage WHERE state = 'pending'")
    env = worker_env(
        sim,
        db,
        OUTBOX_PACING="0",
        OUTBOX_BATCH_SIZE=str(args.batch_size),
        OUTBOX_THREADS_PER_DESTINATION=str(threads),
        **django_mode(args),
    )
    pg_before, pg_cpu, busy = db.postgres_stats(), postgres_cpu_seconds(), machine_busy_seconds()
    sessions_before = postgres_session_cpu() if db.kind == "postgres" else {}
    sim_before, bench_before, polls = cpu_seconds(sim.process.pid), time.process_time(), db.statements
    started = time.time()
    processes = [WorkerProcess(env, f"{name}-{i}", "--no-refresh") for i in range(workers)]
    profiler = None
    try:
        if profile:
            processes[0].wait_running()
            profiler = Profiler(processes[0].pid, name)
        wait_sent(
            db,
            expected,
            timeout=args.timeout,
            desc=f"{name} ({label(workers, threads)})",
            alive=lambda: all(p.alive() for p in processes),
        )
        worker_cpu = sum(p.sample_cpu() for p in processes)
        sim_cpu = cpu_seconds(sim.process.pid) - sim_before
        server_cpu = postgres_cpu_seconds() - pg_cpu if db.kind == "postgres" else None
        sessions = postgres_session_cpu() if db.kind == "postgres" else {}
        db_cpu = sum(cpu - sessions_before.get(pid, 0.0) for pid, cpu in sessions.items()) if sessions else None
        busy, wall = machine_busy_seconds() - busy, time.time() - started
        bench_cpu = time.process_time() - bench_before
    finally:
        if profiler is not None:
            profiler.stop()
        for process in processes:
            process.stop()
    pg_after = db.postgres_stats()  # after the workers' backends exited: they flush their counters on exit
    if pg_after:  # this process's polls are autocommit statements too: leave them out
        pg_after["xact_commit"] -= db.statements - polls
    first = to_epoch(db.scalar("SELECT MIN(started_at) FROM orders_deliveryattempt"))
    last = to_epoch(db.scalar("SELECT MAX(sent_at) FROM orders_outboxmessage"))
    attempts = dict(db.rows("SELECT outcome, COUNT(*) FROM orders_deliveryattempt GROUP BY outcome"))
    check_exactly_once(sim, db, expected)
    return Drain(
        workers=workers,
        threads=threads,
        messages=expected,
        seconds=last - started,
        startup=first - started,
        worker_cpu=worker_cpu,
        sim_cpu=sim_cpu,
        db_cpu=db_cpu,
        server_cpu=server_cpu,
        machine_cpu=busy,
        wall=wall,
        bench_cpu=bench_cpu,
        attempts=attempts,
        pg={k: pg_after[k] - pg_before[k] for k in pg_before},
    )


def django_mode(args: argparse.Namespace) -> dict[str, str]:
    """Workers run as in production (DJANGO_DEBUG off: no query log); `--django-debug` as in the tests."""
    if args.django_debug:
        return {"DJANGO_DEBUG": "1"}
    return {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "bench-only-not-secret", "DJANGO_ALLOWED_HOSTS": "localhost"}


def check_exactly_once(sim: Any, db: BenchDB, expected: int) -> None:
    """The run counts only if each message reached its simulator once and was accepted once."""
    received = sim.received("cimcloud") + sim.received("tulaerp")
    posts = sum(row["count"] for row in received)
    if len(received) != expected or posts != expected or any(row["accepted"] != 1 for row in received):
        raise SystemExit(f"not exactly once: {len(received)} keys, {posts} POSTs for {expected} messages")
    sent = db.scalar("SELECT COUNT(*) FROM orders_deliveryattempt WHERE outcome = 'sent'")
    if sent != expected:
        raise SystemExit(f"{sent} sent attempts for {expected} messages")


def run_database(sim: Any, kind: str, run: tuple[int, int], args: argparse.Namespace) -> Result:
    """One independent measurement: fresh database and queue, loop, drain, loop (and on SQLite the profile)."""
    db = BenchDB(kind)
    print(f"\n== {db.label}, {label(*run)}: {db.url}", file=sys.stderr)
    db.recreate()
    db.seed(args.orders, lines=args.lines)
    messages = stored_messages(db)
    profile = kind == "sqlite" and not args.no_profile
    loops = [bare_loop(sim, messages, f"bare loop {db.label} (before)")]
    if profile:
        db.snapshot()  # the profiled run starts from exactly this queue
    result = Result(db, loops, drain(sim, db, run, args, f"{kind}-{run[0]}w{run[1]}t-drain"))
    loops.append(bare_loop(sim, messages, f"bare loop {db.label} (after)"))
    if profile:
        db.restore()
        drain(sim, db, run, args, f"{kind}-profiled", profile=True)
        db.discard_snapshot()
        result.profile = read_profile(LOG_DIR / f"{kind}-profiled.raw")
    db.close()
    return result


# --- the report ----------------------------------------------------------------------------------------------


def verdict(result: Result, goal_workers: int) -> str:
    if result.drain.workers != goal_workers:
        return "(for comparison)"
    goal = GOALS[result.db.kind]
    return f"{'meets' if result.ratio >= goal else 'MISSES'} >= {goal:.1f}"


def report(results: list[Result], args: argparse.Namespace, when: str) -> str:
    goal_workers = {"sqlite": 1, "postgres": max(workers for workers, _ in args.workers)}
    rows, cpu_rows, notes, ceilings = [], [], [], []
    for r in results:
        d, loop = r.drain, r.loops[0]
        before, after = r.loops[0].rate, r.loops[-1].rate
        rows.append(
            f"| {r.db.label} | {label(d.workers, d.threads)} | {before:,.0f} / {after:,.0f} | **{r.loop_rate:,.0f}** "
            f"| **{d.rate:,.0f}** | {d.steady_rate:,.0f} | **{r.ratio:.2f}** | {verdict(r, goal_workers[r.db.kind])} |"
        )
        capacity = d.wall * (os.cpu_count() or 1)
        db_cpu = "—" if d.db_cpu is None else f"{d.db_cpu:.1f} ({d.db_cpu / d.messages * 1000:.2f} ms/msg)"
        others = d.machine_cpu - d.worker_cpu - d.sim_cpu - (d.db_cpu or 0.0) - d.bench_cpu
        cpu_rows.append(
            f"| {r.db.label}, {label(d.workers, d.threads)} | {d.wall:.1f} | {d.worker_cpu:.1f} "
            f"({d.worker_cpu / d.wall / d.workers:.0%}) | **{d.worker_cpu / d.messages * 1000:.2f}** "
            f"| {d.sim_cpu / d.messages * 1000:.2f} | {db_cpu} | {d.bench_cpu:.1f} | {max(others, 0.0):.1f} "
            f"| {d.machine_cpu / capacity:.0%} |"
        )
        cpu_rows.append(
            f"| bare loop before it | {loop.seconds:.1f} | client {loop.client_cpu:.1f} "
            f"| **{loop.client_cpu / loop.messages * 1000:.2f}** | {loop.sim_cpu / loop.messages * 1000:.2f} "
            "| — | — | — | — |"
        )
        attempts = ", ".join(f"{count:,} {outcome}" for outcome, count in sorted(d.attempts.items()))
        note = (
            f"- {r.db.label}, {label(d.workers, d.threads)}: {d.messages:,} messages in {d.seconds:.2f} s "
            "from process start, "
            f"{d.startup:.2f} s of it before the first attempt (interpreter, Django, first claim); attempts: "
            f"{attempts}; the simulators saw every message once and accepted it once."
        )
        if d.pg:
            per = {k: v / d.messages for k, v in d.pg.items()}
            note += (
                f" `pg_stat_database` per message: {per['xact_commit']:.2f} commits, "
                f"{per['tup_inserted']:.2f} rows inserted, {per['tup_updated']:.2f} rows updated; "
                f"{d.pg['sessions']:,} database sessions opened in all (workers keep theirs: "
                f"`OUTBOX_WORKER_CONN_MAX_AGE`); the whole PostgreSQL server meanwhile {d.server_cpu:.1f} s of CPU "
                "(every database's sessions: others use this server too)."
            )
        notes.append(note)
        ceilings.append(
            f"{r.db.label} with {label(d.workers, d.threads)} {d.ceiling:,.0f} msg/s "
            f"({d.ceiling / r.loop_rate:.2f}x the loop)"
        )
    split = ""
    profiled = next((r.profile for r in results if r.profile is not None), None)
    if profiled is not None:
        split = f"""
### Where one worker's CPU goes (SQLite, py-spy)

A second, identical SQLite drain (the same seeded queue, simulators reset) under `py-spy record --gil --format raw
--nolineno --rate 100 --pid <worker>`: {profiled.samples:,} samples of the thread holding the GIL, so the split
is of the worker's Python CPU (its waits for answers, the database or the GIL are not samples). The CIMcloud,
TulaERP and heartbeat threads are summed. *Phase*: the deepest frame of the sample that is a step of the outbox
engine (`orders/outbox.py`, `orders/integrations/*`), whatever it called; *library*: the innermost Python frame.

{profiled.table(profiled.phases, "phase", 20)}

{profiled.table(profiled.libraries, "library (self)", 10)}

{profiled.table(profiled.leaves, "function (self)", 12)}
"""
    workers = ",".join(f"{n}x{t}" for n, t in args.workers)
    command = f".venv/bin/python bench/outbox_throughput.py --orders {args.orders} --workers {workers} "
    command += f"--batch-size {args.batch_size} --lines {args.lines} --db {args.db}"
    if args.no_profile:
        command += " --no-profile"
    per_message = ", ".join(
        f"{r.drain.worker_cpu / r.drain.messages * 1000:.2f} ms "
        f"({r.db.label}, {label(r.drain.workers, r.drain.threads)})"
        for r in results
    )
    loop_costs = [loop.client_cpu / loop.messages * 1000 for r in results for loop in r.loops]
    loop_per_message = f"{min(loop_costs):.2f}–{max(loop_costs):.2f} ms (all its runs)"
    debug_note = "`DJANGO_DEBUG=1` as in the tests" if args.django_debug else "`DJANGO_DEBUG=0` as in production"
    return f"""{SECTION}

{when}

What: {args.orders:,} orders ({args.lines} lines each) created and submitted through `order_create` /
`order_submit` into a fresh bench database for every run, so {2 * args.orders:,} outbox messages
({args.orders:,} CIMcloud + {args.orders:,} TulaERP; both are counted). Simulators `run_simulators --no-limits`,
no faults, in their own process, reset before every phase. **Bare loop**: one `requests.Session` POSTing the
stored `payload` texts in id order, sequentially, to the routes the worker uses (CIMcloud
`POST {{base}}/{{site}}/orderpassthrough/` with a bearer token from `authenticate`, TulaERP
`POST {{base}}/api/v1/Orders` with `X-Api-Key`), before and after the worker phase; their mean is the reference.
**Worker**: `manage.py outbox_worker --no-refresh` with `OUTBOX_PACING=0`, `OUTBOX_BATCH_SIZE={args.batch_size}`,
otherwise default settings ({debug_note}; `--skip-checks`), timed from process start to the
last message's `sent_at`. A worker process runs `OUTBOX_THREADS_PER_DESTINATION` (default 2; "N workers x T
loops" in the tables) drain loops for each destination without a rate limit, so one process has up to 2T requests
in flight where the bare loop has one; it is still one process, so one CPU at most (the GIL).

| database | workers | loop msg/s before / after | loop mean | worker msg/s | after start-up | ratio | goal |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{chr(10).join(notes)}

This machine is shared: other people's test runs took the CPU time in the "other" column below, which slows the
loop and the workers alike. The figure that does not depend on it is CPU per message: a worker spends
{per_message} of CPU on a message, where the bare loop's client spends {loop_per_message}. With the machine to
themselves and every other cost unchanged, the CPU ceiling (one CPU per worker process at most, and all the
bench's processes within {os.cpu_count()} CPUs) would be: {"; ".join(ceilings)}.

CPU split by process (`/proc/<pid>/stat`; the machine figure from `/proc/stat`, so "other" is whatever else ran
on the machine meanwhile; PostgreSQL: the bench database's sessions, so other databases' work is in "other"):

| run | wall s | workers CPU s (per process, % of a CPU) | workers ms/msg | simulators ms/msg | PostgreSQL s \
| bench process s | other s | machine busy |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(cpu_rows)}
{split}
Reproduce: `{command}` (add `--no-write` to leave this file alone; the CPU split needs
py-spy from requirements-dev.txt, `make install-dev`, or pass `--no-profile`). Worker logs and the raw profile
stay in `{LOG_DIR}/`.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2000, help="submitted orders (2 messages each)")
    parser.add_argument("--lines", type=int, default=2, help="lines per order")
    parser.add_argument(
        "--workers",
        type=parse_runs,
        default=parse_runs("1,4"),
        help="PostgreSQL runs, comma-separated: N worker processes, or NxT with T drain loops per destination "
        f"each (default {THREADS}); the goal applies to the most processes",
    )
    parser.add_argument("--batch-size", type=int, default=50, help="OUTBOX_BATCH_SIZE of the workers")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds allowed for one drain")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy run")
    parser.add_argument("--django-debug", action="store_true", help="workers with DJANGO_DEBUG=1 (as in the tests)")
    parser.add_argument(
        "--wait-quiet", type=float, default=0.0, help="first wait up to this many seconds for an idle machine"
    )
    parser.add_argument("--no-write", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = parser.parse_args()
    prepare_environment()
    wait_for_quiet(args.wait_quiet)
    when = measured_on()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    with start_simulators("--no-limits") as sim:
        results = [
            run_database(sim, kind, run, args)
            for kind in kinds
            for run in ([(1, THREADS)] if kind == "sqlite" else args.workers)
        ]
    text = report(results, args, when)
    print()
    print(text)
    if not args.no_write:
        print(f"written to {write_section(SECTION, text)}")


if __name__ == "__main__":
    main()
