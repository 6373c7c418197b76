"""Admins pause and resume a destination by hand: the workers stop claiming its messages until resumed."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from orders.errors import InvalidInput, InvalidTransition, NotAllowed
from orders.models import AuditKind, Destination, DestinationState
from orders.services.context import Actor, record_audit

# A pause by hand lasts until someone resumes it. `paused_until` is what every worker checks, so it gets a date
# far enough away to mean "until resumed", near enough to stay an ordinary datetime everywhere.
HAND_PAUSE = timedelta(days=3650)
REASON_MAX = 240  # pause_reason holds 300 characters, " (by <username>)" included


def destination_pause(*, actor: Actor, destination: str, reason: str) -> DestinationState:
    """Hold every send to `destination` until resumed. Messages stay queued; a pause already running (a 429, a
    rejected credential) is replaced by this one, and the configuration check never lifts a pause by hand."""
    _require_admin(actor)
    _label(destination)
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("Say why sending is paused.", field_errors={"reason": ["A reason is required."]})
    if len(reason) > REASON_MAX:
        raise InvalidInput(
            "The reason is too long.", field_errors={"reason": [f"Use at most {REASON_MAX} characters."]}
        )
    with transaction.atomic(durable=True):
        state = _locked_state(destination)
        state.paused_until = timezone.now() + HAND_PAUSE
        state.pause_reason = f"{reason} (by {_who(actor)})"
        state.paused_by_hand = True
        state.save(update_fields=["paused_until", "pause_reason", "paused_by_hand"])
        _audit(actor, AuditKind.DESTINATION_PAUSED, destination, reason)
    return state


def destination_resume(*, actor: Actor, destination: str) -> DestinationState:
    """Lift the destination's pause, by hand or automatic (a fixed credential, a 429 the admin knows is over).
    The breaker is not touched: it closes by itself after a successful probe."""
    _require_admin(actor)
    label = _label(destination)
    with transaction.atomic(durable=True):
        state = _locked_state(destination)
        if not (state.paused_until and state.paused_until > timezone.now()):
            raise InvalidTransition(f"{label} is not paused.")
        previous = state.pause_reason
        state.paused_until, state.pause_reason, state.paused_by_hand = None, "", False
        state.save(update_fields=["paused_until", "pause_reason", "paused_by_hand"])
        _audit(actor, AuditKind.DESTINATION_RESUMED, destination, f"was paused: {previous}")
    return state


def _audit(actor: Actor, kind: str, destination: str, message: str) -> None:
    record_audit(
        actor, kind, target_type="destination", target_id=destination, target_label=_label(destination), message=message
    )


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotAllowed("Only admins can pause or resume a destination.")


def _label(destination: str) -> str:
    if destination not in Destination.values:
        raise InvalidInput(f"There is no destination {destination!r}.")
    return Destination(destination).label


def _locked_state(destination: str) -> DestinationState:
    DestinationState.objects.get_or_create(destination=destination)
    return DestinationState.objects.select_for_update().get(destination=destination)


def _who(actor: Actor) -> str:
    return actor.user.get_username() if actor.user else (actor.label or actor.channel)
