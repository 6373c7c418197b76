"""`Idempotency-Key` on the API's creating POSTs (the rules are in orders.services.idempotency)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from orders.api.parsers import DecimalJSONRenderer
from orders.integrations import jsonutil
from orders.services.idempotency import ClaimState, idempotency_claim, idempotency_complete

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"
_KEPT_HEADERS = ("Location",)

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    OpenApiParameter.HEADER,
    description="Send the same key again (same body) within 24 hours to get the first answer back instead of "
    "creating twice. Scoped to your user.",
)


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = f"This {HEADER} was used for a different request: send a new key for a new request."


class KeyInProgress(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_key_in_progress"
    default_detail = f"A request with this {HEADER} is still being processed: try again shortly."
    wait = 1  # becomes Retry-After


def _fingerprint(request: Request) -> str:
    """The request as parsed, keys sorted: the same body sent with other spacing or key order is the same
    request. A body that does not parse fails here, before a key is claimed (nothing to replay)."""
    digest = hashlib.sha256()
    for part in (
        request.method,
        request.path,
        request.META.get("QUERY_STRING", ""),
        jsonutil.dumps(_sorted(request.data)),
    ):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def idempotent(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a view's POST: with an Idempotency-Key, the first answer below 500 is stored and replayed."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            raise exceptions.ValidationError({HEADER: [f"Send 1 to {MAX_KEY_LENGTH} characters."]})
        claim = idempotency_claim(user=request.user, key=key, fingerprint=_fingerprint(request))
        if claim.state is ClaimState.MISMATCH:
            raise KeyReused()
        if claim.state is ClaimState.IN_PROGRESS:
            raise KeyInProgress()
        if claim.state is ClaimState.REPLAY:
            replay = HttpResponse(claim.body, status=claim.status, content_type="application/json")
            for name, value in (claim.headers or {}).items():
                replay[name] = value
            replay[REPLAYED_HEADER] = "true"
            return replay
        assert claim.key_id is not None
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception as exc:
            # The error's JSON answer is what a repeat gets too (unless it is a 5xx: then the key is released).
            response = view.handle_exception(exc)
        _store(claim.key_id, response)
        return response

    wrapper.idempotent = True  # type: ignore[attr-defined]  (read by the schema: documents the header)
    return wrapper


def _store(key_id: int, response: Response) -> None:
    body = DecimalJSONRenderer().render(response.data).decode() if response.data is not None else ""
    headers = {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)}
    idempotency_complete(key_id=key_id, status=response.status_code, body=body, headers=headers)
