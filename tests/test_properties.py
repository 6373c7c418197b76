"""Property-based: pre-send validation agrees with the simulators, which hold to the documented contracts.

Orders are built in memory (the mappers and the validator are pure) and posted over real HTTP to the
simulators started with --no-limits.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from orders.integrations.cimcloud import CimcloudClient, CimcloudConfig
from orders.integrations.errors import PermanentError
from orders.integrations.payloads import cimcloud_order_body, tulaerp_order_body
from orders.integrations.tulaerp import TulaerpClient, TulaerpConfig
from orders.integrations.validation import presend_check
from orders.models import Order, OrderLine

_numbers = itertools.count(1)
text = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=1, max_size=30).filter(
    str.strip
)
short = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10)
price = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2, allow_nan=False, allow_infinity=False)
line = st.builds(
    lambda sku, quantity, unit_price: OrderLine(sku=sku, quantity=quantity, unit_price=unit_price),
    short,
    st.integers(1, 500),
    price,
)


@st.composite
def valid_orders(draw):
    now = timezone.now()
    order = Order(
        order_number=f"P-{next(_numbers)}-{uuid.uuid4().hex[:8]}",
        uuid=uuid.uuid4(),
        created_at=now,
        updated_at=now,
        customer_name=draw(text),
        customer_address1=draw(text),
        customer_city=draw(text),
        customer_state=draw(short),
        customer_zip=draw(short),
        customer_country_code=draw(st.sampled_from(["USA", "US"])),
        ship_to_name=draw(text),
        ship_to_address1=draw(text),
        ship_to_address2=draw(st.one_of(st.just(""), text)),
        ship_to_city=draw(text),
        ship_to_state=draw(short),
        ship_to_zip=draw(short),
        ship_to_country_code=draw(st.sampled_from(["USA", "US", "usa"])),
        po_number=draw(st.one_of(st.just(""), short)),
        shipping_total=draw(st.one_of(st.none(), price)),
        comments=draw(st.one_of(st.just(""), text)),
        client_id=1,
        member_id=1,
    )
    return order, draw(st.lists(line, min_size=1, max_size=12))


# Our field → what blanking it must make each destination name (None: that destination does not need it).
REQUIRED = {
    "customer_name": ("customer.name", None),
    "customer_address1": ("customer.address1", None),
    "customer_city": ("customer.city", None),
    "customer_state": ("customer.state", None),
    "customer_zip": ("customer.zip", None),
    "customer_country_code": ("customer.country_code", None),
    "ship_to_address1": ("shipping_address.address1", "order.shipAddress1"),
    "ship_to_city": ("shipping_address.city", "order.shipCity"),
    "ship_to_state": ("shipping_address.state", "order.shipState"),
    "ship_to_zip": ("shipping_address.zip", "order.shipZip"),
    "ship_to_country_code": ("shipping_address.country_code", None),
}


@pytest.fixture(scope="module")
def clients(simulators_no_limits):
    sim = simulators_no_limits
    cim = CimcloudClient(
        dataclasses.replace(
            CimcloudConfig.from_settings(), base_url=sim.cimcloud_root, auth_mode="basic", read_timeout=5
        )
    )
    tula = TulaerpClient(dataclasses.replace(TulaerpConfig.from_settings(), base_url=sim.tulaerp_url, read_timeout=5))
    yield cim, tula
    cim.close()
    tula.close()


FAST = hsettings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FAST
@given(valid_orders())
def test_any_valid_order_is_accepted_by_both_simulators(clients, example):
    order, lines = example
    check = presend_check(order, lines)
    assert not check.errors, check.errors
    cim, tula = clients
    result = cim.post_order(cimcloud_order_body(order, lines))
    assert result.success and result.imported_records + result.updated_records in (1, 0 if result.queued else 1)
    created = tula.post_order(tulaerp_order_body(order, lines))
    assert created.id and created.short_order_number.startswith("TU")


@FAST
@given(valid_orders(), st.sampled_from(sorted(REQUIRED)))
def test_a_missing_required_field_is_flagged_with_the_field_the_simulator_names(clients, example, field):
    order, lines = example
    setattr(order, field, "")
    cim_path, tula_path = REQUIRED[field]
    cim, tula = clients
    check = presend_check(order, lines)
    flagged = {(f.destination, f.remote_field) for f in check.errors}
    assert ("cimcloud", cim_path) in flagged
    assert all(f.field == field for f in check.errors if f.remote_field in (cim_path, tula_path))
    with pytest.raises(PermanentError) as cim_error:
        cim.post_order(cimcloud_order_body(order, lines))
    assert cim_path in cim_error.value.fields
    if tula_path:
        assert ("tulaerp", tula_path) in flagged
        with pytest.raises(PermanentError) as tula_error:
            tula.post_order(tulaerp_order_body(order, lines))
        assert tula_path in tula_error.value.fields


@FAST
@given(valid_orders())
def test_a_missing_sku_is_flagged_on_its_row(clients, example):
    order, lines = example
    lines[-1].sku = ""
    index = len(lines) - 1
    check = presend_check(order, lines)
    assert {(f.field, f.remote_field) for f in check.errors} >= {(f"lines[{index}].sku", f"details[{index}].sku")}
    with pytest.raises(PermanentError) as error:
        clients[0].post_order(cimcloud_order_body(order, lines))
    assert f"details[{index}].sku" in error.value.fields
