"""The transactional outbox: one message per (order, destination, kind), written in the business transaction and
delivered by workers, with every HTTP attempt recorded."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from orders.models.choices import Destination
from orders.models.orders import Order


class MessageKind(models.TextChoices):
    CREATE = "create", "Create order"
    CANCEL = "cancel", "Cancel order"  # designed for; neither API documents a cancel, so none is sent


class MessageState(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "In flight"
    SENT = "sent", "Sent"
    RETRY_SCHEDULED = "retry_scheduled", "Retry scheduled"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATES = (MessageState.PENDING, MessageState.IN_FLIGHT, MessageState.RETRY_SCHEDULED,
               MessageState.NEEDS_ATTENTION)  # fmt: skip
CLAIMABLE_STATES = (MessageState.PENDING, MessageState.RETRY_SCHEDULED)


class Priority(models.IntegerChoices):
    INTERACTIVE = 0, "Interactive"  # new submissions and "retry now"
    NORMAL = 1, "Normal"
    BULK = 2, "Bulk"  # bulk retries: fresh orders never queue behind a replay


class AttentionReason(models.TextChoices):
    PERMANENT = "permanent_rejection", "Rejected by the destination"
    CONFIGURATION = "configuration", "Configuration problem"
    AMBIGUOUS = "ambiguous", "Outcome unknown"
    EXHAUSTED = "attempts_exhausted", "Attempts exhausted"
    INTERNAL = "internal_error", "Internal error"
    SENT_AFTER_CANCEL = "sent_after_cancel", "Sent after the order was cancelled"


class OutboxMessageQuerySet(models.QuerySet):
    def open(self) -> OutboxMessageQuerySet:
        return self.filter(state__in=OPEN_STATES)

    def due(self, now=None) -> OutboxMessageQuerySet:
        """Ready to send now, or held by a lease that has expired (its worker died)."""
        now = now or timezone.now()
        return self.filter(
            Q(state__in=CLAIMABLE_STATES, not_before__lte=now)
            | Q(state=MessageState.IN_FLIGHT, lease_expires_at__lt=now)
        )


class OutboxMessage(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="outbox_messages")
    destination = models.CharField(max_length=20, choices=Destination.choices)
    kind = models.CharField(max_length=10, choices=MessageKind.choices, default=MessageKind.CREATE)
    # The body built at submit time, as exact JSON text (Decimal stays a number: a JSONField would not keep it).
    payload = models.TextField()
    idempotency_key = models.CharField(max_length=80, unique=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.INTERACTIVE)
    state = models.CharField(max_length=20, choices=MessageState.choices, default=MessageState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The lease: who holds the message and until when. `lease_token` grows with every claim; a completion must
    # present the token it claimed with, so a worker that lost its lease cannot overwrite a newer outcome.
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.PositiveBigIntegerField(default=0)
    attention_reason = models.CharField(max_length=30, choices=AttentionReason.choices, blank=True)
    last_error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)  # what the destination gave back
    external_reference = models.CharField(max_length=100, blank=True)  # TulaERP short number, or set by hand
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(blank=True)  # staff: why marked as sent by hand, why cancelled

    objects = OutboxMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "destination"],
                condition=Q(state__in=OPEN_STATES),
                name="outbox_one_open_per_destination",
            ),
            models.CheckConstraint(
                condition=~Q(state=MessageState.IN_FLIGHT) | Q(lease_expires_at__isnull=False),
                name="outbox_in_flight_has_lease",
            ),
            models.CheckConstraint(
                condition=~Q(state=MessageState.NEEDS_ATTENTION) | ~Q(attention_reason=""),
                name="outbox_attention_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["destination", "state", "priority", "not_before", "id"], name="outbox_claim_idx"),
            models.Index(fields=["state", "lease_expires_at"], name="outbox_lease_idx"),
            models.Index(fields=["order", "destination"], name="outbox_order_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.destination} {self.get_kind_display().lower()} for {self.order_id}"


class DeliveryAttempt(models.Model):
    """One HTTP call made for a message (or, when `seeded`, history written by the demo data)."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="delivery_attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=100, blank=True)
    lease_token = models.PositiveBigIntegerField(default=0)
    idempotency_key = models.CharField(max_length=80, blank=True)
    request_body = models.TextField(blank=True)  # as sent, secrets removed
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)  # truncated
    error_class = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    outcome = models.CharField(max_length=30)  # sent, retry, needs_attention, paused, fenced
    seeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["message", "started_at", "id"]
        indexes = [
            models.Index(fields=["message", "started_at"], name="attempt_message_idx"),
            models.Index(fields=["started_at"], name="attempt_started_idx"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.message_id}: {self.outcome}"


class DestinationState(models.Model):
    """Shared by every worker: the rate budget, pauses and the circuit breaker of one destination."""

    destination = models.CharField(max_length=20, choices=Destination.choices, primary_key=True)
    window_started_at = models.DateTimeField(null=True, blank=True)
    window_calls = models.PositiveIntegerField(default=0)
    window_limit = models.PositiveIntegerField(null=True, blank=True)  # from X-RateLimit-Limit when seen
    window_resets_at = models.DateTimeField(null=True, blank=True)
    second_started_at = models.DateTimeField(null=True, blank=True)
    second_calls = models.PositiveIntegerField(default=0)
    last_call_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=300, blank=True)
    paused_by_hand = models.BooleanField(default=False)
    breaker_open_until = models.DateTimeField(null=True, blank=True)
    breaker_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    recent_outcomes = models.CharField(max_length=20, blank=True)  # last 20 attempts: "1" ok, "0" failed

    def __str__(self) -> str:
        return self.destination


class WorkerHeartbeat(models.Model):
    worker = models.CharField(max_length=100, primary_key=True)
    hostname = models.CharField(max_length=100)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.worker


class FulfilmentPoll(models.Model):
    """When to ask TulaERP again about a sent order's shipments; backs off from minutes to daily."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="fulfilment_poll")
    short_order_number = models.CharField(max_length=40)
    next_poll_at = models.DateTimeField()
    polls = models.PositiveIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    active = models.BooleanField(default=True)
    attention_reason = models.CharField(max_length=200, blank=True)  # e.g. TulaERP no longer knows the order

    class Meta:
        indexes = [models.Index(fields=["active", "next_poll_at"], name="poll_due_idx")]

    def __str__(self) -> str:
        return f"poll {self.short_order_number}"
