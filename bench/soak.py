"""The fault soak (issue #7): orders through the API and the pages while the simulators fail 30% of calls, a worker
is SIGKILLed every 30 s and the workers' PostgreSQL connections are terminated; then a drain, then the checks.
Run by hand:

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 2] [--workers 2] [--rate-scale 60] [--no-write]

PostgreSQL only, in its own database `orders_soak` (dropped and recreated; `BENCH_POSTGRES_DB` names another
ending in `_soak`). The soak starts the simulators (`run_simulators --rate-scale N`, every kind of fault at once:
injected 500/503/429, resets, drops, timeouts, malformed answers, plus latency), a gunicorn web server on a free
loopback port, and `--workers` outbox workers with short timeouts, leases and backoff (SHORT_SETTINGS). Three
clients create orders at `--rate` orders/s in all over real HTTP: `POST /api/v1/orders/` with `submit: true` and an
`Idempotency-Key` (half), the CIMcloud import endpoint (a quarter), and a signed-in session posting the order form
with its CSRF and one-time form tokens (a quarter); each retries a failed request with the same key or token.
Meanwhile one worker is SIGKILLed every `--kill-every` s (in turn) and started again, and every
`--terminate-every` s the workers' database sessions are ended with `pg_terminate_backend`. After `--minutes` the
clients stop; faults, kills and terminations go on while the outbox drains (up to `--drain-minutes`).

Then it prints and checks (exit 1 if any check fails): every acknowledged order is in the database, submitted, with
one message per destination, each `sent` (and seen accepted by its simulator) or `needs_attention` with a reason;
no request went unanswered; TulaERP created each `orderNumber` once and gave it the id we stored; CIMcloud's last
body per `order_number` equals our stored payload; no message is `in_flight` past its lease. Figures go to stdout
and to the `## Fault soak` section of docs/BENCHMARKS.md. Logs: BENCH_LOG_DIR (/tmp/orders_bench_logs)/soak-*.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

os.environ.setdefault("BENCH_POSTGRES_DB", "orders_soak")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402  (bench/ is not a package)
    LOG_DIR,
    PYTHON,
    REPO,
    SKIP_CHECKS,
    BenchDB,
    WorkerProcess,
    machine_busy_seconds,
    measured_on,
    prepare_environment,
    start_simulators,
    worker_env,
    write_section,
)

SECTION = "## Fault soak"
WORKER_APP = "soak-worker"  # the workers' application_name: what pg_terminate_backend picks
WEB_APP = "soak-web"
FAULTS = {  # 30% of calls fail, every kind (docs/SIMULATORS.md); the rest are slowed a little
    "error_rate": 0.10,
    "statuses": [500, 503, 429],
    "reset_rate": 0.05,
    "drop_rate": 0.05,
    "timeout_rate": 0.05,
    "malformed_rate": 0.05,
    "latency_ms": 20,
    "hang_s": 3,
    "retry_after_s": 0.5,
    "seed": 7,
}
# Short settings for the workers: a hung call gives up after 2 s, a killed worker's lease frees its message
# after 6 s, retries come back within seconds rather than minutes.
SHORT_SETTINGS = {
    "HTTP_CONNECT_TIMEOUT": "1",
    "HTTP_READ_TIMEOUT": "2",
    "OUTBOX_LEASE_SECONDS": "6",
    "OUTBOX_POLL_SECONDS": "0.2",
    "OUTBOX_HEARTBEAT_SECONDS": "2",
    "OUTBOX_BACKOFF_BASE_SECONDS": "0.2",
    "OUTBOX_BACKOFF_FACTOR": "2",
    "OUTBOX_BACKOFF_CAP_SECONDS": "5",
    "OUTBOX_BREAKER_COOLDOWN_SECONDS": "3",
    "OUTBOX_CONFIG_PAUSE_SECONDS": "5",
}
FINAL_STATES = ("sent", "needs_attention", "cancelled")
EXAMPLE_IMPORT = REPO / "tests" / "fixtures" / "cimcloud-orderpassthrough.example.json"
SHIP_TO = {"name": "Dock 4", "address1": "9 Pier Rd", "city": "Portland", "state": "OR", "zip": "97202",
           "country_code": "USA"}  # fmt: skip
CUSTOMER_NO = "C10040"  # seed_demo's first customer (not on credit hold)
CLIENT_TIMEOUT = 30.0
CLIENT_TRIES = 20
# A message whose lease ran out (its worker was killed) is due at once; any worker claims it within a poll, unless
# the destination is paused for a 429 or its breaker is open (3 s here). Longer than this past its lease: stuck.
OVERDUE_LIMIT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_app(url: str, name: str) -> str:
    return f"{url}?application_name={name}"  # dj-database-url passes it to psycopg (OPTIONS)


# --- the order clients ---------------------------------------------------------------------------------------


@dataclass
class Client:
    """One channel: creates an order every `interval` s over real HTTP until told to stop."""

    channel: str
    interval: float
    base: str
    acknowledged: list[tuple[str, str]] = field(default_factory=list)  # (order number, state answered)
    gave_up: int = 0
    retries: Counter = field(default_factory=Counter)  # why a request was sent again
    seconds: list[float] = field(default_factory=list)  # per acknowledged order, retries included

    def run(self, stop: threading.Event, session: Any, make: Any) -> None:
        n, next_at = 0, time.monotonic()
        while not stop.is_set():
            n += 1
            started = time.monotonic()
            try:
                result = make(session, n)
            except GaveUp as exc:
                self.gave_up += 1
                print(f"{self.channel}: request {n} gave up: {exc}", file=sys.stderr)
            else:
                self.acknowledged.append(result)
                self.seconds.append(time.monotonic() - started)
            next_at += self.interval
            stop.wait(max(0.0, next_at - time.monotonic()))

    def attempt(self, send: Any) -> Any:
        """Send until a final answer; `send()` returns (response, value) with value None when it must retry."""
        import requests

        for _ in range(CLIENT_TRIES):
            try:
                response, value = send()
            except requests.RequestException as exc:
                self.retries[type(exc).__name__] += 1
                time.sleep(0.5)
                continue
            if value is not None:
                return value
            self.retries[str(response.status_code)] += 1
            if response.status_code < 500 and response.status_code not in (409, 429):
                raise GaveUp(f"{response.status_code} {response.text[:300]}")
            time.sleep(float(response.headers.get("Retry-After") or 0.5))
        raise GaveUp(f"no final answer after {CLIENT_TRIES} tries")


class GaveUp(Exception):
    pass


def api_session(token: str) -> Any:
    import requests

    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return session


def api_order(client: Client, run_id: str) -> Any:
    def make(session: Any, n: int) -> tuple[str, str]:
        body = {
            "po_number": f"SOAK-{run_id}-{n}",
            "customer": {"customer_no": CUSTOMER_NO},
            "ship_to": SHIP_TO,
            "lines": [{"sku": "SKU-1", "quantity": 2, "unit_price": "10.50"}, {"sku": "SKU-2", "quantity": 1,
                      "unit_price": "3.00"}],
            "destinations": ["cimcloud", "tulaerp"],
            "submit": True,
        }  # fmt: skip
        headers = {"Idempotency-Key": f"soak-{run_id}-api-{n}"}
        return client.attempt(lambda: _created(session.post(f"{client.base}/api/v1/orders/", json=body,
                                                            headers=headers, timeout=CLIENT_TIMEOUT)))  # fmt: skip

    return make


def import_order(client: Client, run_id: str) -> Any:
    example = json.loads(EXAMPLE_IMPORT.read_text())

    def make(session: Any, n: int) -> tuple[str, str]:
        body = copy.deepcopy(example)
        body["order_number"] = f"SI{run_id}{n:05d}"
        body["erp_order_number"] = ""
        text = json.dumps(body)
        headers = {"Idempotency-Key": f"soak-{run_id}-import-{n}"}
        url = f"{client.base}/api/v1/orders/import/cimcloud/"
        return client.attempt(lambda: _created(session.post(url, data=text, headers=headers, timeout=CLIENT_TIMEOUT)))

    return make


def _created(response: Any) -> tuple[Any, tuple[str, str] | None]:
    if response.status_code != 201:
        return response, None
    body = response.json()
    return response, (body["order_number"], body["state"])


TOKEN_RE = re.compile(r'name="(csrfmiddlewaretoken|form_token)" value="([^"]+)"')
SAVED_RE = re.compile(r"^/orders/([A-Za-z0-9_-]+)/$")


def page_session(base: str, password: str) -> Any:
    import requests

    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=CLIENT_TIMEOUT)
    tokens = dict(TOKEN_RE.findall(page.text))
    form = {"username": "operator", "password": password, "csrfmiddlewaretoken": tokens["csrfmiddlewaretoken"]}
    signed_in = session.post(f"{base}/accounts/login/", data=form, allow_redirects=False, timeout=CLIENT_TIMEOUT)
    if signed_in.status_code != 302:
        raise SystemExit(f"the page client could not sign in: {signed_in.status_code}")
    return session


def page_order(client: Client, run_id: str) -> Any:
    """The order form as a browser without JavaScript posts it (field names: tests/test_forms.py entry_data)."""

    def make(session: Any, n: int) -> tuple[str, str]:
        tokens = client.attempt(lambda: _form_tokens(session.get(f"{client.base}/orders/new/", timeout=CLIENT_TIMEOUT)))
        form = {
            "csrfmiddlewaretoken": tokens["csrfmiddlewaretoken"],
            "form_token": tokens["form_token"],  # a repeated post of this form saves nothing twice
            "customer": "",
            "customer_name": "Soak Pages Co",
            "customer_address1": "1 Main St",
            "customer_city": "Austin",
            "customer_state": "TX",
            "customer_zip": "78701",
            "customer_country_code": "USA",
            "ship_to_source": "customer",
            "po_number": f"SOAK-{run_id}-P{n}",
            "destinations": ["cimcloud", "tulaerp"],
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "1",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-sku": "BOLT-10",
            "lines-0-quantity": "4",
            "lines-0-unit_price": "18.40",
            "lines-1-sku": "NUT-10",
            "lines-1-quantity": "2",
            "lines-1-unit_price": "9.95",
            "action": "submit",
        }
        url = f"{client.base}/orders/new/"
        return client.attempt(lambda: _saved(session.post(url, data=form, allow_redirects=False,
                                                          timeout=CLIENT_TIMEOUT)))  # fmt: skip

    return make


def _form_tokens(response: Any) -> tuple[Any, dict[str, str] | None]:
    tokens = dict(TOKEN_RE.findall(response.text)) if response.status_code == 200 else {}
    return response, tokens if len(tokens) == 2 else None


def _saved(response: Any) -> tuple[Any, tuple[str, str] | None]:
    found = SAVED_RE.match(response.headers.get("Location", "")) if response.status_code == 302 else None
    return response, (found[1], "submitted") if found else None


# --- the processes and the chaos ----------------------------------------------------------------------------


class Workers:
    """`count` outbox workers; kill_one() SIGKILLs the next in turn and starts a new one in its place."""

    def __init__(self, env: dict[str, str], count: int) -> None:
        self.env, self.started, self.kills = env, 0, 0
        self.processes = [self._start() for _ in range(count)]
        for process in self.processes:
            process.wait_running(60)

    def _start(self) -> WorkerProcess:
        self.started += 1
        return WorkerProcess(self.env, f"soak-worker-{self.started}")

    def kill_one(self) -> int:
        """SIGKILL the next worker in turn, start another in its place; the dead one's pid."""
        index = self.kills % len(self.processes)
        victim = self.processes[index]
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        victim.stop()  # closes its log
        self.kills += 1
        self.processes[index] = self._start()
        return victim.pid

    def dead(self) -> list[str]:
        return [str(p.log_path) for p in self.processes if not p.alive()]

    def stop(self) -> list[int]:
        return [p.stop(timeout=30) for p in self.processes]


@dataclass
class Chaos:
    db: BenchDB
    workers: Workers
    kill_every: float
    terminate_every: float
    terminations: int = 0  # sessions ended
    terminate_rounds: int = 0
    kills_holding: int = 0  # kills that left messages in flight under the dead worker's lease
    orphaned: int = 0  # those messages
    overdue_max: float = 0.0  # longest a message was seen in_flight past its lease (s)
    overdue_seen: int = 0  # samples with at least one such message
    samples: int = 0
    deaths: list[str] = field(default_factory=list)

    def run(self, stop: threading.Event) -> None:
        rng = random.Random(11)
        now = time.monotonic()
        next_kill, next_terminate = now + self.kill_every, now + rng.uniform(0.5, 1.5) * self.terminate_every
        while not stop.wait(1.0):
            now = time.monotonic()
            if now >= next_kill:
                pid = self.workers.kill_one()
                held = self.db.scalar(  # the worker id is host:pid:random (orders/outbox.py Worker)
                    "SELECT COUNT(*) FROM orders_outboxmessage "
                    f"WHERE state = 'in_flight' AND lease_owner LIKE '%:{pid}:%'"
                )
                self.kills_holding += bool(held)
                self.orphaned += held
                next_kill += self.kill_every
            if now >= next_terminate:
                self.terminate_rounds += 1
                self.terminations += self.db.scalar(
                    "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    f"WHERE datname = current_database() AND application_name = '{WORKER_APP}'"
                )
                next_terminate = now + rng.uniform(0.5, 1.5) * self.terminate_every
            overdue = self.db.scalar(
                "SELECT EXTRACT(EPOCH FROM now() - MIN(lease_expires_at)) FROM orders_outboxmessage "
                "WHERE state = 'in_flight' AND lease_expires_at < now()"
            )
            self.samples += 1
            if overdue is not None:
                self.overdue_seen += 1
                self.overdue_max = max(self.overdue_max, float(overdue))
            self.deaths += self.workers.dead()  # a worker that died by itself (not killed) is a finding
            if self.deaths:
                stop.set()


def start_web(db: BenchDB, port: int) -> subprocess.Popen:
    LOG_DIR.mkdir(exist_ok=True)
    log = open(LOG_DIR / "soak-web.log", "wb")  # noqa: SIM115  (the child keeps it; closed with the process)
    env = db.env(DATABASE_URL=with_app(db.url, WEB_APP), API_THROTTLE_WRITE="100000/minute")
    # As the Procfile runs it.
    command = [PYTHON, "-m", "gunicorn", "ordersite.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--threads", "4", "--log-level", "warning"]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_web(base: str, web: subprocess.Popen, timeout: float = 60.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {LOG_DIR / 'soak-web.log'}")
        try:
            requests.get(f"{base}/healthz", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /healthz")


def manage(db: BenchDB, *args: str, **env: str) -> str:
    done = subprocess.run([PYTHON, "manage.py", *args, *SKIP_CHECKS], cwd=REPO, env=db.env(**env), check=True,
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout


# --- the checks ----------------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def canonical(text_or_value: Any) -> Any:
    """A JSON body as values that compare exactly: numbers as Decimal (10.50 == 10.5; no float rounding)."""
    text = text_or_value if isinstance(text_or_value, str) else json.dumps(text_or_value)
    return json.loads(text, parse_float=Decimal)


def check_everything(db: BenchDB, sim: Any, clients: list[Client], chaos: Chaos) -> tuple[list[Check], dict]:
    acknowledged = {number: (c.channel, state) for c in clients for number, state in c.acknowledged}
    orders = {row[0]: row[1:] for row in db.rows("SELECT order_number, id, state, uuid FROM orders_order")}
    messages = db.rows(
        "SELECT o.order_number, m.destination, m.state, m.attention_reason, m.last_error, m.payload, m.result, "
        "m.attempts FROM orders_outboxmessage m JOIN orders_order o ON o.id = m.order_id WHERE m.kind = 'create'"
    )
    by_order: dict[str, dict[str, tuple]] = {}
    for number, destination, *rest in messages:
        by_order.setdefault(number, {})[destination] = tuple(rest)
    states = Counter((m[1], m[2]) for m in messages)
    attention = [(m[0], m[1], m[3], m[4][:200]) for m in messages if m[2] == "needs_attention"]

    lost = sorted(n for n in acknowledged if n not in orders)
    not_submitted = sorted(n for n in acknowledged if n in orders and orders[n][1] != "submitted")
    unacknowledged = sorted(set(orders) - set(acknowledged))
    wrong_messages = sorted(n for n in orders if set(by_order.get(n, {})) != {"cimcloud", "tulaerp"})
    open_messages = [m for m in messages if m[2] not in FINAL_STATES]
    no_reason = [m for m in messages if m[2] == "needs_attention" and not m[3]]
    gave_up = sum(c.gave_up for c in clients)

    received = {"cimcloud": {e["key"]: e for e in sim.received("cimcloud")},
                "tulaerp": {e["key"]: e for e in sim.received("tulaerp")}}  # fmt: skip
    cim_unseen, cim_mismatch, tula_unseen, tula_doubles, tula_wrong_id = [], [], [], [], []
    repeats = Counter()
    for number, per in by_order.items():
        if "cimcloud" in per and per["cimcloud"][0] == "sent":
            payload = canonical(per["cimcloud"][3])
            entry = received["cimcloud"].get(payload["order_number"])
            if entry is None or not entry["accepted"]:
                cim_unseen.append(number)
            elif canonical(entry["last_body"]) != payload:
                theirs = canonical(entry["last_body"])
                keys = sorted(k for k in set(payload) | set(theirs) if payload.get(k) != theirs.get(k))
                cim_mismatch.append(f"{number} ({', '.join(keys)})")
                if len(cim_mismatch) == 1:  # the first one in full, to look at
                    pair = {"ours": per["cimcloud"][3], "cimcloud_last_body": entry["last_body"]}
                    (LOG_DIR / "soak-mismatch.json").write_text(json.dumps(pair, indent=1, default=str))
            else:
                repeats["cimcloud requests"] += entry["count"] > 1
                repeats["cimcloud applied"] += entry["applied"] > 1  # an upsert that updated the same order
        if "tulaerp" in per and per["tulaerp"][0] == "sent":
            payload = canonical(per["tulaerp"][3])
            entry = received["tulaerp"].get(payload["orderNumber"])
            stored = per["tulaerp"][4] or {}
            stored = json.loads(stored) if isinstance(stored, str) else stored
            if entry is None or not entry["accepted"]:
                tula_unseen.append(number)
            elif entry["applied"] != 1:
                tula_doubles.append(number)
            elif entry["assigned_id"] != stored.get("id"):
                tula_wrong_id.append(number)
            else:
                repeats["tulaerp requests"] += entry["count"] > 1
                repeats["tulaerp accepted"] += entry["accepted"] > 1  # answered with the order it had
    ours = {canonical(m[5]).get("orderNumber") for m in messages if m[1] == "tulaerp"}
    strangers = sorted(set(received["tulaerp"]) - ours)
    tula_created = sum(e["applied"] for e in received["tulaerp"].values())
    overdue_now = db.scalar(
        "SELECT COUNT(*) FROM orders_outboxmessage WHERE state = 'in_flight' AND lease_expires_at < now()"
    )
    in_flight_now = db.scalar("SELECT COUNT(*) FROM orders_outboxmessage WHERE state = 'in_flight'")

    def few(items: list) -> str:
        return ", ".join(map(str, items[:5])) + (" …" if len(items) > 5 else "")

    checks = [
        Check("zero lost: every acknowledged order is in the database", not lost, f"{len(lost)} lost {few(lost)}"),
        Check("every acknowledged order is submitted", not not_submitted,
              f"{len(not_submitted)} not {few(not_submitted)}"),
        Check("every request was answered (none given up)", not gave_up, f"{gave_up} given up"),
        Check("no order the clients were not told about", not unacknowledged,
              f"{len(unacknowledged)} unacknowledged {few(unacknowledged)}"),
        Check("one create message per destination per order", not wrong_messages,
              f"{len(wrong_messages)} orders otherwise {few(wrong_messages)}"),
        Check("every message sent or needs_attention (drained)", not open_messages,
              f"{len(open_messages)} still open {few([(m[0], m[1], m[2]) for m in open_messages])}"),
        Check("every needs_attention has its reason", not no_reason, f"{len(no_reason)} without"),
        Check("every sent message accepted by its simulator", not (cim_unseen or tula_unseen),
              f"CIMcloud {len(cim_unseen)} {few(cim_unseen)}; TulaERP {len(tula_unseen)} {few(tula_unseen)}"),
        Check("TulaERP created each orderNumber exactly once",
              not tula_doubles and tula_created == len(received["tulaerp"]),
              f"{len(tula_doubles)} created more than once {few(tula_doubles)}; {tula_created} creations for "
              f"{len(received['tulaerp'])} orderNumbers"),
        Check("TulaERP's assigned id is the one we stored", not tula_wrong_id,
              f"{len(tula_wrong_id)} differ {few(tula_wrong_id)}"),
        Check("TulaERP received only our orders", not strangers, f"{len(strangers)} unknown orderNumbers"),
        Check("CIMcloud's last body per order_number equals our payload", not cim_mismatch,
              f"{len(cim_mismatch)} differ {few(cim_mismatch)}"),
        Check("no message in_flight past its lease (at the end)", not overdue_now,
              f"{overdue_now} overdue, {in_flight_now} in flight"),
        Check(f"every lease that ran out was taken over within {OVERDUE_LIMIT:g} s", chaos.overdue_max <= OVERDUE_LIMIT,
              f"longest {chaos.overdue_max:.1f} s past its lease"),
        Check("no worker died by itself", not chaos.deaths, ", ".join(chaos.deaths) or "none"),
    ]  # fmt: skip
    facts = {
        "orders": len(orders),
        "states": states,
        "attention": attention,
        "repeats": repeats,
        "received": {k: len(v) for k, v in received.items()},
        "requests": {k: sum(e["count"] for e in v.values()) for k, v in received.items()},
        "accepted": {k: sum(e["accepted"] for e in v.values()) for k, v in received.items()},
        "attempts": db.rows(
            "SELECT m.destination, a.outcome, COALESCE(NULLIF(a.error_class, ''), '-'), COUNT(*) "
            "FROM orders_deliveryattempt a JOIN orders_outboxmessage m ON m.id = a.message_id "
            "GROUP BY 1, 2, 3 ORDER BY 1, 4 DESC"
        ),
        "max_attempts": db.scalar("SELECT MAX(attempts) FROM orders_outboxmessage"),
        "latency": db.rows(
            "SELECT m.destination, percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM m.sent_at - "
            "m.created_at)), percentile_cont(0.99) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM m.sent_at - "
            "m.created_at)), MAX(EXTRACT(EPOCH FROM m.sent_at - m.created_at)) FROM orders_outboxmessage m "
            "WHERE m.state = 'sent' GROUP BY 1 ORDER BY 1"
        ),
    }
    return checks, facts


# --- the run -------------------------------------------------------------------------------------------------


def report(args: argparse.Namespace, when: str, clients: list[Client], chaos: Chaos, timing: dict,
           checks: list[Check], facts: dict) -> str:  # fmt: skip
    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    lines = [
        "| channel | orders acknowledged | client retries (why) | given up | s per order p50 / p99 |",
        "|---|---|---|---|---|",
    ]
    for c in clients:
        why = ", ".join(f"{k} {v}" for k, v in c.retries.most_common()) or "none"
        lines.append(f"| {c.channel} | {len(c.acknowledged)} | {sum(c.retries.values())} ({why}) | {c.gave_up} "
                     f"| {pct(c.seconds, 0.5):.2f} / {pct(c.seconds, 0.99):.2f} |")  # fmt: skip
    states = ", ".join(f"{d} {s} {n}" for (d, s), n in sorted(facts["states"].items()))
    attempts = "; ".join(f"{d} {o} {e} {n}" for d, o, e, n in facts["attempts"])
    latency = "; ".join(f"{d} p50 {p50:.1f} s, p99 {p99:.1f} s, max {top:.1f} s"
                        for d, p50, p99, top in facts["latency"])  # fmt: skip
    attention = "\n".join(f"  - {n} {d}: {r}: {e}" for n, d, r, e in facts["attention"][:20]) or "  - none"
    r = facts["repeats"]
    verdicts = "\n".join(f"- {'PASS' if c.ok else 'FAIL'}: {c.name} ({c.detail})" for c in checks)
    faults = ", ".join(f"{k} {v}" for k, v in FAULTS.items() if k != "statuses")
    short = ", ".join(f"`{k}={v}`" for k, v in SHORT_SETTINGS.items())
    busy = timing["busy"] / ((timing["create"] + timing["drain"]) * (os.cpu_count() or 1))
    load = ", ".join(f"{value:.2f}" for value in timing["load"])
    command = f".venv/bin/python bench/soak.py --minutes {args.minutes:g} --rate {args.rate:g} "
    command += f"--workers {args.workers} --rate-scale {args.rate_scale:g}"
    if (args.kill_every, args.terminate_every, args.drain_minutes) != (30.0, 20.0, 5.0):
        command += f" --kill-every {args.kill_every:g} --terminate-every {args.terminate_every:g}"
        command += f" --drain-minutes {args.drain_minutes:g}"
    return f"""{SECTION}

{when}

What (PostgreSQL, real HTTP throughout):
- {timing["create"]:.0f} s creating orders at {args.rate:g}/s through gunicorn (2 workers x 4 threads), then
  {timing["drain"]:.0f} s of drain (limit {args.drain_minutes:g} min) with the faults, kills and terminations going on.
- {args.workers} outbox workers; one SIGKILLed every {args.kill_every:g} s and restarted ({chaos.workers.kills} kills).
  The workers' database sessions ended with `pg_terminate_backend` every ~{args.terminate_every:g} s
  ({chaos.terminate_rounds} rounds, {chaos.terminations} sessions).
- Simulators `--rate-scale {args.rate_scale:g}` (the workers pace with the same windows); faults on both: {faults}
  (statuses 500/503/429; 30% of calls in all).
- Worker settings: {short}.
- Machine: {busy:.0%} of both CPUs busy during the run (every process); load average at the end: {load}.

{chr(10).join(lines)}

- Orders in the database: {facts["orders"]}. Messages: {states}.
- Simulators: CIMcloud {facts["received"]["cimcloud"]} order numbers, {facts["requests"]["cimcloud"]} order
  requests, {facts["accepted"]["cimcloud"]} answered 2xx; TulaERP {facts["received"]["tulaerp"]} orderNumbers,
  {facts["requests"]["tulaerp"]} requests, {facts["accepted"]["tulaerp"]} answered 2xx. Orders that reached a
  simulator more than once: CIMcloud {r["cimcloud requests"]} ({r["cimcloud applied"]} applied again as an
  update of the same order), TulaERP {r["tulaerp requests"]} ({r["tulaerp accepted"]} answered with the order it
  already had, never a second one).
- Kills that left messages in flight under the dead worker's lease: {chaos.kills_holding} of {chaos.workers.kills}
  ({chaos.orphaned} messages).
- Attempts (destination, outcome, error class, count): {attempts}. Most attempts of one message:
  {facts["max_attempts"]}.
- Submit to sent: {latency}.
- In flight past its lease while running: seen in {chaos.overdue_seen} of {chaos.samples} one-second samples,
  longest {chaos.overdue_max:.1f} s past the lease (a killed worker's message until another worker claims it).
- needs_attention (order, destination, reason, error):
{attention}

Checks:
{verdicts}

Reproduce: `{command}` (add `--no-write` to leave this file alone). Logs: `{LOG_DIR}/soak-*.log`.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of order creation")
    parser.add_argument("--drain-minutes", type=float, default=5.0, help="at most this long for the drain")
    parser.add_argument("--rate", type=float, default=2.0, help="orders per second, all channels together")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate-scale", type=float, default=60.0, help="CIMcloud windows of simulator and pacer / N")
    parser.add_argument("--kill-every", type=float, default=30.0, help="seconds between worker SIGKILLs")
    parser.add_argument("--terminate-every", type=float, default=20.0, help="mean seconds between terminations")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = parser.parse_args()
    if args.workers < 2:
        parser.error("--workers: at least 2 (one is always being killed)")
    prepare_environment()
    when = measured_on()
    run_id = secrets.token_hex(2).upper()
    password = secrets.token_urlsafe(16)
    db = BenchDB("postgres")
    print(f"soak {run_id}: fresh database {db.url.rsplit('/', 1)[1]}, users, token", file=sys.stderr)
    db.recreate()
    manage(db, "seed_demo", "--orders", "0", DEMO_PASSWORD=password)
    token = manage(db, "create_api_token", "operator", "--name", "soak").strip().splitlines()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = start_web(db, port)
    sim = start_simulators("--rate-scale", f"{args.rate_scale:g}")
    workers = None
    try:
        sim.reset()
        sim.faults("both", **FAULTS)
        env = worker_env(
            sim,
            db,
            DATABASE_URL=with_app(db.url, WORKER_APP),
            CIMCLOUD_RATE_WINDOW_SECONDS=repr(900.0 / args.rate_scale),
            CIMCLOUD_RATE_SECOND_SECONDS=repr(1.0 / args.rate_scale),
            **SHORT_SETTINGS,
        )
        workers = Workers(env, args.workers)
        wait_web(base, web)
        chaos = Chaos(db, workers, args.kill_every, args.terminate_every)
        clients = [
            Client("API `POST /api/v1/orders/`", 2 / args.rate, base),
            Client("API CIMcloud import", 4 / args.rate, base),
            Client("pages (order form)", 4 / args.rate, base),
        ]
        sessions = [api_session(token), api_session(token), page_session(base, password)]
        makers = [api_order(clients[0], run_id), import_order(clients[1], run_id), page_order(clients[2], run_id)]
        stop_clients, stop_chaos = threading.Event(), threading.Event()
        threads = [threading.Thread(target=c.run, args=(stop_clients, s, m), daemon=True)
                   for c, s, m in zip(clients, sessions, makers, strict=True)]  # fmt: skip
        chaos_thread = threading.Thread(target=chaos.run, args=(stop_chaos,), daemon=True)
        started, busy_before = time.monotonic(), machine_busy_seconds()
        chaos_thread.start()
        for thread in threads:
            thread.start()
        print(f"creating orders for {args.minutes:g} min at {args.rate:g}/s ({base})", file=sys.stderr)
        stop_chaos.wait(args.minutes * 60)  # set early only if a worker died by itself
        stop_clients.set()
        for thread in threads:
            thread.join(CLIENT_TIMEOUT * CLIENT_TRIES)
        drain_started = time.monotonic()
        print("draining", file=sys.stderr)
        while time.monotonic() - drain_started < args.drain_minutes * 60 and not stop_chaos.is_set():
            open_count = db.scalar(
                "SELECT COUNT(*) FROM orders_outboxmessage WHERE kind = 'create' AND state NOT IN "
                "('sent', 'needs_attention', 'cancelled')"
            )
            if not open_count:
                break
            time.sleep(1.0)
        timing = {
            "create": drain_started - started,
            "drain": time.monotonic() - drain_started,
            "busy": machine_busy_seconds() - busy_before,
            "load": os.getloadavg(),
        }
        stop_chaos.set()
        chaos_thread.join(30)
        workers.stop()
        workers = None
        checks, facts = check_everything(db, sim, clients, chaos)
    finally:
        if workers is not None:
            workers.stop()
        web.send_signal(signal.SIGTERM)
        try:
            web.wait(30)
        except subprocess.TimeoutExpired:
            web.kill()
        sim.close()
        db.close()
    text = report(args, when, clients, chaos, timing, checks, facts)
    print()
    print(text)
    failed = [c for c in checks if not c.ok]
    if not args.no_write:
        print(f"written to {write_section(SECTION, text)}")
    if failed:
        raise SystemExit(f"soak FAILED: {len(failed)} check(s)")


if __name__ == "__main__":
    main()
