"""Secrets: the external APIs' credentials (and the bearer token CIMcloud hands out) never reach a stored attempt,
an order event, a message, a log line, a page or an API answer; a destination without credentials is paused for
configuration while everything else starts and runs."""

from __future__ import annotations

import base64
import logging
import threading

import pytest
from django.conf import settings
from django.test import Client

from orders import outbox
from orders.models import (
    AuditEntry,
    DeliveryAttempt,
    DestinationState,
    ExternalToken,
    MessageState,
    OrderEvent,
    OutboxMessage,
    WorkerHeartbeat,
)
from orders.services import Actor
from orders.services.tokens import api_token_create
from tests.worker_fixtures import submit_orders, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SETTLED = (MessageState.SENT, MessageState.NEEDS_ATTENTION)


def _known_secrets() -> dict[str, str]:
    cim, tula = settings.SIM_CIMCLOUD_CREDENTIALS, settings.SIM_TULAERP_CREDENTIALS
    basic = base64.b64encode(f"{cim['username']}:{cim['password']}".encode()).decode()
    found = {
        "CIMcloud auth key": cim["key"],
        "CIMcloud password": cim["password"],
        "CIMcloud basic credentials": basic,
        "TulaERP key": tula["value"],
    }
    for token in ExternalToken.objects.all():  # what CIMcloud issued this run
        found[f"{token.destination} bearer token"] = token.token
    return found


def _rows(*models) -> str:
    return "\n".join(str(row) for model in models for row in model.objects.values())


def _settled() -> bool:
    return not OutboxMessage.objects.exclude(state__in=SETTLED).exists()


def test_no_credential_is_stored_logged_shown_or_answered(sim, workers, outbox_settings, make_user, caplog):
    caplog.set_level(logging.DEBUG)
    # Faults of the kinds that write reasons: server errors, rate limits, a rejected credential, a refusal.
    sim.faults("both", error_rate=0.35, statuses=[500, 503, 429, 401, 400], retry_after_s=0.2, seed=11)
    orders = submit_orders(6)
    [worker] = workers(sim, 1, LOG_LEVEL="DEBUG", OUTBOX_PACING="0")
    wait_until(_settled, timeout=120, what="every message sent or needing attention")
    worker.stop()
    assert DeliveryAttempt.objects.exclude(error_class="").exists()  # the error paths ran

    # One more order delivered in this process, so its log lines are in caplog.
    sim.faults("both", error_rate=0.0)
    [extra] = submit_orders(1)
    for destination in ("cimcloud", "tulaerp"):
        sender = outbox.Sender(destination, threading.Event())
        for message in outbox.claim(destination=destination, worker="test", limit=5):
            outbox.deliver(message, sender, worker="test")
        sender.close()
    assert extra.outbox_messages.filter(state=MessageState.SENT).count() == 2

    admin = make_user("secrets-admin", "admin", is_staff=True)
    pages = Client()
    pages.force_login(admin)
    _, raw = api_token_create(actor=Actor.system("test"), user=admin)
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    message = OutboxMessage.objects.order_by("id").first()
    answers = []
    for order in [*orders, extra]:
        answers.append(pages.get(f"/orders/{order.order_number}/"))
        answers.append(pages.get(f"/admin/orders/order/{order.pk}/change/"))
        answers.append(api.get(f"/api/v1/orders/{order.order_number}/"))
    for url in ("/", "/orders/", "/orders/export/?confirm=1", "/orders/review/", "/outbox/", "/customers/"):
        answers.append(pages.get(url))
    answers.append(pages.get(f"/outbox/{message.pk}/mark-sent/"))
    answers.append(pages.get("/admin/orders/orderevent/"))
    for url in ("/api/v1/outbox/", f"/api/v1/outbox/{message.pk}/", "/api/v1/orders/", "/api/v1/schema/"):
        answers.append(api.get(url))
    assert all(a.status_code == 200 for a in answers), [(a.status_code, a.request["PATH_INFO"]) for a in answers]

    haystacks = {
        "delivery attempts": _rows(DeliveryAttempt),
        "order events": _rows(OrderEvent),
        "outbox messages": _rows(OutboxMessage),
        "destination states": _rows(DestinationState),
        "audit": _rows(AuditEntry),
        "worker log": worker.log(),
        "log records": "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records),
        "pages and API": "\n".join(b"".join(a.streaming_content).decode() if a.streaming else a.text for a in answers),
    }
    secrets = _known_secrets()
    assert "cimcloud bearer token" in secrets  # CIMcloud did hand one out...
    assert secrets["cimcloud bearer token"] in _rows(ExternalToken)  # ...kept where it belongs: the search finds it
    assert len(haystacks["worker log"]) > 1000 and len(haystacks["delivery attempts"]) > 1000
    leaks = [
        f"{what} in {where}" for what, value in secrets.items() for where, text in haystacks.items() if value in text
    ]
    assert not leaks


def test_a_destination_without_credentials_is_paused_not_a_start_up_failure(sim, workers, tmp_path):
    # Production start (debug off, so no simulator defaults): CIMcloud configured only by its URL.
    production = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "k" * 60,
        "DJANGO_ALLOWED_HOSTS": "orders.example.com",
        "CIMCLOUD_AUTH_KEY": "",
        "CIMCLOUD_AUTH_USERNAME": "",
        "CIMCLOUD_AUTH_PASSWORD": "",
    }
    [order] = submit_orders(1)
    [worker] = workers(sim, 1, **production)
    wait_until(
        lambda: order.outbox_messages.filter(destination="tulaerp", state=MessageState.SENT).exists(),
        timeout=30,
        what="TulaERP delivered",
    )
    state = wait_until(
        lambda: DestinationState.objects.filter(
            destination="cimcloud", pause_reason__startswith="Configuration"
        ).first(),
        timeout=30,
        what="CIMcloud paused for configuration",
    )
    assert "CIMCLOUD_AUTH_KEY is not set" in state.pause_reason
    # Kept for after the pause, not failed.
    assert order.outbox_messages.get(destination="cimcloud").state in (
        MessageState.PENDING,
        MessageState.RETRY_SCHEDULED,
    )
    assert worker.process.poll() is None and WorkerHeartbeat.objects.exists()  # still running, still beating
    # (The web process starts without them too: test_security_settings runs check --deploy with no credentials.)
