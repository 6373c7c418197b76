"""Users, their roles and their sign-in lockout, as changed by admins (Django admin's user pages call these).

The admin saves users in its own transaction; these record the change inside it. Passwords are never recorded,
only that one was set."""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from orders.models import AuditKind
from orders.services.context import Actor, field_diff, record_audit

AUDITED_FIELDS = ("username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser")


def user_snapshot(user: AbstractBaseUser) -> dict[str, Any]:
    """What an audit compares: the audited fields and the password hash (only to tell that it changed)."""
    return {
        **{name: getattr(user, name, None) for name in AUDITED_FIELDS},
        "password": user.password,
        "roles": sorted(user.groups.values_list("name", flat=True)) if user.pk else [],
    }


def user_record_saved(*, actor: Actor, user: AbstractBaseUser, before: dict[str, Any] | None) -> None:
    """Audit a user created (`before` None) or changed, inside the transaction that saved it."""
    after = user_snapshot(user)
    diff = field_diff({} if before is None else before, {n: after[n] for n in AUDITED_FIELDS})
    message = ", ".join(sorted(diff))
    if before is not None and before["password"] != after["password"]:
        message = ", ".join(filter(None, [message, "password set"]))
    target = {"target_type": "user", "target_id": user.pk, "target_label": user.get_username()}
    if before is None:
        record_audit(actor, AuditKind.USER_CREATED, **target, message=message, detail=diff)
    elif message:
        record_audit(actor, AuditKind.USER_CHANGED, **target, message=message, detail=diff)
    old_roles = [] if before is None else before["roles"]
    if old_roles != after["roles"]:
        record_audit(
            actor,
            AuditKind.ROLES_CHANGED,
            **target,
            message=f"roles {', '.join(old_roles) or 'none'} → {', '.join(after['roles']) or 'none'}",
            detail={"roles": [old_roles, after["roles"]]},
        )


def user_unlock(*, actor: Actor, user: AbstractBaseUser) -> int:
    """Lift a sign-in lockout: forget the user's failed attempts from every address. Returns how many were
    forgotten; the unlock is audited even when there were none (someone asked)."""
    with transaction.atomic(durable=True):
        count = AxesProxyHandler.reset_attempts(username=user.get_username())
        record_audit(
            actor,
            AuditKind.USER_UNLOCKED,
            target_type="user",
            target_id=user.pk,
            target_label=user.get_username(),
            message=f"{count} failed sign-in record{'' if count == 1 else 's'} cleared",
            detail={"cleared": count},
        )
    return count
