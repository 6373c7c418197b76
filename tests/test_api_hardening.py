"""The API's cross-cutting rules: Idempotency-Key, the one error shape for every bad request, body and line
limits, per-token throttles in the configured cache, and create-with-submit as one transaction."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from orders.integrations import jsonutil
from orders.models import IdempotencyKey, Order, OrderEvent, OutboxMessage, Shipment
from orders.services import Actor
from tests.test_api_orders import NEW_ORDER, ORDERS, SHIPMENTS, _client, _error, _json, _submitted
from tests.test_api_tokens import _token

IMPORT = ORDERS + "import/cimcloud/"
KEY = "HTTP_IDEMPOTENCY_KEY"


@pytest.fixture
def api(operator) -> APIClient:
    return _client(operator)


def _create(client: APIClient, body: Any = NEW_ORDER, url: str = ORDERS, **headers: str):
    return client.post(url, data=jsonutil.dumps(body), content_type="application/json", **headers)


# --- Idempotency-Key ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_key_and_body_replay_the_first_answer_and_create_nothing(api, customer):
    first = _create(api, **{KEY: "k-1"})
    assert first.status_code == 201, first.content
    events = OrderEvent.objects.count()

    again = _create(api, **{KEY: "k-1"})
    assert again.status_code == 201 and again.content == first.content
    assert again["Location"] == first["Location"] and again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1 and OrderEvent.objects.count() == events

    # Key order and spacing do not make another request; a new key does.
    reordered = '{"lines": ' + jsonutil.dumps(NEW_ORDER["lines"]) + ", " + jsonutil.dumps(NEW_ORDER)[1:]
    same = api.post(ORDERS, data=reordered, content_type="application/json", **{KEY: "k-1"})
    assert same.status_code == 201 and same.content == first.content
    assert _create(api, **{KEY: "k-2"}).status_code == 201 and Order.objects.count() == 2
    assert _create(api).status_code == 201 and Order.objects.count() == 3  # no key: no protection


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_422(api, customer):
    assert _create(api, **{KEY: "k-1"}).status_code == 201
    body = _error(_create(api, {**NEW_ORDER, "po_number": "PO-OTHER"}, **{KEY: "k-1"}), 422, "idempotency_key_reused")
    assert "Idempotency-Key" in body["detail"] and Order.objects.count() == 1
    # The same key on another endpoint is another request too.
    _error(_create(api, {"orderShipments": []}, f"{ORDERS}D-000001/shipments/", **{KEY: "k-1"}), 422)


@pytest.mark.django_db
def test_a_key_still_in_progress_is_409_with_retry_after(api, operator, customer, monkeypatch):
    from orders.api import order_views

    real = order_views.order_create
    seen: list[Any] = []

    def create_while_a_repeat_arrives(**kwargs):
        seen.append(_create(api, **{KEY: "slow"}))  # the client's impatient retry, while the first still runs
        return real(**kwargs)

    monkeypatch.setattr(order_views, "order_create", create_while_a_repeat_arrives)
    first = _create(api, **{KEY: "slow"})

    assert first.status_code == 201
    repeat = seen[0]
    _error(repeat, 409, "idempotency_key_in_progress")
    assert repeat["Retry-After"] == "1" and Order.objects.count() == 1
    monkeypatch.setattr(order_views, "order_create", real)
    assert _create(api, **{KEY: "slow"}).content == first.content  # finished: now it replays


@pytest.mark.django_db
def test_keys_are_per_user_expire_after_24_hours_and_are_at_most_255_characters(api, operator2, customer):
    assert _create(api, **{KEY: "shared"}).status_code == 201
    other = _client(operator2)
    assert _create(other, **{KEY: "shared"}).status_code == 201  # another user's key space
    assert Order.objects.count() == 2

    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    assert "Idempotent-Replayed" not in _create(api, **{KEY: "shared"})
    assert Order.objects.count() == 3

    assert _create(api, **{KEY: "x" * 255}).status_code == 201
    body = _error(_create(api, **{KEY: "x" * 256}), 400, "invalid")
    assert list(body["errors"]) == ["Idempotency-Key"]
    _error(_create(api, **{KEY: " "}), 400, "invalid")


@pytest.mark.django_db
def test_errors_below_500_are_replayed_and_server_errors_release_the_key(api, customer, monkeypatch):
    bad = {**NEW_ORDER, "lines": [{"sku": "A", "quantity": 0, "unit_price": 1}]}
    refused = _create(api, bad, **{KEY: "bad"})
    assert refused.status_code == 400
    assert _create(api, bad, **{KEY: "bad"}).content == refused.content

    from orders.api import order_views

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(order_views, "order_create", broken)
    _error(_create(api, **{KEY: "flaky"}), 500, "server_error")
    assert not IdempotencyKey.objects.filter(key="flaky").exists()
    monkeypatch.undo()
    assert _create(api, **{KEY: "flaky"}).status_code == 201  # the retry runs for real


@pytest.mark.django_db
def test_an_abandoned_key_is_taken_over_after_its_lock(api, operator, customer):
    # A process died after claiming the key: nothing was created, and the key must not block forever.
    now = timezone.now()
    IdempotencyKey.objects.create(
        user=operator, key="dead", fingerprint="?", created_at=now, locked_until=now - timedelta(seconds=1)
    )
    assert _create(api, **{KEY: "dead"}).status_code == 201


@pytest.mark.django_db
def test_the_import_and_the_shipments_upsert_honour_the_key(api, make_order, operator):
    text = (Path(__file__).parent / "fixtures" / "cimcloud-orderpassthrough.example.json").read_text()
    first = api.post(IMPORT, data=text, content_type="application/json", **{KEY: "imp"})
    again = api.post(IMPORT, data=text, content_type="application/json", **{KEY: "imp"})
    assert first.status_code == again.status_code == 201 and again.content == first.content
    assert Order.objects.filter(order_number="Z100009").count() == 1  # not a 409 "number taken"

    order = _submitted(make_order, operator)
    url = f"{ORDERS}{order.order_number}/shipments/"
    one = _create(api, SHIPMENTS, url, **{KEY: "ship"})
    assert _create(api, SHIPMENTS, url, **{KEY: "ship"})["Idempotent-Replayed"] == "true"
    assert one.status_code == 200 and Shipment.objects.filter(order=order).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_order(operator, customer, monkeypatch):
    """Eight threads (eight database connections) send one key at once; each create is slowed so they overlap."""
    from orders.api import order_views

    real = order_views.order_create

    def slow_create(**kwargs):
        time.sleep(0.3)
        return real(**kwargs)

    monkeypatch.setattr(order_views, "order_create", slow_create)
    raw = _token(operator)
    start = threading.Barrier(8)
    results: list[tuple[int, bytes]] = []

    def send() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer " + raw)
        try:
            start.wait()
            response = _create(client, **{KEY: "race"})
            results.append((response.status_code, response.content))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert Order.objects.count() == 1
    statuses = sorted(status for status, _ in results)
    assert len(statuses) == 8 and statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    created = {content for status, content in results if status == 201}
    assert len(created) == 1  # any 201 after the first is its replay
    assert IdempotencyKey.objects.get(key="race").response_status == 201


# --- one error shape for every bad request ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", [ORDERS, IMPORT])
@pytest.mark.parametrize(
    ("text", "status", "type_"),
    [
        ('{"po_number": ', 400, "malformed_json"),
        ("[1, 2]", 400, "invalid"),
        ('"an order"', 400, "invalid"),
        ("null", 400, "invalid"),
        ("\xff", 400, "malformed_json"),
    ],
)
def test_bodies_that_are_not_objects_are_one_shaped_errors(api, customer, url, text, status, type_):
    _error(api.post(url, data=text.encode("latin-1"), content_type="application/json"), status, type_)
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_wrong_types_and_unknown_fields_are_named_by_path(api, customer):
    bad = {
        **NEW_ORDER,
        "submit": "often",
        "destinations": "tulaerp",
        "customer": {"customer_no": 7, "colour": "red"},
        "lines": [{"sku": ["A"], "quantity": Decimal("1.5"), "unit_price": "cheap"}],
    }
    errors = _error(_create(api, bad), 400, "invalid")["errors"]
    assert {
        "submit",
        "destinations",
        "customer.colour",
        "lines[0].sku",
        "lines[0].quantity",
        "lines[0].unit_price",
    } <= set(errors)
    assert all(isinstance(messages, list) and messages for messages in errors.values())


@pytest.mark.django_db
def test_too_many_lines_is_refused_by_the_setting(api, customer, settings):
    line = NEW_ORDER["lines"][0]
    errors = _error(_create(api, {**NEW_ORDER, "lines": [line] * (settings.ORDER_MAX_LINES + 1)}), 400)["errors"]
    assert "lines" in errors and str(settings.ORDER_MAX_LINES) in errors["lines"][0]
    assert not Order.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", [ORDERS, IMPORT])
def test_an_oversized_body_is_413_before_it_is_read(api, customer, settings, url):
    settings.API_MAX_BODY_BYTES = 2000
    big = {**NEW_ORDER, "comments": "x" * 3000}
    body = _error(_create(api, big, url), 413, "too_large")
    assert "2000" in body["detail"] and not Order.objects.exists()
    assert _create(api, NEW_ORDER).status_code == 201  # a normal body passes the limit


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_wrong_content_type_is_415(api, customer, content_type):
    response = api.post(ORDERS, data="a=1", content_type=content_type, **{KEY: "ct"})
    _error(response, 415, "unsupported_media_type")
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_missing_orders_and_draft_only_actions_have_their_statuses(api, make_order, operator):
    _error(api.post(f"{ORDERS}X-404/submit/"), 404, "not_found")
    _error(api.patch(f"{ORDERS}X-404/", data="{}", content_type="application/json"), 404, "not_found")
    order = _submitted(make_order, operator)
    _error(api.post(f"{ORDERS}{order.order_number}/submit/"), 409, "invalid_transition")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/", "/api/v2/orders/", "/api/v1/orders/x/y/z"])
def test_paths_outside_the_routes_answer_json_not_html(operator, path):
    client = Client(raise_request_exception=False)
    body = _json(client.get(path))  # anonymous: a JSON 401, not a redirect to the sign-in page
    assert body["type"] == "not_authenticated"
    client.force_login(operator)
    response = client.get(path)
    assert response.status_code == 404
    body = _json(response)
    assert body["type"] == "not_found" and body["errors"] == {}


@pytest.mark.django_db
def test_an_error_django_answers_before_drf_is_json_too():
    # A foreign Host header is refused by Django itself (its 400 page), before any API view runs.
    response = Client(raise_request_exception=False).get(ORDERS, HTTP_HOST="evil.example")
    assert response.status_code == 400
    body = _json(response)
    assert body["type"] == "bad_request" and body["errors"] == {}


@pytest.mark.django_db
def test_an_unexpected_error_while_authenticating_is_a_json_500(operator, monkeypatch):
    from orders.api import authentication

    def broken(raw):
        raise RuntimeError("token store down")

    monkeypatch.setattr(authentication, "api_token_authenticate", broken)
    client = Client(raise_request_exception=False)
    response = client.get(ORDERS, HTTP_AUTHORIZATION="Bearer abc")
    assert response.status_code == 500
    body = _json(response)
    assert body["type"] == "server_error" and "token store" not in response.text


# --- create with submit: one transaction ----------------------------------------------------------------------


@pytest.mark.django_db
def test_create_with_a_refused_submit_keeps_nothing(api, customer):
    body = {**NEW_ORDER, "submit": True, "ship_to": {**NEW_ORDER["ship_to"], "country_code": "CAN"}}
    errors = _error(_create(api, body), 400, "invalid")["errors"]
    assert "ship_to.country_code" in errors  # TulaERP ships only to the configured countries
    assert not Order.objects.exists() and not OutboxMessage.objects.exists() and not OrderEvent.objects.exists()
    # The same body as a draft is kept, to be fixed before it is sent.
    assert _json(_create(api, {**body, "submit": False}))["state"] == "draft"


@pytest.mark.django_db
def test_the_contracts_assumed_lengths_are_settings_that_send_an_order_to_review(api, customer, settings):
    settings.CIMCLOUD_MAX_LENGTHS = {**settings.CIMCLOUD_MAX_LENGTHS, "city": 5}
    body = _json(_create(api, {**NEW_ORDER, "submit": True}))  # "Portland" is longer than 5
    assert body["state"] == "awaiting_review"
    assert any("5 characters" in reason["message"] for reason in body["review_reasons"])


@pytest.mark.django_db
def test_shipments_on_a_draft_are_refused_by_the_service(make_order, operator):
    from orders import services
    from orders.errors import InvalidTransition

    draft = make_order(operator)
    with pytest.raises(InvalidTransition):
        services.shipment_upsert(
            actor=Actor.system("t"), order_id=draft.pk, shipments=[services.ShipmentData(tulaerp_id=1)]
        )
    assert not Shipment.objects.exists()


# --- throttles ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reads_and_writes_are_throttled_per_token_with_retry_after(operator, customer, settings):
    settings.API_THROTTLE_RATES = {"read": "3/minute", "write": "1/minute"}
    one = _client(operator)
    for _ in range(3):
        assert one.get(ORDERS).status_code == 200
    throttled = one.get(ORDERS)
    body = _error(throttled, 429, "throttled")
    assert 1 <= int(throttled["Retry-After"]) <= 60 and body["errors"] == {}

    assert _create(one).status_code == 201  # writes have their own budget
    _error(_create(one), 429, "throttled")
    assert Order.objects.count() == 1

    other = _client(operator)  # the same user's other token (another tool) has its own budget
    assert other.get(ORDERS).status_code == 200


@pytest.mark.django_db
def test_throttle_counts_live_in_the_configured_cache(operator, settings):
    settings.API_THROTTLE_RATES = {"read": "2/minute", "write": "2/minute"}
    client = _client(operator)
    client.get(ORDERS)
    client.get(ORDERS)
    assert client.get(ORDERS).status_code == 429
    caches["default"].clear()  # what another process would see after a restart of a per-process cache
    assert client.get(ORDERS).status_code == 200


def _redis_url() -> str:
    return "redis://127.0.0.1:6379/15"


@pytest.mark.django_db
def test_with_redis_every_process_shares_the_counts(operator, settings):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(_redis_url(), socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("needs Redis on 127.0.0.1:6379 (REDIS_URL in production)")
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis_url(),
            "KEY_PREFIX": prefix,
        }
    }
    settings.API_THROTTLE_RATES = {"read": "2/minute", "write": "2/minute"}
    client = _client(operator)
    client.get(ORDERS)
    client.get(ORDERS)
    assert client.get(ORDERS).status_code == 429
    stored = redis.Redis.from_url(_redis_url()).keys(f"{prefix}:*api-throttle:read:*")
    assert len(stored) == 1  # the history is in Redis, where any web process reads it
    caches["default"].clear()


def test_redis_url_selects_the_redis_cache():
    import subprocess
    import sys

    from tests.test_settings import ROOT

    code = "import django; django.setup(); from django.conf import settings as s; print(s.CACHES['default'])"
    env = {"DJANGO_SETTINGS_MODULE": "ordersite.settings", "DJANGO_DEBUG": "1", "PATH": "/usr/bin:/bin"}
    with_redis = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**env, "REDIS_URL": "redis://127.0.0.1:6379/3"},
    )  # fmt: skip
    assert "RedisCache" in with_redis.stdout and "redis://127.0.0.1:6379/3" in with_redis.stdout, with_redis.stderr
    without = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env
    )
    assert "LocMemCache" in without.stdout, without.stderr
