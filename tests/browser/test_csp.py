"""The Content Security Policy in a real browser: every screen (dashboard, admin, API docs) loads and works with no
violation reported, neither as a `securitypolicyviolation` event nor on the console."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from orders.models import Customer, Order, OrderState, OutboxMessage
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-pass-123"
# Playwright adds this before any page script; it is not subject to the page's policy.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  const where = e.sourceFile + ':' + e.lineNumber;
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + where);
});
"""


def test_no_screen_violates_the_policy(page, settings, make_user):
    make_user("setup", "viewer")  # recreates the role groups a transactional test flushed
    settings.DEBUG, settings.DEMO_PASSWORD = True, PASSWORD
    call_command("seed_demo", orders=40, stdout=io.StringIO())
    order = Order.objects.exclude(state=OrderState.DRAFT).order_by("id").first()
    draft = Order.objects.filter(state=OrderState.DRAFT).first()
    customer = Customer.objects.order_by("id").first()
    message = OutboxMessage.objects.order_by("id").first()
    screens = [
        "/",
        "/orders/",
        "/orders/new/",
        f"/orders/{order.order_number}/",
        "/orders/review/",
        "/tracking/",
        "/outbox/",
        f"/outbox/{message.pk}/mark-sent/",
        "/outbox/destinations/cimcloud/pause/",
        "/customers/",
        f"/customers/{customer.pk}/",
        f"/customers/{customer.pk}/edit/",
        "/admin/",
        "/admin/orders/order/",
        f"/admin/orders/order/{order.pk}/change/",
        "/admin/orders/auditentry/",
        "/admin/auth/user/",
        "/api/v1/docs/",
        "/accounts/password_change/",
    ]
    if draft:
        screens.append(f"/orders/{draft.order_number}/edit/")

    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{page.url}: {msg.text}"))
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, "admin", PASSWORD)
    violations = []
    for url in screens:
        response = page.goto(url)
        assert response.status < 400, url
        assert "default-src 'self'" in response.headers["content-security-policy"], url
        page.wait_for_load_state("networkidle")
        violations += [f"{url}: {v}" for v in page.evaluate("window.__violations")]
    # Something htmx does on a page: type in the order search, which swaps the results in.
    page.goto("/orders/")
    page.fill("input[name=q]", order.order_number)
    page.wait_for_load_state("networkidle")
    violations += [f"/orders/ search: {v}" for v in page.evaluate("window.__violations")]
    if url := next((u for u in screens if u == "/api/v1/docs/"), None):
        page.goto(url)
        page.wait_for_selector(".swagger-ui .information-container", timeout=10_000)  # the UI rendered
    policy_messages = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    assert not violations and not policy_messages, "\n".join(violations + policy_messages)
