"""The CIMcloud and TulaERP clients over real HTTP: the simulators for the APIs, a local server for the wire."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from orders.integrations import jsonutil
from orders.integrations.cimcloud import DESTINATION, CimcloudClient, CimcloudConfig
from orders.integrations.errors import (
    AmbiguousError,
    ConfigurationError,
    NotFoundError,
    PermanentError,
    RetryableError,
    UnauthorizedError,
    retry_after_seconds,
)
from orders.integrations.http import CallRecord, JsonText, build_session, perform
from orders.integrations.tulaerp import TulaerpClient, TulaerpConfig
from orders.models import ExternalToken

FIXTURES = Path(__file__).parent / "fixtures"


# --- helpers --------------------------------------------------------------------------------------------------


# The simulator runs with --rate-scale 60: its "2 calls per second" become 2 per 1/60 s. Like the outbox, the tests
# pace themselves in before_call rather than discover the limit through 429s.
PACE_SECONDS = 0.02
_last_call = [0.0]


def pace() -> None:
    wait = _last_call[0] + PACE_SECONDS - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    _last_call[0] = time.monotonic()


@dataclass
class Calls:
    """What the hooks saw: the kinds announced before each request and the records after."""

    kinds: list[str] = field(default_factory=list)
    records: list[CallRecord] = field(default_factory=list)

    def before_call(self, kind: str) -> None:
        pace()
        self.kinds.append(kind)

    def hooks(self) -> dict[str, Callable[..., None]]:
        return {"before_call": self.before_call, "after_call": self.records.append}


def cimcloud_client(calls: Calls | None = None) -> CimcloudClient:
    return CimcloudClient.from_settings(**(calls or Calls()).hooks())


def cimcloud_payload(**changes: Any) -> dict[str, Any]:
    payload = jsonutil.loads((FIXTURES / "cimcloud-orderpassthrough.example.json").read_text())
    payload["order_number"] = f"T{uuid.uuid4().hex[:12].upper()}"
    payload.update(changes)
    return payload


def tulaerp_payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "orderNumber": str(uuid.uuid4()),
        "clientId": 1,
        "memberId": 1,
        "orderTypeId": "Standard",
        "orderSourceId": "Api",
        "orderDate": timezone.now().isoformat(),
        "shipName": "John Doe",
        "shipAddress1": "456 Shipping St",
        "shipCity": "Shipping City",
        "shipState": "CA",
        "shipZip": "54321",
        "shipPhone": "987-654-3210",
        "email": "shipping@example.com",
        "orderItems": [{"itemCode": "SOFTOFF365", "quantity": 2}, {"itemCode": "MGPAINT1", "quantity": 3}],
    }
    payload.update(changes)
    return payload


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_no_secrets(record: CallRecord, secrets: list[str]) -> None:
    text = repr(record)
    for secret in secrets:
        assert secret not in text


# --- fixtures -------------------------------------------------------------------------------------------------


@pytest.fixture
def cimcloud_settings(settings: Any, sim: Any) -> Any:
    settings.CIMCLOUD_BASE_URL = sim.cimcloud_base_url
    settings.CIMCLOUD_SITENAME = sim.sitename
    settings.CIMCLOUD_AUTH_MODE = "bearer"
    settings.CIMCLOUD_AUTH_KEY = settings.SIM_CIMCLOUD_CREDENTIALS["key"]
    settings.CIMCLOUD_AUTH_USERNAME = settings.SIM_CIMCLOUD_CREDENTIALS["username"]
    settings.CIMCLOUD_AUTH_PASSWORD = settings.SIM_CIMCLOUD_CREDENTIALS["password"]
    settings.HTTP_CONNECT_TIMEOUT = 2.0
    settings.HTTP_READ_TIMEOUT = 5.0
    return settings


@pytest.fixture
def basic_cimcloud_settings(cimcloud_settings: Any) -> Any:
    # Fault tests use Basic auth: no token round trip for the fault to hit first, no database.
    cimcloud_settings.CIMCLOUD_AUTH_MODE = "basic"
    return cimcloud_settings


@pytest.fixture
def tulaerp_settings(settings: Any, sim: Any) -> Any:
    settings.TULAERP_BASE_URL = sim.tulaerp_base_url
    settings.TULAERP_AUTH_HEADER = settings.SIM_TULAERP_CREDENTIALS["header"]
    settings.TULAERP_AUTH_VALUE = settings.SIM_TULAERP_CREDENTIALS["value"]
    settings.TULAERP_BASIC_USERNAME = None
    settings.TULAERP_BASIC_PASSWORD = None
    settings.HTTP_CONNECT_TIMEOUT = 2.0
    settings.HTTP_READ_TIMEOUT = 5.0
    return settings


@dataclass
class LocalServer:
    """A loopback HTTP/1.1 server that keeps the raw requests: what really went over the wire."""

    url: str
    requests: list[tuple[str, str, dict[str, str], bytes]]
    connections: list[int]
    answers: dict[str, tuple[int, dict[str, str], bytes]]


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    state = LocalServer(url="", requests=[], connections=[], answers={})

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            state.connections.append(1)

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.requests.append((self.command, self.path, dict(self.headers.items()), body))
            status, headers, answer = state.answers.get(self.path, (200, {}, b'{"ok": true}'))
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = handle_any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- the session ----------------------------------------------------------------------------------------------


def test_session_refuses_calls_without_a_timeout_tuple(local_server: LocalServer) -> None:
    with build_session() as session:
        with pytest.raises(TypeError, match="timeout"):
            session.get(local_server.url)
        with pytest.raises(TypeError, match="timeout"):
            session.post(local_server.url, json={}, timeout=5)
        assert local_server.requests == []

        response = session.get(local_server.url, timeout=(1, 1))
        assert response.status_code == 200


def test_session_sends_user_agent_and_never_follows_a_redirect_on_post(
    settings: Any, local_server: LocalServer
) -> None:
    local_server.answers["/old"] = (307, {"Location": "/new"}, b"")
    with build_session() as session:
        posted = session.post(f"{local_server.url}/old", json={"a": 1}, timeout=(1, 1))
        fetched = session.get(f"{local_server.url}/old", timeout=(1, 1))

    assert posted.status_code == 307
    assert fetched.status_code == 200  # a GET may follow
    paths = [(method, path) for method, path, _, _ in local_server.requests]
    assert paths == [("POST", "/old"), ("GET", "/old"), ("GET", "/new")]
    assert local_server.requests[0][2]["User-Agent"] == f"ordersite-dashboard/{settings.VERSION}"


def test_redirected_order_post_is_a_configuration_error(
    basic_cimcloud_settings: Any, local_server: LocalServer
) -> None:
    basic_cimcloud_settings.CIMCLOUD_BASE_URL = local_server.url
    local_server.answers["/demo/orderpassthrough/"] = (301, {"Location": "https://elsewhere.invalid/"}, b"")
    with cimcloud_client() as client, pytest.raises(ConfigurationError, match="redirect"):
        client.post_order(cimcloud_payload())
    assert len(local_server.requests) == 1


def test_idle_pooled_connections_are_discarded_before_reuse(local_server: LocalServer) -> None:
    with build_session(idle_seconds=30) as session:
        for _ in range(3):
            session.get(local_server.url, timeout=(1, 1))
    assert len(local_server.connections) == 1  # keep-alive reuse while fresh

    with build_session(idle_seconds=0.05) as session:
        session.get(local_server.url, timeout=(1, 1))
        time.sleep(0.15)
        session.get(local_server.url, timeout=(1, 1))
    assert len(local_server.connections) == 3  # the idle one was not reused


def test_order_body_carries_decimals_as_exact_json_numbers(
    basic_cimcloud_settings: Any, local_server: LocalServer
) -> None:
    basic_cimcloud_settings.CIMCLOUD_BASE_URL = local_server.url
    envelope = b'{"action":"DataImported","success":true,"importedRecords":1,"updatedRecords":0,"message":null}'
    local_server.answers["/demo/orderpassthrough/"] = (200, {}, envelope)
    payload = cimcloud_payload(shipping_total=Decimal("7.50"))
    assert payload["details"][0]["price"] == Decimal("72.00")  # the fixture is read Decimal-exact too

    with cimcloud_client() as client:
        result = client.post_order(payload)

    raw = local_server.requests[0][3].decode()
    assert re.search(r'"price":\s*72\.00[,}]', raw)
    assert re.search(r'"price":\s*20\.00[,}]', raw)
    assert re.search(r'"shipping_total":\s*7\.50[,}]', raw)
    assert result.record.request_body == raw
    assert jsonutil.loads(raw)["details"][0]["price"] == Decimal("72.00")


def test_stored_json_text_is_sent_byte_for_byte_and_its_secrets_still_redacted(local_server: LocalServer) -> None:
    """The outbox sends its stored payload text as it is (no parse and re-encode); the record keeps that exact text
    unless a key in it is a secret's, and a secret the server echoes never reaches the record either."""
    order = '{"order_number":"D-000001","total": 72.00,"name":"Ünïcode Co"}'
    secretive = '{"order_number":"D-000002","Nested":{"PassWord":"hunter2"}}'
    local_server.answers["/echo"] = (200, {}, b'{"ok":true,"seen":"key-123","Token":"t-1"}')
    with build_session() as session:
        records = [
            perform(session, kind="order", method="POST", url=f"{local_server.url}/echo", timeout=(1, 1),
                    body=JsonText(text), secrets=("key-123",)).record
            for text in (order, secretive)
        ]  # fmt: skip
    assert [body for _, _, _, body in local_server.requests] == [order.encode(), secretive.encode()]
    assert records[0].request_body == order
    assert json.loads(records[1].request_body) == {"order_number": "D-000002", "Nested": {"PassWord": "[redacted]"}}
    assert json.loads(records[0].response_body) == {"ok": True, "seen": "[redacted]", "Token": "[redacted]"}


def test_refused_connection_is_retryable(basic_cimcloud_settings: Any) -> None:
    basic_cimcloud_settings.CIMCLOUD_BASE_URL = f"http://127.0.0.1:{free_port()}"
    calls = Calls()
    with cimcloud_client(calls) as client, pytest.raises(RetryableError) as caught:
        client.post_order(cimcloud_payload())
    assert caught.value.record is not None
    assert caught.value.record.status is None
    assert caught.value.record.error_class == "RetryableError"
    assert calls.records == [caught.value.record]


# --- CIMcloud: faults ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_cimcloud_5xx_is_retryable(basic_cimcloud_settings: Any, sim: Any, status: int) -> None:
    sim.faults("cimcloud", error_rate=1, statuses=[status])
    with cimcloud_client() as client, pytest.raises(RetryableError) as caught:
        client.post_order(cimcloud_payload())
    assert caught.value.status == status
    assert caught.value.record.error_class == "RetryableError"
    assert caught.value.record.rate is not None
    # No Retry-After on this 5xx, and the rate-limit reset says nothing about recovery: the outbox's backoff decides.
    assert caught.value.retry_after is None


def test_cimcloud_429_is_retryable_after_the_servers_hint(basic_cimcloud_settings: Any, sim: Any) -> None:
    sim.faults("cimcloud", error_rate=1, statuses=[429], retry_after_s=2)
    with cimcloud_client() as client, pytest.raises(RetryableError) as caught:
        client.post_order(cimcloud_payload())
    assert caught.value.status == 429
    assert caught.value.retry_after == 2
    rate = caught.value.record.rate
    assert rate is not None and rate.limit is not None and rate.remaining is not None and rate.reset_seconds is not None


def test_cimcloud_real_rate_limit_is_retryable_with_the_reset_from_headers(basic_cimcloud_settings: Any) -> None:
    # 100 calls per (15 min / 60) window; paced under the per-second bucket, so the window itself runs out.
    with cimcloud_client() as client:
        records = [client.canary().record for _ in range(100)]
        with pytest.raises(RetryableError) as caught:
            client.canary()
    assert [record.rate.remaining for record in records[-2:]] == [1, 0]
    assert caught.value.status == 429
    assert caught.value.record.rate.remaining == 0
    assert 0 < caught.value.retry_after <= 15


def test_retry_after_falls_back_to_the_rate_limit_reset_for_429_only() -> None:
    headers = {"x-ratelimit-reset": "12.5"}
    assert retry_after_seconds(headers, status=429) == 12.5
    assert retry_after_seconds(headers, status=503) is None
    assert retry_after_seconds({"retry-after": "3", **headers}, status=503) == 3


def test_cimcloud_read_timeout_is_ambiguous(basic_cimcloud_settings: Any, sim: Any) -> None:
    basic_cimcloud_settings.HTTP_READ_TIMEOUT = 0.5
    sim.faults("cimcloud", timeout_rate=1, hang_s=1.5)
    payload = cimcloud_payload()
    started = time.monotonic()
    with cimcloud_client() as client, pytest.raises(AmbiguousError) as caught:
        client.post_order(payload)
    assert time.monotonic() - started < 1.4
    assert caught.value.record.status is None
    assert "ReadTimeout" in caught.value.message
    [entry] = [e for e in sim.received("cimcloud") if e["key"] == payload["order_number"]]
    assert entry["applied"] == 1  # the server did apply it: exactly why the outcome is ambiguous


@pytest.mark.parametrize(
    ("fault", "applied"),
    [("drop_rate", [1]), ("reset_rate", [])],  # drop: applied, then closed; reset: RST before the body was read
)
def test_cimcloud_connection_lost_after_sending_is_ambiguous(
    basic_cimcloud_settings: Any, sim: Any, fault: str, applied: list[int]
) -> None:
    sim.faults("cimcloud", **{fault: 1})
    payload = cimcloud_payload()
    with cimcloud_client() as client, pytest.raises(AmbiguousError) as caught:
        client.post_order(payload)
    assert caught.value.record.status is None
    # The client cannot tell the two apart, and it sent once: the session never retries, the outbox decides.
    entries = [entry for entry in sim.received("cimcloud") if entry["key"] == payload["order_number"]]
    assert [entry["applied"] for entry in entries] == applied
    assert all(entry["count"] == 1 for entry in entries)


def test_cimcloud_malformed_2xx_body_is_ambiguous(basic_cimcloud_settings: Any, sim: Any) -> None:
    sim.faults("cimcloud", malformed_rate=1)
    with cimcloud_client() as client, pytest.raises(AmbiguousError) as caught:
        client.post_order(cimcloud_payload())
    assert caught.value.record.status == 200


def test_interrupted_read_is_only_retryable(basic_cimcloud_settings: Any, sim: Any) -> None:
    sim.faults("cimcloud", drop_rate=1)
    with cimcloud_client() as client, pytest.raises(RetryableError):
        client.validate()  # a GET changes nothing, so a lost answer is not ambiguous


def test_cimcloud_missing_fields_are_permanent_and_named(basic_cimcloud_settings: Any) -> None:
    payload = cimcloud_payload()
    del payload["customer"]["zip"]
    del payload["details"][1]["price"]
    with cimcloud_client() as client, pytest.raises(PermanentError) as caught:
        client.post_order(payload)
    assert caught.value.status == 400
    assert caught.value.field == "customer.zip"
    assert "details[1].price" in caught.value.fields
    assert "customer.zip" in caught.value.message


def test_cimcloud_success_false_is_permanent(basic_cimcloud_settings: Any) -> None:
    payload = cimcloud_payload()
    payload["details"][0]["quantity"] = -2
    with cimcloud_client() as client, pytest.raises(PermanentError) as caught:
        client.post_order(payload)
    assert caught.value.status == 200
    assert caught.value.field == "details[0].quantity"


def test_cimcloud_many_details_are_queued(basic_cimcloud_settings: Any) -> None:
    details = [{"sku": f"SKU{i}", "quantity": 1, "price": Decimal("1.00")} for i in range(11)]
    with cimcloud_client() as client:
        result = client.post_order(cimcloud_payload(details=details))
    assert result.record.status == 202
    assert result.queued and result.success


# --- CIMcloud: auth ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_cimcloud_order_with_bearer_token_then_upsert(cimcloud_settings: Any, sim: Any) -> None:
    calls = Calls()
    payload = cimcloud_payload()
    with cimcloud_client(calls) as client:
        first = client.post_order(payload)
        second = client.post_order(payload)

    assert calls.kinds == ["authenticate", "order", "order"]
    assert (first.success, first.imported_records, first.updated_records) == (True, 1, 0)
    assert (second.imported_records, second.updated_records) == (0, 1)
    assert first.record.status == 200 and first.record.method == "POST"
    assert first.record.url.endswith("/orderpassthrough/")
    rate = first.record.rate
    assert rate is not None and rate.limit is not None and rate.remaining is not None
    assert second.record.rate.remaining < rate.remaining
    [entry] = [e for e in sim.received("cimcloud") if e["key"] == payload["order_number"]]
    assert entry["auth"] == "bearer"
    assert entry["first_body"]["details"][0]["price"] == 72  # arrived as a JSON number, not a string


@pytest.mark.django_db
def test_cimcloud_token_cached_in_database_and_reused_by_another_client(cimcloud_settings: Any) -> None:
    first_calls, second_calls = Calls(), Calls()
    with cimcloud_client(first_calls) as client:
        assert client.validate().ok
    row = ExternalToken.objects.get(destination=DESTINATION)
    assert row.expires_at > timezone.now() + timedelta(days=1)

    with cimcloud_client(second_calls) as client:  # e.g. a restarted worker
        assert client.validate().ok

    assert first_calls.kinds == ["authenticate", "validate"]
    assert second_calls.kinds == ["validate"]


@pytest.mark.django_db
def test_cimcloud_token_refreshed_when_near_expiry(cimcloud_settings: Any) -> None:
    with cimcloud_client() as client:
        client.validate()
    ExternalToken.objects.filter(destination=DESTINATION).update(expires_at=timezone.now() + timedelta(minutes=5))

    calls = Calls()
    with cimcloud_client(calls) as client:
        client.validate()
    assert calls.kinds == ["authenticate", "validate"]
    assert ExternalToken.objects.get(destination=DESTINATION).expires_at > timezone.now() + timedelta(days=1)


@pytest.mark.django_db
def test_cimcloud_reauthenticates_once_on_401(cimcloud_settings: Any, sim: Any) -> None:
    with cimcloud_client() as client:
        client.validate()
    old_token = ExternalToken.objects.get(destination=DESTINATION).token
    assert sim.expire_tokens() >= 1

    calls = Calls()
    with cimcloud_client(calls) as client:
        result = client.post_order(cimcloud_payload())

    assert result.success
    assert calls.kinds == ["order", "authenticate", "order"]
    assert [r.status for r in calls.records] == [401, 200, 200]
    assert calls.records[0].error_class == "UnauthorizedError"
    assert ExternalToken.objects.get(destination=DESTINATION).token != old_token


@pytest.mark.django_db
def test_cimcloud_second_401_after_reauthentication_is_a_configuration_error(
    cimcloud_settings: Any, local_server: LocalServer
) -> None:
    cimcloud_settings.CIMCLOUD_BASE_URL = local_server.url
    token_answer = {"token": "local-token", "expiration": (timezone.now() + timedelta(days=7)).isoformat()}
    local_server.answers["/demo/authenticate"] = (200, {}, json.dumps(token_answer).encode())
    local_server.answers["/demo/orderpassthrough/"] = (401, {}, b'{"success": false, "message": "Denied."}')
    calls = Calls()
    with cimcloud_client(calls) as client, pytest.raises(UnauthorizedError) as caught:
        client.post_order(cimcloud_payload())
    assert calls.kinds == ["authenticate", "order", "authenticate", "order"]
    assert isinstance(caught.value, ConfigurationError)
    assert caught.value.message == "Denied."
    assert [r.error_class for r in calls.records if r.kind == "order"] == ["UnauthorizedError", "UnauthorizedError"]


@pytest.mark.django_db
def test_cimcloud_wrong_credentials_are_configuration_errors(cimcloud_settings: Any) -> None:
    cimcloud_settings.CIMCLOUD_AUTH_PASSWORD = "wrong-password"
    with cimcloud_client() as client, pytest.raises(ConfigurationError):
        client.validate()
    assert not ExternalToken.objects.exists()

    cimcloud_settings.CIMCLOUD_AUTH_MODE = "basic"
    with cimcloud_client() as client, pytest.raises(UnauthorizedError) as caught:
        client.post_order(cimcloud_payload())
    assert caught.value.status == 401
    assert isinstance(caught.value, ConfigurationError)


def test_cimcloud_basic_auth(basic_cimcloud_settings: Any, sim: Any) -> None:
    calls = Calls()
    payload = cimcloud_payload()
    with cimcloud_client(calls) as client:
        assert client.validate().ok
        assert client.post_order(payload).success
    assert calls.kinds == ["validate", "order"]
    [entry] = [e for e in sim.received("cimcloud") if e["key"] == payload["order_number"]]
    assert entry["auth"] == "basic"


def test_cimcloud_canary_needs_no_credentials(basic_cimcloud_settings: Any) -> None:
    basic_cimcloud_settings.CIMCLOUD_AUTH_PASSWORD = "wrong-password"
    calls = Calls()
    with cimcloud_client(calls) as client:
        result = client.canary()
    assert (result.ok, result.status) == (True, "Running")
    assert calls.kinds == ["canary"]


@pytest.mark.parametrize(
    ("name", "mode"),
    [("CIMCLOUD_BASE_URL", "bearer"), ("CIMCLOUD_AUTH_KEY", "bearer"), ("CIMCLOUD_AUTH_PASSWORD", "basic")],
)
def test_cimcloud_missing_setting_is_a_configuration_error_before_any_http(
    cimcloud_settings: Any, sim: Any, name: str, mode: str
) -> None:
    cimcloud_settings.CIMCLOUD_AUTH_MODE = mode
    setattr(cimcloud_settings, name, None)
    calls = Calls()
    with pytest.raises(ConfigurationError) as caught:
        cimcloud_client(calls)
    assert caught.value.setting == name
    assert name in caught.value.message
    assert caught.value.record is None
    assert calls.kinds == []
    assert sim.received("cimcloud") == []


@pytest.mark.django_db
def test_secrets_never_reach_the_call_records(cimcloud_settings: Any) -> None:
    calls = Calls()
    with cimcloud_client(calls) as client:
        client.post_order(cimcloud_payload())
    token = ExternalToken.objects.get(destination=DESTINATION).token
    config = CimcloudConfig.from_settings()
    secrets = [token, config.password, str(config.auth_key)]

    authenticate = calls.records[0]
    assert authenticate.kind == "authenticate"
    assert json.loads(authenticate.request_body)["AuthPassword"] == "[redacted]"
    assert json.loads(authenticate.request_body)["AuthKey"] == "[redacted]"
    assert json.loads(authenticate.response_body)["token"] == "[redacted]"
    for record in calls.records:
        assert_no_secrets(record, secrets)
    assert config.password not in repr(config)


# --- TulaERP --------------------------------------------------------------------------------------------------


def test_tulaerp_create_then_repeat_returns_the_same_order(tulaerp_settings: Any, sim: Any) -> None:
    payload = tulaerp_payload()
    calls = Calls()
    with TulaerpClient.from_settings(**calls.hooks()) as client:
        created = client.post_order(payload)
        repeated = client.post_order(payload)

    assert (created.created, created.record.status) == (True, 201)
    assert (repeated.created, repeated.record.status) == (False, 200)
    assert repeated.id == created.id
    assert repeated.short_order_number == created.short_order_number
    assert re.fullmatch(r"TU\d+", created.short_order_number)
    assert created.body["orderNumber"] == payload["orderNumber"]
    assert calls.kinds == ["order", "order"]
    assert_no_secrets(created.record, [tulaerp_settings.TULAERP_AUTH_VALUE])
    [entry] = [e for e in sim.received("tulaerp") if e["key"] == payload["orderNumber"]]
    assert entry["count"] == 2 and entry["assigned_id"] == created.id


def test_tulaerp_order_shows_shipments_after_fulfilment(tulaerp_settings: Any) -> None:
    with TulaerpClient.from_settings() as client:
        created = client.post_order(tulaerp_payload())
        deadline = time.monotonic() + 10
        order = client.get_order(created.short_order_number)
        while not order.body.get("orderShipments") and time.monotonic() < deadline:
            time.sleep(0.25)
            order = client.get_order(created.short_order_number)
        shipment = client.get_shipment(created.short_order_number)

    assert order.id == created.id and not order.created
    [first_shipment, *_] = order.body["orderShipments"]
    packages = first_shipment["orderShipmentPackages"]
    assert 1 <= len(packages) <= 3
    assert all(package["trackingNumber1"] and package["shipCarrier"] for package in packages)
    assert shipment.short_order_number == created.short_order_number
    assert shipment.packages


def test_tulaerp_unknown_order_is_not_found(tulaerp_settings: Any) -> None:
    with TulaerpClient.from_settings() as client, pytest.raises(NotFoundError) as caught:
        client.get_order("TU9999999")
    assert isinstance(caught.value, PermanentError)
    assert caught.value.not_found and caught.value.status == 404


def test_tulaerp_validation_error_names_the_model_state_field(tulaerp_settings: Any) -> None:
    payload = tulaerp_payload()
    del payload["shipZip"]
    with TulaerpClient.from_settings() as client, pytest.raises(PermanentError) as caught:
        client.post_order(payload)
    assert caught.value.status == 400
    assert caught.value.field == "order.shipZip"
    assert not caught.value.not_found


def test_tulaerp_faults(tulaerp_settings: Any, sim: Any) -> None:
    with TulaerpClient.from_settings() as client:
        sim.faults("tulaerp", error_rate=1, statuses=[500])
        with pytest.raises(RetryableError):
            client.post_order(tulaerp_payload())
        sim.faults("tulaerp", error_rate=0, drop_rate=1)
        with pytest.raises(AmbiguousError):
            client.post_order(tulaerp_payload())


def test_tulaerp_wrong_key_is_a_configuration_error(tulaerp_settings: Any) -> None:
    tulaerp_settings.TULAERP_AUTH_VALUE = "wrong-key"
    with TulaerpClient.from_settings() as client, pytest.raises(ConfigurationError) as caught:
        client.post_order(tulaerp_payload())
    assert caught.value.status == 401


def test_tulaerp_missing_settings(tulaerp_settings: Any) -> None:
    tulaerp_settings.TULAERP_BASE_URL = None
    with pytest.raises(ConfigurationError) as caught:
        TulaerpConfig.from_settings()
    assert caught.value.setting == "TULAERP_BASE_URL"

    tulaerp_settings.TULAERP_BASE_URL = "http://127.0.0.1:1"
    tulaerp_settings.TULAERP_BASIC_USERNAME = "someone"
    with pytest.raises(ConfigurationError) as caught:
        TulaerpConfig.from_settings()
    assert caught.value.setting == "TULAERP_BASIC_PASSWORD"


def test_tulaerp_basic_auth_header(tulaerp_settings: Any, local_server: LocalServer) -> None:
    tulaerp_settings.TULAERP_BASE_URL = local_server.url
    tulaerp_settings.TULAERP_BASIC_USERNAME = "erp-user"
    tulaerp_settings.TULAERP_BASIC_PASSWORD = "erp-secret"
    local_server.answers["/api/v1/Orders"] = (201, {}, b'{"id": 7, "shortOrderNumber": "TU0000007"}')
    with TulaerpClient.from_settings() as client:
        result = client.post_order(tulaerp_payload())
    headers = local_server.requests[0][2]
    assert headers["Authorization"] == "Basic ZXJwLXVzZXI6ZXJwLXNlY3JldA=="
    assert "X-Api-Key" not in headers
    assert (result.id, result.created) == (7, True)


# --- the recording helper -------------------------------------------------------------------------------------


def test_perform_records_and_truncates(local_server: LocalServer) -> None:
    big = json.dumps({"items": ["x" * 100] * 200, "token": "abc-secret"}).encode()
    local_server.answers["/big"] = (
        200,
        {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "98", "X-RateLimit-Reset": "42"},
        big,
    )
    with build_session() as session:
        response = perform(
            session, kind="test", method="GET", url=f"{local_server.url}/big", timeout=(1, 1), secrets=["abc-secret"]
        )
    record = response.record
    assert (record.method, record.status, record.kind) == ("GET", 200, "test")
    assert record.rate is not None and (record.rate.limit, record.rate.remaining) == (100, 98)
    assert record.rate.reset_seconds == 42
    assert record.request_body is None
    assert len(record.response_body) < 8 * 1024 + 100 and "truncated" in record.response_body
    assert "abc-secret" not in record.response_body
    assert response.data["token"] == "abc-secret"  # the caller still gets the real answer
