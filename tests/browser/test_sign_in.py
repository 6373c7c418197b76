from __future__ import annotations

import pytest

from tests.browser.conftest import no_horizontal_scroll, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_and_see_recent_orders(page, make_user, make_order):
    operator = make_user("dana", "operator")
    order = make_order(operator)
    page.goto("/")
    assert "/accounts/login/" in page.url  # every page needs a login
    sign_in(page, "dana", "pw-dana")
    page.goto("/")
    assert page.locator("table.orders").get_by_text(order.order_number).is_visible()
    assert page.get_by_text("operator").first.is_visible()
    shot(page, "home")
    page.set_viewport_size({"width": 390, "height": 800})
    assert no_horizontal_scroll(page)


def test_wrong_password_says_so(page, make_user):
    make_user("erin", "viewer")
    page.goto("/accounts/login/")
    page.fill("#id_username", "erin")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text().startswith("Your username and password didn't match")
