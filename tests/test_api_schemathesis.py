"""Schemathesis against the API's own OpenAPI schema (the one /api/v1/schema/ serves), through the real WSGI
stack: every operation, positive and negative inputs, derandomized, at least 50 examples each; then the stateful
phase over the schema's links. SQLite pass only (it is about the API's contract, not the database)."""

from __future__ import annotations

import json
import os
from decimal import Decimal

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orders import services
from orders.services import Actor, LineInput
from orders.services.tokens import api_token_create
from ordersite.wsgi import application

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
        reason="Schemathesis runs in the SQLite pass only: it checks the API's contract, not the database",
    ),
    pytest.mark.slow,
]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 50
SEED = 20261201


def _raw_schema() -> dict:
    # The same generator and renderer /api/v1/schema/?format=json uses.
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


def _load() -> schemathesis.schemas.BaseSchema:
    schema = schemathesis.openapi.from_dict(_raw_schema())
    schema.config.seed = SEED
    schema.config.generation.update(max_examples=EXAMPLES, deterministic=True)
    schema.app = application  # calls go through Django's WSGI handler in this process: the test database
    return schema


schema = _load()


@pytest.fixture
def _wsgi_keeps_the_test_connection():
    # Django's WSGI handler closes the database connection after each request; inside a test that connection
    # holds the test's transaction. Django's own test client disconnects the same handler.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_headers(db, make_user, customer, settings, _wsgi_keeps_the_test_connection):
    """An admin's token (every operation allowed), throttles raised so the run is never a 429, and a few orders
    in every state so generated numbers sometimes hit real ones."""
    settings.API_THROTTLE_RATES = {"read": "100000/minute", "write": "100000/minute"}
    admin = make_user("fuzz-admin", "admin", is_staff=True)
    actor = Actor(user=admin)
    for index in range(3):
        order = services.order_create(
            actor=actor,
            customer=customer,
            fields={"ship_to_name": "Dock", "ship_to_address1": "1 Pier", "ship_to_city": "Portland",
                    "ship_to_state": "OR", "ship_to_zip": "97202", "ship_to_country_code": "USA"},
            lines=[LineInput(sku=f"SKU-{index}", quantity=1, unit_price=Decimal("9.99"))],
        )  # fmt: skip
        if index:
            services.order_submit(actor=actor, order_id=order.pk)
    return {"Authorization": "Bearer " + api_token_create(actor=Actor.system("test"), user=admin)[1]}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_keeps_its_contract(case, api_headers):
    case.call_and_validate(headers=api_headers, checks=CHECKS)


StatefulMachine = schema.as_state_machine()


@pytest.mark.django_db
def test_stateful_links_keep_the_contract(api_headers):
    """Sequences that follow the schema's links (list → order, create → submit/cancel/edit, outbox → retry)."""
    answered: set[tuple[str, int]] = set()

    class Machine(StatefulMachine):
        def get_call_kwargs(self, case):
            return {"headers": api_headers}

        def validate_response(self, response, case, **kwargs):
            answered.add((case.operation.label, response.status_code))
            case.validate_response(response, checks=CHECKS)

    Machine.run(
        settings=settings(
            # Twice the examples of the single-operation phase: a sequence reaches a real outbox message only when
            # its generated filters leave one in the list, and the runs must not depend on that luck.
            max_examples=2 * EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            stateful_step_count=8,
            suppress_health_check=list(HealthCheck),
        )
    )
    # The links were followed to real orders, not only to generated numbers that do not exist. Whether an outbox
    # link finds a message depends on the generated list filters and on ids left by earlier tests (SQLite keeps
    # counting after a flush), so for the outbox only its being called is asserted.
    assert ("GET /api/v1/orders/{number}/", 200) in answered
    assert any(label == "GET /api/v1/outbox/{message_id}/" for label, _ in answered)
