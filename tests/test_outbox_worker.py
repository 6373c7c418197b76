"""The outbox end to end: real worker processes, the test database, the simulators over HTTP."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from orders.models import DeliveryAttempt, MessageState, Order, OutboxMessage, Package, WorkerHeartbeat
from tests.worker_fixtures import submit_orders, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _all_sent(expected: int):
    return OutboxMessage.objects.filter(state=MessageState.SENT).count() == expected


def _assert_exactly_once(sim, orders, *, attempts_vs_posts="equal"):
    """Each order arrived at both simulators, accepted once, one `sent` attempt per message, and every POST the
    simulators saw is an attempt row (nothing sent unrecorded, nothing recorded unsent)."""
    numbers = {o.order_number for o in orders}
    uuids = {str(o.uuid) for o in orders}
    cim = {r["key"]: r for r in sim.received("cimcloud")}
    tula = {r["key"]: r for r in sim.received("tulaerp")}
    assert numbers <= set(cim) and uuids <= set(tula)
    assert all(cim[n]["accepted"] >= 1 for n in numbers) and all(tula[u]["accepted"] >= 1 for u in uuids)
    sent_attempts = Counter(DeliveryAttempt.objects.filter(outcome="sent").values_list("message_id", flat=True))
    assert set(sent_attempts.values()) == {1}
    assert len(sent_attempts) == 2 * len(orders)
    for destination, rows in (("cimcloud", cim), ("tulaerp", tula)):
        # Attempts that failed on CIMcloud's sign-in (e.g. a 429 there, with pacing off) or while connecting never
        # posted the order.
        made = DeliveryAttempt.objects.filter(message__destination=destination)
        posting = made.exclude(error_message__startswith="authenticate call failed: ").exclude(
            error_message__startswith="connection failed before the request was sent"
        )
        attempts = posting.count()
        posts = sum(r["count"] for r in rows.values())
        # A `reset` fault closes the connection before the simulator reads the body: an attempt it never counts
        # ("ge"). A worker killed between its POST and recording it leaves a POST without an attempt ("le").
        assert {"equal": attempts == posts, "ge": attempts >= posts, "le": attempts <= posts}[attempts_vs_posts], (
            destination,
            attempts,
            posts,
            list(made.exclude(outcome="sent").values_list("message__order__order_number", "outcome", "error_message")),
            {key: row["count"] for key, row in rows.items() if row["count"] > 1},
        )
    # TulaERP assigned exactly one id per orderNumber, and we stored it.
    assert len({r["assigned_id"] for r in tula.values()}) == len(tula)
    stored = set(Order.objects.exclude(tulaerp_id=None).values_list("tulaerp_id", flat=True))
    assert stored == {tula[u]["assigned_id"] for u in uuids}


def test_submitted_orders_reach_both_systems_exactly_once(sim, workers):
    orders = submit_orders(12)
    assert OutboxMessage.objects.filter(state=MessageState.PENDING).count() == 24
    workers(sim, 2)
    wait_until(lambda: _all_sent(24), timeout=60, what="24 messages sent")
    _assert_exactly_once(sim, orders)
    for row in sim.received("cimcloud"):
        assert row["accepted"] == 1
    # The TulaERP answer and the fulfilment refresh bring shipments, packages and tracking links.
    wait_until(lambda: Package.objects.count() >= 12, timeout=30, what="packages from the fulfilment refresh")
    unlinked = Package.objects.filter(tracking_link="").values_list(
        "shipment__order__order_number", "carrier", "tracking_number1", "tracking_link_source"
    )
    assert not unlinked, list(unlinked)
    assert WorkerHeartbeat.objects.count() == 2


def test_a_new_message_is_picked_up_within_a_second(sim, workers):
    workers(sim, 1)
    wait_until(lambda: WorkerHeartbeat.objects.exists(), timeout=20, what="a heartbeat")
    time.sleep(0.5)
    [order] = submit_orders(1)
    started = time.monotonic()
    wait_until(
        lambda: DeliveryAttempt.objects.filter(message__order=order).count() == 2, timeout=10, what="both attempts"
    )
    first = DeliveryAttempt.objects.filter(message__order=order).order_by("started_at").first()
    assert (first.started_at - order.submitted_at).total_seconds() < 1.5
    assert time.monotonic() - started < 10


def test_faults_lose_nothing_and_are_classified(sim, workers):
    sim.faults(
        "both",
        error_rate=0.15,
        statuses=[500, 503, 429],
        timeout_rate=0.05,
        drop_rate=0.05,
        reset_rate=0.05,
        malformed_rate=0.0,
        retry_after_s=0.2,
        hang_s=3,
        seed=7,
    )
    orders = submit_orders(15)
    workers(sim, 2, OUTBOX_PACING="0")
    wait_until(lambda: _all_sent(30), timeout=120, what="all messages sent despite faults")
    _assert_exactly_once(sim, orders, attempts_vs_posts="ge")
    classes = set(DeliveryAttempt.objects.exclude(error_class="").values_list("error_class", flat=True))
    assert {"RetryableError", "AmbiguousError"} <= classes


def test_a_permanent_rejection_needs_attention_after_one_attempt(sim, workers):
    [order] = submit_orders(1)
    message = order.outbox_messages.get(destination="cimcloud")
    message.payload = message.payload.replace('"zip":', '"zip_code":', 1)  # a body CIMcloud refuses
    message.save()
    workers(sim, 1)
    wait_until(
        lambda: OutboxMessage.objects.get(pk=message.pk).state == MessageState.NEEDS_ATTENTION,
        timeout=30,
        what="needs attention",
    )
    message.refresh_from_db()
    assert message.attempts == 1 and message.attention_reason == "permanent_rejection"
    assert "customer.zip" in message.last_error
    assert order.outbox_messages.get(destination="tulaerp").state in (
        MessageState.SENT,
        MessageState.IN_FLIGHT,
        MessageState.PENDING,
    )


def _crash_cycle(sim, workers, cycles: int):
    sim.faults("both", latency_ms=300)
    orders = submit_orders(6 * cycles)
    for _ in range(cycles):
        [victim] = workers(sim, 1, OUTBOX_PACING="0")
        wait_until(
            lambda: OutboxMessage.objects.filter(state=MessageState.IN_FLIGHT).exists(),
            timeout=20,
            what="a message in flight",
        )
        victim.signal(signal.SIGKILL)
        victim.process.wait()
    sim.faults("both", latency_ms=0)
    workers(sim, 1, OUTBOX_PACING="0")
    wait_until(lambda: _all_sent(2 * len(orders)), timeout=120, what="everything sent after the crashes")
    _assert_exactly_once(sim, orders, attempts_vs_posts="le")
    for message in OutboxMessage.objects.all():
        keys = set(message.delivery_attempts.values_list("idempotency_key", flat=True))
        assert keys == {message.idempotency_key}  # re-sends carry the original key


def test_crashed_workers_lose_nothing(sim, workers):
    _crash_cycle(sim, workers, cycles=2)


@pytest.mark.postgres
def test_ten_crash_cycles_on_postgres(sim, workers):
    _crash_cycle(sim, workers, cycles=10)


def test_a_worker_that_lost_its_lease_cannot_complete(sim, workers):
    """SIGSTOP a worker mid-send past its lease; another re-claims and sends; SIGCONT: the late completion is
    refused by the fencing token."""
    sim.faults("tulaerp", latency_ms=700)
    [order] = submit_orders(1)
    [frozen] = workers(sim, 1, "--destination", "tulaerp", "--no-refresh")
    message = order.outbox_messages.get(destination="tulaerp")
    # Freeze it only once the simulator holds its request (the answer comes 700 ms later): frozen between claim and
    # send, a worker finds its lease gone on waking and never sends, so there would be no late completion to refuse.
    wait_until(lambda: sim.received("tulaerp"), timeout=20, what="the simulator to hold the request")
    frozen.signal(signal.SIGSTOP)
    first_token = OutboxMessage.objects.get(pk=message.pk).lease_token
    time.sleep(2.5)  # past the 2 s lease
    sim.faults("tulaerp", latency_ms=0)
    [rescuer] = workers(sim, 1, "--destination", "tulaerp", "--no-refresh")
    wait_until(
        lambda: OutboxMessage.objects.get(pk=message.pk).state == MessageState.SENT,
        timeout=20,
        what="re-claimed and sent",
    )
    rescuer.stop()
    frozen.signal(signal.SIGCONT)
    wait_until(
        lambda: DeliveryAttempt.objects.filter(message=message, outcome="fenced").exists(),
        timeout=20,
        what="the late completion to be refused",
    )
    message.refresh_from_db()
    assert message.state == MessageState.SENT and message.lease_token > first_token
    assert DeliveryAttempt.objects.filter(message=message, outcome="sent").count() == 1
    assert "late completion refused" in frozen.log() or frozen.stop() is not None


def test_pacing_keeps_a_backlog_under_the_rate_limit(sim, workers):
    orders = submit_orders(30, lines=1)
    workers(sim, 2, "--destination", "cimcloud")
    wait_until(
        lambda: OutboxMessage.objects.filter(destination="cimcloud", state=MessageState.SENT).count() == 30,
        timeout=90,
        what="the CIMcloud backlog",
    )
    assert not DeliveryAttempt.objects.filter(response_status=429).exists()
    assert {r["key"] for r in sim.received("cimcloud")} >= {o.order_number for o in orders}


def test_a_hung_destination_does_not_hold_up_the_other(sim, workers):
    sim.faults("tulaerp", timeout_rate=1.0, hang_s=4)
    submit_orders(4, lines=1)
    workers(sim, 1, "--no-refresh")
    wait_until(
        lambda: OutboxMessage.objects.filter(destination="cimcloud", state=MessageState.SENT).count() == 4,
        timeout=10,
        what="CIMcloud sends while TulaERP hangs",
    )
    first_tula = wait_until(
        lambda: DeliveryAttempt.objects.filter(message__destination="tulaerp").first(),
        timeout=10,
        what="a TulaERP attempt",
    )
    cimcloud = DeliveryAttempt.objects.filter(message__destination="cimcloud", outcome="sent")
    window_end = first_tula.started_at.timestamp() + first_tula.duration_ms / 1000
    assert any(first_tula.started_at.timestamp() <= a.started_at.timestamp() <= window_end for a in cimcloud) or (
        max(a.started_at for a in cimcloud) < first_tula.started_at
    )
    for attempt in DeliveryAttempt.objects.filter(message__destination="tulaerp"):
        assert attempt.duration_ms <= (1 + 1) * 1000  # read timeout + 1 s
        assert attempt.error_class == "AmbiguousError"


@pytest.mark.postgres
@pytest.mark.timeout(900)  # ~90 s alone; creating 2,000 orders and draining 4,000 messages on a busy machine
def test_two_thousand_orders_four_workers_exactly_once(sim_no_limits, workers):
    """PostgreSQL, 4 worker processes, simulators without limits, pacer off: every order reaches both systems,
    each accepted once, one sent attempt per message, and attempt rows equal the POSTs the simulators saw."""
    orders = submit_orders(2000, lines=1)
    workers(sim_no_limits, 4, "--no-refresh", OUTBOX_PACING="0", OUTBOX_BATCH_SIZE="20")
    wait_until(lambda: _all_sent(4000), timeout=400, what="4,000 messages sent", interval=1.0)
    _assert_exactly_once(sim_no_limits, orders)
    assert all(r["accepted"] == 1 for r in sim_no_limits.received("cimcloud"))
    assert all(r["accepted"] == 1 for r in sim_no_limits.received("tulaerp"))
    assert len({w for w in DeliveryAttempt.objects.values_list("worker", flat=True)}) == 4


def test_sigterm_finishes_or_releases_and_exits_cleanly(sim, workers):
    sim.faults("both", latency_ms=400)
    submit_orders(6, lines=1)
    [worker] = workers(sim, 1, OUTBOX_PACING="0")
    wait_until(
        lambda: OutboxMessage.objects.filter(state=MessageState.IN_FLIGHT).exists(), timeout=20, what="work in flight"
    )
    assert worker.stop(timeout=15) == 0
    assert "stopped" in worker.log()
    assert not OutboxMessage.objects.filter(state=MessageState.IN_FLIGHT).exists()  # finished or released
    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.postgres
def test_terminated_database_connections_do_not_kill_the_worker(sim, workers):
    from django.db import connection

    [worker] = workers(sim, 1)
    wait_until(lambda: WorkerHeartbeat.objects.exists(), timeout=20, what="a heartbeat")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    orders = submit_orders(3, lines=1)
    wait_until(lambda: _all_sent(6), timeout=60, what="sends after the connections were terminated")
    assert worker.process.poll() is None
    assert "Traceback" not in worker.log(), "a lost connection is retried and logged as a warning, not a bug"
    _assert_exactly_once(sim, orders)
