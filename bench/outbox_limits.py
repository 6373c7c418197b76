"""The outbox pacer against CIMcloud's rate limits, scaled down in time, on loopback (run by hand).

    .venv/bin/python bench/outbox_limits.py [--orders 300] [--rate-scale 15] [--workers 1]
        [--db sqlite|postgres] [--phase a|b|both] [--no-write]

The simulators run with `--rate-scale N --verbose` (CIMcloud: 2 calls per 1/N s and 100 per 900/N s window per
credential; every request logged, so 429s and `authenticate` calls are counted from the server's side too). The
worker paces with the same scaled windows (`CIMCLOUD_RATE_WINDOW_SECONDS=900/N`,
`CIMCLOUD_RATE_SECOND_SECONDS=1/N`, pacing on) and `--no-refresh`. Each phase starts from a fresh bench database
(`--orders` orders submitted for both destinations) and a reset simulator:

(a) the worker with `--destination cimcloud`: 429s (goal: none) and the drain time against the least the limits
    allow for the calls it made, `authenticate` included (goal: <= 1.05x);
(b) the worker for both destinations while TulaERP hangs (`timeout_rate=1.0, hang_s=30`): CIMcloud's send rate
    against (a) (goal: at most 20% lower).

Figures go to stdout and to the `## Outbox under rate limits` section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402  (bench/ is not a package)
    LOG_DIR,
    BenchDB,
    WorkerProcess,
    measured_on,
    prepare_environment,
    start_simulators,
    to_epoch,
    wait_for_quiet,
    wait_sent,
    worker_env,
    write_section,
)

SECTION = "## Outbox under rate limits"
PER_SECOND, PER_WINDOW, WINDOW_SECONDS = 2, 100, 900.0  # CIMcloud's documented limits, unscaled
GOAL_MIN_RATIO, GOAL_RATE_DROP = 1.05, 0.20
# BaseHTTPRequestHandler's request log: `... "POST /demo/authenticate HTTP/1.1" 200 123`
LOG_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) ')


@dataclass
class Phase:
    name: str
    workers: int
    orders: int
    seconds: float  # worker start -> last CIMcloud sent_at
    first_call: float  # worker start -> the first order POST's start (sent_at minus its duration)
    calls: Counter  # CIMcloud requests the simulator logged, by route: authenticate, orderpassthrough, ...
    statuses: Counter  # CIMcloud answers the simulator logged, by status
    attempt_429: int  # DeliveryAttempt rows with response_status 429 (CIMcloud)
    received_429: int  # simulator received-log entries whose last_status is 429
    duplicates: int  # orders the simulator received more than once
    fenced: int
    boundaries: list[float] = field(default_factory=list)  # seconds from the first call to calls 101, 201, ...
    tulaerp: dict[str, Any] = field(default_factory=dict)

    @property
    def cimcloud_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def rate(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


def minimum_seconds(calls: int, scale: float) -> float:
    """The least time from the first call's start to the last call's start that the two buckets allow.

    Windows are anchored at the first call after the previous one ended, so at best call k (0-based) is in long
    window k // 100, which starts (k // 100) whole windows after the first call, and inside it in short bucket
    (k % 100) // 2.
    """
    last = calls - 1
    return (last // PER_WINDOW) * WINDOW_SECONDS / scale + ((last % PER_WINDOW) // PER_SECOND) / scale


def simulator_log(sim: Any, offset: int) -> tuple[Counter, Counter, int]:
    """CIMcloud requests (by route) and statuses the simulator logged since `offset`; `/_sim/*` left out."""
    text = sim.stderr_text()
    prefix = f"/{sim.sitename}/"
    calls, statuses = Counter(), Counter()
    for match in LOG_LINE.finditer(text, offset):
        path = match["path"]
        if path.startswith(prefix):
            calls[path[len(prefix) :].strip("/") or "/"] += 1
            statuses[int(match["status"])] += 1
    return calls, statuses, len(text)


def run_phase(sim: Any, db: BenchDB, args: argparse.Namespace, name: str, *, hung_tulaerp: bool, workers: int) -> Phase:
    what = "TulaERP hung, both destinations" if hung_tulaerp else "CIMcloud only"
    print(f"\n== phase ({name}): {what}, {workers} worker(s)")
    db.recreate()
    db.seed(args.orders)
    sim.reset()
    if hung_tulaerp:
        sim.faults("tulaerp", timeout_rate=1.0, hang_s=30)
    offset = len(sim.stderr_text())
    env = worker_env(
        sim,
        db,
        OUTBOX_PACING="1",
        CIMCLOUD_RATE_WINDOW_SECONDS=repr(WINDOW_SECONDS / args.rate_scale),
        CIMCLOUD_RATE_SECOND_SECONDS=repr(1.0 / args.rate_scale),
    )
    flags = ["--no-refresh"] if hung_tulaerp else ["--no-refresh", "--destination", "cimcloud"]
    started = time.time()
    processes = [WorkerProcess(env, f"limits-{name.replace(' ', '')}-{i}", *flags) for i in range(workers)]
    try:
        wait_sent(
            db,
            args.orders,
            where="destination = 'cimcloud'",
            timeout=args.timeout,
            desc=f"({name}) CIMcloud",
            alive=lambda: all(p.alive() for p in processes),
            interval=0.5,
        )
        tulaerp = tulaerp_facts(db) if hung_tulaerp else {}
    finally:
        for process in processes:
            process.stop(timeout=45)  # a TulaERP call may be hanging for up to the 15 s read timeout
        if hung_tulaerp:
            sim.faults("tulaerp", timeout_rate=0.0)
    calls, statuses, _ = simulator_log(sim, offset)
    received = sim.received("cimcloud")
    cimcloud = "FROM orders_deliveryattempt a JOIN orders_outboxmessage m ON m.id = a.message_id " + (
        "WHERE m.destination = 'cimcloud'"
    )
    ends = sorted(
        (to_epoch(sent_at), duration / 1000)
        for sent_at, duration in db.rows(f"SELECT m.sent_at, a.duration_ms {cimcloud} AND a.outcome = 'sent'")
    )
    # The attempt's started_at is taken before the pacer's wait: the call itself began `duration` before the end.
    call_starts = sorted(end - duration for end, duration in ends)
    auth = calls.get("authenticate", 0)
    total = auth + len(call_starts)
    boundaries = [call_starts[k - auth] - call_starts[0] for k in range(PER_WINDOW, total, PER_WINDOW)]
    phase = Phase(
        name=name,
        workers=workers,
        orders=args.orders,
        seconds=ends[-1][0] - started,
        first_call=call_starts[0] - started,
        calls=calls,
        statuses=statuses,
        attempt_429=db.scalar(f"SELECT COUNT(*) {cimcloud} AND a.response_status = 429"),
        received_429=sum(1 for row in received if row.get("last_status") == 429),
        duplicates=sum(1 for row in received if row["count"] > 1),
        fenced=db.scalar(f"SELECT COUNT(*) {cimcloud} AND a.outcome = 'fenced'"),
        boundaries=boundaries,
        tulaerp=tulaerp,
    )
    db.close()
    return phase


def tulaerp_facts(db: BenchDB) -> dict[str, Any]:
    where = "FROM orders_deliveryattempt a JOIN orders_outboxmessage m ON m.id = a.message_id "
    where += "WHERE m.destination = 'tulaerp'"
    attempts, longest = db.rows(f"SELECT COUNT(*), MAX(a.duration_ms) {where}")[0]
    classes = dict(db.rows(f"SELECT a.error_class, COUNT(*) {where} GROUP BY a.error_class"))
    sent = db.scalar("SELECT COUNT(*) FROM orders_outboxmessage WHERE destination = 'tulaerp' AND state = 'sent'")
    breaker = db.rows(
        "SELECT breaker_open_until, consecutive_failures FROM orders_destinationstate WHERE destination = 'tulaerp'"
    )
    return {
        "attempts": attempts,
        "longest_ms": longest or 0,
        "classes": classes,
        "sent": sent,
        "breaker_open": bool(breaker and breaker[0][0]),
        "consecutive_failures": breaker[0][1] if breaker else 0,
    }


# --- the report ----------------------------------------------------------------------------------------------


def phase_row(phase: Phase, scale: float, baseline: Phase | None) -> str:
    minimum = minimum_seconds(phase.cimcloud_calls, scale)
    ratio = phase.seconds / minimum
    too_many = phase.statuses.get(429, 0) + phase.attempt_429
    goals = [f"429s {'none: meets' if not too_many else 'MISSES'}", f"time {'meets' if ratio <= 1.05 else 'MISSES'}"]
    versus = "—"
    if baseline is not None:
        drop = 1 - phase.rate / baseline.rate
        versus = f"{phase.rate / baseline.rate:.1%}"
        goals.append(f"rate drop {drop:.1%}: {'meets' if drop <= GOAL_RATE_DROP else 'MISSES'} <= 20%")
    calls = f"{phase.calls.get('authenticate', 0)} + {phase.calls.get('orderpassthrough', 0)}"
    others = phase.cimcloud_calls - phase.calls.get("authenticate", 0) - phase.calls.get("orderpassthrough", 0)
    if others:
        calls += f" + {others} other"
    return (
        f"| ({phase.name}) | {phase.workers} | {calls} "
        f"| {phase.statuses.get(429, 0)} / {phase.attempt_429} / {phase.received_429} "
        f"| {phase.seconds:.1f} | {minimum:.1f} | **{ratio:.3f}** | {phase.rate:.3f} | {versus} "
        f"| {'; '.join(goals)} |"
    )


def report(phases: list[Phase], args: argparse.Namespace, when: str) -> str:
    scale = args.rate_scale
    window, short = WINDOW_SECONDS / scale, 1 / scale
    baseline = next((p for p in phases if p.name == "a"), None)
    rows = [phase_row(p, scale, baseline if p.name == "b" else None) for p in phases]
    notes = []
    for p in phases:
        marks = ", ".join(f"{s:.2f} s" for s in p.boundaries)
        notes.append(
            f"- ({p.name}): first order POST {p.first_call:.2f} s after the worker started (interpreter, Django, "
            f"`authenticate`); calls {', '.join(str(k + 1) for k in range(PER_WINDOW, p.cimcloud_calls, PER_WINDOW))} "
            f"(counting `authenticate`) started {marks} after the first order POST (window {window:g} s); "
            f"orders the simulator received more than once: {p.duplicates}; fenced completions: {p.fenced}."
        )
        if p.tulaerp:
            t = p.tulaerp
            classes = ", ".join(f"{n} {c or 'none'}" for c, n in sorted(t["classes"].items(), key=str))
            notes.append(
                f"- ({p.name}) TulaERP meanwhile: {t['attempts']} attempts ({classes}), the longest "
                f"{t['longest_ms'] / 1000:.1f} s (the 15 s read timeout), {t['sent']} sent; breaker "
                f"{'open' if t['breaker_open'] else 'closed'} at the end after {t['consecutive_failures']} "
                "consecutive failures."
            )
    command = f".venv/bin/python bench/outbox_limits.py --orders {args.orders} --rate-scale {scale:g} "
    command += f"--workers {args.workers} --db {args.db} --phase {args.phase}"
    if args.compare_workers:
        command += f" --compare-workers {args.compare_workers}"
    return f"""{SECTION}

{when}

What: {args.orders} orders submitted for both destinations through the services into a fresh bench database
({BenchDB(args.db).label}) for each phase, then {args.workers} `outbox_worker` process(es) with pacing on
(`--no-refresh`). CIMcloud simulator `run_simulators --rate-scale {scale:g}`: per credential, {PER_SECOND} calls
per {short:.4f} s and {PER_WINDOW} per {window:g} s, fixed windows anchored at the first call after the previous
one ended (`authenticate` counts). The worker's pacer gets the same windows: `CIMCLOUD_RATE_WINDOW_SECONDS=
{window:g}`, `CIMCLOUD_RATE_SECOND_SECONDS={short!r}`. (a) `--destination cimcloud`; (b) both destinations with the
TulaERP simulator hung (`POST /_sim/faults` `timeout_rate=1.0, hang_s=30`; the worker's read timeout is the
default 15 s). Drain time: worker process start to the last CIMcloud `sent_at`. Minimum: for n CIMcloud calls
the last one cannot start before floor((n-1)/{PER_WINDOW}) x {window:g} s + floor(((n-1) mod {PER_WINDOW})/{PER_SECOND})
x {short:.4f} s after the first (for 1 + {args.orders} calls: {minimum_seconds(args.orders + 1, scale):.1f} s), so
the ratio also carries the worker's start-up.

| phase | workers | CIMcloud calls (auth + orders) | 429s: server log / attempts / received | drain s \
| minimum s | ratio | CIMcloud msg/s | CIMcloud rate vs (a) | goals |
|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{chr(10).join(notes)}

Reproduce: `{command}` (add `--no-write` to leave this file alone; about
{len(phases) * minimum_seconds(args.orders + 1, scale) / 60 + 1:.0f} minutes). Worker logs: `{LOG_DIR}/limits-*.log`.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--rate-scale", type=float, default=15.0, help="windows of the simulator and the pacer / N")
    parser.add_argument("--workers", type=int, default=1, help="worker processes in each phase")
    parser.add_argument(
        "--compare-workers", type=int, default=0, help="also run (a) with this many workers (about 3 more minutes)"
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--phase", choices=("a", "b", "both"), default="both")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed for one phase's drain")
    parser.add_argument(
        "--wait-quiet", type=float, default=0.0, help="first wait up to this many seconds for an idle machine"
    )
    parser.add_argument("--no-write", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = parser.parse_args()
    prepare_environment()
    wait_for_quiet(args.wait_quiet)
    when = measured_on()
    db = BenchDB(args.db)
    phases = []
    with start_simulators("--rate-scale", f"{args.rate_scale:g}", "--verbose") as sim:
        if args.phase in ("a", "both"):
            phases.append(run_phase(sim, db, args, "a", hung_tulaerp=False, workers=args.workers))
        if args.phase in ("b", "both"):
            phases.append(run_phase(sim, db, args, "b", hung_tulaerp=True, workers=args.workers))
        if args.compare_workers:
            name = f"a, {args.compare_workers} workers"
            phases.append(run_phase(sim, db, args, name, hung_tulaerp=False, workers=args.compare_workers))
    text = report(phases, args, when)
    print()
    print(text)
    if not args.no_write:
        print(f"written to {write_section(SECTION, text)}")


if __name__ == "__main__":
    main()
