"""Pytest plugin: real `outbox_worker` processes against the test database and the simulator subprocess.

Timings are scaled (lease 2 s, HTTP timeouts 0.5/1 s, poll 0.1 s, backoff base 0.05 s, CIMcloud windows x60)
so no test waits on a real window. Tests using these need `django_db(transaction=True)`: the workers are
other processes and see only committed data.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from orders import services
from orders.models import Customer, Order
from orders.services import Actor, LineInput

ROOT = Path(__file__).resolve().parent.parent
RATE_SCALE = 60

SCALED = {
    "OUTBOX_LEASE_SECONDS": "2",
    "HTTP_CONNECT_TIMEOUT": "0.5",
    "HTTP_READ_TIMEOUT": "1",
    "OUTBOX_POLL_SECONDS": "0.1",
    "OUTBOX_BACKOFF_BASE_SECONDS": "0.05",
    "OUTBOX_BACKOFF_CAP_SECONDS": "1",
    "OUTBOX_HEARTBEAT_SECONDS": "0.5",
    "OUTBOX_BREAKER_COOLDOWN_SECONDS": "1",
    "OUTBOX_CONFIG_PAUSE_SECONDS": "1",
    "CIMCLOUD_RATE_WINDOW_SECONDS": str(900 / RATE_SCALE),
    "CIMCLOUD_RATE_SECOND_SECONDS": str(1 / RATE_SCALE),
    "TULAERP_REFRESH_FIRST_SECONDS": "0.5",
}


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(sim, **overrides: str) -> dict[str, str]:
    cim, tula = settings.SIM_CIMCLOUD_CREDENTIALS, settings.SIM_TULAERP_CREDENTIALS
    return {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": database_url(),
        "CIMCLOUD_BASE_URL": sim.cimcloud_base_url,
        "CIMCLOUD_SITENAME": sim.sitename,
        "CIMCLOUD_AUTH_KEY": cim["key"],
        "CIMCLOUD_AUTH_USERNAME": cim["username"],
        "CIMCLOUD_AUTH_PASSWORD": cim["password"],
        "TULAERP_BASE_URL": sim.tulaerp_base_url,
        "TULAERP_AUTH_HEADER": tula["header"],
        "TULAERP_AUTH_VALUE": tula["value"],
        **SCALED,
        **overrides,
    }


class WorkerProcess:
    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "outbox_worker", *args],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def stop(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def workers(tmp_path) -> Iterator[Callable[..., WorkerProcess]]:
    """`workers(sim, count=1, *args, **env_overrides)` starts worker processes; all are stopped at the end."""
    started: list[WorkerProcess] = []

    def start(sim, count: int = 1, *args: str, **overrides: str) -> list[WorkerProcess]:
        env = worker_env(sim, **overrides)
        new = [WorkerProcess(env, tmp_path / f"worker-{len(started) + i}.log", *args) for i in range(count)]
        started.extend(new)
        return new

    yield start
    for worker in started:
        worker.stop()


def wait_until(predicate: Callable[[], object], *, timeout: float, what: str, interval: float = 0.1) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


SHIP_TO = {
    "ship_to_name": "Dock 4",
    "ship_to_address1": "9 Pier Rd",
    "ship_to_city": "Portland",
    "ship_to_state": "OR",
    "ship_to_zip": "97202",
    "ship_to_country_code": "USA",
}


def submit_orders(count: int, *, customer: Customer | None = None, lines: int = 2) -> list[Order]:
    """Create and submit orders through the services, as pages and the API do."""
    actor = Actor.system("test")
    customer = (
        customer
        or Customer.objects.get_or_create(
            customer_no="C-WORK",
            defaults={
                "name": "Worker Test Co",
                "address1": "1 Main St",
                "city": "Austin",
                "state": "TX",
                "zip": "78701",
                "country_code": "USA",
            },
        )[0]
    )
    out = []
    for _ in range(count):
        order = services.order_create(
            actor=actor,
            customer=customer,
            fields=SHIP_TO,
            lines=[LineInput(sku=f"SKU-{i}", quantity=i + 1, unit_price=Decimal("12.50")) for i in range(lines)],
        )
        out.append(services.order_submit(actor=actor, order_id=order.pk))
    return out


@pytest.fixture
def outbox_settings(settings, sim):
    """Point this process's clients at the simulators, with the scaled timings the worker processes use."""
    for name, value in worker_env(sim).items():
        if name.startswith(("CIMCLOUD_", "TULAERP_", "OUTBOX_", "HTTP_")):
            setattr(settings, name, float(value) if name in SCALED else value)
    settings.CIMCLOUD_AUTH_MODE = "bearer"
    return settings
