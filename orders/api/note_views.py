"""Staff notes of one order: GET lists them (oldest first), POST adds one. Viewers read; operators and admins
write (RolePermission); editing and deleting stay on the order page, within the 15-minute window."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from orders import selectors
from orders.api.note_serializers import NoteCreateSerializer, NoteListSerializer, NoteSerializer
from orders.api.views import ApiView
from orders.models import Channel, Order
from orders.selectors import api as api_selectors
from orders.services import Actor, note_add

NUMBER = OpenApiParameter("number", str, OpenApiParameter.PATH, description="The order number.")


@extend_schema(parameters=[NUMBER], tags=["notes"])
class OrderNotesView(ApiView):
    @extend_schema(operation_id="order_notes_list", summary="The order's staff notes, oldest first",
                   responses=NoteListSerializer)  # fmt: skip
    def get(self, request: Request, number: str) -> Response:
        notes = selectors.order_notes(order_id=_order_id(number))
        return Response(NoteListSerializer({"results": notes}).data)

    @extend_schema(
        operation_id="order_notes_create",
        summary="Add a staff note to the order",
        request=NoteCreateSerializer,
        responses={201: NoteSerializer},
    )
    def post(self, request: Request, number: str) -> Response:
        order_id = _order_id(number)
        body = NoteCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = note_add(
            actor=Actor.from_request(request, channel=Channel.API),
            order_id=order_id,
            text=body.validated_data["text"],
            pinned=body.validated_data["pinned"],
        )
        return Response(NoteSerializer(selectors.order_note(note_id=note.pk)).data, status=status.HTTP_201_CREATED)


def _order_id(number: str) -> int:
    try:
        return api_selectors.order_api_id(number=number)
    except Order.DoesNotExist:
        raise NotFound(f"There is no order {number}.") from None
