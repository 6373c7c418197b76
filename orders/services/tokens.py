"""API tokens: created (shown once), revoked, and checked on every API request.

Only the SHA-256 of a token is stored. A token is 256 random bits, so a fast unsalted hash is enough: there is
nothing to guess from it, and looking a token up by its hash means the secret is never compared byte by byte
(timing could at most reveal a prefix of a hash, which does not help forge a token).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from orders.errors import InvalidInput
from orders.models import ApiToken, AuditKind
from orders.services.context import Actor, record_audit

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "ods_"  # recognisable in logs and by secret scanners
PREFIX_LENGTH = 8  # stored, to tell tokens apart: "ods_" and 4 random characters
_MAX_TOKEN_LENGTH = 100  # ours are 47 characters; anything much longer is not worth hashing
# last_used_at is for humans ("is this token still in use?"): minute precision saves a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_token_create(*, actor: Actor, user: AbstractBaseUser, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for `user`; the plaintext is returned here and never again."""
    if not user.is_active:
        raise InvalidInput(
            f"User {user.get_username()} is inactive; activate them before creating a token.",
            field_errors={"user": ["The user is inactive."]},
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic(durable=True):
        token = ApiToken.objects.create(
            user=user, name=name.strip()[:100], prefix=raw[:PREFIX_LENGTH], key_hash=_hash(raw)
        )
        _audit(actor, AuditKind.TOKEN_CREATED, token)
    logger.info("API token %s… created for %s by %s", token.prefix, user.get_username(), _who(actor))
    return token, raw


def api_token_revoke(*, actor: Actor, token_id: int) -> ApiToken:
    """Revoke a token; revoking it again keeps the first revocation time."""
    with transaction.atomic(durable=True):
        token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
        if token is None:
            raise InvalidInput(f"There is no API token with id {token_id}.")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            _audit(actor, AuditKind.TOKEN_REVOKED, token)
            logger.info("API token %s… revoked by %s", token.prefix, _who(actor))
    return token


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The active token `raw` stands for, with its user; None for an unknown or revoked token or an inactive
    user (deactivating a user is enough to stop their tokens)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > _MAX_TOKEN_LENGTH:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        with transaction.atomic(durable=True):
            # Conditional, so concurrent requests with the same token write at most once per minute.
            ApiToken.objects.filter(pk=token.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
            ).update(last_used_at=now)
        token.last_used_at = now
    return token


def _audit(actor: Actor, kind: str, token: ApiToken) -> None:
    # The prefix tells tokens apart and is no secret; the hash stays out of the audit.
    record_audit(
        actor,
        kind,
        target_type="api_token",
        target_id=token.pk,
        target_label=f"{token.prefix}… of {token.user.get_username()}",
        detail={"user": token.user.get_username(), "name": token.name},
    )


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _who(actor: Actor) -> str:
    return actor.user.get_username() if actor.user else (actor.label or actor.channel)
