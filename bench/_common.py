"""Shared helpers of the outbox benchmarks (bench/outbox_throughput.py, bench/outbox_limits.py); run by hand.

The benchmarks own their databases: SQLite `/tmp/orders_bench.sqlite3` (deleted and migrated each run) and the
PostgreSQL database `outbox_bench` (dropped and recreated each run; not `orders_bench`, which holds the scale
benchmark's million generated orders); `BENCH_SQLITE_PATH` and `BENCH_POSTGRES_DB` name others (several
checkouts benchmark on one machine). Orders are created through the services in a
child process (`python bench/_common.py seed ...`), so this process never binds Django to a database and can
drive either one. The orchestrator reads the bench database with plain DB-API queries.

    .venv/bin/python bench/_common.py seed --count 10 [--destinations cimcloud,tulaerp] [--lines 2]
        (with DATABASE_URL set: what the benchmarks call; not useful on its own)
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PYTHON = sys.executable
LOG_DIR = Path(os.environ.get("BENCH_LOG_DIR", "/tmp/orders_bench_logs"))
SQLITE_PATH = Path(os.environ.get("BENCH_SQLITE_PATH", "/tmp/orders_bench.sqlite3"))
POSTGRES_DB = os.environ.get("BENCH_POSTGRES_DB", "outbox_bench")
if not re.fullmatch(r"[a-z_][a-z0-9_]*_(bench|soak)", POSTGRES_DB):  # it is dropped: only a bench database, by name
    raise SystemExit(f"BENCH_POSTGRES_DB={POSTGRES_DB!r}: use a name ending in _bench (or _soak: bench/soak.py)")
POSTGRES_URL = f"postgres://postgres@127.0.0.1:5432/{POSTGRES_DB}"
POSTGRES_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
BENCHMARKS_MD = REPO / "docs" / "BENCHMARKS.md"
# Others edit this checkout while a benchmark runs: a URL conf broken mid-edit must not stop a worker or a
# migration, and the system checks are not what is measured.
SKIP_CHECKS = ("--skip-checks",)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ordersite.settings")
os.environ["DJANGO_DEBUG"] = "1"  # the simulators' development credentials; the tests run workers the same way


def _dev_credentials() -> dict[str, str]:
    from django.conf import settings

    cim, tula = settings.SIM_CIMCLOUD_CREDENTIALS, settings.SIM_TULAERP_CREDENTIALS
    return {
        "CIMCLOUD_AUTH_KEY": cim["key"],
        "CIMCLOUD_AUTH_USERNAME": cim["username"],
        "CIMCLOUD_AUTH_PASSWORD": cim["password"],
        "TULAERP_AUTH_HEADER": tula["header"],
        "TULAERP_AUTH_VALUE": tula["value"],
    }


CREDENTIALS = _dev_credentials()


def prepare_environment() -> None:
    """For the orchestrating process: every child (simulators, workers, seeding) inherits this environment.

    The development credentials are set explicitly so that the simulators, the workers and a bare loop agree
    even when the caller's shell exports others; a caller's DATABASE_URL or scaled pacer settings must never
    reach a child that did not ask for them (the simulators would shrink their windows twice).
    """
    os.environ.update(CREDENTIALS)
    for name in list(os.environ):
        if name == "DATABASE_URL" or name.startswith(("OUTBOX_", "CIMCLOUD_RATE_", "HTTP_", "TULAERP_REFRESH_")):
            del os.environ[name]
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"  # loopback only, never a proxy


# --- the machine and the report ----------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = found[1].strip() if found else cpu
    return f"{os.cpu_count()} CPUs (nproc), {cpu}; {platform.system()} {platform.release()}"


# What the measured path runs: a change here while a benchmark runs changes the figures.
ENGINE_PATHS = ("orders/outbox.py", "orders/integrations", "orders/models", "orders/services", "ordersite")


def revision() -> str:
    """The commit measured, plus any uncommitted change to the engine (others edit this checkout meanwhile)."""
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    status = subprocess.run([*git, "status", "--porcelain", "--", *ENGINE_PATHS], capture_output=True, text=True)
    dirty = [line[3:] for line in status.stdout.splitlines()]
    if not dirty:
        return f"commit {head or '?'}"
    return f"commit {head or '?'} plus uncommitted changes to {', '.join(dirty[:4])}{' …' * (len(dirty) > 4)}"


def wait_for_quiet(max_wait: float, *, busy_below: float = 0.15, sample: float = 10.0) -> None:
    """Wait (up to `max_wait` s) until the machine is nearly idle: others' test runs share these CPUs."""
    deadline = time.monotonic() + max_wait
    while True:
        before = machine_busy_seconds()
        time.sleep(sample)
        busy = (machine_busy_seconds() - before) / (sample * (os.cpu_count() or 1))
        if busy < busy_below:
            return
        if time.monotonic() >= deadline:
            print(f"the machine is still {busy:.0%} busy; measuring anyway", file=sys.stderr)
            return
        print(f"machine {busy:.0%} busy (other processes): waiting for it to calm down", file=sys.stderr)


def measured_on() -> str:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"Measured {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {machine()}, "
        f"Python {platform.python_version()}; {revision()}; load average before the run: {load}."
    )


def write_section(section: str, text: str) -> Path:
    """Replace `section` (its heading up to the next `## `) in docs/BENCHMARKS.md, or append it."""
    current = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text.rstrip("\n") + "\n\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    BENCHMARKS_MD.write_text(updated.rstrip("\n") + "\n")
    return BENCHMARKS_MD


def progress(iterable: Iterable[Any] | None = None, **kwargs: Any) -> Any:
    from tqdm import tqdm

    return tqdm(iterable, file=sys.stderr, dynamic_ncols=True, mininterval=0.5, **kwargs)


# --- the bench database --------------------------------------------------------------------------------------


def to_epoch(value: Any) -> float | None:
    """A timestamp column as epoch seconds: SQLite gives naive UTC text, psycopg an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class BenchDB:
    """The benchmark's own database: recreate, migrate, seed, query; never the dev or the test database."""

    def __init__(self, kind: str) -> None:
        if kind not in ("sqlite", "postgres"):
            raise ValueError(kind)
        self.kind = kind
        self._conn: Any = None
        self.statements = 0  # issued through rows(): lets a caller tell its own polling from the workers' work

    @property
    def label(self) -> str:
        return "SQLite" if self.kind == "sqlite" else "PostgreSQL"

    @property
    def url(self) -> str:
        return f"sqlite:///{SQLITE_PATH}" if self.kind == "sqlite" else POSTGRES_URL

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.url, "PYTHONUNBUFFERED": "1", **extra}

    def recreate(self) -> None:
        self.close()
        if self.kind == "sqlite":
            for path in _sqlite_files(SQLITE_PATH):
                path.unlink(missing_ok=True)
        else:
            import psycopg

            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)")
                admin.execute(f"CREATE DATABASE {POSTGRES_DB}")
        command = [PYTHON, "manage.py", "migrate", "--no-input", "-v0", *SKIP_CHECKS]
        subprocess.run(command, cwd=REPO, env=self.env(), check=True)

    def seed(self, count: int, *, destinations: Iterable[str] = ("cimcloud", "tulaerp"), lines: int = 2) -> None:
        """Create and submit `count` orders through the services, in a child process (progress on stderr)."""
        command = [PYTHON, __file__, "seed", "--count", str(count), "--lines", str(lines)]
        command += ["--destinations", ",".join(destinations)]
        subprocess.run(command, cwd=REPO, env=self.env(), check=True)

    def connection(self) -> Any:
        if self._conn is None:
            if self.kind == "sqlite":
                # Autocommit: each poll reads the newest committed state instead of a snapshot held open.
                self._conn = sqlite3.connect(SQLITE_PATH, timeout=30, isolation_level=None)
            else:
                import psycopg

                self._conn = psycopg.connect(POSTGRES_URL, autocommit=True)
        return self._conn

    def rows(self, sql: str) -> list[tuple]:
        cursor = self.connection().cursor()
        self.statements += 1
        try:
            cursor.execute(sql)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def scalar(self, sql: str) -> Any:
        found = self.rows(sql)
        return found[0][0] if found else None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # SQLite only: a copy of the seeded file lets a second run start from exactly the same queue.
    def snapshot(self) -> None:
        assert self.kind == "sqlite"
        self.scalar("PRAGMA wal_checkpoint(TRUNCATE)")
        self.close()
        shutil.copyfile(SQLITE_PATH, _seed_copy())

    def restore(self) -> None:
        assert self.kind == "sqlite"
        self.close()
        for path in _sqlite_files(SQLITE_PATH):
            path.unlink(missing_ok=True)
        shutil.copyfile(_seed_copy(), SQLITE_PATH)

    def discard_snapshot(self) -> None:
        _seed_copy().unlink(missing_ok=True)

    def postgres_stats(self) -> dict[str, int]:
        """Counters of pg_stat_database for the bench database (transactions, rows): deltas show work per message."""
        if self.kind != "postgres":
            return {}
        self.scalar("SELECT pg_stat_clear_snapshot()")
        names = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "sessions")
        values = self.rows(f"SELECT {', '.join(names)} FROM pg_stat_database WHERE datname = '{POSTGRES_DB}'")[0]
        return dict(zip(names, (int(v) for v in values), strict=True))


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _seed_copy() -> Path:
    return SQLITE_PATH.with_name(SQLITE_PATH.name + ".seeded")


# --- processes: simulators, workers, CPU accounting, py-spy ------------------------------------------------


def start_simulators(*args: str) -> Any:
    from orders.simulators.process import start_simulator_process

    return start_simulator_process(*args)


def worker_env(sim: Any, db: BenchDB, **overrides: str) -> dict[str, str]:
    """What a worker reads: the bench database, the simulators' addresses and credentials, then `overrides`."""
    return db.env(
        CIMCLOUD_BASE_URL=sim.cimcloud_base_url,
        CIMCLOUD_SITENAME=sim.sitename,
        TULAERP_BASE_URL=sim.tulaerp_base_url,
        **CREDENTIALS,
        **overrides,
    )


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """user + system CPU of one process so far (0 once it is gone); `children`: plus its reaped children's."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU so far of the local PostgreSQL server: its live processes plus the backends it has reaped.

    Backends that exited during a run only survive in the postmaster's children counters. Every database's
    sessions count, not just the bench's (see postgres_session_cpu for those alone).
    """
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(int(entry.name), children=True)
            except OSError:
                continue
    return total


def postgres_session_cpu() -> dict[int, float]:
    """CPU so far of each live PostgreSQL session of the bench database (its backend's title names it), so that
    other databases' work on this shared server stays out. Workers keep their connections while they run."""
    sessions = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {POSTGRES_DB} " in title:
                sessions[int(entry.name)] = cpu_seconds(int(entry.name))
    return sessions


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy so far (all CPUs, every process; /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class WorkerProcess:
    """One `manage.py outbox_worker` with its output in a log file."""

    def __init__(self, env: dict[str, str], name: str, *args: str) -> None:
        LOG_DIR.mkdir(exist_ok=True)
        self.log_path = LOG_DIR / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "outbox_worker", *SKIP_CHECKS, *args],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.cpu = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_running(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "running; Ctrl-C to stop" in self.log_path.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise SystemExit(f"worker did not start; see {self.log_path}:\n{self.log_path.read_text()[-2000:]}")

    def alive(self) -> bool:
        return self.process.poll() is None

    def sample_cpu(self) -> float:
        self.cpu = cpu_seconds(self.pid) or self.cpu
        return self.cpu

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.sample_cpu()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


def wait_sent(
    db: BenchDB,
    expected: int,
    *,
    where: str = "1=1",
    timeout: float,
    desc: str,
    alive: Callable[[], bool] = lambda: True,
    interval: float = 0.2,
) -> None:
    """Poll until `expected` messages matching `where` are sent; stop early on needs_attention or a dead worker."""
    deadline = time.monotonic() + timeout
    with progress(total=expected, desc=desc, unit="msg") as bar:
        while True:
            sent = db.scalar(f"SELECT COUNT(*) FROM orders_outboxmessage WHERE state = 'sent' AND {where}")
            bar.update(sent - bar.n)
            if sent >= expected:
                return
            stuck = db.scalar(f"SELECT COUNT(*) FROM orders_outboxmessage WHERE state = 'needs_attention' AND {where}")
            if stuck:
                raise SystemExit(f"{stuck} message(s) need attention: the benchmark is invalid; see {LOG_DIR}")
            if not alive():
                raise SystemExit(f"a worker exited early; see the logs in {LOG_DIR}")
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out after {timeout:.0f} s with {sent}/{expected} sent; logs in {LOG_DIR}")
            time.sleep(interval)


def py_spy() -> str | None:
    beside = Path(PYTHON).parent / "py-spy"  # installed into the virtualenv, which need not be on PATH
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Profiler:
    """`py-spy record --format raw` attached to a running process until stop() (SIGINT makes it write).
    `gil`: sample only the thread holding the GIL, so the samples are the process's Python CPU, not its waits."""

    def __init__(self, pid: int, name: str, rate: int = 100, *, gil: bool = True) -> None:
        binary = py_spy()
        if binary is None:
            raise SystemExit("py-spy is not installed: make install-dev (requirements-dev.txt), or pass --no-profile")
        LOG_DIR.mkdir(exist_ok=True)
        self.output = LOG_DIR / f"{name}.raw"
        self.output.unlink(missing_ok=True)
        self._log = open(LOG_DIR / f"{name}.py-spy.log", "wb")  # noqa: SIM115  (closed in stop())
        command = [binary, "record", "--pid", str(pid), "--format", "raw", "--nolineno", "--rate", str(rate)]
        command += ["--gil"] if gil else []
        self.process = subprocess.Popen([*command, "--output", str(self.output)], stdout=self._log, stderr=self._log)

    def stop(self) -> Path:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.output


# Deepest frame on a sample's stack that matches one of these names its phase (first match in the table wins
# when one frame matches several). `file` is py-spy's short path, `names` the function names (with class).
PHASES: list[tuple[str, str, frozenset[str]]] = [
    ("JSON encode/decode (jsonutil)", "orders/integrations/jsonutil.py", frozenset({"dumps", "loads"})),
    ("redacting recorded bodies", "orders/integrations/http.py", frozenset({"_recorded_body", "_recorded_response"})),
    ("HTTP exchange (requests, urllib3)", "orders/integrations/http.py", frozenset({"perform"})),
    ("interpreting the answer", "orders/integrations/", frozenset({"_order_result", "_json_object"})),
    (
        "CIMcloud token (cached in the DB)",
        "orders/integrations/cimcloud.py",
        frozenset({"CimcloudClient._cached_token", "CimcloudClient._authenticate"}),
    ),  # fmt: skip
    ("pacer: reserve_slot (per call)", "orders/outbox.py", frozenset({"reserve_slot"})),
    ("pacer: after_call (per call)", "orders/outbox.py", frozenset({"after_call"})),
    ("breaker: record_health (per call)", "orders/outbox.py", frozenset({"record_health"})),
    ("lease: extend_lease", "orders/outbox.py", frozenset({"extend_lease"})),
    ("complete: DeliveryAttempt rows", "orders/outbox.py", frozenset({"_attempt"})),
    ("complete: OrderEvent rows", "orders/services/context.py", frozenset({"record_event", "order_event"})),
    ("complete: TulaERP ids, shipments, poll", "orders/outbox.py", frozenset({"_apply_tulaerp"})),
    (
        "complete: lock orders, fence, update messages, insert rows",
        "orders/outbox.py",
        frozenset({"complete", "complete_many", "_completed_fields", "_completion_events"}),
    ),
    ("claim a batch", "orders/outbox.py", frozenset({"claim"})),
    ("sending: lease check, classify, breaker/pause", "orders/outbox.py", frozenset({"send_one", "Sender.send"})),
    (
        "loop: probe/pause checks, batching",
        "orders/outbox.py",
        frozenset({"Worker._drain_once", "Worker._probe_if_due", "Worker._deliver_batch"}),
    ),
    ("loop: close_old_connections", "django/db/__init__.py", frozenset({"close_old_connections"})),
    ("heartbeat", "orders/outbox.py", frozenset({"Worker._beat"})),
    ("logging", "logging/", frozenset()),
]
LIBRARIES: list[tuple[str, tuple[str, ...]]] = [
    ("DB driver + Django backend", ("django/db/backends/", "sqlite3/", "psycopg/", "psycopg_binary/")),
    ("Django ORM (query building, models)", ("django/db/",)),
    ("HTTP client (requests, urllib3, http.client)", ("requests/", "urllib3/", "http/", "email/", "socket.py")),
    ("JSON", ("json/", "orders/integrations/jsonutil.py")),
    ("logging", ("logging/",)),
    ("Django other", ("django/",)),
    ("application (orders/)", ("orders/",)),
]
FRAME_RE = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*)\)$")


def _frame(text: str) -> tuple[str, str]:
    match = FRAME_RE.match(text)
    return (match["name"], match["file"]) if match else (text, "")


def _phase(frames: list[tuple[str, str]]) -> str:
    for name, file in reversed(frames):
        for label, prefix, names in PHASES:
            # py-spy 0.4.2 names a method without its class ("_drain_once"); older ones with it.
            if file.startswith(prefix) and (not names or name in names or name in _unqualified(names)):
                return label
    return "other (thread start, waits, imports)"


def _unqualified(names: frozenset[str]) -> frozenset[str]:
    return frozenset(name.rsplit(".", 1)[-1] for name in names)


def _library(file: str) -> str:
    return next((label for label, prefixes in LIBRARIES if file.startswith(prefixes)), "Python stdlib, other")


@dataclass
class Profile:
    samples: int = 0
    phases: Counter = field(default_factory=Counter)
    libraries: Counter = field(default_factory=Counter)
    leaves: Counter = field(default_factory=Counter)

    def table(self, counter: Counter, heading: str, limit: int = 12) -> str:
        rows = [f"| {heading} | samples | share |", "|---|---|---|"]
        for label, count in counter.most_common(limit):
            rows.append(f"| {label} | {count:,} | {count / self.samples:.0%} |")
        return "\n".join(rows)


def read_profile(path: Path) -> Profile:
    """Collapse py-spy's raw stacks (only samples where a thread was running: py-spy drops idle ones)."""
    profile = Profile()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_frame(part) for part in stack.split(";")]
        if any(name == "<module>" and file.startswith("<frozen") for name, file in frames):
            continue  # start-up imports, before the worker runs
        samples = int(count)
        profile.samples += samples
        profile.phases[_phase(frames)] += samples
        name, file = frames[-1]
        profile.libraries[_library(file)] += samples
        profile.leaves[f"`{name}` ({file})"] += samples
    return profile


# --- seeding (the child process) -----------------------------------------------------------------------------


def seed_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench/_common.py seed")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--lines", type=int, default=2)
    parser.add_argument("--destinations", default="cimcloud,tulaerp")
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL", "").startswith((f"sqlite:///{SQLITE_PATH}", POSTGRES_URL)):
        raise SystemExit("refusing to seed anything but the bench database (DATABASE_URL)")

    import django

    django.setup()
    from decimal import Decimal

    from orders import services
    from orders.models import Customer
    from orders.services import Actor, LineInput

    actor = Actor.system("bench")
    customer, _ = Customer.objects.get_or_create(
        customer_no="C-BENCH",
        defaults={
            "name": "Bench Co",
            "address1": "1 Main St",
            "city": "Austin",
            "state": "TX",
            "zip": "78701",
            "country_code": "USA",
        },
    )
    ship_to = {
        "ship_to_name": "Dock 4",
        "ship_to_address1": "9 Pier Rd",
        "ship_to_city": "Portland",
        "ship_to_state": "OR",
        "ship_to_zip": "97202",
        "ship_to_country_code": "USA",
    }
    destinations = args.destinations.split(",")
    lines = [LineInput(sku=f"SKU-{i}", quantity=i + 1, unit_price=Decimal("12.50")) for i in range(args.lines)]
    for _ in progress(range(args.count), desc="orders", unit="order"):
        order = services.order_create(
            actor=actor, customer=customer, fields=ship_to, lines=lines, destinations=destinations
        )
        services.order_submit(actor=actor, order_id=order.pk)


if __name__ == "__main__":
    if sys.argv[1:2] != ["seed"]:
        raise SystemExit(__doc__)
    seed_main(sys.argv[2:])
