"""Who is acting, and the one writer of order events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from orders.models import Channel, Order, OrderEvent


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
    return OrderEvent(
        order=order,
        kind=kind,
        actor=actor.user,
        actor_label=actor.label,
        channel=actor.channel,
        remote_addr=actor.remote_addr,
        message=message[:500],
        detail=detail or {},
    )
