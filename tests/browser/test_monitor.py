"""Home, outbox monitor and customers in a real browser: pause/resume, a poll after the session ended, 390 px."""

from __future__ import annotations

import io
import random
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone

from orders.models import DeliveryAttempt, MessageState, OutboxMessage, WorkerHeartbeat
from tests.browser.conftest import no_horizontal_scroll, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-pass-123"


def _beat() -> None:
    """A worker that beats: without one, every page's banner says no worker runs."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker="test-worker", defaults={"hostname": "test", "pid": 1, "started_at": now, "beat_at": now}
    )


def _demo(settings, make_user) -> None:
    """The demo data set (users admin/operator/viewer), plus a day of delivery attempts for the hourly chart."""
    make_user("setup", "viewer")  # recreates the role groups a transactional test flushed
    settings.DEBUG, settings.DEMO_PASSWORD = True, PASSWORD
    call_command("seed_demo", orders=120, stdout=io.StringIO())
    rng = random.Random(7)
    now = timezone.now()
    messages = list(OutboxMessage.objects.filter(state=MessageState.SENT)[:40])
    attempts = []
    for hour in range(24):
        for _ in range(rng.randint(0, 9)):
            attempts.append(
                DeliveryAttempt(
                    message=rng.choice(messages),
                    number=2,
                    started_at=now - timedelta(hours=hour, minutes=rng.randint(0, 59)),
                    outcome="sent" if rng.random() > 0.12 else "retry",
                )
            )
    DeliveryAttempt.objects.bulk_create(attempts)
    _beat()


def test_admin_pauses_and_resumes_a_destination(page, settings, make_user):
    _demo(settings, make_user)
    sign_in(page, "admin", PASSWORD)
    page.goto("/outbox/")
    banner = page.locator(".banner")
    assert banner.count() == 0
    assert page.locator(".attention-table tbody tr").count() >= 2
    shot(page, "outbox")

    page.locator("#pause-cimcloud").click()
    page.wait_for_url("**/outbox/destinations/cimcloud/pause/")
    page.get_by_label("Reason").fill("Planned CIMcloud maintenance")
    shot(page, "outbox-pause-form")
    page.get_by_role("button", name="Pause CIMcloud").click()
    page.wait_for_url("**/outbox/")
    assert "CIMcloud is paused: Planned CIMcloud maintenance (by admin)" in banner.inner_text()
    assert page.locator("#dest-cimcloud").get_by_text("Paused by hand until resumed").is_visible()
    shot(page, "outbox-paused")

    page.locator("#resume-cimcloud").click()
    page.wait_for_url("**/outbox/")
    assert page.get_by_text("CIMcloud is sending again.").is_visible()
    assert banner.count() == 0
    assert page.locator("#pause-cimcloud").is_visible()


def test_retry_and_bulk_retry_work_in_place(page, settings, make_user):
    _demo(settings, make_user)
    sign_in(page, "operator", PASSWORD)
    page.goto("/outbox/")
    rows = page.locator(".attention-table tbody tr")
    before = rows.count()
    first = rows.first
    number = first.locator("a.mono").inner_text()
    first.get_by_role("button", name="Retry").click()  # htmx: the live region comes back with the outcome
    page.locator("#outbox-messages").get_by_text(f"{number} is queued to").wait_for()
    assert rows.count() == before - 1 and page.url.endswith("/outbox/")

    since = timezone.localtime(timezone.now() - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#id_since", since)
    page.select_option("#id_destination", "cimcloud")
    page.get_by_role("button", name="Check how many").click()
    page.locator(".plan").get_by_text("would be queued again").wait_for()
    assert "at the current limit (2 per second and 100 per 15 min)" in page.locator(".plan").inner_text()
    shot(page, "outbox-bulk-dry-run")
    page.locator("#bulk-confirm").click()
    page.locator("#bulk-retry").get_by_text("queued again at bulk priority").wait_for()
    page.wait_for_timeout(5_500)  # the next poll shows the requeued message gone from the list
    assert not page.locator(".attention-table").get_by_text("CIMcloud", exact=True).count()

    # Mark as sent: a confirmation page with a required note, then back to the monitor.
    row = rows.filter(has_text="TulaERP").first
    number = row.locator("a.mono").inner_text()
    row.get_by_role("link", name="Mark as sent").click()
    page.wait_for_url(re.compile(r"/outbox/\d+/mark-sent/$"))
    page.get_by_role("button", name="Mark as sent").click()
    assert page.get_by_text("A note is required.").is_visible()
    page.get_by_label("Reference in the destination").fill("TU0010077")
    page.get_by_label("How do you know it is there?").fill("Checked in TulaERP: the order is there.")
    shot(page, "outbox-mark-sent")
    page.get_by_role("button", name="Mark as sent").click()
    page.wait_for_url("**/outbox/")
    assert page.get_by_text(f"{number} is marked as sent to TulaERP.").is_visible()
    assert page.get_by_text("Nothing needs attention").is_visible()


def test_a_poll_after_the_session_ended_lands_on_the_login_page(page, make_user):
    make_user("vera", "viewer")
    _beat()
    sign_in(page, "vera", "pw-vera")
    page.goto("/outbox/")
    assert page.locator("#outbox-live").is_visible()
    Session.objects.all().delete()  # signed out server-side (expired, or revoked by an admin)
    page.wait_for_url(re.compile(r"/accounts/login/\?"), timeout=15_000)  # the next poll, within 5 s
    url = urlsplit(page.url)
    assert url.path == "/accounts/login/" and parse_qs(url.query) == {"next": ["/outbox/"]}
    assert page.locator("#id_username").is_visible()


def test_home_outbox_and_customers_fit_a_phone(page, settings, make_user):
    _demo(settings, make_user)
    sign_in(page, "operator", PASSWORD)
    page.goto("/")
    assert page.locator("svg.chart rect.bar-orders").count() > 5
    assert page.locator("table.orders tbody tr").count() == 15
    shot(page, "home")
    page.goto("/customers/")
    assert page.locator(".customers-table tbody tr").count() > 5
    shot(page, "customers")

    page.get_by_label("Find a customer").fill("zzz-no-such-customer")
    page.get_by_text("No customer matches").wait_for()  # the results swap in as you type
    assert "q=zzz-no-such-customer" in page.url

    page.set_viewport_size({"width": 390, "height": 844})
    for path, name in (("/", "home-390"), ("/outbox/", "outbox-390"), ("/customers/", "customers-390")):
        page.goto(path)
        assert no_horizontal_scroll(page), path
        shot(page, name)
    first = page.locator(".customers-table tbody tr a").first
    first.click()
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    assert no_horizontal_scroll(page)
    shot(page, "customer-detail-390")
