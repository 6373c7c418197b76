"""Start-up from the environment: booleans, required secrets with DEBUG off, SQLite tuned for many writers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ordersite.env import env_bool

ROOT = Path(__file__).resolve().parent.parent
PRINT = "import django; django.setup(); from django.conf import settings as s; print(s.DEBUG, s.ALLOWED_HOSTS)"
OPTIONS = (
    "import django; django.setup(); from django.conf import settings as s; print(s.DATABASES['default']['OPTIONS'])"
)


def _start(script: str = PRINT, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "DJANGO_SETTINGS_MODULE": "ordersite.settings", **env},
    )


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("TRUE", True),
        ("yes", True),
        ("Yes", True),
        ("0", False),
        ("false", False),
        ("NO", False),
        (" no ", False),
    ],
)
def test_booleans(monkeypatch, raw, value):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG", not value) is value


def test_bad_boolean_stops_start_up_with_a_clear_message():
    result = _start(DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr


def test_debug_off_needs_secret_key_and_hosts():
    missing_key = _start(DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="orders.example")
    assert missing_key.returncode != 0 and "DJANGO_SECRET_KEY is not set" in missing_key.stderr
    missing_hosts = _start(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="s" * 50)
    assert missing_hosts.returncode != 0 and "DJANGO_ALLOWED_HOSTS is not set" in missing_hosts.stderr
    ok = _start(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="s" * 50, DJANGO_ALLOWED_HOSTS="orders.example,x.example")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "False ['orders.example', 'x.example']"


def test_debug_on_starts_with_nothing_set():
    result = _start(DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("True")


@pytest.mark.django_db
def test_sqlite_is_tuned_for_concurrent_writers(settings):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite settings only")
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE" and options["timeout"] >= 5
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    assert not settings.DATABASES["default"].get("ATOMIC_REQUESTS")


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("postgres://u@db:5432/app", "-c jit=off"),
        ("postgres://u@db:5432/app?options=-c%20statement_timeout%3D5000", "-c statement_timeout=5000 -c jit=off"),
        ("postgres://u@db:5432/app?options=-c%20jit%3Don", "-c jit=on"),
    ],
)
def test_postgres_sessions_turn_jit_off_unless_the_url_says(url, options):
    # Read from settings in a fresh process: no connection is made, only the options computed.
    done = _start(OPTIONS, DJANGO_DEBUG="1", DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    assert f"'options': '{options}'" in done.stdout
