"""Staff notes: the services' rules (operators write, the author alone changes a note and only for 15 minutes),
the order page (in place with htmx, and without JavaScript), the list's search and pinned icon, and the API.

Time is moved with time-machine, never slept through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils.timezone import localtime
from rest_framework.test import APIClient

from orders.errors import InvalidInput, NotAllowed
from orders.models import NOTE_MAX_LENGTH, OrderNote
from orders.selectors import order_search
from orders.services import Actor, note_add, note_delete, note_edit
from orders.services.tokens import api_token_create
from tests.test_search import new_order

HX = {"HTTP_HX_REQUEST": "true"}
START = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@pytest.fixture
def order(make_order):
    return new_order(make_order, number="N-1")


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _note(user, order, text="Call before delivery", **kwargs) -> OrderNote:
    return note_add(actor=Actor(user=user), order_id=order.pk, text=text, **kwargs)


# --- services --------------------------------------------------------------------------------------------------


def test_an_operator_adds_a_note_and_the_text_is_trimmed(operator, order, clock):
    note = _note(operator, order, text="  Leave at the back door  ", pinned=True)
    assert (note.text, note.pinned, note.author, note.created_at) == ("Leave at the back door", True, operator, START)


def test_viewers_and_processes_cannot_write_notes(viewer, order):
    for actor in (Actor(user=viewer), Actor.system("cron")):
        with pytest.raises(NotAllowed):
            note_add(actor=actor, order_id=order.pk, text="x")
    assert not OrderNote.objects.exists()


@pytest.mark.parametrize("text", ["", "   ", "x" * (NOTE_MAX_LENGTH + 1)])
def test_empty_or_too_long_notes_are_refused_with_a_field_error(operator, order, text):
    with pytest.raises(InvalidInput) as error:
        _note(operator, order, text=text)
    assert list(error.value.field_errors) == ["text"]


def test_the_author_edits_and_deletes_within_fifteen_minutes(operator, order, clock):
    note = _note(operator, order)
    clock.shift(timedelta(minutes=14, seconds=59))
    edited = note_edit(actor=Actor(user=operator), note_id=note.pk, text="Call after 9", pinned=True)
    assert (edited.text, edited.pinned, edited.edited_at) == (
        "Call after 9",
        True,
        START + timedelta(minutes=14, seconds=59),
    )
    note_delete(actor=Actor(user=operator), note_id=note.pk)
    assert not OrderNote.objects.exists()


def test_after_fifteen_minutes_a_note_is_permanent(operator, order, clock):
    note = _note(operator, order)
    clock.shift(timedelta(minutes=15))
    for change in (
        lambda: note_edit(actor=Actor(user=operator), note_id=note.pk, text="changed", pinned=False),
        lambda: note_delete(actor=Actor(user=operator), note_id=note.pk),
    ):
        with pytest.raises(NotAllowed, match="permanent"):
            change()
    assert OrderNote.objects.get().text == "Call before delivery"


def test_nobody_changes_another_persons_note_not_even_an_admin(operator, operator2, admin_user, order, clock):
    note = _note(operator, order)
    for user in (operator2, admin_user):
        with pytest.raises(NotAllowed, match="author"):
            note_edit(actor=Actor(user=user), note_id=note.pk, text="mine now", pinned=False)
        with pytest.raises(NotAllowed, match="author"):
            note_delete(actor=Actor(user=user), note_id=note.pk)
    assert OrderNote.objects.get().text == "Call before delivery"


# --- the order page --------------------------------------------------------------------------------------------


def test_htmx_add_answers_the_timeline_in_place_with_author_and_time(client, operator, order, clock):
    client.force_login(operator)
    response = client.post("/orders/N-1/notes/", {"text": "Dock closes at 4 pm", "pinned": "on"}, **HX)
    assert response.status_code == 200
    html = response.text
    assert "<html" not in html and html.lstrip().startswith('<div id="notes-timeline"')
    assert "Note added." in html and "Dock closes at 4 pm" in html and "Pinned note" in html
    assert "op1" in html and f'datetime="{localtime(START).isoformat()}"' in html
    assert OrderNote.objects.get().pinned


def test_without_javascript_add_redirects_back_with_a_message(client, operator, order):
    client.force_login(operator)
    response = client.post("/orders/N-1/notes/", {"text": "Plain form post"}, follow=True)
    assert response.redirect_chain == [("/orders/N-1/", 302)]
    assert "Note added." in response.text and "Plain form post" in response.text


def test_an_empty_note_shows_the_error_and_keeps_the_page(client, operator, order):
    client.force_login(operator)
    partial = client.post("/orders/N-1/notes/", {"text": "  "}, **HX)
    assert partial.status_code == 200 and "This field is required." in partial.text
    page = client.post("/orders/N-1/notes/", {"text": ""})
    assert page.status_code == 200 and "<html" in page.text and "This field is required." in page.text
    assert not OrderNote.objects.exists()


def test_a_viewer_reads_notes_but_gets_no_form_and_403_on_writes(client, viewer, operator, order, clock):
    note = _note(operator, order, text="Visible to all staff")
    client.force_login(viewer)
    page = client.get("/orders/N-1/").text
    assert "Visible to all staff" in page and "Add a note" not in page and "Delete" not in page
    assert client.post("/orders/N-1/notes/", {"text": "x"}).status_code == 403
    assert client.post(f"/orders/N-1/notes/{note.pk}/edit/", {f"edit-{note.pk}-text": "x"}).status_code == 403
    assert client.post(f"/orders/N-1/notes/{note.pk}/delete/").status_code == 403
    assert OrderNote.objects.get().text == "Visible to all staff"


def test_edit_and_delete_buttons_show_only_for_the_author_inside_the_window(client, operator, operator2, order, clock):
    note = _note(operator, order)
    edit_url = f"/orders/N-1/notes/{note.pk}/edit/"
    client.force_login(operator2)
    assert edit_url not in client.get("/orders/N-1/").text
    client.force_login(operator)
    assert edit_url in client.get("/orders/N-1/").text
    clock.shift(timedelta(minutes=16))
    assert edit_url not in client.get("/orders/N-1/").text


def test_edit_in_place_then_refused_once_permanent(client, operator, order, clock):
    note = _note(operator, order)
    client.force_login(operator)
    url = f"/orders/N-1/notes/{note.pk}/edit/"
    response = client.post(url, {f"edit-{note.pk}-text": "Call after 9", f"edit-{note.pk}-pinned": "on"}, **HX)
    assert "Note saved." in response.text and "Call after 9" in response.text and "edited" in response.text
    clock.shift(timedelta(minutes=20))
    response = client.post(url, {f"edit-{note.pk}-text": "Too late"}, **HX)
    assert "permanent" in response.text and "Too late" not in response.text
    assert OrderNote.objects.get().text == "Call after 9"


def test_another_operator_cannot_edit_or_delete_by_posting(client, operator, operator2, order, clock):
    note = _note(operator, order)
    client.force_login(operator2)
    response = client.post(f"/orders/N-1/notes/{note.pk}/delete/", follow=True)
    assert "Only the author" in response.text
    response = client.post(f"/orders/N-1/notes/{note.pk}/edit/", {f"edit-{note.pk}-text": "hijack"}, follow=True)
    assert "Only the author" in response.text
    assert OrderNote.objects.get().text == "Call before delivery"


def test_a_note_of_another_order_is_not_found_here(client, operator, order, make_order):
    other = new_order(make_order, number="N-2")
    note = _note(operator, other)
    client.force_login(operator)
    assert client.post(f"/orders/N-1/notes/{note.pk}/delete/").status_code == 404
    assert client.post("/orders/NOPE/notes/", {"text": "x"}).status_code == 404
    assert OrderNote.objects.filter(pk=note.pk).exists()


def test_delete_in_place(client, operator, order):
    note = _note(operator, order, text="Typo note")
    client.force_login(operator)
    response = client.post(f"/orders/N-1/notes/{note.pk}/delete/", **HX)
    assert "Note deleted." in response.text and "Typo note" not in response.text
    assert not OrderNote.objects.exists()


# --- list: search and pinned notes -------------------------------------------------------------------------------


def test_the_list_search_finds_orders_by_note_text_in_any_case(operator, order, make_order):
    new_order(make_order, number="N-2")
    _note(operator, order, text="Customer wants a BLIND drop-ship")
    assert list(order_search(q="blind drop").values_list("order_number", flat=True)) == ["N-1"]
    assert not order_search(q="someone@example.com").exists()  # an email is matched exactly, never against notes


def test_pinned_notes_show_on_the_list_row_as_an_icon_with_the_text(client, viewer, operator, order, make_order):
    new_order(make_order, number="N-2")
    _note(operator, order, text="Fragile: <glass>", pinned=True)
    _note(operator, order, text="Not pinned")
    client.force_login(viewer)
    html = client.get("/orders/").text
    assert html.count('class="pin"') == 1
    assert 'title="Fragile: &lt;glass&gt;" aria-label="Pinned note: Fragile: &lt;glass&gt;">' in html
    assert "Not pinned" not in html


# --- API ---------------------------------------------------------------------------------------------------------


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + api_token_create(actor=Actor.system("t"), user=user)[1])
    return client


def test_api_post_answers_201_with_the_note_and_get_lists_them(operator, order, clock):
    api = _api(operator)
    response = api.post("/api/v1/orders/n-1/notes/", {"text": "From the ERP desk", "pinned": True}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body == {
        "id": body["id"],
        "order_number": "N-1",
        "text": "From the ERP desk",
        "pinned": True,
        "author": "op1",
        "created_at": body["created_at"],
        "edited_at": None,
        "editable_until": body["editable_until"],
    }
    assert datetime.fromisoformat(body["editable_until"]) - datetime.fromisoformat(body["created_at"]) == timedelta(
        minutes=15
    )
    listed = api.get("/api/v1/orders/N-1/notes/").json()
    assert [n["text"] for n in listed["results"]] == ["From the ERP desk"]


def test_api_viewer_reads_but_cannot_post(viewer, operator, order):
    _note(operator, order, text="Read me")
    api = _api(viewer)
    assert [n["text"] for n in api.get("/api/v1/orders/N-1/notes/").json()["results"]] == ["Read me"]
    response = api.post("/api/v1/orders/N-1/notes/", {"text": "no"}, format="json")
    assert response.status_code == 403 and response.json()["type"] == "permission_denied"
    assert OrderNote.objects.count() == 1


def test_api_errors_have_the_one_shape(operator, order):
    api = _api(operator)
    response = api.post("/api/v1/orders/N-1/notes/", {"text": "", "pinned": "sometimes", "colour": 1}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "invalid" and set(body["errors"]) == {"text", "pinned", "colour"}
    missing = api.post("/api/v1/orders/NOPE/notes/", {"text": "x"}, format="json")
    assert missing.status_code == 404 and missing.json()["type"] == "not_found"
    anonymous = APIClient().get("/api/v1/orders/N-1/notes/")
    assert anonymous.status_code == 401 and anonymous.json()["type"] == "not_authenticated"
    assert not OrderNote.objects.exists()
