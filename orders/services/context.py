"""Who is acting, and the one writer of order events and of audit entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest

from orders.models import AuditEntry, Channel, Order, OrderEvent

NOTE_MAX = 2000  # staff's free text (review comments, cancel reasons, outbox notes), on pages and the API alike


@dataclass(frozen=True)
class Actor:
    """The user (or process) behind a change, and how it reached us; recorded on every order event."""

    user: AbstractBaseUser | None = None
    channel: str = Channel.PAGE
    remote_addr: str | None = None
    label: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest, *, channel: str = Channel.PAGE) -> Actor:
        user = request.user if request.user.is_authenticated else None
        return cls(user=user, channel=channel, remote_addr=request.META.get("REMOTE_ADDR") or None)

    @classmethod
    def system(cls, label: str, *, channel: str = Channel.COMMAND) -> Actor:
        return cls(user=None, channel=channel, label=label)

    def as_fields(self) -> dict[str, Any]:
        """The recorded-by fields of an OrderEvent or AuditEntry."""
        return {"actor": self.user, "actor_label": self.label, "channel": self.channel, "remote_addr": self.remote_addr}

    @property
    def is_admin(self) -> bool:
        return bool(self.user and self.user.has_perm("orders.administer_dashboard"))


def record_event(
    order: Order, actor: Actor, kind: str, message: str = "", detail: dict[str, Any] | None = None
) -> OrderEvent:
    event = order_event(order, actor, kind, message, detail)
    event.save(force_insert=True)
    return event


def order_event(
    order: Order, actor: Actor, kind: str, message: str = "", detail: dict[str, Any] | None = None
) -> OrderEvent:
    """The event unsaved, for a caller that writes many at once (`bulk_create`)."""
    return OrderEvent(order=order, kind=kind, message=message[:500], detail=detail or {}, **actor.as_fields())


def record_audit(
    actor: Actor,
    kind: str,
    *,
    target_type: str,
    target_id: object,
    target_label: str = "",
    message: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """An AuditEntry for a change that concerns no order. Only inside the change's own transaction: the entry and
    the change are stored together or not at all."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_audit must run inside the transaction of the change it records.")
    return AuditEntry.objects.create(
        kind=kind,
        target_type=target_type,
        target_id=str(target_id),
        target_label=target_label[:200],
        message=message[:500],
        detail=detail or {},
        **actor.as_fields(),
    )


def field_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{"field": [old, new]} for the fields whose value changed, as JSON-safe text for non-JSON types."""

    def plain(value: Any) -> Any:
        return value if value is None or isinstance(value, bool | int | str) else str(value)

    return {name: [plain(before.get(name)), plain(value)] for name, value in after.items() if before.get(name) != value}
