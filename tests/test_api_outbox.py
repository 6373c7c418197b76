"""/api/v1/outbox/…: the list with its filters, one message with its attempts, retry and mark-sent."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orders import services
from orders.integrations import jsonutil
from orders.models import AttentionReason, DeliveryAttempt, MessageState, OutboxMessage
from orders.services import Actor
from orders.services.tokens import api_token_create

OUTBOX = "/api/v1/outbox/"


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + api_token_create(actor=Actor.system("test"), user=user)[1])
    return client


def _json(response, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return jsonutil.loads(response.content)


@pytest.fixture
def sent_order(make_order, operator):
    order = make_order(operator)
    return services.order_submit(actor=Actor(user=operator), order_id=order.pk)


@pytest.mark.django_db
def test_list_filters_by_destination_state_and_order(viewer, sent_order, make_order, operator):
    services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    api = _client(viewer)
    assert len(_json(api.get(OUTBOX))["results"]) == 4
    rows = _json(api.get(f"{OUTBOX}?destination=tulaerp&order={sent_order.order_number.lower()}"))["results"]
    assert [(r["destination"], r["order_number"]) for r in rows] == [("tulaerp", sent_order.order_number)]
    assert _json(api.get(f"{OUTBOX}?state=sent"))["results"] == []
    page = _json(api.get(f"{OUTBOX}?page_size=3"))
    assert len(page["results"]) == 3 and page["next"]
    assert len(_json(api.get(page["next"]))["results"]) == 1
    bad = _json(api.get(f"{OUTBOX}?state=lost"), 400)
    assert bad["type"] == "invalid" and "state" in bad["errors"]


@pytest.mark.django_db
def test_detail_shows_attempts(viewer, sent_order):
    message = OutboxMessage.objects.filter(order=sent_order).first()
    DeliveryAttempt.objects.create(
        message=message, number=1, started_at=timezone.now(), outcome="retry", response_status=503
    )
    body = _json(_client(viewer).get(f"{OUTBOX}{message.pk}/"))
    assert body["order_number"] == sent_order.order_number and body["state"] == "pending"
    assert [(a["number"], a["response_status"]) for a in body["delivery_attempts"]] == [(1, 503)]
    assert _json(_client(viewer).get(f"{OUTBOX}999999/"), 404)["type"] == "not_found"


@pytest.mark.django_db
def test_retry_and_mark_sent(operator, viewer, sent_order):
    api = _client(operator)
    message = OutboxMessage.objects.filter(order=sent_order, destination="cimcloud").get()
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=MessageState.NEEDS_ATTENTION, attention_reason=AttentionReason.PERMANENT
    )

    assert _json(_client(viewer).post(f"{OUTBOX}{message.pk}/retry/"), 403)["type"] == "permission_denied"
    assert _json(api.post(f"{OUTBOX}{message.pk}/retry/"))["state"] == "pending"

    no_note = _json(api.post(f"{OUTBOX}{message.pk}/mark-sent/", {"external_reference": "X"}, format="json"), 400)
    assert "note" in no_note["errors"]
    body = _json(api.post(f"{OUTBOX}{message.pk}/mark-sent/", {"note": "Keyed in by phone"}, format="json"))
    assert body["state"] == "sent" and body["note"] == "Keyed in by phone"
    assert _json(api.post(f"{OUTBOX}{message.pk}/retry/"), 409)["type"] == "invalid_transition"
    assert _json(api.post(f"{OUTBOX}424242/mark-sent/", {"note": "x"}, format="json"), 404)["type"] == "not_found"
