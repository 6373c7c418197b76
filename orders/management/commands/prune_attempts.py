"""Delete delivery attempts older than a cut-off (the attempts of messages still open are kept)."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from orders.models import OPEN_STATES, DeliveryAttempt

UNITS = {"d": "days", "h": "hours", "m": "minutes"}
BATCH = 5000


def parse_age(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([dhm])", text.strip())
    if not match:
        raise CommandError(f"--older-than {text!r}: use a number and a unit, e.g. 180d, 12h or 30m.")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


class Command(BaseCommand):
    help = "Remove old delivery attempts, e.g. --older-than 180d. Attempts of open messages are kept."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", required=True, help="Age like 180d, 12h or 30m.")
        parser.add_argument("--dry-run", action="store_true", help="Only count.")

    def handle(self, *args, older_than: str, dry_run: bool, **options):
        cutoff = timezone.now() - parse_age(older_than)
        old = DeliveryAttempt.objects.filter(started_at__lt=cutoff).exclude(message__state__in=OPEN_STATES)
        total = old.count()
        if dry_run or not total:
            self.stdout.write(
                f"{total} attempt(s) older than {older_than} {'would be' if dry_run else 'were'} removed."
            )
            return
        removed = 0
        with tqdm(total=total, desc="Pruning attempts", unit="attempt", file=self.stderr._out) as bar:
            while True:
                ids = list(old.values_list("id", flat=True)[:BATCH])
                if not ids:
                    break
                with transaction.atomic(durable=True):
                    count, _ = DeliveryAttempt.objects.filter(pk__in=ids).delete()
                removed += count
                bar.update(count)
        self.stdout.write(f"Removed {removed} attempt(s) older than {older_than}.")
