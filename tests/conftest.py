from __future__ import annotations

import importlib
import os
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection

from orders import services
from orders.models import Customer, Order
from orders.services import Actor, LineInput

pytest_plugins = ["tests.sim_fixtures", "tests.worker_fixtures"]


def _on_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    """`postgres` tests skip on SQLite with a reason, unless REQUIRE_POSTGRES makes a wrong database an error."""
    _browser_tests_only_where_they_can_run(items)
    require = os.environ.get("REQUIRE_POSTGRES", "").lower() in {"1", "true", "yes"}
    if require and not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise pytest.UsageError("REQUIRE_POSTGRES is set but DATABASE_URL is not a PostgreSQL URL.")
    if require or _on_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://… (REQUIRE_POSTGRES=1 in CI)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def _browser_tests_only_where_they_can_run(items) -> None:
    """Browser tests run in the SQLite pass; without Chromium they skip, unless REQUIRE_BROWSER makes it an error."""
    browser_items = [item for item in items if "browser" in item.keywords]
    if not browser_items:
        return
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        reason = "browser tests run in the SQLite pass only"
    elif not os.path.exists("/usr/bin/chromium"):
        if os.environ.get("REQUIRE_BROWSER", "").lower() in {"1", "true", "yes"}:
            raise pytest.UsageError("REQUIRE_BROWSER is set but /usr/bin/chromium is missing: apt-get install chromium")
        reason = "needs Debian's chromium (/usr/bin/chromium): apt-get install chromium"
    else:
        return
    for item in browser_items:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The API's throttle counts live in the cache: each test starts with none (token ids repeat across tests)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _ensure_roles() -> None:
    """Transactional tests flush the tables, data-migration rows included: run the role migrations' code again."""
    if Group.objects.filter(name="admin").exists():
        return
    from django.apps import apps

    importlib.import_module("orders.migrations.0002_roles").create_roles(apps, None)
    importlib.import_module("orders.migrations.0004_catalog").grant(apps, None)
    importlib.import_module("orders.migrations.0007_audit").grant(apps, None)


@pytest.fixture
def make_user(db):
    def make(username: str, role: str | None = None, **extra):
        user = get_user_model().objects.create_user(username=username, password="pw-" + username, **extra)
        if role:
            _ensure_roles()
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def operator(make_user):
    return make_user("op1", "operator")


@pytest.fixture
def operator2(make_user):
    return make_user("op2", "operator")


@pytest.fixture
def admin_user(make_user):
    return make_user("boss", "admin", is_staff=True)


@pytest.fixture
def viewer(make_user):
    return make_user("looker", "viewer")


@pytest.fixture
def customer(db) -> Customer:
    return services.customer_create(
        actor=Actor.system("test"),
        fields={
            "customer_no": "C100",
            "name": "Northwind Traders",
            "address1": "1 Harbor Way",
            "city": "Portland",
            "state": "OR",
            "zip": "97201",
            "country_code": "USA",
            "email": "buyer@northwind.example",
            "telephone": "503-555-0100",
        },
    )


SHIP_TO = {
    "ship_to_name": "Northwind Dock",
    "ship_to_address1": "9 Pier Rd",
    "ship_to_city": "Portland",
    "ship_to_state": "OR",
    "ship_to_zip": "97202",
    "ship_to_country_code": "USA",
}


@pytest.fixture
def make_order(customer):
    """Create a draft through the service, as a page would."""

    def make(actor_user=None, *, lines=None, fields=None, **kwargs) -> Order:
        return services.order_create(
            actor=Actor(user=actor_user),
            customer=kwargs.pop("customer", customer),
            fields={**({} if "ship_to" in kwargs else SHIP_TO), **(fields or {})},
            lines=lines or [LineInput(sku="SKU-1", quantity=2, unit_price=Decimal("10.50"))],
            **kwargs,
        )

    return make
