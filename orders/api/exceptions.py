"""The API's one exception handler: every error, ours or DRF's or unexpected, answers with

    {"type": "<code>", "detail": "<human message>", "errors": {"field.path": ["..."]}}

`errors` is always present (possibly empty); nested serializer errors are flattened to dotted paths with `[i]`
for list positions. Nothing under /api/ answers with an HTML error page.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from orders.errors import Conflict, DomainError, InvalidInput, InvalidTransition, NotAllowed, StaleVersion

logger = logging.getLogger(__name__)

Errors = dict[str, list[str]]

# Most classes' DRF `default_code` is already the type we want; these read better to a client.
_API_TYPES: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "malformed_json",  # the only parser is JSON
}
_DOMAIN_STATUS: dict[type[DomainError], int] = {
    InvalidInput: status.HTTP_400_BAD_REQUEST,
    InvalidTransition: status.HTTP_409_CONFLICT,
    NotAllowed: status.HTTP_403_FORBIDDEN,
    StaleVersion: status.HTTP_409_CONFLICT,
    Conflict: status.HTTP_409_CONFLICT,
}


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The body is too large."


class ApiDomainError(Exception):
    """A domain error plus members only the API can add to the body, such as `existing_url` on a conflict."""

    def __init__(self, error: DomainError, **extra: Any) -> None:
        super().__init__(error.message)
        self.error = error
        self.extra = extra


def api_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, RequestDataTooBig):
        exc = BodyTooLarge()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)

    if isinstance(exc, ApiDomainError):
        response = _domain_response(exc.error)
        response.data.update(exc.extra)
    elif isinstance(exc, DomainError):
        response = _domain_response(exc)
    elif isinstance(exc, exceptions.APIException):
        response = _api_response(exc)
    else:
        view = context.get("view")
        # exc_info=exc, not logger.exception(): the handler may be called outside the `except` block.
        logger.error("Unhandled error in API view %s", type(view).__name__ if view else "?", exc_info=exc)
        response = Response(
            _body("server_error", "Something went wrong on our side. It has been logged; please try again later."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    set_rollback()
    return response


def _body(type_: str, detail: str, errors: Errors | None = None) -> dict[str, Any]:
    return {"type": type_, "detail": detail, "errors": errors or {}}


def _domain_response(exc: DomainError) -> Response:
    status_code = next(
        (code for cls, code in _DOMAIN_STATUS.items() if isinstance(exc, cls)), status.HTTP_400_BAD_REQUEST
    )
    errors = {path: [str(m) for m in messages] for path, messages in exc.field_errors.items()}
    data = _body(exc.code, exc.message, errors)
    if isinstance(exc, StaleVersion):
        # The message already names them; as members a client can show them without parsing text.
        data["changed_by"] = exc.changed_by
        data["changed_at"] = timezone.localtime(exc.changed_at).isoformat()
    return Response(data, status=status_code)


def _api_response(exc: exceptions.APIException) -> Response:
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(math.ceil(exc.wait))
    type_ = next((t for cls, t in _API_TYPES.items() if isinstance(exc, cls)), exc.default_code)
    if isinstance(exc.detail, dict | list):
        errors = flatten_errors(exc.detail)
        detail = "The request has errors: see the fields named in `errors`."
    else:
        errors, detail = {}, str(exc.detail)
    return Response(_body(type_, detail, errors), status=exc.status_code, headers=headers)


def flatten_errors(detail: Any, path: str = "") -> Errors:
    """DRF's nested error structure → {"lines[1].sku": ["..."]}. Non-field errors of a nested object are
    reported on the object's own path; at the top level under NON_FIELD_ERRORS_KEY."""
    out: Errors = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                child = path or key
            elif isinstance(key, int):  # ListField / DictField report positions as int keys
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else str(key)
            _merge(out, flatten_errors(value, child))
    elif isinstance(detail, list):
        messages = [str(item) for item in detail if not isinstance(item, Mapping | list)]
        if messages:
            out[path or api_settings.NON_FIELD_ERRORS_KEY] = messages
        for index, item in enumerate(detail):
            if isinstance(item, Mapping | list):  # a ListSerializer: one entry per item, {} when valid
                _merge(out, flatten_errors(item, f"{path}[{index}]"))
    else:
        out[path or api_settings.NON_FIELD_ERRORS_KEY] = [str(detail)]
    return out


def _merge(into: Errors, more: Errors) -> None:
    for key, messages in more.items():
        into.setdefault(key, []).extend(messages)
