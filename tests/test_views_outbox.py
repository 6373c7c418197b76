"""The outbox monitor: health per destination, the chart, the needs-attention list and every staff action."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders import outbox, services
from orders.errors import NotAllowed
from orders.models import (
    AuditEntry,
    AuditKind,
    DeliveryAttempt,
    DestinationState,
    MessageState,
    OutboxMessage,
    Priority,
)
from orders.selectors import attempts_per_hour, layout_alerts, needs_attention_messages
from orders.services import Actor
from orders.views.outbox import duration_text

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def submit(make_order, operator):
    def make(**kwargs):
        return services.order_submit(actor=Actor(user=operator), order_id=make_order(operator, **kwargs).pk)

    return make


def _attention(order, destination="cimcloud", reason="permanent_rejection", error="Missing required field: zip"):
    message = order.outbox_messages.get(destination=destination)
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=MessageState.NEEDS_ATTENTION, attention_reason=reason, last_error=error, attempts=3
    )
    message.refresh_from_db()
    return message


def _action_urls(message_id: int) -> list[str]:
    return [f"/outbox/{message_id}/retry/", f"/outbox/{message_id}/cancel/", f"/outbox/{message_id}/mark-sent/"]


# --- The page --------------------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_and_htmx_polls_get_hx_redirect(client):
    response = client.get("/outbox/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    poll = client.get("/outbox/", headers={**HTMX, "HX-Current-URL": "http://testserver/outbox/"})
    assert poll.status_code == 200 and poll["HX-Redirect"] == "/accounts/login/?next=%2Foutbox%2F"


def test_viewer_sees_health_and_failures_without_any_action(client, viewer, submit):
    message = _attention(submit())
    client.force_login(viewer)
    page = client.get("/outbox/").text
    assert "CIMcloud" in page and "TulaERP" in page and "Rate budget left" in page
    assert "Missing required field: zip" in page and message.order.order_number in page
    assert 'hx-trigger="every 5s"' in page
    for absent in ("/retry/", "/cancel/", "/mark-sent/", "/fix/", "Bulk retry", "/pause/", "Resume sending"):
        assert absent not in page, absent


def test_operator_sees_message_actions_but_not_pause(client, operator, submit):
    rejected = _attention(submit())
    unknown = _attention(submit(), destination="tulaerp", reason="ambiguous", error="ReadTimeout")
    client.force_login(operator)
    page = client.get("/outbox/").text
    for url in (*_action_urls(rejected.pk), *_action_urls(unknown.pk)):
        assert url in page
    assert page.count("/fix/") == 1 and f"/orders/{rejected.order.order_number}/fix/" in page  # rejections only
    assert "Bulk retry" in page and 'type="datetime-local"' in page
    assert "/pause/" not in page


def test_admin_sees_pause_links(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/outbox/").text
    assert "/outbox/destinations/cimcloud/pause/" in page and "/outbox/destinations/tulaerp/pause/" in page


def test_cards_show_counts_ages_and_budget(client, viewer, submit):
    submit()
    order = submit()
    OutboxMessage.objects.filter(order=order, destination="cimcloud").update(state=MessageState.RETRY_SCHEDULED)
    client.force_login(viewer)
    page = client.get("/outbox/").text
    assert "no limit" in page  # TulaERP
    assert "100 calls" in page  # CIMcloud's budget, untouched
    assert "none waiting" not in page.split("TulaERP")[0]  # CIMcloud has waiting messages


def test_htmx_poll_gets_the_live_partial_and_boosted_gets_the_page(client, operator, submit):
    _attention(submit())
    client.force_login(operator)
    poll = client.get("/outbox/", headers={**HTMX, "HX-Target": "outbox-live"})
    assert poll.status_code == 200
    assert "<html" not in poll.text and "Needs attention" in poll.text and "Sends per hour" in poll.text
    assert 'id="outbox-live"' not in poll.text and "Bulk retry" not in poll.text
    boosted = client.get("/outbox/", headers={**HTMX, "HX-Boosted": "true"})
    assert "<html" in boosted.text and 'id="outbox-live"' in boosted.text


def test_needs_attention_list_is_oldest_first_and_capped(client, viewer, submit):
    first, second = _attention(submit()), _attention(submit())
    OutboxMessage.objects.filter(pk=second.pk).update(created_at=timezone.now() - timedelta(hours=5))
    client.force_login(viewer)
    page = client.get("/outbox/").text
    assert page.index(f'id="message-{second.pk}"') < page.index(f'id="message-{first.pk}"')
    assert [m.pk for m in needs_attention_messages(limit=1)] == [second.pk]


def test_the_hourly_chart_counts_sent_and_failed_attempts(client, viewer, submit):
    message = submit().outbox_messages.get(destination="cimcloud")
    now = timezone.now()
    # Anchored to the current hour's start, so the buckets do not depend on when in the hour the test runs.
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    for started, outcome in (
        (now, "sent"),
        (hour_start - timedelta(minutes=20), "sent"),
        (hour_start - timedelta(minutes=25), "retry"),
        (hour_start - timedelta(minutes=30), "needs_attention"),
        (now - timedelta(hours=30), "sent"),
    ):
        DeliveryAttempt.objects.create(message=message, number=1, started_at=started, outcome=outcome)
    hours = attempts_per_hour(hours=24)
    assert len(hours) == 24
    totals = [values for _, values in hours]
    assert totals[-1] == (1, 0) and sum(s for s, _ in totals) == 2 and sum(f for _, f in totals) == 2
    client.force_login(viewer)
    page = client.get("/outbox/").text
    assert page.count('class="bar-sent"') == 2 and page.count('class="bar-failed"') >= 1
    assert "1 sent, 0 not sent" in page


def test_empty_outbox_says_so(client, viewer):
    client.force_login(viewer)
    page = client.get("/outbox/").text
    assert "Nothing needs attention" in page and "No delivery attempts in the last 24 hours." in page


# --- Message actions ---------------------------------------------------------------------------------------------


def test_viewer_gets_403_on_every_action(client, viewer, submit):
    message = _attention(submit())
    client.force_login(viewer)
    for url in _action_urls(message.pk):
        assert client.post(url, {"note": "x"}).status_code == 403, url
    assert client.get(f"/outbox/{message.pk}/mark-sent/").status_code == 403
    assert client.post("/outbox/bulk-retry/", {"destination": "cimcloud"}).status_code == 403
    for url in ("/outbox/destinations/cimcloud/pause/", "/outbox/destinations/cimcloud/resume/"):
        assert client.post(url, {"reason": "x"}).status_code == 403, url
    message.refresh_from_db()
    assert message.state == MessageState.NEEDS_ATTENTION


def test_retry_requeues_and_says_so(client, operator, submit):
    message = _attention(submit())
    client.force_login(operator)
    response = client.post(f"/outbox/{message.pk}/retry/", follow=True)
    assert response.redirect_chain == [("/outbox/", 302)]
    assert f"{message.order.order_number} is queued to CIMcloud again now." in response.text
    message.refresh_from_db()
    assert (message.state, message.priority, message.attention_reason) == (
        MessageState.PENDING,
        Priority.INTERACTIVE,
        "",
    )


def test_retry_by_htmx_returns_the_live_region_with_the_outcome(client, operator, submit):
    message = _attention(submit())
    client.force_login(operator)
    response = client.post(f"/outbox/{message.pk}/retry/", headers={**HTMX, "HX-Target": "outbox-live"})
    assert response.status_code == 200 and "<html" not in response.text
    assert "is queued to CIMcloud again now" in response.text and "Nothing needs attention" in response.text
    assert '<div id="outbox-messages" class="outbox-messages" hx-swap-oob="true"' in response.text  # outlives polls
    poll = client.get("/outbox/", headers=HTMX)
    assert "hx-swap-oob" not in poll.text  # a poll leaves the last outcome where it is


def test_a_refused_action_becomes_a_message_not_an_error(client, operator, submit):
    message = submit().outbox_messages.get(destination="cimcloud")
    OutboxMessage.objects.filter(pk=message.pk).update(state=MessageState.SENT, sent_at=timezone.now())
    client.force_login(operator)
    response = client.post(f"/outbox/{message.pk}/retry/", follow=True)
    assert response.status_code == 200 and "only waiting or failed messages can be retried" in response.text
    missing = client.post("/outbox/999999/cancel/", follow=True)
    assert missing.status_code == 200 and "There is no outbox message #999999." in missing.text


def test_cancel_stops_the_message(client, operator, submit):
    message = _attention(submit())
    client.force_login(operator)
    response = client.post(f"/outbox/{message.pk}/cancel/", follow=True)
    assert "is cancelled" in response.text
    message.refresh_from_db()
    assert message.state == MessageState.CANCELLED


def test_next_sends_back_to_a_local_page_and_ignores_anything_else(client, operator, submit):
    order = submit()
    message = _attention(order)
    client.force_login(operator)
    back = f"/orders/{order.order_number}/"
    assert client.post(f"/outbox/{message.pk}/retry/", {"next": back})["Location"] == back
    message = _attention(order)
    for bad in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)", "http://testserver.evil/"):
        assert client.post(f"/outbox/{message.pk}/retry/", {"next": bad})["Location"] == "/outbox/", bad
        message = _attention(order)
    htmx = client.post(f"/outbox/{message.pk}/cancel/", {"next": back}, headers=HTMX)
    assert htmx.status_code == 200 and htmx["HX-Redirect"] == back


def test_mark_sent_confirmation_page_and_required_note(client, operator, submit):
    order = submit()
    message = _attention(order, destination="tulaerp", reason="ambiguous", error="ReadTimeout")
    client.force_login(operator)
    page = client.get(f"/outbox/{message.pk}/mark-sent/?next=/orders/{order.order_number}/")
    assert page.status_code == 200 and "Mark as sent by hand" in page.text and "ReadTimeout" in page.text
    assert f'value="/orders/{order.order_number}/"' in page.text  # `next` rides along in the form
    assert 'href="https://evil' not in client.get(f"/outbox/{message.pk}/mark-sent/?next=https://evil.example/").text

    missing_note = client.post(f"/outbox/{message.pk}/mark-sent/", {"external_reference": "TU0000042", "note": " "})
    assert missing_note.status_code == 200 and "A note is required." in missing_note.text
    message.refresh_from_db()
    assert message.state == MessageState.NEEDS_ATTENTION

    done = client.post(
        f"/outbox/{message.pk}/mark-sent/",
        {
            "external_reference": "TU0000042",
            "note": "Checked in TulaERP: it is there.",
            "next": f"/orders/{order.order_number}/",
        },
    )
    assert done.status_code == 302 and done["Location"] == f"/orders/{order.order_number}/"
    message.refresh_from_db()
    order.refresh_from_db()
    assert message.state == MessageState.SENT and message.external_reference == "TU0000042"
    assert order.tulaerp_short_order_number == "TU0000042"
    again = client.post(f"/outbox/{message.pk}/mark-sent/", {"note": "twice"}, follow=True)
    assert "is sent." in again.text  # the service's refusal, as a message
    assert client.get("/outbox/999999/mark-sent/").status_code == 404


def test_mark_sent_form_as_an_htmx_partial(client, operator, submit):
    message = _attention(submit())
    client.force_login(operator)
    response = client.get(f"/outbox/{message.pk}/mark-sent/", headers=HTMX)
    assert "<html" not in response.text and 'id="mark-sent-form"' in response.text


# --- Pause and resume ------------------------------------------------------------------------------------------


def test_operator_cannot_pause_or_resume(client, operator):
    client.force_login(operator)
    assert client.get("/outbox/destinations/cimcloud/pause/").status_code == 403
    assert client.post("/outbox/destinations/cimcloud/pause/", {"reason": "x"}).status_code == 403
    assert client.post("/outbox/destinations/cimcloud/resume/").status_code == 403
    assert not DestinationState.objects.filter(paused_by_hand=True).exists()
    with pytest.raises(NotAllowed):
        services.destination_pause(actor=Actor(user=operator), destination="cimcloud", reason="x")


def _audit_trail() -> list[tuple[str, str, str, str]]:
    return [
        (e.kind, e.target_id, e.actor_name, e.message)
        for e in AuditEntry.objects.filter(target_type="destination").order_by("id")
    ]


def test_admin_pauses_and_resumes_and_the_banner_follows(client, admin_user):
    client.force_login(admin_user)
    form = client.get("/outbox/destinations/cimcloud/pause/")
    assert form.status_code == 200 and "Pause CIMcloud" in form.text

    empty = client.post("/outbox/destinations/cimcloud/pause/", {"reason": "  "})
    assert empty.status_code == 200 and "This field is required." in empty.text
    assert not DestinationState.objects.filter(paused_by_hand=True).exists()

    response = client.post("/outbox/destinations/cimcloud/pause/", {"reason": "CIMcloud maintenance"}, follow=True)
    assert response.redirect_chain == [("/outbox/", 302)]
    state = DestinationState.objects.get(destination="cimcloud")
    assert state.paused_by_hand and state.paused_until > timezone.now() + timedelta(days=300)
    assert state.pause_reason == "CIMcloud maintenance (by boss)"
    assert "CIMcloud is paused: CIMcloud maintenance (by boss)" in layout_alerts()
    assert "CIMcloud is paused: CIMcloud maintenance (by boss)" in response.text  # the banner
    assert "Resume sending" in response.text and "Paused by hand until resumed" in response.text
    assert _audit_trail() == [(AuditKind.DESTINATION_PAUSED, "cimcloud", "boss", "CIMcloud maintenance")]
    assert outbox.reserve_slot("cimcloud") > 0  # the workers wait

    outbox.pause_for_configuration("cimcloud", "401 Unauthorized")  # never overrides a pause by hand
    assert DestinationState.objects.get(destination="cimcloud").pause_reason == "CIMcloud maintenance (by boss)"

    resumed = client.post("/outbox/destinations/cimcloud/resume/", follow=True)
    assert "CIMcloud is sending again." in resumed.text
    state.refresh_from_db()
    assert (state.paused_until, state.pause_reason, state.paused_by_hand) == (None, "", False)
    assert not [a for a in layout_alerts() if "paused" in a]
    assert "is paused" not in resumed.text
    assert _audit_trail()[1:] == [
        (AuditKind.DESTINATION_RESUMED, "cimcloud", "boss", "was paused: CIMcloud maintenance (by boss)")
    ]

    again = client.post("/outbox/destinations/cimcloud/resume/", follow=True)
    assert "CIMcloud is not paused." in again.text


def test_resume_lifts_an_automatic_pause_too(client, admin_user):
    outbox.pause_for_configuration("tulaerp", "401 Unauthorized")
    client.force_login(admin_user)
    page = client.get("/outbox/").text
    assert "Paused until" in page and "Configuration: 401 Unauthorized" in page
    client.post("/outbox/destinations/tulaerp/resume/")
    assert DestinationState.objects.get(destination="tulaerp").paused_until is None


def test_an_open_breaker_is_shown_on_its_card(client, viewer):
    DestinationState.objects.create(
        destination="tulaerp",
        breaker_open_until=timezone.now() + timedelta(minutes=2),
        breaker_reason="10 failures in a row; last: 503",
    )
    client.force_login(viewer)
    page = client.get("/outbox/").text
    assert "dest-breaker" in page and "Failing · on hold" in page
    assert "Breaker open until" in page and "10 failures in a row; last: 503" in page


def test_pause_by_htmx_reloads_the_page_and_unknown_destinations_are_404(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/outbox/destinations/tulaerp/pause/", {"reason": "Stocktake"}, headers=HTMX)
    assert response["HX-Redirect"] == "/outbox/"
    assert client.get("/outbox/destinations/nowhere/pause/").status_code == 404
    assert client.post("/outbox/destinations/nowhere/resume/").status_code == 404


# --- Bulk retry -------------------------------------------------------------------------------------------------


def _window(hours_back=2):
    now = timezone.localtime(timezone.now())
    return {
        "destination": "cimcloud",
        "since": (now - timedelta(hours=hours_back)).strftime("%Y-%m-%dT%H:%M"),
        "until": (now + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M"),
    }


def test_bulk_retry_dry_run_then_confirm(client, operator, submit, settings):
    settings.CIMCLOUD_RATE_PER_WINDOW, settings.CIMCLOUD_RATE_PER_SECOND = 2, 1
    failed = [_attention(submit()) for _ in range(3)]
    old = _attention(submit())
    OutboxMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))  # outside
    client.force_login(operator)

    dry = client.post("/outbox/bulk-retry/", _window())
    assert dry.status_code == 200 and "<html" in dry.text  # without JavaScript: the whole page with the plan
    assert "<strong>3</strong> messages to CIMcloud would be queued again" in dry.text
    assert "about 16 min" in dry.text and "1 per second and 2 per 15 min" in dry.text
    assert 'name="confirm" value="on"' in dry.text
    assert OutboxMessage.objects.filter(state=MessageState.NEEDS_ATTENTION).count() == 4  # nothing changed

    done = client.post("/outbox/bulk-retry/", {**_window(), "confirm": "on"}, follow=True)
    assert done.redirect_chain == [("/outbox/", 302)]
    assert "3 messages to CIMcloud queued again at bulk priority" in done.text
    for message in failed:
        message.refresh_from_db()
        assert (message.state, message.priority) == (MessageState.PENDING, Priority.BULK)
    old.refresh_from_db()
    assert old.state == MessageState.NEEDS_ATTENTION


def test_bulk_retry_by_htmx_swaps_its_own_card(client, operator, submit):
    _attention(submit())
    client.force_login(operator)
    dry = client.post("/outbox/bulk-retry/", _window(), headers=HTMX)
    assert "<html" not in dry.text and 'id="bulk-retry"' in dry.text and "<strong>1</strong> message to" in dry.text
    done = client.post("/outbox/bulk-retry/", {**_window(), "confirm": "on"}, headers=HTMX)
    assert "<html" not in done.text and "1 message to CIMcloud queued again" in done.text
    assert "would be queued" not in done.text  # a fresh form after the retry


def test_bulk_retry_validates_its_window(client, operator):
    client.force_login(operator)
    window = _window()
    response = client.post("/outbox/bulk-retry/", {**window, "since": window["until"], "until": window["since"]})
    assert response.status_code == 200 and "Choose a time after the start of the window." in response.text
    nothing = client.post("/outbox/bulk-retry/", _window())
    assert "No failed or scheduled messages to CIMcloud" in nothing.text
    assert client.get("/outbox/bulk-retry/")["Location"] == "/outbox/"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "right away"), (0.4, "about 1 s"), (59, "about 59 s"), (60, "about 1 min"), (899, "about 15 min"),
     (5400, "about 1 h 30 min"), (7200, "about 2 h")],
)  # fmt: skip
def test_duration_text(seconds, text):
    assert duration_text(seconds) == text


# --- Query budget -------------------------------------------------------------------------------------------------


def _populate(submit, count: int) -> None:
    now = timezone.now()
    for n in range(count):
        order = submit()
        message = _attention(order) if n % 2 else order.outbox_messages.get(destination="cimcloud")
        for k in range(3):
            DeliveryAttempt.objects.create(
                message=message,
                number=k + 1,
                started_at=now - timedelta(minutes=40 * k + n),
                outcome="sent" if k else "retry",
            )


@pytest.mark.parametrize("partial", [False, True], ids=["page", "poll"])
def test_outbox_query_count_does_not_grow_with_the_data(client, admin_user, submit, django_assert_num_queries, partial):
    headers = HTMX if partial else {}
    # session, user, permissions (2), summary (3), attention list, chart, heartbeat; the page adds the banner (2)
    expected = 10 if partial else 12
    client.force_login(admin_user)
    _populate(submit, 2)
    with django_assert_num_queries(expected):
        assert client.get("/outbox/", headers=headers).status_code == 200
    _populate(submit, 20)
    with django_assert_num_queries(expected):
        assert client.get("/outbox/", headers=headers).status_code == 200
