"""Run the CIMcloud and TulaERP simulators until SIGTERM or SIGINT.

Reads Django settings for defaults and credentials only; the simulators never touch the database.
"""

from __future__ import annotations

import signal
import sys
import time
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orders.simulators.runner import configs_from_settings, start_simulators

_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise ArgumentTypeError("must be >= 0")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ArgumentTypeError("must be > 0")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ArgumentTypeError("must be 0-65535 (0 picks a free port)")
    return value


class Command(BaseCommand):
    help = "Run the local CIMcloud and TulaERP simulators (see docs/SIMULATORS.md)."
    requires_system_checks: list[str] = []  # starts fast and never needs the database

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=settings.SIMULATOR_HOST)
        parser.add_argument("--cimcloud-port", type=_port, default=settings.SIMULATOR_CIMCLOUD_PORT)
        parser.add_argument("--tulaerp-port", type=_port, default=settings.SIMULATOR_TULAERP_PORT)
        parser.add_argument("--sitename", default=settings.CIMCLOUD_SITENAME)
        parser.add_argument("--rate-scale", type=_positive, default=1.0, help="shorten both rate windows N times")
        parser.add_argument("--no-limits", action="store_true", help="turn the CIMcloud rate limits off")
        parser.add_argument("--fulfil-after", type=_non_negative, default=10.0, help="seconds until shipped")
        parser.add_argument("--deliver-after", type=_non_negative, default=30.0, help="seconds shipped→delivered")
        parser.add_argument("--token-ttl", type=_positive, default=7 * 24 * 3600.0, help="bearer token lifetime")
        parser.add_argument("--max-details", type=int, default=settings.CIMCLOUD_SYNC_MAX_DETAILS)
        parser.add_argument("--verbose", action="store_true", help="log every request to stderr")

    def handle(self, *args: Any, **options: Any) -> None:
        cimcloud, tulaerp = configs_from_settings(
            sitename=options["sitename"],
            token_ttl_s=options["token_ttl"],
            max_details=options["max_details"],
            rate_scale=options["rate_scale"],
            limits=not options["no_limits"],
            fulfil_after_s=options["fulfil_after"],
            deliver_after_s=options["deliver_after"],
        )
        can_wait = hasattr(signal, "pthread_sigmask")
        if can_wait:
            # Blocked before the server threads start, so they inherit the mask and only sigwait() sees them.
            signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            running = start_simulators(
                cimcloud,
                tulaerp,
                host=options["host"],
                cimcloud_port=options["cimcloud_port"],
                tulaerp_port=options["tulaerp_port"],
                verbose=options["verbose"],
            )
        except OSError as exc:
            raise CommandError(f"cannot listen on {options['host']}: {exc}") from None
        try:
            self.stdout.write(f"SIMULATORS READY cimcloud={running.cimcloud_url} tulaerp={running.tulaerp_url}")
            self.stdout.flush()
            _wait_for_stop(can_wait)
        finally:
            running.stop()
        if options["verbose"]:
            sys.stderr.write("simulators stopped\n")


def _wait_for_stop(can_wait: bool) -> None:
    if can_wait:
        signal.sigwait(_STOP_SIGNALS)
        return
    stop: list[int] = []  # platforms without sigwait: a handler and a polling loop
    for signum in _STOP_SIGNALS:
        signal.signal(signum, lambda number, frame: stop.append(number))
    while not stop:
        time.sleep(0.2)
