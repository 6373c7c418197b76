"""Idempotency-Key for the API's creating POSTs: the first request with a key runs; a repeat of the same request
within the TTL gets the first answer back and creates nothing.

A key is claimed in its own short transaction *before* the request's work, and completed after it: the work is a
service with its own durable transaction, which cannot nest inside the claim's. The unique (user, key) constraint
is what makes two concurrent requests with one key create one order: the second insert waits for the first claim
to commit, fails, and finds the key in progress. A claim whose request never completed (its process died) is
taken over once `locked_until` has passed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.models import IdempotencyKey


class ClaimState(enum.Enum):
    NEW = "new"  # run the request, then call idempotency_complete
    REPLAY = "replay"  # answer with the stored response
    MISMATCH = "mismatch"  # the key was used for a different request
    IN_PROGRESS = "in_progress"  # the first request with this key has not finished


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    key_id: int | None = None
    status: int | None = None
    body: str = ""
    headers: dict[str, str] | None = None


def idempotency_claim(*, user: Any, key: str, fingerprint: str) -> Claim:
    now = timezone.now()
    with transaction.atomic(durable=True):
        # Expired keys of this user go first, so the table holds at most a TTL's worth per user.
        IdempotencyKey.objects.filter(
            user=user, created_at__lt=now - timedelta(seconds=settings.API_IDEMPOTENCY_TTL_SECONDS)
        ).delete()
        IdempotencyKey.objects.filter(user=user, key=key, response_status__isnull=True, locked_until__lt=now).delete()
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    fingerprint=fingerprint,
                    created_at=now,
                    locked_until=now + timedelta(seconds=settings.API_IDEMPOTENCY_LOCK_SECONDS),
                )
            return Claim(ClaimState.NEW, key_id=row.pk)
        except IntegrityError:
            pass
        row = IdempotencyKey.objects.filter(user=user, key=key).first()
    if row is None:  # the first request failed with a server error in between and released the key
        return Claim(ClaimState.IN_PROGRESS)
    if row.fingerprint != fingerprint:
        return Claim(ClaimState.MISMATCH, key_id=row.pk)
    if row.response_status is None:
        return Claim(ClaimState.IN_PROGRESS, key_id=row.pk)
    return Claim(
        ClaimState.REPLAY,
        key_id=row.pk,
        status=row.response_status,
        body=row.response_body,
        headers=row.response_headers,
    )


def idempotency_complete(*, key_id: int, status: int, body: str, headers: dict[str, str]) -> None:
    """Store the first answer. A server error is not stored: the key is released so the client can retry."""
    with transaction.atomic(durable=True):
        if status >= 500:
            IdempotencyKey.objects.filter(pk=key_id).delete()
        else:
            IdempotencyKey.objects.filter(pk=key_id).update(
                response_status=status, response_body=body, response_headers=headers
            )
