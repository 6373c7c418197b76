"""Deliver outbox messages to CIMcloud and TulaERP, and refresh fulfilment from TulaERP, until stopped."""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand

from orders.models import Destination
from orders.outbox import Worker


class Command(BaseCommand):
    help = "Run an outbox worker (any number may run at once). SIGTERM/SIGINT: finish or release, then exit."

    def add_arguments(self, parser):
        parser.add_argument(
            "--destination",
            action="append",
            choices=Destination.values,
            help="Only this destination (repeatable); default: all.",
        )
        parser.add_argument("--no-refresh", action="store_true", help="Do not poll TulaERP for fulfilment.")

    def handle(self, *args, destination=None, no_refresh=False, **options):
        worker = Worker(destinations=destination, refresh=not no_refresh)

        def stop(signum, frame):
            worker.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Outbox worker {worker.id} running; Ctrl-C to stop.")
        self.stdout.flush()
        worker.run()
