"""The local simulators over real HTTP on loopback (no database).

Most CIMcloud behaviour runs against the `--no-limits` process, so that the x60-scaled 1-second bucket (two
calls per 17 ms) never gets in the way; the rate-limit tests use the limited process and a small-window variant.
"""

from __future__ import annotations

import copy
import http.client
import json
import random
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from orders.simulators import carriers
from orders.simulators.cimcloud import CimcloudConfig
from orders.simulators.process import SimulatorProcess, sim_call
from orders.simulators.runner import start_simulators
from orders.simulators.tulaerp import TulaerpConfig
from tests.sim_fixtures import TEST_ARGS, start_simulator_process

FIXTURES = Path(__file__).parent / "fixtures"
CIM_EXAMPLE = json.loads((FIXTURES / "cimcloud-orderpassthrough.example.json").read_text())
TULA_SAMPLE = json.loads((FIXTURES / "tulaerp-order.request.sample.json").read_text())
TIMEOUT = (2, 5)
# Written out here rather than imported, so the test checks the simulator against the carriers' formats.
TRACKING_FORMATS = {
    "UPS": r"1Z[0-9A-Z]{6}\d{2}\d{8}",  # shipper, service code, package number + check digit
    "FedEx": r"\d{12}",
    "USPS": r"(9400|9205|9261|9270|9274)\d{18}",
}


# --- helpers -------------------------------------------------------------------------------------------------


def cim_order(number: str = "Z100009", **changes: Any) -> dict[str, Any]:
    order = copy.deepcopy(CIM_EXAMPLE)
    order["order_number"] = number
    order.update(changes)
    return order


def basic(sim: SimulatorProcess) -> tuple[str, str]:
    return sim.cimcloud_auth["AuthUserName"], sim.cimcloud_auth["AuthPassword"]


def token(sim: SimulatorProcess) -> str:
    response = requests.post(sim.cimcloud_url + "authenticate", json=sim.cimcloud_auth, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def post_cim(sim: SimulatorProcess, order: Any, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("auth", basic(sim))
    kwargs.setdefault("timeout", TIMEOUT)
    return requests.post(sim.cimcloud_url + "orderpassthrough/", json=order, **kwargs)


def tula_order(**changes: Any) -> dict[str, Any]:
    order = {
        "orderNumber": str(uuid.uuid4()),
        "clientId": 1,
        "memberId": 1,
        "orderTypeId": "Standard",
        "orderSourceId": "Api",
        "orderDate": "2025-12-19T20:17:43+00:00",
        "shipName": "Jane Roe",
        "shipAddress1": "456 Shipping St",
        "shipCity": "Shipping City",
        "shipState": "CA",
        "shipZip": "54321",
        "orderItems": [{"itemCode": "SOFTOFF365", "quantity": 2}, {"itemCode": "MGPAINT1", "quantity": 3}],
    }
    order.update(changes)
    return order


def post_tula(sim: SimulatorProcess, order: Any, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("headers", sim.tulaerp_headers)
    kwargs.setdefault("timeout", TIMEOUT)
    return requests.post(sim.tulaerp_url + "api/v1/Orders", json=order, **kwargs)


def get_tula(sim: SimulatorProcess, path: str) -> requests.Response:
    return requests.get(sim.tulaerp_url + path, headers=sim.tulaerp_headers, timeout=TIMEOUT)


def paced(send: Callable[[], requests.Response]) -> requests.Response:
    """Retry a call refused by the 1-second bucket after its Retry-After (it does not count)."""
    for _ in range(20):
        response = send()
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers["Retry-After"]))
    raise AssertionError("still rate-limited")


def entry(sim: SimulatorProcess, which: str, key: str) -> dict[str, Any]:
    found = [item for item in sim.received(which) if item["key"] == key]
    assert len(found) == 1, sim.received(which)
    return found[0]


def unstamped(value: Any) -> Any:
    """Without the per-response executionTime and txID."""
    if isinstance(value, dict):
        return {k: unstamped(v) for k, v in value.items() if k not in ("executionTime", "txID")}
    if isinstance(value, list):
        return [unstamped(v) for v in value]
    return value


def objects(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from objects(child)
    elif isinstance(value, list):
        for child in value:
            yield from objects(child)


# --- CIMcloud: auth and routes ---------------------------------------------------------------------------------


def test_canary_needs_no_auth_and_carries_rate_headers(sim_no_limits: SimulatorProcess) -> None:
    response = requests.get(sim_no_limits.cimcloud_url + "healthcheck/canary", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {"status": "Running"}
    assert response.headers["X-RateLimit-Limit"] == "100"
    assert response.headers["X-RateLimit-Remaining"] == "100"  # no limits: stays at the limit


def test_authenticate_issues_tokens_that_expire_in_seven_days(sim_no_limits: SimulatorProcess) -> None:
    response = requests.post(sim_no_limits.cimcloud_url + "authenticate", json=sim_no_limits.cimcloud_auth, timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"expiration", "token"} and len(body["token"]) >= 32
    from datetime import UTC, datetime, timedelta

    lifetime = datetime.fromisoformat(body["expiration"]) - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < lifetime <= timedelta(days=7)
    assert token(sim_no_limits) != body["token"]  # any number may be issued


@pytest.mark.parametrize("field", ["AuthKey", "AuthUserName", "AuthPassword"])
def test_authenticate_rejects_wrong_credentials(sim_no_limits: SimulatorProcess, field: str) -> None:
    credentials = {**sim_no_limits.cimcloud_auth, field: "wrong"}
    response = requests.post(sim_no_limits.cimcloud_url + "authenticate", json=credentials, timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.headers["X-RateLimit-Limit"] == "100"


def test_healthcheck_needs_a_bearer_token(sim_no_limits: SimulatorProcess) -> None:
    url = sim_no_limits.cimcloud_url + "healthcheck"
    body = requests.get(url, headers=bearer(token(sim_no_limits)), timeout=TIMEOUT).json()
    assert body["databaeConnection"] and body["usingStagingDB"] == "False"
    assert requests.get(url, timeout=TIMEOUT).status_code == 401
    assert requests.get(url, auth=basic(sim_no_limits), timeout=TIMEOUT).status_code == 401


def test_validate_accepts_bearer_and_basic_only_when_right(sim_no_limits: SimulatorProcess) -> None:
    url = sim_no_limits.cimcloud_url + "validate"
    user, _ = basic(sim_no_limits)
    assert requests.get(url, headers=bearer(token(sim_no_limits)), timeout=TIMEOUT).status_code == 200
    assert requests.get(url, auth=basic(sim_no_limits), timeout=TIMEOUT).status_code == 200
    assert requests.get(url, auth=(user, "nope"), timeout=TIMEOUT).status_code == 401
    assert requests.get(url, headers=bearer("made-up"), timeout=TIMEOUT).status_code == 401
    assert requests.get(url, timeout=TIMEOUT).status_code == 401


def test_other_site_name_is_404_json(sim_no_limits: SimulatorProcess) -> None:
    url = sim_no_limits.cimcloud_root + "othersite/orderpassthrough/"
    response = requests.post(url, json=cim_order(), auth=basic(sim_no_limits), timeout=TIMEOUT)
    assert response.status_code == 404
    assert "othersite" in response.json()["message"]
    assert "X-RateLimit-Remaining" in response.headers
    assert sim_no_limits.received("cimcloud") == []


@pytest.mark.parametrize("path", ["orderpassthrough/", "orderpassthrough"])
def test_order_accepted_with_basic_and_bearer(sim_no_limits: SimulatorProcess, path: str) -> None:
    url = sim_no_limits.cimcloud_url + path
    first = requests.post(url, json=cim_order("A-1"), auth=basic(sim_no_limits), timeout=TIMEOUT)
    second = requests.post(url, json=cim_order("A-2"), headers=bearer(token(sim_no_limits)), timeout=TIMEOUT)
    expected = {
        "action": "DataImported",
        "success": True,
        "importedRecords": 1,
        "updatedRecords": 0,
        "recordCountInRequest": 1,
        "message": None,
    }
    assert (first.status_code, first.json()) == (200, expected)
    assert (second.status_code, second.json()) == (200, expected)
    assert [entry(sim_no_limits, "cimcloud", key)["auth"] for key in ("A-1", "A-2")] == ["basic", "bearer"]
    assert entry(sim_no_limits, "cimcloud", "A-1")["first_body"] == cim_order("A-1")


def test_order_without_valid_credentials_is_401_and_logged(sim_no_limits: SimulatorProcess) -> None:
    response = post_cim(sim_no_limits, cim_order("NOAUTH"), auth=("someone", "else"))
    assert response.status_code == 401
    assert response.json()["success"] is False
    logged = entry(sim_no_limits, "cimcloud", "NOAUTH")
    assert (logged["count"], logged["accepted"], logged["applied"], logged["auth"]) == (1, 0, 0, "basic")


def test_expired_tokens_are_refused_until_reauthentication(sim_no_limits: SimulatorProcess) -> None:
    old = token(sim_no_limits)
    assert post_cim(sim_no_limits, cim_order(), auth=None, headers=bearer(old)).status_code == 200
    assert sim_no_limits.expire_tokens() >= 1
    assert post_cim(sim_no_limits, cim_order(), auth=None, headers=bearer(old)).status_code == 401
    fresh = token(sim_no_limits)
    assert post_cim(sim_no_limits, cim_order(), auth=None, headers=bearer(fresh)).json()["updatedRecords"] == 1


# --- CIMcloud: validation and outcomes -------------------------------------------------------------------------

REQUIRED_PATHS = [
    "order_number",
    *(f"customer.{name}" for name in ("name", "address1", "city", "state", "zip", "country_code")),
    *(f"shipping_address.{name}" for name in ("address1", "city", "state", "zip", "country_code")),
    *(f"details[{i}].{name}" for i in (0, 1) for name in ("sku", "quantity", "price")),
]


def _without(order: dict[str, Any], path: str, empty: bool) -> dict[str, Any]:
    match = re.fullmatch(r"(\w+)(?:\[(\d)\])?(?:\.(\w+))?", path)
    assert match is not None
    section, index, name = match.groups()
    target = order[section] if name else order
    if index is not None:
        target = target[int(index)]
    key = name or section
    if empty:
        target[key] = ""
    else:
        del target[key]
    return order


@pytest.mark.parametrize("empty", [False, True], ids=["absent", "empty"])
@pytest.mark.parametrize("path", REQUIRED_PATHS)
def test_each_missing_required_field_is_named(sim_no_limits: SimulatorProcess, path: str, empty: bool) -> None:
    response = post_cim(sim_no_limits, _without(cim_order(), path, empty))
    assert response.status_code == 400
    assert response.json() == {
        "action": "DataImported",
        "success": False,
        "importedRecords": 0,
        "updatedRecords": 0,
        "recordCountInRequest": 1,
        "message": f"Missing required field(s): {path}",
    }


def test_every_missing_field_is_listed_in_order(sim_no_limits: SimulatorProcess) -> None:
    order = cim_order()
    del order["customer"]["zip"]
    order["details"][1]["price"] = None
    order["shipping_address"] = "not an object"
    message = post_cim(sim_no_limits, order).json()["message"]
    shipping = ", ".join(f"shipping_address.{n}" for n in ("address1", "city", "state", "zip", "country_code"))
    assert message == f"Missing required field(s): customer.zip, {shipping}, details[1].price"


@pytest.mark.parametrize("details", [None, [], "x"], ids=["absent", "empty", "not-a-list"])
def test_details_must_be_a_non_empty_list(sim_no_limits: SimulatorProcess, details: Any) -> None:
    order = cim_order()
    if details is None:
        del order["details"]
    else:
        order["details"] = details
    response = post_cim(sim_no_limits, order)
    assert (response.status_code, response.json()["message"]) == (400, "Missing required field(s): details")


@pytest.mark.parametrize("body", [b"[1, 2]", b"{not json", b"", b'"text"'])
def test_body_that_is_not_a_json_object_is_400(sim_no_limits: SimulatorProcess, body: bytes) -> None:
    url = sim_no_limits.cimcloud_url + "orderpassthrough/"
    response = requests.post(url, data=body, auth=basic(sim_no_limits), timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json()["success"] is False and response.json()["message"]


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("quantity", 0, "must be a positive integer"),
        ("quantity", -2, "must be a positive integer"),
        ("quantity", 1.5, "must be a positive integer"),
        ("quantity", "2", "must be a positive integer"),
        ("price", -1, "must be a non-negative number"),
        ("price", "72.00", "must be a non-negative number"),
    ],
)
def test_invalid_values_answer_200_success_false(
    sim_no_limits: SimulatorProcess, field: str, value: Any, rule: str
) -> None:
    order = cim_order("BAD-1")
    order["details"][0][field] = value
    response = post_cim(sim_no_limits, order)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False and body["importedRecords"] == 0
    assert body["message"] == f"Invalid value for details[0].{field}: {rule}"
    logged = entry(sim_no_limits, "cimcloud", "BAD-1")
    assert (logged["accepted"], logged["applied"]) == (1, 0)  # a 2xx answer, but nothing stored
    # Not stored: the corrected order is an insert, not an update.
    assert post_cim(sim_no_limits, cim_order("BAD-1")).json()["importedRecords"] == 1


def test_repeated_order_number_upserts(sim_no_limits: SimulatorProcess) -> None:
    first = post_cim(sim_no_limits, cim_order("UP-1")).json()
    second = post_cim(sim_no_limits, cim_order("UP-1", comments="changed")).json()
    assert (first["importedRecords"], first["updatedRecords"]) == (1, 0)
    assert (second["importedRecords"], second["updatedRecords"]) == (0, 1)
    logged = entry(sim_no_limits, "cimcloud", "UP-1")
    assert (logged["count"], logged["accepted"], logged["applied"]) == (2, 2, 2)
    assert logged["first_body"]["comments"] == "Test Order" and logged["last_body"]["comments"] == "changed"


def test_more_detail_lines_than_max_are_queued(sim_no_limits: SimulatorProcess) -> None:
    lines = [{"sku": f"SKU{i}", "quantity": 1, "price": 1.5} for i in range(11)]  # CIMCLOUD_SYNC_MAX_DETAILS=10
    response = post_cim(sim_no_limits, cim_order("BIG-1", details=lines))
    assert response.status_code == 202
    assert response.json()["action"] == "Queued" and response.json()["success"] is True
    assert post_cim(sim_no_limits, cim_order("BIG-1", details=lines[:10])).json()["updatedRecords"] == 1


# --- CIMcloud: rate limits -------------------------------------------------------------------------------------


def test_rate_headers_on_every_answer_and_every_call_counts(sim: SimulatorProcess) -> None:
    sim.faults("cimcloud", error_rate=0.0)
    user, password = basic(sim)
    url = sim.cimcloud_url
    calls = [
        lambda: requests.get(url + "validate", auth=(user, password), timeout=TIMEOUT),  # 200
        lambda: requests.get(url + "validate", auth=(user, "wrong"), timeout=TIMEOUT),  # 401, same user
        lambda: requests.get(sim.cimcloud_root + "nosite/validate", auth=(user, password), timeout=TIMEOUT),  # 404
        lambda: requests.post(url + "orderpassthrough/", json=cim_order(), auth=(user, password), timeout=TIMEOUT),
    ]
    remaining = []
    for call in calls:
        response = paced(call)
        assert response.headers["X-RateLimit-Limit"] == "100"
        assert re.fullmatch(r"\d+\.\d{3}", response.headers["X-RateLimit-Reset"])  # scaled: 3 decimals
        assert 0 < float(response.headers["X-RateLimit-Reset"]) <= 15.0
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    sim.faults("cimcloud", error_rate=1.0, statuses=[503])
    faulted = paced(lambda: requests.get(url + "validate", auth=(user, password), timeout=TIMEOUT))
    assert faulted.status_code == 503
    remaining.append(int(faulted.headers["X-RateLimit-Remaining"]))
    assert remaining == [99, 98, 97, 96, 95]  # refused (429) calls are not in there: they do not count


def test_one_second_bucket_refuses_then_recovers(sim: SimulatorProcess) -> None:
    url = sim.cimcloud_url + "healthcheck/canary"
    with requests.Session() as session:
        statuses: list[int] = []
        deadline = time.monotonic() + 5  # three calls within 1/60 s: nearly always the third, but a busy CI...
        while time.monotonic() < deadline:
            response = session.get(url, timeout=TIMEOUT)
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
        assert statuses[-1] == 429, statuses  # two calls per (1/60) s
        wait = float(response.headers["Retry-After"])
        assert 0 < wait <= 1 / 60 + 0.001
        assert response.headers["X-RateLimit-Remaining"] == str(100 - statuses.count(200))
        time.sleep(wait)
        again = session.get(url, timeout=TIMEOUT)
        assert again.status_code == 200
        assert again.headers["X-RateLimit-Remaining"] == str(100 - statuses.count(200) - 1)


@pytest.fixture(scope="module")
def small_window_process() -> Iterator[SimulatorProcess]:
    """Five calls per 2-second window (x450 scale), a 1-second token life, TulaERP Basic credentials."""
    env = {
        "CIMCLOUD_RATE_PER_WINDOW": "5",
        "CIMCLOUD_RATE_PER_SECOND": "50",
        "TULAERP_BASIC_USERNAME": "tula-user",
        "TULAERP_BASIC_PASSWORD": "tula-pass",
    }
    handle = start_simulator_process("--rate-scale", "450", "--token-ttl", "1", "--max-details", "3", env=env)
    yield handle
    assert handle.stop(signal.SIGTERM) == 0  # clean shutdown on SIGTERM
    assert "Traceback" not in handle.stderr_text()
    handle.close()


@pytest.fixture
def small_window(small_window_process: SimulatorProcess) -> SimulatorProcess:
    small_window_process.reset()
    return small_window_process


def test_long_window_refuses_per_credential_and_recovers(small_window: SimulatorProcess) -> None:
    url = small_window.cimcloud_url
    user, password = basic(small_window)
    remaining = []
    for _ in range(5):
        response = requests.get(url + "validate", auth=(user, password), timeout=TIMEOUT)
        assert response.status_code == 200
        remaining.append(response.headers["X-RateLimit-Remaining"])
    assert remaining == ["4", "3", "2", "1", "0"]
    refused = requests.get(url + "validate", auth=(user, password), timeout=TIMEOUT)
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    retry, reset = float(refused.headers["Retry-After"]), float(refused.headers["X-RateLimit-Reset"])
    assert 0 < retry <= 2.0 and abs(retry - reset) < 0.01
    # authenticate counts against AuthUserName: the same user, so refused too.
    login = requests.post(url + "authenticate", json=small_window.cimcloud_auth, timeout=TIMEOUT)
    assert login.status_code == 429
    # Other credentials have their own windows.
    assert requests.get(url + "healthcheck/canary", timeout=TIMEOUT).status_code == 200
    assert requests.get(url + "validate", auth=("intruder", "x"), timeout=TIMEOUT).status_code == 401
    time.sleep(float(login.headers["Retry-After"]) + 0.01)
    recovered = requests.get(url + "validate", auth=(user, password), timeout=TIMEOUT)
    assert recovered.status_code == 200
    assert recovered.headers["X-RateLimit-Remaining"] == "4"  # a new window, anchored at this call
    assert 1.9 < float(recovered.headers["X-RateLimit-Reset"]) <= 2.0


def test_reset_clears_rate_windows(small_window: SimulatorProcess) -> None:
    for _ in range(5):
        requests.get(small_window.cimcloud_url + "healthcheck/canary", timeout=TIMEOUT)
    assert requests.get(small_window.cimcloud_url + "healthcheck/canary", timeout=TIMEOUT).status_code == 429
    small_window.reset()
    response = requests.get(small_window.cimcloud_url + "healthcheck/canary", timeout=TIMEOUT)
    assert (response.status_code, response.headers["X-RateLimit-Remaining"]) == (200, "4")


def test_token_ttl_option(small_window: SimulatorProcess) -> None:
    headers = bearer(token(small_window))
    assert requests.get(small_window.cimcloud_url + "validate", headers=headers, timeout=TIMEOUT).status_code == 200
    time.sleep(1.05)
    assert requests.get(small_window.cimcloud_url + "validate", headers=headers, timeout=TIMEOUT).status_code == 401


def test_max_details_option(small_window: SimulatorProcess) -> None:
    lines = [{"sku": f"SKU{i}", "quantity": 1, "price": 2} for i in range(4)]
    assert post_cim(small_window, cim_order("Q-1", details=lines)).status_code == 202
    assert post_cim(small_window, cim_order("Q-2", details=lines[:3])).status_code == 200


def test_no_limits_never_refuses(sim_no_limits: SimulatorProcess) -> None:
    with requests.Session() as session:
        for _ in range(150):
            response = session.get(sim_no_limits.cimcloud_url + "healthcheck/canary", timeout=TIMEOUT)
            assert response.status_code == 200
            assert response.headers["X-RateLimit-Remaining"] == "100"


# --- TulaERP -------------------------------------------------------------------------------------------------


def test_tulaerp_auth(sim: SimulatorProcess) -> None:
    denied = {"Message": "Authorization has been denied for this request."}
    ((header, _),) = sim.tulaerp_headers.items()
    for headers in ({}, {header: "wrong"}, {"Authorization": "Basic dTpw"}):
        response = requests.get(sim.tulaerp_url + "api/v1/Client/1", headers=headers, timeout=TIMEOUT)
        assert (response.status_code, response.json()) == (401, denied)
    assert get_tula(sim, "api/v1/Client/1").status_code == 200


def test_tulaerp_basic_auth_when_configured(small_window: SimulatorProcess) -> None:
    url = small_window.tulaerp_url + "api/v1/Orders"
    assert requests.post(url, json=tula_order(), auth=("tula-user", "tula-pass"), timeout=TIMEOUT).status_code == 201
    assert requests.post(url, json=tula_order(), auth=("tula-user", "nope"), timeout=TIMEOUT).status_code == 401
    assert small_window.received("tulaerp")[0]["auth"] == "basic"


def test_create_then_repeat_returns_the_same_order(sim: SimulatorProcess) -> None:
    order = tula_order()
    created = post_tula(sim, order)
    assert created.status_code == 201
    body = created.json()
    assert (body["id"], body["shortOrderNumber"]) == (10001, "TU0010001")
    assert (body["orderStatusId"], body["displayOrderStatus"], body["orderShipments"]) == ("New", "New", [])
    assert body["orderNumber"] == order["orderNumber"]
    assert {key: body[key] for key in ("shipName", "shipZip", "orderTypeId", "orderSourceId", "clientId")} == {
        key: order[key] for key in ("shipName", "shipZip", "orderTypeId", "orderSourceId", "clientId")
    }
    assert [(i["itemCode"], i["quantity"]) for i in body["orderItems"]] == [("SOFTOFF365", 2), ("MGPAINT1", 3)]
    assert body["client"]["id"] == 1
    repeated = post_tula(sim, order)
    assert repeated.status_code == 200
    assert (repeated.json()["id"], repeated.json()["shortOrderNumber"]) == (10001, "TU0010001")
    assert post_tula(sim, tula_order()).json()["shortOrderNumber"] == "TU0010002"
    logged = entry(sim, "tulaerp", order["orderNumber"])
    assert (logged["count"], logged["accepted"], logged["applied"], logged["assigned_id"]) == (2, 2, 1, 10001)
    assert logged["auth"] == "header"


def test_every_object_carries_execution_time_and_txid(sim: SimulatorProcess) -> None:
    order = tula_order(orderItems=[{"itemCode": "A", "quantity": 1}, {"itemCode": "A", "quantity": 2}])
    body = post_tula(sim, order).json()
    for obj in objects(body):
        if "$ref" in obj:
            assert set(obj) == {"$ref"}  # Json.NET reference stub
            continue
        assert isinstance(obj["executionTime"], int) and isinstance(obj["txID"], str) and obj["txID"]
    first, second = body["orderItems"][0]["item"], body["orderItems"][1]["item"]
    assert second == {"$ref": first["$id"]}


def test_seed_sample_with_json_net_references_and_unknown_keys(sim: SimulatorProcess) -> None:
    sample = copy.deepcopy(TULA_SAMPLE)
    sample["orderNumber"] = str(uuid.uuid4())
    sample["someFutureField"] = {"x": 1}
    response = post_tula(sim, sample)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] == 10001 and body["orderShipments"] == []  # the request's shipments are not taken
    assert body["shipAddress3"] == "sample string 12" and "someFutureField" not in body


def test_model_state_lists_every_problem(sim: SimulatorProcess) -> None:
    order = tula_order(
        orderNumber="not-a-guid",
        clientId="abc",
        orderTypeId="Rush",
        orderDate="yesterday",
        shipZip="",
        orderItems=[{"itemCode": "A", "quantity": 0}, {"quantity": 1}, "x"],
    )
    del order["memberId"]
    response = post_tula(sim, order)
    assert response.status_code == 400
    body = response.json()
    assert body["Message"] == "The request is invalid."
    state = body["ModelState"]
    assert set(state) == {
        "order.orderNumber",
        "order.clientId",
        "order.memberId",
        "order.orderTypeId",
        "order.orderDate",
        "order.shipZip",
        "order.orderItems[0].quantity",
        "order.orderItems[1].itemCode",
        "order.orderItems[2]",
    }
    assert state["order.shipZip"] == ["The ShipZip field is required."]
    assert state["order.memberId"] == ["The MemberId field is required."]
    assert all(isinstance(messages, list) and messages for messages in state.values())
    assert sim.received("tulaerp")[0]["accepted"] == 0


@pytest.mark.parametrize("items", [None, []])
def test_order_items_required(sim: SimulatorProcess, items: Any) -> None:
    order = tula_order()
    if items is None:
        del order["orderItems"]
    else:
        order["orderItems"] = items
    assert "order.orderItems" in post_tula(sim, order).json()["ModelState"]


@pytest.mark.parametrize("body", [b"", b"[]", b"{oops"])
def test_tulaerp_body_not_an_object(sim: SimulatorProcess, body: bytes) -> None:
    url = sim.tulaerp_url + "api/v1/Orders"
    response = requests.post(url, data=body, headers=sim.tulaerp_headers, timeout=TIMEOUT)
    assert response.status_code == 400
    assert "order" in response.json()["ModelState"]


def test_tulaerp_read_routes_and_404s(sim: SimulatorProcess) -> None:
    post_tula(sim, tula_order())
    assert get_tula(sim, "api/v1/Orders/ShortOrderNumber/TU0010001").json()["id"] == 10001
    assert get_tula(sim, "api/v1/orders/shortordernumber/tu0010001").status_code == 200  # ASP.NET: any case
    for path in ("api/v1/Orders/ShortOrderNumber/TU0099999", "api/v1/Fulfillment/OrderShipmentByNumber/TU0099999"):
        missing = get_tula(sim, path)
        assert missing.status_code == 404 and missing.json()["Message"]
    not_yet = get_tula(sim, "api/v1/Fulfillment/OrderShipmentByNumber/TU0010001")
    assert not_yet.status_code == 404 and "TU0010001" in not_yet.json()["Message"]
    item = get_tula(sim, "api/v1/Items/ItemCode/SOFTOFF365").json()
    assert item["itemCode"] == "SOFTOFF365" and isinstance(item["id"], int)
    assert get_tula(sim, "api/v1/Client/7").json()["id"] == 7
    assert get_tula(sim, "api/v1/Nothing").status_code == 404
    assert get_tula(sim, "api/v1/Orders").status_code == 405


def test_fulfilment_then_delivery_on_the_clock(sim: SimulatorProcess) -> None:
    numbers = [post_tula(sim, tula_order()).json()["shortOrderNumber"] for _ in range(6)]
    last_created = time.monotonic()
    time.sleep(1.1)  # --fulfil-after 1
    for number in numbers:
        order = get_tula(sim, f"api/v1/Orders/ShortOrderNumber/{number}").json()
        assert order["orderStatusId"] == "Shipped"
        (shipment,) = order["orderShipments"]
        by_number = get_tula(sim, f"api/v1/Fulfillment/OrderShipmentByNumber/{number}").json()
        assert unstamped(by_number) == unstamped(shipment)  # the same shipment on every read
        assert shipment["orderShipmentStatusId"] == "Shipped"
        assert [(i["itemCode"], i["pickedQuantity"]) for i in shipment["orderShipmentItems"]] == [
            ("SOFTOFF365", 2),
            ("MGPAINT1", 3),
        ]
        for line in shipment["orderShipmentItems"]:
            assert line["locationName"] and line["pickedDateTime"] and line["kitBuildBarcode"]
        packages = shipment["orderShipmentPackages"]
        assert 1 <= len(packages) <= 3 and shipment["orderShipmentPackageNumber"] == len(packages)
        for package in packages:
            carrier, tracking = package["shipCarrier"], package["trackingNumber1"]
            assert re.fullmatch(TRACKING_FORMATS[carrier], tracking), tracking
            assert carriers.is_valid(carrier, tracking)
            if carrier == "USPS":
                assert package["trackingLink"] in ("", None)
            else:
                assert package["trackingLink"].startswith("https://www.") and tracking in package["trackingLink"]
            assert (package["deliveryStatus"], package["deliveryDate"]) == ("In Transit", None)
            assert package["carrierReceiveDate"] and package["transitDays"] > 0
    time.sleep(max(0.0, last_created + 3.1 - time.monotonic()))  # + --deliver-after 2
    for number in numbers:
        order = get_tula(sim, f"api/v1/Orders/ShortOrderNumber/{number}").json()
        assert (order["orderStatusId"], order["displayOrderStatus"]) == ("Delivered", "Delivered")
        (shipment,) = order["orderShipments"]
        assert shipment["orderShipmentStatusId"] == "Delivered"
        for package in shipment["orderShipmentPackages"]:
            assert package["deliveryStatus"] == "Delivered" and package["deliveryDate"]


# --- carriers (no HTTP) ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("carrier", sorted(TRACKING_FORMATS))
def test_tracking_numbers_have_the_carriers_formats(carrier: str) -> None:
    rng = random.Random(3)
    for _ in range(300):
        number = carriers.tracking_number(carrier, rng)
        assert re.fullmatch(TRACKING_FORMATS[carrier], number) and carriers.is_valid(carrier, number)
    assert carriers.is_valid("UPS", "1Z999AA10123456784")  # UPS's published sample number
    links = {carriers.tracking_link("USPS", "9400", rng) for _ in range(50)}
    assert links == {"", None}


# --- faults ----------------------------------------------------------------------------------------------------


def test_injected_5xx_is_answered_before_the_order_is_applied(sim: SimulatorProcess) -> None:
    order = tula_order()
    sim.faults("tulaerp", error_rate=1.0, statuses=[503])
    response = post_tula(sim, order)
    assert (response.status_code, response.json()) == (503, {"Message": "An error has occurred."})
    logged = entry(sim, "tulaerp", order["orderNumber"])
    assert (logged["count"], logged["accepted"], logged["applied"], logged["assigned_id"]) == (1, 0, 0, None)
    sim.faults("tulaerp", error_rate=0.0)
    assert post_tula(sim, order).status_code == 201  # first application now


def test_injected_429_carries_retry_after_and_real_rate_headers(sim_no_limits: SimulatorProcess) -> None:
    sim_no_limits.faults("cimcloud", error_rate=1.0, statuses=[429], retry_after_s=1)
    response = post_cim(sim_no_limits, cim_order("R-1"))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(response.headers)
    sim_no_limits.faults("cimcloud", error_rate=0.0)
    assert post_cim(sim_no_limits, cim_order("R-1")).json()["importedRecords"] == 1  # it was never applied


@pytest.mark.parametrize("which", ["cimcloud", "tulaerp"])
def test_reset_fault_aborts_before_reading_the_body(sim_no_limits: SimulatorProcess, which: str) -> None:
    sim_no_limits.faults(which, reset_rate=1.0)
    send = post_cim if which == "cimcloud" else post_tula
    with pytest.raises(requests.ConnectionError):
        send(sim_no_limits, cim_order() if which == "cimcloud" else tula_order())
    assert sim_no_limits.received(which) == []


def test_drop_fault_applies_then_closes_without_answer(sim: SimulatorProcess) -> None:
    order = tula_order()
    sim.faults("tulaerp", drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        post_tula(sim, order)
    logged = entry(sim, "tulaerp", order["orderNumber"])
    assert (logged["count"], logged["applied"], logged["assigned_id"]) == (1, 1, 10001)
    sim.faults("tulaerp", drop_rate=0.0)
    again = post_tula(sim, order)
    assert (again.status_code, again.json()["id"]) == (200, 10001)  # the retry finds the existing order


def test_drop_fault_on_cimcloud_is_an_applied_upsert(sim_no_limits: SimulatorProcess) -> None:
    sim_no_limits.faults("cimcloud", drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        post_cim(sim_no_limits, cim_order("D-1"))
    assert entry(sim_no_limits, "cimcloud", "D-1")["applied"] == 1
    sim_no_limits.faults("cimcloud", drop_rate=0.0)
    assert post_cim(sim_no_limits, cim_order("D-1")).json()["updatedRecords"] == 1


def test_timeout_fault_applies_then_answers_too_late(sim: SimulatorProcess) -> None:
    order = tula_order()
    sim.faults("tulaerp", timeout_rate=1.0, hang_s=1.0)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        post_tula(sim, order, timeout=(2, 0.3))
    assert time.monotonic() - started < 0.9
    assert entry(sim, "tulaerp", order["orderNumber"])["assigned_id"] == 10001


def test_malformed_fault_applies_and_answers_broken_json(sim: SimulatorProcess) -> None:
    order = tula_order()
    sim.faults("tulaerp", malformed_rate=1.0)
    response = post_tula(sim, order)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content) > 0
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    assert entry(sim, "tulaerp", order["orderNumber"])["applied"] == 1


def test_latency_delays_every_answer(sim: SimulatorProcess) -> None:
    sim.faults("both", latency_ms=150)
    for send in (lambda: get_tula(sim, "api/v1/Client/1"), lambda: post_tula(sim, {})):
        started = time.monotonic()
        send()
        assert time.monotonic() - started >= 0.15
    started = time.monotonic()
    sim.received("tulaerp")  # /_sim/* is never faulted
    assert time.monotonic() - started < 0.15


def test_seeded_faults_are_deterministic(sim: SimulatorProcess) -> None:
    def run(seed: int) -> list[int]:
        sim.faults("tulaerp", seed=seed, error_rate=0.5, statuses=[500, 503])
        return [get_tula(sim, "api/v1/Client/1").status_code for _ in range(24)]

    first = run(7)
    assert set(first) == {200, 500, 503}
    assert run(7) == first
    assert run(8) != first


def test_sim_routes_are_never_faulted(sim: SimulatorProcess) -> None:
    sim.faults("both", error_rate=1.0, statuses=[500])
    assert sim.received("cimcloud") == [] and sim.received("tulaerp") == []
    assert sim.faults("both")["cimcloud"]["error_rate"] == 1.0


def test_fault_config_merges_and_reports_everything(sim: SimulatorProcess) -> None:
    defaults = sim_call("GET", sim.tulaerp_url + "_sim/faults")
    assert defaults == {
        "error_rate": 0.0,
        "statuses": [500, 503, 429],
        "latency_ms": 0.0,
        "timeout_rate": 0.0,
        "drop_rate": 0.0,
        "reset_rate": 0.0,
        "malformed_rate": 0.0,
        "retry_after_s": 1.0,
        "seed": None,
        "hang_s": 30.0,
    }
    sim.faults("tulaerp", drop_rate=0.25)
    merged = sim.faults("tulaerp", latency_ms=5)["tulaerp"]
    assert (merged["drop_rate"], merged["latency_ms"]) == (0.25, 5.0)


@pytest.mark.parametrize(
    "body",
    [
        {"nonsense": 1},
        {"error_rate": 1.5},
        {"error_rate": 0.6, "drop_rate": 0.6},
        {"statuses": []},
        {"statuses": [200]},
        {"statuses": ["500"]},
        {"seed": "x"},
        {"latency_ms": -1},
        {"hang_s": True},
        [1],
    ],
)
def test_bad_fault_bodies_are_400(sim: SimulatorProcess, body: Any) -> None:
    response = requests.post(sim.cimcloud_root + "_sim/faults", json=body, timeout=TIMEOUT)
    assert response.status_code == 400 and response.json()["error"]
    broken = requests.post(sim.tulaerp_url + "_sim/faults", data=b"{", timeout=TIMEOUT)
    assert broken.status_code == 400


def test_sim_reset_clears_everything(sim: SimulatorProcess) -> None:
    post_tula(sim, tula_order())
    old = token(sim)
    paced(lambda: post_cim(sim, cim_order("X-1")))
    sim.faults("both", latency_ms=1, error_rate=0.1)
    sim.reset()
    assert sim.received("cimcloud") == [] and sim.received("tulaerp") == []
    assert sim.faults("both")["tulaerp"]["error_rate"] == 0.0
    assert post_tula(sim, tula_order()).json()["id"] == 10001
    refused = paced(lambda: post_cim(sim, cim_order("X-1"), auth=None, headers=bearer(old)))
    assert refused.status_code == 401
    assert paced(lambda: post_cim(sim, cim_order("X-1"))).json()["importedRecords"] == 1


# --- server behaviour, command, in-process runner ---------------------------------------------------------------


def test_keep_alive_with_exact_content_length_and_no_nagle_stall(sim_no_limits: SimulatorProcess) -> None:
    port = int(sim_no_limits.tulaerp_base_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        started = time.perf_counter()
        for _ in range(20):
            connection.request("GET", "/api/v1/Client/1", headers=sim_no_limits.tulaerp_headers)
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200 and int(response.headers["Content-Length"]) == len(body)
            assert response.headers.get("Connection") != "close"
        # A ~40 ms delayed-ACK stall per request would show here; loopback answers take ~1 ms.
        assert (time.perf_counter() - started) / 20 < 0.03
    finally:
        connection.close()


def test_command_prints_ready_line_and_stops_cleanly_on_sigint() -> None:
    with start_simulator_process("--sitename", "shop", "--no-limits") as handle:
        assert re.fullmatch(
            r"SIMULATORS READY cimcloud=http://127\.0\.0\.1:\d+/shop/ tulaerp=http://127\.0\.0\.1:\d+/",
            handle.ready_line or "",
        )
        assert handle.sitename == "shop"
        response = requests.get(handle.cimcloud_url + "healthcheck/canary", timeout=TIMEOUT)
        assert response.status_code == 200
        assert handle.stop(signal.SIGINT) == 0
        assert "Traceback" not in handle.stderr_text()


def test_session_fixture_arguments(simulators: SimulatorProcess) -> None:
    assert simulators.args == TEST_ARGS
    assert simulators.cimcloud_url == simulators.cimcloud_root + "demo/"
    assert simulators.settings_overrides()["TULAERP_BASE_URL"] == simulators.tulaerp_base_url


def test_in_process_runner_without_django() -> None:
    with start_simulators(CimcloudConfig(sitename="x", limits=False), TulaerpConfig()) as running:
        assert running.cimcloud_url.endswith("/x/")
        response = requests.get(running.cimcloud_url + "healthcheck/canary", timeout=TIMEOUT)
        assert response.json() == {"status": "Running"}
        created = requests.post(
            running.tulaerp_url + "api/v1/Orders",
            json=tula_order(),
            headers={"X-Api-Key": "sim-tulaerp-key"},
            timeout=5,
        )
        assert created.status_code == 201


def test_unscaled_rate_headers_are_whole_seconds() -> None:
    from orders.simulators.ratelimit import RateLimiter

    limiter = RateLimiter(per_second=2, per_window=100, window_s=900)
    first, second, refused = (dict(limiter.hit("user:a").headers) for _ in range(3))
    assert first == {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "99", "X-RateLimit-Reset": "900"}
    assert second["X-RateLimit-Remaining"] == "98"
    assert refused == {**second, "Retry-After": "1"}
    assert dict(limiter.hit("addr:127.0.0.1").headers)["X-RateLimit-Remaining"] == "99"  # its own windows
