"""Print the outbox per destination; with --check, exit non-zero with the reasons (for alerts)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from orders import selectors
from orders.models import FulfilmentPoll, MessageState


def _age(when) -> str:
    if when is None:
        return "-"
    seconds = int((timezone.now() - when).total_seconds())
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


class Command(BaseCommand):
    help = "Outbox health per destination. --check exits 1 with the reasons when something needs a human."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true")
        parser.add_argument(
            "--max-pending-minutes",
            type=float,
            default=15.0,
            help="--check fails when a message has waited longer than this.",
        )

    def handle(self, *args, check: bool, max_pending_minutes: float, **options):
        now = timezone.now()
        reasons = []
        beat = selectors.last_heartbeat()
        if beat is None or now - beat > timedelta(seconds=settings.HEALTHZ_MAX_HEARTBEAT_AGE_SECONDS):
            reasons.append(f"no worker heartbeat for {_age(beat)}: start `python manage.py outbox_worker`")
        self.stdout.write(f"last worker heartbeat: {_age(beat)} ago")
        header = (
            f"{'destination':12} {'pending':>8} {'in flight':>9} {'retry':>6} {'attention':>9} "
            f"{'oldest':>8} {'last ok':>8} {'budget':>7}  state"
        )
        self.stdout.write(header)
        for row in selectors.outbox_summary():
            c = row.counts
            state = "ok"
            if row.paused_until:
                state = f"paused: {row.pause_reason}"
                if row.pause_reason.startswith("Configuration") or row.paused_by_hand:
                    reasons.append(f"{row.destination} paused: {row.pause_reason}")
            if row.breaker_open_until and row.breaker_open_until > now:
                state = f"breaker open: {row.breaker_reason}"
                reasons.append(f"{row.destination} breaker open: {row.breaker_reason}")
            budget = "-" if row.budget_left is None else str(row.budget_left)
            self.stdout.write(
                f"{row.destination:12} {c[MessageState.PENDING]:>8} {c[MessageState.IN_FLIGHT]:>9} "
                f"{c[MessageState.RETRY_SCHEDULED]:>6} {c[MessageState.NEEDS_ATTENTION]:>9} "
                f"{_age(row.oldest_pending_at):>8} {_age(row.last_success_at):>8} {budget:>7}  {state}"
            )
            if c[MessageState.NEEDS_ATTENTION]:
                reasons.append(
                    f"{row.destination}: {c[MessageState.NEEDS_ATTENTION]} message(s) need attention "
                    "(see the outbox page)"
                )
            if row.oldest_pending_at and now - row.oldest_pending_at > timedelta(minutes=max_pending_minutes):
                reasons.append(f"{row.destination}: oldest waiting message is {_age(row.oldest_pending_at)} old")
        lost = FulfilmentPoll.objects.exclude(attention_reason="").count()
        if lost:
            reasons.append(f"tulaerp: {lost} sent order(s) unknown to TulaERP (404)")
        if check:
            if reasons:
                for reason in reasons:
                    self.stderr.write(f"CHECK FAILED: {reason}")
                raise SystemExit(1)
            self.stdout.write("CHECK OK")
