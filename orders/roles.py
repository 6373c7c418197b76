"""Staff roles. Groups come from migration 0002; checks go through permissions so superusers pass too."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

VIEWER, OPERATOR, ADMIN = "viewer", "operator", "admin"
OPERATE = "orders.operate_orders"
ADMINISTER = "orders.administer_dashboard"

User = AbstractBaseUser | AnonymousUser


def can_operate(user: User) -> bool:
    return user.has_perm(OPERATE)


def can_administer(user: User) -> bool:
    return user.has_perm(ADMINISTER)


def role_of(user: User) -> str | None:
    if can_administer(user):
        return ADMIN
    if can_operate(user):
        return OPERATOR
    if user.is_authenticated and user.has_perm("orders.view_order"):
        return VIEWER
    return None
