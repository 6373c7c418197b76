"""API views: read the request, call one service, shape the answer. Errors go to api_exception_handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orders import selectors
from orders.api.exceptions import ApiDomainError, BodyTooLarge
from orders.api.idempotency import idempotent
from orders.api.permissions import RolePermission
from orders.api.serializers import (
    CimcloudImportQuerySerializer,
    OrderSerializer,
    cimcloud_error_paths,
    order_api_path,
)
from orders.errors import Conflict, InvalidInput
from orders.integrations.parsing import cimcloud_import
from orders.models import Channel
from orders.services.context import Actor
from orders.services.orders import order_import


class ApiViewMixin:
    """What every API view has: role permissions, a body size limit, and it is outside the site's login redirect."""

    permission_classes: tuple[type, ...] = (RolePermission,)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  (authentication, permissions, throttles)
        # Refused on the declared length, before anything reads the body.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.API_MAX_BODY_BYTES:
            raise BodyTooLarge(f"The body is {length} bytes; the limit is {settings.API_MAX_BODY_BYTES}.")

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
        # DRF authenticates API requests itself and answers 401 JSON; LoginRequiredMiddleware must not redirect.
        return login_not_required(super().as_view(**initkwargs))  # type: ignore[misc]


class ApiView(ApiViewMixin, APIView):
    """Base of the API's plain views."""


class CimcloudImportView(ApiView):
    """POST an order in CIMcloud OrderPassthrough shape: created and submitted (or kept a draft) at once."""

    @extend_schema(
        operation_id="orders_import_cimcloud",
        summary="Import an order in CIMcloud OrderPassthrough shape",
        parameters=[CimcloudImportQuerySerializer],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={201: OrderSerializer},
        tags=["orders"],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        query = CimcloudImportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = cimcloud_import(request.data)
        try:
            order = order_import(
                actor=Actor.from_request(request, channel=Channel.API),
                data=data,
                submit=not query.validated_data["draft"],
                destinations=query.validated_data["destinations"],
            )
        except InvalidInput as exc:
            # The service names our fields; the sender knows the ones in its body.
            raise InvalidInput(exc.message, field_errors=cimcloud_error_paths(exc.field_errors)) from exc
        except Conflict as exc:
            existing = selectors.order_number_existing(number=data.order_number) or data.order_number
            raise ApiDomainError(exc, existing_url=order_api_path(existing)) from exc
        body = OrderSerializer(selectors.order_api_detail(order_id=order.pk)).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})


@extend_schema(exclude=True)
class NotFoundView(ApiView):
    """Any other path under the API: a JSON 404 instead of the site's HTML page."""

    permission_classes = (IsAuthenticated,)  # a 404 whatever the role; a 401 without credentials

    def _not_found(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        hint = "" if request.path.endswith("/") else " API paths end with a slash."
        raise NotFound(f"There is no API endpoint at {request.path}.{hint}")

    get = post = put = patch = delete = _not_found
