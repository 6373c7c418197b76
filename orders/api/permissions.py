"""Who may call what: reads need a role (viewer and up), writes need an operator or admin."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from orders.roles import can_operate, role_of


class RolePermission(BasePermission):
    message = "Your role does not allow this: reading needs viewer or above, changes need operator or admin."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False  # DRF turns this into 401 for a request without credentials
        if request.method in SAFE_METHODS:
            return role_of(user) is not None
        return can_operate(user)
