"""seed_demo is idempotent and safe; every URL needs a login except sign-in; roles are real groups."""

from __future__ import annotations

import io
import stat

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import URLPattern, URLResolver, get_resolver

from orders.models import Customer, DeliveryAttempt, MessageState, Order, OrderEvent, OutboxMessage, Package
from orders.roles import ADMIN, OPERATOR, VIEWER, role_of

OPEN_PATHS = {"/accounts/login/"}


def _seed(**kwargs) -> str:
    out = io.StringIO()
    call_command("seed_demo", orders=40, stdout=out, **kwargs)
    return out.getvalue()


@pytest.fixture
def password_file(tmp_path, monkeypatch, settings):
    settings.DEBUG = True  # pytest-django turns DEBUG off; seed_demo is a development command
    path = tmp_path / ".demo-password"
    monkeypatch.setattr("orders.management.commands.seed_demo.PASSWORD_FILE", path)
    return path


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_the_login(settings, password_file):
    settings.DEMO_PASSWORD = None
    first = _seed()
    counts = (Order.objects.count(), Customer.objects.count(), OrderEvent.objects.count(), Package.objects.count())
    password = password_file.read_text().strip()
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert password in first and "admin" in first
    second = _seed()
    assert password in second
    assert counts == (
        Order.objects.count(),
        Customer.objects.count(),
        OrderEvent.objects.count(),
        Package.objects.count(),
    )
    assert counts[0] == 40
    assert not Customer.objects.filter(customer_no="CUST123").exists()
    states = set(Order.objects.values_list("state", flat=True))
    assert {"submitted", "cancelled"} <= states
    assert Package.objects.exclude(tracking_number1="").exists()
    # History, not work: delivered messages with one seeded attempt each, a few left for the worker.
    pending = OutboxMessage.objects.filter(state=MessageState.PENDING)
    assert 1 <= pending.count() <= 5
    assert 2 <= OutboxMessage.objects.filter(state=MessageState.NEEDS_ATTENTION).count() <= 3
    assert not DeliveryAttempt.objects.filter(seeded=False).exists()
    sent = OutboxMessage.objects.filter(state=MessageState.SENT)
    assert sent.exists() and all(m.delivery_attempts.count() == 1 for m in sent)
    assert not Order.objects.filter(seeded=True, outbox_messages__state=MessageState.PENDING).exists()
    user = get_user_model().objects.get(username="operator")
    assert user.check_password(password) and role_of(user) == OPERATOR


@pytest.mark.django_db
def test_seed_demo_uses_demo_password(settings, password_file):
    settings.DEMO_PASSWORD = "from-env-123"
    assert "from-env-123" in _seed()
    assert not password_file.exists()
    assert get_user_model().objects.get(username="viewer").check_password("from-env-123")


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings, password_file):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        _seed()
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_roles(make_user):
    assert role_of(make_user("v", "viewer")) == VIEWER
    assert role_of(make_user("o", "operator")) == OPERATOR
    assert role_of(make_user("a", "admin")) == ADMIN
    assert role_of(make_user("nobody")) is None


def _walk(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLPattern):
            yield route
        else:
            yield from _walk(entry, route)


def _example_path(route: str) -> str:
    """A concrete path for a pattern: every converter filled with a plausible value."""
    import re

    path = re.sub(r"<(?:int:)?\w*(?:pk|id)>", "1", route)
    path = re.sub(r"<[^>]+>", "x1", path)
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "1", path).replace("^", "").replace("$", "").replace("\\Z", "")
    return "/" + path.lstrip("/")


@pytest.mark.django_db
def test_every_url_needs_login(client):
    paths = sorted({_example_path(route) for route in _walk(get_resolver())})
    assert len(paths) > 20  # the admin's and ours
    for path in paths:
        response = client.get(path)
        if path.startswith("/api/"):
            assert response.status_code == 401 and response["Content-Type"] == "application/json", path
            continue
        if path == "/healthz":
            assert response.status_code in (200, 503) and set(response.json()) <= {"status", "reasons"}
            continue
        if path in OPEN_PATHS or path.startswith("/admin/login") or path.startswith("/accounts/"):
            continue
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/") or response["Location"].startswith(
            "/admin/login/"
        ), path


@pytest.mark.django_db
def test_home_lists_recent_orders_after_login(client, make_order, viewer, operator):
    order = make_order(operator)
    client.force_login(viewer)
    response = client.get("/")
    assert response.status_code == 200
    assert order.order_number in response.text and "Northwind Traders" in response.text


@pytest.mark.django_db
def test_login_page_signs_in(client, make_user):
    make_user("alice", "viewer")
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 302 and response["Location"] == "/"
    bad = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert bad.status_code == 200 and "didn't match" in bad.text
