"""The outbox's rules, driven in-process: atomic submit, staff actions, breaker, pauses, fulfilment refresh."""

from __future__ import annotations

import io
import logging
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from orders import outbox, services
from orders.errors import InvalidInput
from orders.models import (
    DeliveryAttempt,
    DestinationState,
    FulfilmentPoll,
    MessageState,
    Order,
    OrderEvent,
    OrderState,
    OutboxMessage,
    Package,
    Priority,
    WorkerHeartbeat,
)
from orders.services import Actor
from tests.worker_fixtures import wait_until

pytestmark = pytest.mark.django_db


class _Boom(Exception):
    pass


@hsettings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(min_value=1, max_value=40))
def test_submit_is_atomic_wherever_it_fails(make_order, operator, fail_at):
    """An exception at any query of submit leaves a draft without messages; no failure leaves a submitted order
    with one message per destination. Never anything in between."""
    order = make_order(operator)
    calls = {"n": 0}

    def fail_on_nth(execute, sql, params, many, context):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise _Boom(sql)
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(fail_on_nth):
            services.order_submit(actor=Actor(user=operator), order_id=order.pk)
    except _Boom:
        pass
    order.refresh_from_db()
    messages = set(order.outbox_messages.values_list("destination", flat=True))
    if order.state == OrderState.DRAFT:
        assert messages == set() and order.submitted_at is None
    else:
        assert order.state == OrderState.SUBMITTED and messages == {"cimcloud", "tulaerp"}


def test_cancel_cancels_unsent_messages_and_flags_one_sent_after(make_order, operator):
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    [claimed] = outbox.claim(destination="tulaerp", worker="w1", limit=5)
    services.order_cancel(actor=Actor(user=operator), order_id=order.pk, reason="Customer called")
    assert order.outbox_messages.get(destination="cimcloud").state == MessageState.CANCELLED
    result = {"id": 7, "short_order_number": "TU0000007", "status": "New", "created": True}
    done = outbox.complete(
        claimed,
        worker="w1",
        started_at=timezone.now(),
        outcome=outbox.Outcome(MessageState.SENT, "sent", result=result),
        record=None,
    )
    assert done
    claimed.refresh_from_db()
    assert (claimed.state, claimed.attention_reason) == (MessageState.NEEDS_ATTENTION, "sent_after_cancel")
    assert "cancel it there by hand" in claimed.last_error


def test_a_lost_lease_refuses_the_completion(make_order, operator, settings):
    services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    [first] = outbox.claim(destination="cimcloud", worker="w1", limit=1)
    OutboxMessage.objects.filter(pk=first.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    [second] = outbox.claim(destination="cimcloud", worker="w2", limit=1)
    assert second.pk == first.pk and second.lease_token == first.lease_token + 1
    sent = outbox.Outcome(MessageState.SENT, "sent", result={})
    assert not outbox.complete(first, worker="w1", outcome=sent, record=None, started_at=timezone.now())
    assert outbox.complete(second, worker="w2", outcome=sent, record=None, started_at=timezone.now())
    assert list(DeliveryAttempt.objects.values_list("worker", "outcome").order_by("id")) == [
        ("w1", "fenced"),
        ("w2", "sent"),
    ]


def test_a_batch_completes_in_one_transaction_and_fences_each_message(make_order, operator):
    """complete_many: every attempt recorded, a lost lease refused among won ones, TulaERP's ids and a fulfilment
    poll for each order, one event per send or failure, each message's own result."""
    orders = [services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk) for _ in range(3)]
    batch = outbox.claim(destination="tulaerp", worker="w1", limit=5)
    assert len(batch) == 3
    lost, *kept = batch
    OutboxMessage.objects.filter(pk=lost.pk).update(lease_token=lost.lease_token + 1)  # re-claimed elsewhere
    now = timezone.now()

    def sent(n: int) -> outbox.Outcome:
        result = {"id": 100 + n, "short_order_number": f"TU{n:07d}", "status": "New", "created": True}
        return outbox.Outcome(MessageState.SENT, "sent", result=result, body={})

    retry = outbox.Outcome(MessageState.RETRY_SCHEDULED, "retry", message="503", delay=5.0)
    won = outbox.complete_many(
        [
            outbox.Finished(lost, sent(0), None, now),
            outbox.Finished(kept[0], sent(1), None, now),
            outbox.Finished(kept[1], retry, None, now),
        ],
        worker="w1",
    )
    assert won == [False, True, True]
    states = dict(OutboxMessage.objects.filter(destination="tulaerp").values_list("pk", "state"))
    assert states == {lost.pk: MessageState.IN_FLIGHT, kept[0].pk: MessageState.SENT, kept[1].pk: "retry_scheduled"}
    assert sorted(DeliveryAttempt.objects.values_list("message_id", "outcome")) == sorted(
        [(lost.pk, "fenced"), (kept[0].pk, "sent"), (kept[1].pk, "retry")]
    )
    message = OutboxMessage.objects.get(pk=kept[0].pk)
    assert (message.attempts, message.external_reference, message.result["id"]) == (1, "TU0000001", 101)
    assert OutboxMessage.objects.get(pk=kept[1].pk).attempts == 1
    order = Order.objects.get(pk=kept[0].order_id)
    assert (order.tulaerp_id, order.tulaerp_short_order_number) == (101, "TU0000001")
    assert FulfilmentPoll.objects.get().order_id == order.pk
    assert Order.objects.get(pk=lost.order_id).tulaerp_id is None
    kinds = OrderEvent.objects.filter(kind__in=["sync_sent", "sync_failed"]).values_list("order_id", "kind")
    assert sorted(kinds) == sorted([(kept[0].order_id, "sync_sent"), (kept[1].order_id, "sync_failed")])
    assert {o.pk for o in orders} == {m.order_id for m in batch}


def test_claims_take_interactive_before_bulk(make_order, operator):
    old = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    OutboxMessage.objects.filter(order=old).update(priority=Priority.BULK)
    fresh = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    [first] = outbox.claim(destination="cimcloud", worker="w", limit=1)
    assert first.order_id == fresh.pk


def _needs_attention(order):
    message = order.outbox_messages.get(destination="cimcloud")
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=MessageState.NEEDS_ATTENTION, attention_reason="permanent_rejection", last_error="x"
    )
    return message


def test_retry_now_and_mark_as_sent(make_order, operator):
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    message = _needs_attention(order)
    services.outbox_retry_now(actor=Actor(user=operator), message_id=message.pk)
    message.refresh_from_db()
    assert (message.state, message.priority, message.attention_reason) == ("pending", Priority.INTERACTIVE, "")
    tula = order.outbox_messages.get(destination="tulaerp")
    with pytest.raises(InvalidInput):
        services.outbox_mark_sent(actor=Actor(user=operator), message_id=tula.pk, external_reference="TU1", note=" ")
    services.outbox_mark_sent(
        actor=Actor(user=operator), message_id=tula.pk, external_reference="TU0009999", note="Keyed in by phone by Dana"
    )
    tula.refresh_from_db()
    order.refresh_from_db()
    assert tula.state == MessageState.SENT and tula.result["marked_by_hand"]
    assert order.tulaerp_short_order_number == "TU0009999"
    assert OrderEvent.objects.filter(order=order, kind="sync_action", actor=operator).count() == 2


def test_bulk_retry_dry_run_counts_and_estimates(make_order, operator, settings):
    settings.CIMCLOUD_RATE_PER_WINDOW, settings.CIMCLOUD_RATE_WINDOW_SECONDS = 100, 900
    settings.CIMCLOUD_RATE_PER_SECOND, settings.CIMCLOUD_RATE_SECOND_SECONDS = 2, 1
    orders = [services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk) for _ in range(3)]
    for order in orders:
        _needs_attention(order)
    since, until = timezone.now() - timedelta(hours=1), timezone.now() + timedelta(minutes=1)
    plan = services.outbox_bulk_retry(actor=Actor(user=operator), destination="cimcloud", since=since, until=until)
    assert (plan.count, plan.estimated_seconds) == (3, 1.5)
    assert OutboxMessage.objects.filter(state=MessageState.NEEDS_ATTENTION).count() == 3  # dry run: nothing moved
    services.outbox_bulk_retry(
        actor=Actor(user=operator), destination="cimcloud", since=since, until=until, dry_run=False
    )
    assert set(OutboxMessage.objects.filter(destination="cimcloud").values_list("state", "priority")) == {
        ("pending", Priority.BULK)
    }
    assert services.outbox.drain_seconds("cimcloud", 250) == 2 * 900 + 25.0


def test_breaker_opens_after_consecutive_failures_and_one_worker_probes(settings):
    settings.OUTBOX_BREAKER_COOLDOWN_SECONDS = 0
    for _ in range(9):
        outbox.record_health("tulaerp", ok=False, reason="503")
    assert DestinationState.objects.get(destination="tulaerp").breaker_open_until is None
    outbox.record_health("tulaerp", ok=False, reason="503")
    assert DestinationState.objects.get(destination="tulaerp").breaker_open_until is not None
    assert outbox.claim_probe("tulaerp") is True
    settings.OUTBOX_BREAKER_COOLDOWN_SECONDS = 30
    outbox.close_breaker("tulaerp")
    assert DestinationState.objects.get(destination="tulaerp").breaker_open_until is None


def test_a_batch_stops_where_the_breaker_opens(make_order, operator, outbox_settings, sim):
    """The claimed rest of the batch goes back to the queue at once: no call waits out the cool-off, and after it
    only the probe is sent."""
    outbox_settings.OUTBOX_BREAKER_COOLDOWN_SECONDS = 5
    outbox_settings.OUTBOX_BATCH_SIZE = 15
    sim.faults("tulaerp", error_rate=1.0, statuses=[503])
    for _ in range(15):
        services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    worker = outbox.Worker(destinations=["tulaerp"], refresh=False)
    sender = outbox.Sender("tulaerp", worker.stop)
    started = time.monotonic()
    worker._drain_once("tulaerp", sender)
    sender.close()
    assert time.monotonic() - started < 5
    assert DeliveryAttempt.objects.filter(message__destination="tulaerp").count() == 10
    rest = OutboxMessage.objects.filter(destination="tulaerp", attempts=0)
    assert rest.count() == 5 and not rest.filter(state=MessageState.IN_FLIGHT).exists()
    assert DestinationState.objects.get(destination="tulaerp").breaker_open_until is not None


def test_random_faults_practically_never_open_the_breaker(settings):
    import random

    rng = random.Random(3)
    for _ in range(2000):
        outbox.record_health("cimcloud", ok=rng.random() > 0.3)
    assert DestinationState.objects.get(destination="cimcloud").breaker_open_until is None


def test_breaker_over_real_http_opens_and_closes(make_order, operator, outbox_settings, sim):
    outbox_settings.OUTBOX_BREAKER_COOLDOWN_SECONDS = 0.3
    sim.faults("tulaerp", error_rate=1.0, statuses=[503])
    orders = [services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk) for _ in range(3)]
    worker = outbox.Worker(destinations=["tulaerp"], refresh=False)
    sender = outbox.Sender("tulaerp", worker.stop)
    for _ in range(12):
        OutboxMessage.objects.filter(destination="tulaerp").update(not_before=timezone.now())
        worker._drain_once("tulaerp", sender)
    state = DestinationState.objects.get(destination="tulaerp")
    assert state.breaker_open_until is not None and "503" in state.breaker_reason
    sim.faults("tulaerp", error_rate=0.0)
    wait_until(
        lambda: (
            (worker._drain_once("tulaerp", sender) or True)
            and DestinationState.objects.get(destination="tulaerp").breaker_open_until is None
        ),
        timeout=10,
        what="the probe to close the breaker",
    )
    sender.close()
    assert all(o.outbox_messages.get(destination="tulaerp").state != MessageState.NEEDS_ATTENTION for o in orders)


def test_wrong_credentials_pause_the_destination_and_keep_messages_queued(make_order, operator, outbox_settings):
    outbox_settings.CIMCLOUD_AUTH_PASSWORD = "rotated-elsewhere"
    outbox_settings.OUTBOX_CONFIG_PAUSE_SECONDS = 300
    services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    stop = threading.Event()
    sender = outbox.Sender("cimcloud", stop)
    [message] = outbox.claim(destination="cimcloud", worker="w", limit=1)
    outbox.deliver(message, sender, worker="w")
    sender.close()
    message.refresh_from_db()
    assert message.state == MessageState.RETRY_SCHEDULED and message.attention_reason == ""
    # The order itself was never posted: the timeline says which call failed.
    [attempt] = message.delivery_attempts.all()
    assert attempt.error_message.startswith("authenticate call failed: "), attempt.error_message
    state = DestinationState.objects.get(destination="cimcloud")
    assert state.paused_until > timezone.now() and state.pause_reason.startswith("Configuration")
    assert outbox.claim(destination="cimcloud", worker="w", limit=1) == []  # not due until the pause ends
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("outbox_status", "--check", stdout=out, stderr=err)
    assert exit_info.value.code == 1
    assert "cimcloud paused: Configuration" in err.getvalue() and "no worker heartbeat" in err.getvalue()


def test_a_database_connection_lost_around_a_send_retries_the_message(make_order, operator, outbox_settings, sim,
                                                                      monkeypatch, caplog):  # fmt: skip
    """Found by bench/soak.py: pg_terminate_backend while the worker wrote a delivered call's health turned the
    message into needs_attention as an internal error. The call may have been made: retry, as after a timeout."""
    services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    record_health = outbox.record_health

    def connection_lost(destination: str, *, ok: bool, reason: str = "") -> None:
        if ok:
            raise OperationalError("terminating connection due to administrator command")
        record_health(destination, ok=ok, reason=reason)

    monkeypatch.setattr(outbox, "record_health", connection_lost)
    sender = outbox.Sender("tulaerp", threading.Event())
    [message] = outbox.claim(destination="tulaerp", worker="w", limit=1)
    with caplog.at_level(logging.WARNING, logger=outbox.log.name):
        outbox.deliver(message, sender, worker="w")
    message.refresh_from_db()
    assert (message.state, message.attention_reason) == (MessageState.RETRY_SCHEDULED, "")
    assert message.last_error.startswith("Database connection lost around the call")
    # Logged as what it is (a warning without a traceback), not as an internal error.
    [logged] = [r for r in caplog.records if r.name == outbox.log.name and r.levelno >= logging.WARNING]
    assert logged.levelno == logging.WARNING and logged.exc_info is None
    assert logged.getMessage().startswith(f"database connection lost, retried: message={message.pk} ")
    monkeypatch.setattr(outbox, "record_health", record_health)
    OutboxMessage.objects.filter(pk=message.pk).update(not_before=timezone.now())
    [again] = outbox.claim(destination="tulaerp", worker="w", limit=1)
    assert outbox.deliver(again, sender, worker="w")
    sender.close()
    again.refresh_from_db()
    [received] = sim.received("tulaerp")
    assert again.state == MessageState.SENT and again.result["id"] == received["assigned_id"]
    assert (received["accepted"], received["applied"]) == (2, 1)  # the repeat found the order it had created


def test_worker_errors_are_logged_by_kind(caplog):
    """The worker loops and the send path share one rule: a lost connection is a warning, anything else a bug."""
    with caplog.at_level(logging.WARNING, logger=outbox.log.name):
        for exc in (OperationalError("server closed the connection"), ValueError("a bug")):
            try:
                raise exc
            except Exception as caught:
                outbox._log_error("outbox loop destination=cimcloud", caught)
    lost, bug = caplog.records
    assert (lost.levelno, lost.exc_info) == (logging.WARNING, None)
    assert lost.getMessage() == (
        "database connection lost, retried: outbox loop destination=cimcloud "
        "(OperationalError: server closed the connection)"
    )
    assert bug.levelno == logging.ERROR and bug.exc_info[0] is ValueError
    assert bug.getMessage() == "internal error: outbox loop destination=cimcloud"


def test_fulfilment_refresh_brings_tracking_then_stops(make_order, operator, outbox_settings, sim):
    outbox_settings.TULAERP_REFRESH_FIRST_SECONDS = 0.1
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    stop = threading.Event()
    sender = outbox.Sender("tulaerp", stop)
    [message] = outbox.claim(destination="tulaerp", worker="w", limit=1)
    assert outbox.deliver(message, sender, worker="w")
    poll = FulfilmentPoll.objects.get(order=order)

    def delivered():
        FulfilmentPoll.objects.filter(pk=poll.pk).update(next_poll_at=timezone.now())
        for due in outbox.claim_polls(worker="w", limit=5):
            outbox.refresh(due, sender, worker="w")
        order.refresh_from_db()
        return order.fulfilment_state == "delivered"

    wait_until(delivered, timeout=15, what="shipped then delivered", interval=0.3)
    sender.close()
    assert Package.objects.filter(shipment__order=order).exists()
    assert not FulfilmentPoll.objects.get(pk=poll.pk).active
    kinds = list(order.events.values_list("kind", flat=True))
    assert "tracking_added" in kinds and "delivered" in kinds


def test_an_order_tulaerp_forgot_raises_one_item_not_one_per_poll(make_order, operator, outbox_settings, sim):
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    Order.objects.filter(pk=order.pk).update(tulaerp_short_order_number="TU9999999")
    poll = FulfilmentPoll.objects.create(order=order, short_order_number="TU9999999", next_poll_at=timezone.now())
    sender = outbox.Sender("tulaerp", threading.Event())
    for _ in range(3):
        FulfilmentPoll.objects.filter(pk=poll.pk).update(next_poll_at=timezone.now())
        for due in outbox.claim_polls(worker="w", limit=5):
            outbox.refresh(due, sender, worker="w")
    sender.close()
    poll.refresh_from_db()
    assert not poll.active and "404" in poll.attention_reason
    assert order.events.filter(kind="sync_failed", detail__reason="not_found").count() == 1


def test_healthz(client):
    assert client.get("/healthz").status_code == 503
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker="w", hostname="h", pid=1, started_at=now, beat_at=now)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    WorkerHeartbeat.objects.update(beat_at=now - timedelta(seconds=120))
    assert client.get("/healthz").status_code == 503


def test_backoff_grows_with_full_jitter_and_the_server_wait_wins(settings):
    import random

    settings.OUTBOX_BACKOFF_BASE_SECONDS, settings.OUTBOX_BACKOFF_FACTOR = 2, 2
    settings.OUTBOX_BACKOFF_CAP_SECONDS = 1800
    rng = random.Random(1)
    delays = [outbox.next_delay(5, None, rng) for _ in range(500)]
    assert min(delays) >= 0 and max(delays) <= 32 and max(delays) > 20
    assert outbox.next_delay(30, None, rng) <= 1800
    assert outbox.next_delay(3, 7.5, rng) == 7.5


def _reject(order, destination="cimcloud"):
    message = order.outbox_messages.get(destination=destination)
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=MessageState.NEEDS_ATTENTION,
        attention_reason="permanent_rejection",
        last_error="Missing required field(s): shipping_address.zip",
        attempts=1,
    )
    return message


def _lines(order):
    return [services.LineInput(sku=ln.sku, quantity=ln.quantity, unit_price=ln.unit_price) for ln in order.lines.all()]


def test_fix_and_resend_rebuilds_payloads_for_destinations_that_did_not_accept(make_order, operator, operator2):
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    rejected = _reject(order)
    tula = order.outbox_messages.get(destination="tulaerp")
    OutboxMessage.objects.filter(pk=tula.pk).update(state=MessageState.SENT, external_reference="TU0000042")
    order.refresh_from_db()
    result = services.order_fix_and_resend(
        actor=Actor(user=operator2),
        order_id=order.pk,
        version=order.version,
        fields={"ship_to_zip": "97209"},
        lines=_lines(order),
    )
    assert result.resent == ["cimcloud"]
    assert any("TU0000042" in note and "TulaERP" in note for note in result.by_hand)
    rejected.refresh_from_db()
    new = order.outbox_messages.get(state=MessageState.PENDING)
    assert rejected.state == MessageState.CANCELLED and new.replaces_id == rejected.pk
    assert '"zip":"97209"' in new.payload and '"zip":"97209"' not in rejected.payload  # old payload kept
    edit = order.events.filter(kind="edited").latest("id")
    assert edit.detail["diff"]["ship_to_zip"] == ["97202", "97209"] and edit.actor == operator2


def test_fix_and_resend_can_also_update_cimcloud(make_order, operator):
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    _reject(order, "tulaerp")
    OutboxMessage.objects.filter(order=order, destination="cimcloud").update(state=MessageState.SENT)
    order.refresh_from_db()
    without = services.order_fix_and_resend(
        actor=Actor(user=operator),
        order_id=order.pk,
        version=order.version,
        fields={"ship_to_city": "Salem"},
        lines=_lines(order),
    )
    assert without.resent == ["tulaerp"] and "also update CIMcloud" in without.by_hand[0]
    OutboxMessage.objects.filter(order=order, destination="tulaerp", state="pending").update(
        state=MessageState.NEEDS_ATTENTION, attention_reason="permanent_rejection"
    )
    order.refresh_from_db()
    both = services.order_fix_and_resend(
        actor=Actor(user=operator),
        order_id=order.pk,
        version=order.version,
        fields={"ship_to_city": "Bend"},
        lines=_lines(order),
        also_update_cimcloud=True,
    )
    assert sorted(both.resent) == ["cimcloud", "tulaerp"]


def test_fix_and_resend_needs_a_rejection_and_a_valid_correction(make_order, operator):
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    with pytest.raises(services.orders.InvalidTransition):
        services.order_fix_and_resend(
            actor=Actor(user=operator), order_id=order.pk, version=order.version, fields={}, lines=_lines(order)
        )
    _reject(order)
    with pytest.raises(InvalidInput) as exc:
        services.order_fix_and_resend(
            actor=Actor(user=operator),
            order_id=order.pk,
            version=order.version,
            fields={"ship_to_zip": ""},
            lines=_lines(order),
        )
    assert "ship_to_zip" in exc.value.field_errors
    assert order.outbox_messages.filter(state=MessageState.PENDING).count() == 1  # nothing was queued


def test_prune_attempts_keeps_recent_and_open(make_order, operator):
    order = services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    sent, open_ = order.outbox_messages.get(destination="cimcloud"), order.outbox_messages.get(destination="tulaerp")
    OutboxMessage.objects.filter(pk=sent.pk).update(state=MessageState.SENT)
    old = timezone.now() - timedelta(days=200)
    for message in (sent, open_):
        DeliveryAttempt.objects.create(message=message, number=1, started_at=old, outcome="retry")
    DeliveryAttempt.objects.create(message=sent, number=2, started_at=timezone.now(), outcome="sent")
    out = io.StringIO()
    call_command("prune_attempts", "--older-than", "180d", stdout=out, stderr=io.StringIO())
    assert "Removed 1 attempt" in out.getvalue()
    assert set(DeliveryAttempt.objects.values_list("message_id", "number")) == {(sent.pk, 2), (open_.pk, 1)}
    with pytest.raises(Exception, match="180d"):
        call_command("prune_attempts", "--older-than", "soon")


@pytest.mark.parametrize(
    ("error", "idempotent", "age_days", "state", "reason"),
    [
        ("ambiguous", True, 0, "retry_scheduled", ""),
        ("ambiguous", False, 0, "needs_attention", "ambiguous"),
        ("retryable", True, 0, "retry_scheduled", ""),
        ("retryable", True, 3.1, "needs_attention", "attempts_exhausted"),
        ("permanent", True, 0, "needs_attention", "permanent_rejection"),
        ("configuration", True, 0, "retry_scheduled", ""),
        ("internal", True, 0, "needs_attention", "internal_error"),
        ("database", True, 0, "retry_scheduled", ""),
        ("database", False, 0, "needs_attention", "ambiguous"),
    ],
)
def test_classification(settings, error, idempotent, age_days, state, reason):
    from orders.integrations import errors

    settings.CIMCLOUD_IDEMPOTENT = idempotent
    exc = {
        "ambiguous": errors.AmbiguousError("read timeout"),
        "retryable": errors.RetryableError("503", retry_after=None),
        "permanent": errors.PermanentError("Missing required field(s): customer.zip"),
        "configuration": errors.ConfigurationError("401"),
        "internal": KeyError("bug"),
        "database": OperationalError("terminating connection due to administrator command"),
    }[error]
    outcome = outbox.classify(exc, destination="cimcloud", attempts=2, age=timedelta(days=age_days))
    assert (outcome.state, outcome.reason) == (state, reason)


def test_a_paced_worker_claims_nothing_it_holds_no_slot_for(make_order, operator, settings):
    """With the window's budget spent, the message is not leased (so no lease can expire while waiting)."""
    settings.OUTBOX_PACING = True
    services.order_submit(actor=Actor(user=operator), order_id=make_order(operator).pk)
    DestinationState.objects.update_or_create(
        destination="cimcloud",
        defaults={
            "window_calls": 100,
            "window_limit": 100,
            "window_started_at": timezone.now(),
            "window_resets_at": timezone.now() + timedelta(minutes=10),
        },
    )
    worker = outbox.Worker(destinations=["cimcloud"], refresh=False)
    worker.stop.set()  # wait_for_slot gives up at once instead of waiting for the window
    sender = outbox.Sender("cimcloud", worker.stop)
    assert worker._drain_once("cimcloud", sender) is False
    assert OutboxMessage.objects.get(destination="cimcloud").state == MessageState.PENDING
    assert DestinationState.objects.get(destination="cimcloud").window_calls == 100


def test_an_unused_slot_gives_back_its_window_share_only(settings):
    """The one-second bucket may have rolled over since the slot was reserved: freeing a call in the new bucket
    would let three through in one second, so only the 15-minute window gets its call back."""
    settings.OUTBOX_PACING = True
    assert outbox.reserve_slot("cimcloud") == 0
    outbox.release_slot("cimcloud")
    state = DestinationState.objects.get(destination="cimcloud")
    assert (state.window_calls, state.second_calls) == (0, 1)
