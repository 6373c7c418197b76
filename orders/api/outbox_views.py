"""The outbox over the API: messages by destination, state and order; one with its attempts; retry; mark sent."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from orders.api.order_serializers import OutboxListQuerySerializer, StrictSerializer
from orders.api.serializers import order_api_path
from orders.api.views import ApiView, ApiViewMixin
from orders.models import AttentionReason, Channel, DeliveryAttempt, OutboxMessage
from orders.selectors import api as api_selectors
from orders.services import Actor, outbox_mark_sent, outbox_retry_now


def outbox_api_path(message_id: int) -> str:
    from django.urls import reverse

    return reverse("api:outbox-detail", kwargs={"message_id": message_id})


class OutboxMessageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    order_number = serializers.CharField(source="order.order_number", read_only=True)
    order_url = serializers.SerializerMethodField()
    # Empty unless the message needs a human: the schema's enum must allow "".
    attention_reason = serializers.ChoiceField(choices=AttentionReason.choices, allow_blank=True, read_only=True)

    class Meta:
        model = OutboxMessage
        fields = [
            "id", "url", "order_number", "order_url", "destination", "kind", "state", "priority", "attempts",
            "not_before", "created_at", "updated_at", "sent_at", "attention_reason", "last_error",
            "external_reference", "note",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, message: OutboxMessage) -> str:
        return outbox_api_path(message.pk)

    def get_order_url(self, message: OutboxMessage) -> str:
        return order_api_path(message.order.order_number)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "number", "started_at", "duration_ms", "worker", "response_status", "response_body", "error_class",
            "error_message", "outcome",
        ]  # fmt: skip
        read_only_fields = fields


class OutboxMessageDetailSerializer(OutboxMessageSerializer):
    delivery_attempts = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta(OutboxMessageSerializer.Meta):
        fields = [*OutboxMessageSerializer.Meta.fields, "idempotency_key", "payload", "result", "delivery_attempts"]
        read_only_fields = fields


class MarkSentSerializer(StrictSerializer):
    external_reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=2000, help_text="How you know the destination has the order.")


class OutboxPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100


@extend_schema(tags=["outbox"])
class OutboxListView(ApiViewMixin, generics.ListAPIView):
    serializer_class = OutboxMessageSerializer
    pagination_class = OutboxPagination

    def get_queryset(self) -> Any:
        query = OutboxListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        return api_selectors.outbox_message_list(
            destination=params.get("destination", ""),
            state=params.get("state", ""),
            order_number=params.get("order", ""),
        )

    @extend_schema(
        operation_id="outbox_list", summary="Outbox messages, newest first", parameters=[OutboxListQuerySerializer]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def _message_response(message_id: int) -> Response:
    try:
        message = api_selectors.outbox_message_detail(message_id=message_id)
    except OutboxMessage.DoesNotExist:
        raise NotFound(f"There is no outbox message {message_id}.") from None
    return Response(OutboxMessageDetailSerializer(message).data)


def _require_message(message_id: int) -> None:
    if not api_selectors.outbox_message_exists(message_id=message_id):
        raise NotFound(f"There is no outbox message {message_id}.")


@extend_schema(tags=["outbox"])
class OutboxDetailView(ApiView):
    @extend_schema(
        operation_id="outbox_retrieve",
        summary="One message with its delivery attempts",
        responses=OutboxMessageDetailSerializer,
    )
    def get(self, request: Request, message_id: int) -> Response:
        return _message_response(message_id)


@extend_schema(tags=["outbox"])
class OutboxRetryView(ApiView):
    @extend_schema(
        operation_id="outbox_retry",
        summary="Send a waiting or failed message again now",
        request=None,
        responses=OutboxMessageDetailSerializer,
    )
    def post(self, request: Request, message_id: int) -> Response:
        _require_message(message_id)
        outbox_retry_now(actor=Actor.from_request(request, channel=Channel.API), message_id=message_id)
        return _message_response(message_id)


@extend_schema(tags=["outbox"])
class OutboxMarkSentView(ApiView):
    @extend_schema(
        operation_id="outbox_mark_sent",
        summary="Record that the destination has the order (by hand)",
        request=MarkSentSerializer,
        responses=OutboxMessageDetailSerializer,
    )
    def post(self, request: Request, message_id: int) -> Response:
        _require_message(message_id)
        body = MarkSentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        outbox_mark_sent(
            actor=Actor.from_request(request, channel=Channel.API),
            message_id=message_id,
            external_reference=body.validated_data["external_reference"],
            note=body.validated_data["note"],
        )
        return _message_response(message_id)
