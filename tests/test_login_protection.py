"""Sign-in protection: django-axes locks a (username, address) pair after 5 failures within 15 minutes for 15
minutes, in the database; success clears the pair; admins unlock (command or audited admin action); the API's
bearer tokens are a separate credential; sessions end after an hour without a request of the user's own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.http import HttpRequest
from django.test import Client
from django.utils import timezone

from orders.models import AuditEntry, AuditKind
from orders.services import Actor
from orders.services.tokens import api_token_create
from orders.views.auth import SEEN_KEY

pytestmark = pytest.mark.django_db

HOME = "10.0.0.1"
ELSEWHERE = "10.0.0.2"


def sign_in(client: Client, username: str, password: str, address: str = HOME):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client: Client, username: str, times: int, address: str = HOME) -> list[int]:
    return [sign_in(client, username, "wrong", address).status_code for _ in range(times)]


def test_five_failures_lock_the_pair_out_even_with_the_right_password(client, viewer):
    assert "didn't match" in sign_in(client, "looker", "wrong").text
    assert fail(client, "looker", 4) == [200, 200, 200, 429]  # the fifth failure locks
    locked = sign_in(client, "looker", "pw-looker")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text and "blocked" in locked.text
    assert "_auth_user_id" not in client.session
    # The state is in the database: every web process sees the same lockout.
    assert AccessAttempt.objects.get(username="looker", ip_address=HOME).failures_since_start >= 5
    # Another address, or another user from this address, is not locked out.
    assert sign_in(Client(), "looker", "pw-looker", ELSEWHERE).status_code == 302


def test_a_failed_attempt_during_the_lockout_does_not_extend_it(client, viewer):
    fail(client, "looker", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=14))
    assert sign_in(client, "looker", "wrong").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=5))
    assert sign_in(client, "looker", "pw-looker").status_code == 302  # the 15-minute cool-off is over


def test_failures_older_than_fifteen_minutes_do_not_count(client, viewer):
    fail(client, "looker", 4)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    fail(client, "looker", 4)
    assert sign_in(client, "looker", "pw-looker").status_code == 302


def test_success_clears_the_failures(client, viewer):
    fail(client, "looker", 4)
    assert sign_in(client, "looker", "pw-looker").status_code == 302
    assert not AccessAttempt.objects.filter(username="looker").exists()
    client.post("/accounts/logout/")
    fail(client, "looker", 4)
    assert sign_in(client, "looker", "pw-looker").status_code == 302


def test_axes_reset_command_unlocks(client, viewer):
    fail(client, "looker", 5)
    call_command("axes_reset_username", "looker")
    assert sign_in(client, "looker", "pw-looker").status_code == 302


def test_admin_unlocks_from_the_user_list_and_it_is_audited(client, viewer, admin_user):
    fail(Client(), "looker", 5)
    client.force_login(admin_user)
    response = client.post(
        "/admin/auth/user/", {"action": "unlock_sign_in", "_selected_action": [viewer.pk]}, follow=True
    )
    assert response.status_code == 200 and "Looker: 1 failed sign-in record(s) cleared." in response.text  # capfirst
    assert not AccessAttempt.objects.filter(username="looker").exists()
    [entry] = AuditEntry.objects.filter(kind=AuditKind.USER_UNLOCKED)
    assert (entry.target_label, entry.actor, entry.channel, entry.detail) == (
        "looker",
        admin_user,
        "admin",
        {"cleared": 1},
    )
    assert sign_in(Client(), "looker", "pw-looker").status_code == 302


def test_a_locked_out_user_keeps_their_api_token(client, viewer):
    _, raw = api_token_create(actor=Actor.system("test"), user=viewer)
    fail(client, "looker", 5)
    api = Client().get("/api/v1/orders/", headers={"Authorization": f"Bearer {raw}"}, REMOTE_ADDR=HOME)
    assert api.status_code == 200  # a token is its own credential: revoke it to stop it


def test_client_login_passes_the_request_for_axes(client, viewer):
    # axes needs the request to know the address; Django's test client passes extra arguments through.
    assert client.login(request=HttpRequest(), username="looker", password="pw-looker")
    assert client.get("/").status_code == 200


# --- Idle sign-out -------------------------------------------------------------------------------------------


def _expiry(client: Client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_a_request_of_the_user_moves_the_expiry_and_polling_does_not(client, viewer):
    assert sign_in(client, "looker", "pw-looker").status_code == 302
    session = client.session
    session[SEEN_KEY] -= 120  # the last activity was two minutes ago
    session.save()
    Session.objects.filter(session_key=session.session_key).update(expire_date=timezone.now() + timedelta(minutes=5))
    before = _expiry(client)

    poll = client.get("/outbox/", headers={"HX-Request": "true", "HX-Trigger": "outbox-live"})
    assert poll.status_code == 200 and _expiry(client) == before

    assert client.get("/orders/").status_code == 200
    assert _expiry(client) > timezone.now() + timedelta(minutes=59)


def test_an_idle_session_is_signed_out(client, viewer):
    assert sign_in(client, "looker", "pw-looker").status_code == 302
    Session.objects.filter(session_key=client.session.session_key).update(expire_date=timezone.now())
    response = client.get("/orders/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_every_polling_region_of_the_templates_is_known():
    import re
    from pathlib import Path

    from orders.views.auth import POLLING_REGIONS

    templates = Path(__file__).resolve().parent.parent / "templates"
    found = set()
    for template in templates.rglob("*.html"):
        for tag in re.findall(r"<[^>]*hx-trigger=\"every [^>]*>", template.read_text()):
            found.add(re.search(r'id="([^"]+)"', tag)[1])
    assert found == POLLING_REGIONS
