"""API authentication, permissions and the error shape: bearer tokens, roles, and JSON for every failure."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from rest_framework.exceptions import Throttled
from rest_framework.test import APIClient

from orders.api.exceptions import api_exception_handler, flatten_errors
from orders.errors import Conflict, InvalidInput, InvalidTransition, NotAllowed, StaleVersion
from orders.models import ApiToken
from orders.services.context import Actor
from orders.services.tokens import api_token_authenticate, api_token_create, api_token_revoke

IMPORT_URL = "/api/v1/orders/import/cimcloud/"
ACTOR = Actor.system("test")


def _token(user, name: str = "") -> str:
    return api_token_create(actor=ACTOR, user=user, name=name)[1]


def _client(raw: str | None = None) -> APIClient:
    client = APIClient()
    if raw is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _assert_error(response, status: int, type_: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) >= {"type", "detail", "errors"}
    assert body["type"] == type_ and body["detail"]
    return body


def test_import_url_name():
    assert reverse("api:orders-import-cimcloud") == IMPORT_URL


@pytest.mark.django_db
def test_command_prints_the_token_last_and_stores_only_its_hash(make_user):
    user = make_user("alice", "operator")
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "alice", "--name", "CIMcloud webhook", stdout=out, stderr=err)

    raw = out.getvalue().rstrip("\n").splitlines()[-1]
    assert raw.startswith("ods_") and len(raw) > 40 and " " not in raw
    assert "shown once" in err.getvalue() and "Authorization: Bearer <token>" in err.getvalue()
    assert raw not in err.getvalue()

    token = ApiToken.objects.get()
    assert token.user == user and token.name == "CIMcloud webhook"
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.prefix == raw[:8]
    stored = [str(v) for v in ApiToken.objects.values_list().get()]
    assert not any(raw in value for value in stored)

    # It works as a bearer token: an operator may write (this body is refused for its content, not its caller).
    response = _client(raw).post(IMPORT_URL, data="{}", content_type="application/json")
    _assert_error(response, 400, "invalid")
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.django_db
def test_command_refuses_unknown_and_inactive_users(make_user):
    with pytest.raises(CommandError, match="no user 'ghost'"):
        call_command("create_api_token", "ghost", stdout=io.StringIO(), stderr=io.StringIO())
    make_user("gone", "operator", is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        call_command("create_api_token", "gone", stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_command_warns_when_the_user_has_no_role(make_user):
    make_user("norole")
    err = io.StringIO()
    call_command("create_api_token", "norole", stdout=io.StringIO(), stderr=err)
    assert "no role" in err.getvalue()


@pytest.mark.django_db
def test_revoked_token_is_refused(operator):
    token, raw = api_token_create(actor=ACTOR, user=operator)
    assert api_token_authenticate(raw) is not None
    first = api_token_revoke(actor=ACTOR, token_id=token.pk).revoked_at
    assert first is not None
    assert api_token_revoke(actor=ACTOR, token_id=token.pk).revoked_at == first  # idempotent

    response = _client(raw).post(IMPORT_URL, data="{}", content_type="application/json")
    _assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Bearer"
    with pytest.raises(InvalidInput):
        api_token_revoke(actor=ACTOR, token_id=token.pk + 1000)


@pytest.mark.django_db
def test_deactivating_a_user_stops_their_tokens(operator):
    raw = _token(operator)
    operator.is_active = False
    operator.save()
    assert api_token_authenticate(raw) is None
    _assert_error(
        _client(raw).post(IMPORT_URL, data="{}", content_type="application/json"), 401, "authentication_failed"
    )
    with pytest.raises(InvalidInput, match="inactive"):
        api_token_create(actor=ACTOR, user=operator)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "type_"),
    [
        (None, "not_authenticated"),
        ("Bearer ods_not-a-real-token", "authentication_failed"),
        ("Bearer someone-elses-token", "authentication_failed"),
        ("Bearer", "authentication_failed"),
        ("Bearer two parts", "authentication_failed"),
        ("Token abc", "not_authenticated"),  # not our scheme: as if no credentials were sent
    ],
)
def test_missing_or_wrong_token_is_401_json_not_a_redirect(operator, header, type_):
    _token(operator)
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    for response in (client.get(IMPORT_URL), client.post(IMPORT_URL, data="{}", content_type="application/json")):
        _assert_error(response, 401, type_)
        assert response["WWW-Authenticate"] == "Bearer"
        assert "Location" not in response


@pytest.mark.django_db
def test_last_used_at_is_written_at_most_once_a_minute(operator, django_assert_num_queries):
    token, raw = api_token_create(actor=ACTOR, user=operator)
    assert api_token_authenticate(raw).last_used_at is not None
    first = ApiToken.objects.get().last_used_at
    with django_assert_num_queries(1):  # the lookup only: no write within the minute
        api_token_authenticate(raw)
    assert ApiToken.objects.get().last_used_at == first

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    api_token_authenticate(raw)
    assert ApiToken.objects.get().last_used_at > first


@pytest.mark.django_db
def test_authenticate_ignores_foreign_strings_without_a_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert api_token_authenticate("not-ours") is None
        assert api_token_authenticate("ods_" + "x" * 500) is None


@pytest.mark.django_db
def test_roles(make_user, viewer, operator, admin_user):
    norole = make_user("norole")
    post = {"data": "{}", "content_type": "application/json"}

    # Viewer: may read (GET reaches the view: 405, as the endpoint only takes POST), may not write.
    _assert_error(_client(_token(viewer)).get(IMPORT_URL), 405, "method_not_allowed")
    body = _assert_error(_client(_token(viewer)).post(IMPORT_URL, **post), 403, "permission_denied")
    assert body["errors"] == {}
    # No role: nothing at all.
    _assert_error(_client(_token(norole)).get(IMPORT_URL), 403, "permission_denied")
    # Operator and admin: may write (the empty body is then refused for its content).
    _assert_error(_client(_token(operator)).post(IMPORT_URL, **post), 400, "invalid")
    _assert_error(_client(_token(admin_user)).post(IMPORT_URL, **post), 400, "invalid")


@pytest.mark.django_db
def test_session_login_works_and_anonymous_gets_401_not_the_login_page(client, operator, viewer):
    _assert_error(client.get(IMPORT_URL), 401, "not_authenticated")
    client.force_login(viewer)
    _assert_error(client.post(IMPORT_URL, data="{}", content_type="application/json"), 403, "permission_denied")
    client.force_login(operator)
    _assert_error(client.post(IMPORT_URL, data="{}", content_type="application/json"), 400, "invalid")


@pytest.mark.django_db
def test_unknown_api_path_is_a_json_404(viewer):
    body = _assert_error(_client(_token(viewer)).get("/api/v1/nothing-here/"), 404, "not_found")
    assert "/api/v1/nothing-here/" in body["detail"]
    no_slash = _assert_error(_client(_token(viewer)).post(IMPORT_URL.rstrip("/"), data="{}"), 404, "not_found")
    assert "slash" in no_slash["detail"]
    _assert_error(APIClient().get("/api/v1/nothing-here/"), 401, "not_authenticated")


# --- the exception handler on its own -------------------------------------------------------------------------


def test_throttled_is_429_with_retry_after():
    response = api_exception_handler(Throttled(wait=7.2), {})
    assert response.status_code == 429 and response["Retry-After"] == "8"
    assert response.data["type"] == "throttled" and response.data["errors"] == {}


@pytest.mark.parametrize(
    ("error", "status", "type_"),
    [
        (InvalidInput("Bad.", field_errors={"ship_to_zip": ["Too long."]}), 400, "invalid"),
        (InvalidTransition("Not a draft."), 409, "invalid_transition"),
        (NotAllowed("Four eyes."), 403, "not_allowed"),
        (Conflict("Taken.", field_errors={"order_number": ["Taken."]}), 409, "conflict"),
    ],
)
def test_domain_errors_map_to_status_and_type(error, status, type_):
    response = api_exception_handler(error, {})
    assert response.status_code == status
    assert response.data == {"type": type_, "detail": error.message, "errors": error.field_errors}


def test_stale_version_says_who_and_when():
    when = timezone.now()
    error = StaleVersion("op2 changed this draft at 10:15:00; reload it.", changed_by="op2", changed_at=when)
    response = api_exception_handler(error, {})
    assert response.status_code == 409 and response.data["type"] == "stale"
    assert "op2" in response.data["detail"]
    assert response.data["changed_by"] == "op2"
    assert response.data["changed_at"] == timezone.localtime(when).isoformat()


def test_nested_validation_errors_are_flattened_to_paths():
    detail = {
        "non_field_errors": ["Top."],
        "customer": {"zip": ["Too long."], "non_field_errors": ["Whole block."]},
        "lines": [{}, {"sku": ["Required."], "tags": {0: ["Bad tag."]}}],
        "draft": ["Use true, false, 1 or 0."],
    }
    assert flatten_errors(detail) == {
        "non_field_errors": ["Top."],
        "customer.zip": ["Too long."],
        "customer": ["Whole block."],
        "lines[1].sku": ["Required."],
        "lines[1].tags[0]": ["Bad tag."],
        "draft": ["Use true, false, 1 or 0."],
    }


def test_unexpected_error_is_a_logged_500_json(caplog):
    response = api_exception_handler(RuntimeError("boom"), {})
    assert response.status_code == 500
    assert response.data["type"] == "server_error" and response.data["errors"] == {}
    assert "boom" not in response.data["detail"]  # internals stay in the log
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)
