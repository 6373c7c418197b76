"""OpenAPI (drf-spectacular): the one error component, added to every operation for each status it can answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from orders.api.idempotency import IDEMPOTENCY_KEY_PARAMETER

_DESCRIPTIONS = {
    "400": "Invalid input: `errors` names each field path (`lines[1].quantity`).",
    "401": "No credentials, or an unknown or revoked token.",
    "403": "Your role does not allow this (viewers read, operators write).",
    "404": "No such order or message.",
    "405": "This method is not allowed here.",
    "409": "The current state does not allow this (not a draft, a stale `version`, a taken number).",
    "413": "The body is too large.",
    "415": "Send `Content-Type: application/json`.",
    "422": "This `Idempotency-Key` was used with a different request.",
    "429": "Too many requests: wait for `Retry-After` seconds.",
}


class ErrorSerializer(serializers.Serializer):
    """Every error under /api/ has this shape."""

    type = serializers.CharField(help_text="A stable code: invalid, not_found, conflict, stale, …")
    detail = serializers.CharField(help_text="A message for a human.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Messages by field path, e.g. {"lines[1].quantity": ["…"]}; empty when none.',
    )


class ApiAutoSchema(AutoSchema):
    """Documents the error statuses each operation can answer, all with ErrorSerializer."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._error_statuses():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = _DESCRIPTIONS[code]
                responses[code] = response
        return responses

    def _idempotent(self) -> bool:
        return getattr(getattr(self.view, self.method.lower(), None), "idempotent", False)

    def get_override_parameters(self) -> list[Any]:
        extra = [IDEMPOTENCY_KEY_PARAMETER] if self._idempotent() else []
        return [*super().get_override_parameters(), *extra]

    def _error_statuses(self) -> list[str]:
        codes = ["400", "404", "405"]  # a query parameter, a path, a method: any operation can meet these
        if not any(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes += ["401", "403"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["409", "413", "415"]
        if self._idempotent():
            codes.append("422")
        codes.append("429")
        return codes


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "orders.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <token>"}


# OpenAPI links: what a client (and Schemathesis' stateful phase) can call next with a value from an answer.
_ORDER_NUMBER_LINKS = {
    "GetOrder": "orders_retrieve",
    "EditOrder": "orders_partial_update",
    "SubmitOrder": "orders_submit",
    "CancelOrder": "orders_cancel",
    "OrderShipments": "orders_shipments_list",
}
_LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    **{
        (source, "201"): {
            name: {"operationId": target, "parameters": {"number": "$response.body#/order_number"}}
            for name, target in _ORDER_NUMBER_LINKS.items()
        }
        for source in ("orders_create", "orders_import_cimcloud")
    },
    ("orders_list", "200"): {
        "GetFirstOrder": {
            "operationId": "orders_retrieve",
            "parameters": {"number": "$response.body#/results/0/order_number"},
        }
    },
    ("outbox_list", "200"): {
        "GetFirstMessage": {
            "operationId": "outbox_retrieve",
            "parameters": {"message_id": "$response.body#/results/0/id"},
        },
        "RetryFirstMessage": {
            "operationId": "outbox_retry",
            "parameters": {"message_id": "$response.body#/results/0/id"},
        },
    },
}


def add_links(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: adds _LINKS to the responses they start from."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for (operation_id, code), links in _LINKS.items():
                if operation.get("operationId") == operation_id and code in operation.get("responses", {}):
                    operation["responses"][code]["links"] = links
    return result
