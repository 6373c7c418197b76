"""Orders in our shape: list, create, retrieve, edit a draft, and the state actions; shipments and tracking.

Every view reads the request with a serializer, calls one selector or service, and shapes the answer; the domain
errors become JSON in api_exception_handler.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from orders import selectors
from orders.api.idempotency import idempotent
from orders.api.order_serializers import (
    CancelSerializer,
    OrderCreateSerializer,
    OrderDetailSerializer,
    OrderListQuerySerializer,
    OrderPageSerializer,
    OrderRowSerializer,
    OrderUpdateSerializer,
    RejectSerializer,
    ShipmentListSerializer,
    ShipmentUpsertSerializer,
    TrackingQuerySerializer,
    TrackingSerializer,
)
from orders.api.views import ApiView
from orders.errors import InvalidInput
from orders.integrations.parsing import tulaerp_shipments
from orders.models import CUSTOMER_SNAPSHOT_FIELDS, SHIP_TO_SNAPSHOT_FIELDS, Channel, Destination, Order, OrderSource
from orders.selectors import api as api_selectors
from orders.services import (
    Actor,
    LineInput,
    order_approve,
    order_cancel,
    order_create,
    order_create_and_submit,
    order_reject,
    order_submit,
    order_update_draft,
    shipment_upsert,
)

NUMBER_PARAMETER = OpenApiParameter("number", str, OpenApiParameter.PATH, description="The order number.")

# A service names order columns; the client sent our blocks: `customer_zip` → `customer.zip`.
_OUR_PATHS = {
    **{column: f"customer.{key}" for key, column in CUSTOMER_SNAPSHOT_FIELDS.items()},
    **{column: f"ship_to.{key}" for key, column in SHIP_TO_SNAPSHOT_FIELDS.items()},
}
_LINE = re.compile(r"^lines\[(\d+)\]")


def _our_paths(field_errors: dict[str, list[str]]) -> dict[str, list[str]]:
    return {_OUR_PATHS.get(name, name): messages for name, messages in field_errors.items()}


def _actor(request: Request) -> Actor:
    return Actor.from_request(request, channel=Channel.API)


def _order_id(number: str) -> int:
    try:
        return api_selectors.order_api_id(number=number)
    except Order.DoesNotExist:
        raise NotFound(f"There is no order {number}.") from None


def _detail_response(number: str, status_code: int = status.HTTP_200_OK) -> Response:
    try:
        order = api_selectors.order_api_by_number(number=number)
    except Order.DoesNotExist:
        raise NotFound(f"There is no order {number}.") from None
    body = OrderDetailSerializer(order).data
    headers = {"Location": body["url"]} if status_code == status.HTTP_201_CREATED else {}
    return Response(body, status=status_code, headers=headers)


def _renamed(call: Callable[[], Order]) -> Order:
    """Run a service call, reporting its field errors under the paths of our request body."""
    try:
        return call()
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field_errors=_our_paths(exc.field_errors)) from exc


def _lines(rows: list[dict[str, Any]]) -> list[LineInput]:
    return [LineInput(**row) for row in rows]


class OrderListCreateView(ApiView):
    @extend_schema(
        operation_id="orders_list",
        summary="List orders (the order list's search and filters, newest first by default)",
        parameters=[OrderListQuerySerializer],
        responses=OrderPageSerializer,
        tags=["orders"],
    )
    def get(self, request: Request) -> Response:
        query = OrderListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        filters = selectors.OrderFilters(
            state=params.get("state", ""),
            fulfilment=params.get("fulfilment", ""),
            source=params.get("source", ""),
            sync={d: params[f"sync_{d}"] for d in Destination.values if params.get(f"sync_{d}")},
            created_from=params.get("created_from"),
            created_to=params.get("created_to"),
        )
        page = selectors.order_list_page(
            q=params["q"],
            filters=filters,
            sort=params["sort"],
            after=params.get("cursor"),
            limit=params["page_size"],
        )
        sync = selectors.sync_states([order.pk for order in page.orders])
        next_url = (
            replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor) if page.next_cursor else None
        )
        return Response(
            {
                "results": OrderRowSerializer(page.orders, many=True, context={"sync": sync}).data,
                "next": next_url,
                "count": page.count,
                "count_cap": page.count_cap,
            }
        )

    @extend_schema(
        operation_id="orders_create",
        summary="Create an order in our shape (a draft unless `submit` is true)",
        request=OrderCreateSerializer,
        responses={201: OrderDetailSerializer},
        tags=["orders"],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = OrderCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        actor = _actor(request)
        customer = api_selectors.customer_by_number(customer_no=data.get("customer", {}).get("customer_no", ""))
        # With `submit`, a refused submit keeps nothing: create and submit are one transaction.
        create = order_create_and_submit if data["submit"] else order_create
        order = _renamed(
            lambda: create(
                actor=actor,
                fields=body.header_and_snapshot(),
                lines=_lines(data["lines"]),
                customer=customer,
                source=OrderSource.API,
                destinations=data.get("destinations"),
            )
        )
        return _detail_response(order.order_number, status.HTTP_201_CREATED)


@extend_schema(parameters=[NUMBER_PARAMETER], tags=["orders"])
class OrderDetailView(ApiView):
    @extend_schema(operation_id="orders_retrieve", summary="One order", responses=OrderDetailSerializer)
    def get(self, request: Request, number: str) -> Response:
        return _detail_response(number)

    @extend_schema(
        operation_id="orders_partial_update",
        summary="Change a draft (optimistic `version`: 409 when someone saved in between)",
        request=OrderUpdateSerializer,
        responses=OrderDetailSerializer,
    )
    def patch(self, request: Request, number: str) -> Response:
        order_id = _order_id(number)
        body = OrderUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        lines = data.get("lines")
        if lines is None:
            current = selectors.order_lines(order_id=order_id)
            line_inputs = [
                LineInput(sku=r.sku, quantity=r.quantity, unit_price=r.unit_price, description=r.description)
                for r in current
            ]
        else:
            line_inputs = _lines(lines)
        order = _renamed(
            lambda: order_update_draft(
                actor=_actor(request),
                order_id=order_id,
                version=data["version"],
                fields=body.header_and_snapshot(),
                lines=line_inputs,
                destinations=data.get("destinations"),
            )
        )
        return _detail_response(order.order_number)


class _OrderActionView(ApiView):
    """POST to move an order on: the service checks that its state allows it (409 when not)."""

    body_serializer: type | None = None

    def act(self, actor: Actor, order_id: int, data: dict[str, Any]) -> Order:
        raise NotImplementedError

    def post(self, request: Request, number: str) -> Response:
        order_id = _order_id(number)
        data: dict[str, Any] = {}
        if self.body_serializer is not None:
            body = self.body_serializer(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
        order = _renamed(lambda: self.act(_actor(request), order_id, data))
        return _detail_response(order.order_number)


def _action_schema(action: str, summary: str, request: type | None) -> Callable[[type], type]:
    return extend_schema_view(
        post=extend_schema(
            operation_id=f"orders_{action}",
            summary=summary,
            parameters=[NUMBER_PARAMETER],
            request=request,
            responses=OrderDetailSerializer,
            tags=["orders"],
        )
    )


@_action_schema("submit", "Submit a draft (to review when a review rule applies)", None)
class OrderSubmitView(_OrderActionView):
    def act(self, actor: Actor, order_id: int, data: dict[str, Any]) -> Order:
        return order_submit(actor=actor, order_id=order_id)


@_action_schema("approve", "Approve an order awaiting review (four eyes)", None)
class OrderApproveView(_OrderActionView):
    def act(self, actor: Actor, order_id: int, data: dict[str, Any]) -> Order:
        return order_approve(actor=actor, order_id=order_id)


@_action_schema("reject", "Reject an order awaiting review, saying why", RejectSerializer)
class OrderRejectView(_OrderActionView):
    body_serializer = RejectSerializer

    def act(self, actor: Actor, order_id: int, data: dict[str, Any]) -> Order:
        return order_reject(actor=actor, order_id=order_id, comment=data["comment"])


@_action_schema("cancel", "Cancel an order (unsent messages are cancelled with it)", CancelSerializer)
class OrderCancelView(_OrderActionView):
    body_serializer = CancelSerializer

    def act(self, actor: Actor, order_id: int, data: dict[str, Any]) -> Order:
        return order_cancel(actor=actor, order_id=order_id, reason=data["reason"])


@extend_schema(parameters=[NUMBER_PARAMETER], tags=["shipments"])
class OrderShipmentsView(ApiView):
    def _order(self, number: str) -> Order:
        try:
            return api_selectors.order_api_summary(number=number)
        except Order.DoesNotExist:
            raise NotFound(f"There is no order {number}.") from None

    def _answer(self, order: Order) -> Response:
        shipments = selectors.order_shipments(order_id=order.pk)
        return Response(
            ShipmentListSerializer(
                {"order_number": order.order_number, "fulfilment_state": order.fulfilment_state, "shipments": shipments}
            ).data
        )

    @extend_schema(
        operation_id="orders_shipments_list", summary="An order's shipments", responses=ShipmentListSerializer
    )
    def get(self, request: Request, number: str) -> Response:
        return self._answer(self._order(number))

    @extend_schema(
        operation_id="orders_shipments_upsert",
        summary="Add or update shipments in TulaERP's OrderShipment shape (the same body twice changes nothing)",
        request=ShipmentUpsertSerializer,
        responses=ShipmentListSerializer,
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        order = self._order(number)
        body = ShipmentUpsertSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        updated = shipment_upsert(actor=_actor(request), order_id=order.pk, shipments=tulaerp_shipments(request.data))
        return self._answer(updated)


class TrackingView(ApiView):
    @extend_schema(
        operation_id="tracking_lookup",
        summary="Find orders and their packages by order, PO or tracking number, or email",
        parameters=[TrackingQuerySerializer],
        responses=TrackingSerializer,
        tags=["tracking"],
    )
    def get(self, request: Request) -> Response:
        query = TrackingQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(TrackingSerializer(selectors.tracking_lookup(query.validated_data["q"])).data)
