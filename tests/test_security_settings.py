"""Production settings: secure by default with DJANGO_DEBUG off, opt-outs by environment, `check --deploy` clean,
and the security headers on real responses."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NAMES = [
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_HTTPONLY",
    "SECURE_PROXY_SSL_HEADER",
    "CSRF_TRUSTED_ORIGINS",
    "X_FRAME_OPTIONS",
    "SECURE_REFERRER_POLICY",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SESSION_COOKIE_AGE",
]
PRINT = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    f"print(json.dumps({{n: getattr(s, n, None) for n in {NAMES!r}}}))"
)


def production_env(**extra: str) -> dict[str, str]:
    """Only what a deployment must set: no DJANGO_DEBUG (off), a strong key, the host, the database."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "orders.example.com",
        "DATABASE_URL": "postgres://orders@db.internal:5432/orders",
        **extra,
    }


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def production_settings(**extra: str) -> dict:
    env = {**production_env(**extra), "DJANGO_SETTINGS_MODULE": "ordersite.settings"}
    result = run([sys.executable, "-c", PRINT], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_with_only_the_three_required_variables():
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (1 silenced)." in result.stdout  # W021: HSTS preload, see settings


def test_check_deploy_fails_when_a_protection_is_switched_off():
    # The same check in CI would catch a deployment that opted out of HTTPS without meaning to.
    env = production_env(DJANGO_SECURE_SSL_REDIRECT="0", DJANGO_SECURE_COOKIES="0")
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    for check in ("security.W008", "security.W012", "security.W016"):
        assert check in result.stderr


def test_debug_off_is_secure_by_default():
    s = production_settings()
    assert s["DEBUG"] is False
    assert s["SECURE_SSL_REDIRECT"] is True and s["SECURE_REDIRECT_EXEMPT"] == ["^healthz$"]
    assert (s["SECURE_HSTS_SECONDS"], s["SECURE_HSTS_INCLUDE_SUBDOMAINS"], s["SECURE_HSTS_PRELOAD"]) == (
        31_536_000,
        True,
        False,
    )
    assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"]
    assert s["SESSION_COOKIE_HTTPONLY"] and s["CSRF_COOKIE_HTTPONLY"]
    assert s["SECURE_PROXY_SSL_HEADER"] is None  # forwarded headers are not trusted unless configured
    assert s["CSRF_TRUSTED_ORIGINS"] == []
    assert (s["X_FRAME_OPTIONS"], s["SECURE_REFERRER_POLICY"], s["SECURE_CONTENT_TYPE_NOSNIFF"]) == (
        "DENY",
        "same-origin",
        True,
    )
    assert s["SESSION_COOKIE_AGE"] == 3600


def test_environment_opts_out_and_configures_the_proxy():
    s = production_settings(
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        DJANGO_SECURE_HSTS_SECONDS="0",
        DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://orders.example.com, https://ops.example.com",
        DJANGO_SESSION_IDLE_SECONDS="900",
    )
    assert not s["SECURE_SSL_REDIRECT"] and not s["SESSION_COOKIE_SECURE"] and not s["CSRF_COOKIE_SECURE"]
    assert s["SECURE_HSTS_SECONDS"] == 0
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://orders.example.com", "https://ops.example.com"]
    assert s["SESSION_COOKIE_AGE"] == 900
    assert s["SESSION_COOKIE_HTTPONLY"]  # not an opt-out


def test_debug_on_keeps_plain_http_for_make_run():
    s = production_settings(DJANGO_DEBUG="1")
    assert not s["SECURE_SSL_REDIRECT"] and not s["SESSION_COOKIE_SECURE"] and s["SECURE_HSTS_SECONDS"] == 0


# --- Headers on real responses, with the production values ----------------------------------------------------


@pytest.fixture
def production(settings):
    """This process runs with debug on; apply the values a production start computes (from a real start-up)."""
    for name, value in production_settings().items():
        if name not in {"DEBUG", "SECURE_PROXY_SSL_HEADER"}:
            setattr(settings, name, value)
    return settings


def test_every_answer_carries_the_security_headers(client, viewer):
    client.force_login(viewer)
    for url in ("/accounts/login/", "/", "/orders/", "/api/v1/orders/", "/admin/login/"):
        response = client.get(url)
        assert response["X-Frame-Options"] == "DENY", url
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["Referrer-Policy"] == "same-origin", url
        policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'", url
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'", url
        assert "unsafe" not in response["Content-Security-Policy"], url


def test_plain_http_is_redirected_but_healthz_answers(client, production, db):
    redirected = client.get("/orders/?q=1")
    assert redirected.status_code == 301 and redirected["Location"] == "https://testserver/orders/?q=1"
    health = client.get("/healthz")
    assert health.status_code in (200, 503) and "Location" not in health  # probed over plain HTTP


def test_https_answers_carry_hsts_and_secure_httponly_cookies(client, production, viewer):
    page = client.get("/accounts/login/", secure=True)
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    signed_in = client.post(
        "/accounts/login/", {"username": "looker", "password": "pw-looker"}, secure=True, REMOTE_ADDR="10.9.8.7"
    )
    assert signed_in.status_code == 302
    for name in ("sessionid", "csrftoken"):
        cookie = signed_in.cookies[name]
        assert cookie["secure"] and cookie["httponly"], name
        assert cookie["samesite"] == "Lax", name
    assert signed_in.cookies["sessionid"]["max-age"] == 3600


def test_behind_a_proxy_the_forwarded_scheme_counts_only_when_configured(client, production, db):
    assert client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"}).status_code == 301
    production.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    from django.test import Client

    behind = Client().get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert behind.status_code == 200 and "Strict-Transport-Security" in behind
