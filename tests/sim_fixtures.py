"""Pytest plugin: the simulators as a real subprocess on loopback (registered by tests/conftest.py).

Fixtures:
- `simulators` (session): `manage.py run_simulators` with scaled rate windows (x60) and fast fulfilment
  (shipped after 1 s, delivered 2 s later).
- `sim` (function): the same process, reset (`/_sim/reset`) before the test.
- `simulators_no_limits` (session) / `sim_no_limits` (function): a second process started with `--no-limits`.
All yield a `SimulatorProcess`: cimcloud_url, cimcloud_root, tulaerp_url, reset(), faults(), received() ...
(see orders/simulators/process.py and docs/SIMULATORS.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orders.simulators.process import SimulatorProcess, SimulatorStartError
from orders.simulators.process import start_simulator_process as _start

# What the session fixtures pass to run_simulators (besides --cimcloud-port 0 --tulaerp-port 0).
TEST_ARGS = ("--rate-scale", "60", "--fulfil-after", "1", "--deliver-after", "2")
READY_TIMEOUT_S = 20.0


def start_simulator_process(*args: str, env: dict[str, str] | None = None, **kwargs: Any) -> SimulatorProcess:
    """Start a variant (`*args` go to run_simulators after the port-0 options); fails the test on a bad start.

    The caller owns the handle: `handle.close()` (or `with start_simulator_process(...) as handle:`).
    """
    kwargs.setdefault("timeout", READY_TIMEOUT_S)
    try:
        return _start(*args, env=env, **kwargs)
    except SimulatorStartError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def simulators() -> Iterator[SimulatorProcess]:
    with start_simulator_process(*TEST_ARGS) as handle:
        yield handle


@pytest.fixture
def sim(simulators: SimulatorProcess) -> SimulatorProcess:
    simulators.reset()
    return simulators


@pytest.fixture(scope="session")
def simulators_no_limits() -> Iterator[SimulatorProcess]:
    with start_simulator_process(*TEST_ARGS, "--no-limits") as handle:
        yield handle


@pytest.fixture
def sim_no_limits(simulators_no_limits: SimulatorProcess) -> SimulatorProcess:
    simulators_no_limits.reset()
    return simulators_no_limits
