"""New order, edit draft, fix and resend: one form (header + line formset), its htmx helpers and live check."""

from __future__ import annotations

import secrets
import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from orders import selectors, services
from orders.errors import DomainError, StaleVersion
from orders.forms import EDIT, FIX, NEW, LineFormSet, OrderEntry, customer_values
from orders.models import Destination, Order, OrderState
from orders.selectors.detail import FixState
from orders.services import Actor
from orders.views.auth import operator_required
from orders.views.htmx import wants_partial

TEMPLATE = "orders/order_form.html"
TOKENS_KEY = "order_form_tokens"  # session: one-time form token → the order number its POST saved
TOKENS_KEPT = 50
MAX_ROWS = settings.ORDER_MAX_LINES  # the "add line" button stops here
RERENDER_ACTIONS = ("add_line", "pick_customer", "find_customer", "refresh")


def _partial(request: HttpRequest, name: str) -> str:
    return f"{TEMPLATE}#{name}" if wants_partial(request) else TEMPLATE


# --- the three pages -------------------------------------------------------------------------------------------


@operator_required
@require_http_methods(["GET", "POST"])
def order_new(request: HttpRequest) -> HttpResponse:
    return _entry_page(request, mode=NEW, order=None)


@operator_required
@require_http_methods(["GET", "POST"])
def order_edit(request: HttpRequest, number: str) -> HttpResponse:
    order = _order_or_404(number)
    if order.state != OrderState.DRAFT:
        messages.error(request, f"Order {order.order_number} is {order.get_state_display().lower()}: "
                       "only drafts can be edited.")  # fmt: skip
        return redirect("orders:order-detail", number=order.order_number)
    return _entry_page(request, mode=EDIT, order=order)


@operator_required
@require_http_methods(["GET", "POST"])
def order_fix(request: HttpRequest, number: str) -> HttpResponse:
    order = _order_or_404(number)
    fix = selectors.order_fix_state(order=order)
    if not fix.can_fix:
        messages.error(request, f"Order {order.order_number} has no rejected message to fix and resend.")
        return redirect("orders:order-detail", number=order.order_number)
    return _entry_page(request, mode=FIX, order=order, fix=fix)


def _order_or_404(number: str) -> Order:
    try:
        return selectors.order_for_action(number=number)
    except Order.DoesNotExist:
        raise Http404(f"No order {number}.") from None


def _entry_page(request: HttpRequest, *, mode: str, order: Order | None, fix: FixState | None = None):
    cimcloud_accepted = bool(fix and fix.cimcloud_accepted)
    if request.method == "GET":
        entry = OrderEntry.start(mode=mode, order=order, token=_new_token(), cimcloud_accepted=cimcloud_accepted)
        return _render_entry(request, entry, fix=fix)
    data = request.POST
    saved_as = _saved_with(request, data.get("form_token", ""))
    if saved_as == PENDING:
        messages.warning(request, "This form is still being saved by your first click; find the order in the list.")
        return redirect("orders:order-list")
    if saved_as:  # a second click, a reload or Back + resend: the first POST already saved this form
        messages.info(request, f"This form was already saved as order {saved_as}.")
        return redirect("orders:order-detail", number=saved_as)
    action = next((name for name in RERENDER_ACTIONS if name in data), None)
    if action:
        entry = _rerendered(data, action, mode=mode, order=order, accepted=cimcloud_accepted)
        return _render_entry(request, entry, fix=fix)
    entry = OrderEntry.bind(data, mode=mode, order=order, cimcloud_accepted=cimcloud_accepted)
    if not entry.is_valid():
        return _render_entry(request, entry, fix=fix)
    _claim_token(request, entry.token)
    try:
        saved = _save(entry, Actor.from_request(request), mode=mode, order=order, request=request)
    except StaleVersion as exc:
        _release_token(request, entry.token)
        entry.form.add_error(
            None,
            f"Not saved: {exc.changed_by} changed this order at {_clock(exc)} while you were editing. Your input "
            "is kept below. Open the order in a new tab to see their changes, then reload this form and apply "
            "yours again.",
        )
        return _render_entry(request, entry, fix=fix)
    except DomainError as exc:
        _release_token(request, entry.token)
        entry.apply_errors(exc.field_errors)
        entry.form.add_error(None, exc.message)
        return _render_entry(request, entry, fix=fix)
    _remember_token(request, entry.token, saved.order_number)
    if mode == FIX or data.get("action") != "submit":
        if mode != FIX:
            messages.success(request, f"Draft {saved.order_number} saved.")
        return redirect("orders:order-detail", number=saved.order_number)
    return _submit_saved(request, saved, data)


def _save(entry: OrderEntry, actor: Actor, *, mode: str, order: Order | None, request: HttpRequest) -> Order:
    form = entry.form
    lines = entry.line_inputs()
    if mode == NEW:
        return services.order_create(
            actor=actor,
            fields=form.service_fields(),
            lines=lines,
            customer=form.cleaned_data.get("customer"),
            destinations=form.destination_list(),
        )
    assert order is not None
    if mode == EDIT:
        customer = form.cleaned_data.get("customer")
        return services.order_update_draft(
            actor=actor,
            order_id=order.pk,
            version=entry.version,
            fields=form.service_fields(),
            lines=lines,
            # Only a change of customer takes a new snapshot; otherwise the draft keeps the one it has.
            customer=customer if customer is not None and customer.pk != order.customer_id else None,
            destinations=form.destination_list(),
        )
    result = services.order_fix_and_resend(
        actor=actor,
        order_id=order.pk,
        version=entry.version,
        fields=form.service_fields(),
        lines=lines,
        also_update_cimcloud=bool(form.cleaned_data.get("also_update_cimcloud")),
    )
    if result.resent:
        names = ", ".join(_label(d) for d in result.resent)
        messages.success(request, f"Order {order.order_number} corrected and queued again for {names}.")
    else:
        messages.info(request, f"Order {order.order_number} corrected; nothing was queued again.")
    for note in result.by_hand:
        messages.warning(request, note)
    return result.order


def _submit_saved(request: HttpRequest, saved: Order, data: QueryDict) -> HttpResponse:
    try:
        order = services.order_submit(actor=Actor.from_request(request), order_id=saved.pk)
    except DomainError as exc:
        # Saved, not submitted: show the saved draft's form with the reasons on their fields.
        messages.warning(request, f"Draft {saved.order_number} saved, but not submitted: {exc.message}")
        saved.refresh_from_db()
        again = data.copy()
        again["version"], again["form_token"] = str(saved.version), _new_token()
        entry = OrderEntry.bind(again, mode=EDIT, order=saved)
        entry.is_valid()
        entry.apply_errors(exc.field_errors)
        return _render_entry(request, entry)
    if order.state == OrderState.AWAITING_REVIEW:
        reasons = "; ".join(r["message"] for r in order.review_reasons)
        messages.warning(request, f"Order {order.order_number} was sent to review before sending: {reasons}")
    else:
        names = " and ".join(_label(d) for d in order.destinations)
        messages.success(request, f"Order {order.order_number} submitted; it is being sent to {names}.")
    return redirect("orders:order-detail", number=order.order_number)


def _rerendered(data: QueryDict, action: str, *, mode: str, order: Order | None, accepted: bool) -> OrderEntry:
    """The no-JavaScript helpers: add a row, find or pick a customer. Nothing is saved or validated."""
    data = data.copy()
    results = None
    if action == "add_line":
        total = _int(data.get("lines-TOTAL_FORMS"), 1)
        if total < MAX_ROWS:
            data["lines-TOTAL_FORMS"] = str(total + 1)
            data[f"lines-{total}-quantity"] = "1"  # as a blank row starts (unchanged: ignored if left blank)
    elif action == "pick_customer" and mode != FIX:
        _pick(data, data.get("pick_customer", ""))
    if action in ("find_customer", "refresh") and mode != FIX and data.get("customer_q", "").strip():
        results = selectors.customer_search(q=data["customer_q"])
    return OrderEntry.bind(
        data, mode=mode, order=order, quiet=True, cimcloud_accepted=accepted, customer_results=results
    )


def _pick(data: QueryDict, value: str) -> None:
    customer = selectors.customer_by_id(customer_id=int(value)) if value.isdigit() else None
    data["customer"] = str(customer.pk) if customer else ""
    data["customer_q"] = ""
    data["ship_to_source"] = "customer"
    for name, field_value in customer_values(customer).items():
        data[name] = field_value


def _render_entry(request: HttpRequest, entry: OrderEntry, *, fix: FixState | None = None) -> HttpResponse:
    return render(request, _partial(request, "entry"), _context(entry, fix=fix))


def _context(entry: OrderEntry, **extra: Any) -> dict[str, Any]:
    order = entry.order
    titles = {NEW: "New order", EDIT: f"Edit draft {order}", FIX: f"Fix and resend {order}"}
    actions = {
        NEW: reverse("orders:order-new"),
        EDIT: order and reverse("orders:order-edit", args=[order.order_number]),
        FIX: order and reverse("orders:order-fix", args=[order.order_number]),
    }
    check = reverse("orders:order-check") + (f"?order={order.order_number}" if order else "")
    fix = extra.get("fix")
    return {
        "resend_plan": [(Destination(d).label, d in fix.accepted, d) for d in order.destinations] if fix else [],
        "entry": entry,
        "form": entry.form,
        "lines": entry.lines,
        "mode": entry.mode,
        "order": order,
        "title": titles[entry.mode],
        "action_url": actions[entry.mode],
        "check_url": check,
        "pick_url": reverse("orders:order-customer-pick"),
        "customer_q": entry.form.data.get("customer_q", "") if entry.form.is_bound else "",
        "customer_results": entry.customer_results,
        "next_index": entry.lines.total_form_count(),
        **extra,
    }


# --- htmx helpers (each also answers a plain request sensibly) --------------------------------------------------


@operator_required
@require_GET
def customer_search(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", request.GET.get("customer_q", ""))
    return render(
        request,
        f"{TEMPLATE}#customer_results",
        {
            "customer_results": selectors.customer_search(q=q) if q.strip() else None,
            "customer_q": q,
            "pick_url": reverse("orders:order-customer-pick"),
        },
    )


@operator_required
@require_POST
def customer_pick(request: HttpRequest) -> HttpResponse:
    """Fill the customer block from the picked customer (or empty it for a new one) and offer its ship-tos; the
    rest of the form comes along untouched."""
    data = request.POST.copy()
    _pick(data, data.get("pick_customer", ""))
    # The customer and ship-to blocks are the same in a new order and a draft.
    entry = OrderEntry.bind(data, mode=NEW, quiet=True)
    if not request.htmx:
        return _render_entry(request, entry)
    response = render(request, f"{TEMPLATE}#customer_picked", {**_context(entry), "oob": True})
    return trigger_client_event(response, "entry-changed", {"target": "#order-entry"}, after="settle")


@operator_required
@require_GET
def item_search(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q") or next((v for k, v in request.GET.items() if k.endswith("-sku")), "")
    return render(request, f"{TEMPLATE}#item_options", {"items": selectors.catalog_search(q=q)})


@operator_required
@require_GET
def line_row(request: HttpRequest) -> HttpResponse:
    """One blank line row for `?index=N`, with the formset's form count and the add button moved on."""
    index = _int(request.GET.get("index"), -1)
    if not 0 <= index < MAX_ROWS:
        return HttpResponseBadRequest("index must be a row number")
    line = LineFormSet().blank_row(index)
    return render(
        request,
        f"{TEMPLATE}#line_added",
        {"line": line, "row_number": index + 1, "next_index": index + 1, "oob": True},
    )


@operator_required
@require_http_methods(["GET", "POST"])
def order_check(request: HttpRequest) -> HttpResponse:
    """Bind the form as typed, save nothing, and show totals and the pre-send check per destination."""
    order = _editing(request)
    mode = FIX if order is not None and order.state == OrderState.SUBMITTED else (EDIT if order else NEW)
    data = request.POST if request.method == "POST" else request.GET
    fix = selectors.order_fix_state(order=order) if mode == FIX else None
    entry = OrderEntry.bind(data, mode=mode, order=order, cimcloud_accepted=bool(fix and fix.cimcloud_accepted))
    if not request.htmx:
        return _render_entry(request, entry, fix=fix)
    return render(request, f"{TEMPLATE}#check", {**_context(entry), "oob": True})


def _editing(request: HttpRequest) -> Order | None:
    number = request.GET.get("order", "")
    if not number:
        return None
    return _order_or_404(number)


# --- small helpers -----------------------------------------------------------------------------------------------


def _new_token() -> str:
    return secrets.token_urlsafe(16)


# The one-time form token. A POST claims it in the session (saved at once, so a second click arriving while the
# first is still saving sees the claim), then records the order it saved; a failed save releases it.
PENDING = "pending"
WAIT_FOR_FIRST_CLICK_S = 5.0


def _saved_with(request: HttpRequest, token: str) -> str | None:
    """The order number this token saved, PENDING while another request is saving it, or None."""
    state = request.session.get(TOKENS_KEY, {}).get(token) if token else None
    deadline = time.monotonic() + WAIT_FOR_FIRST_CLICK_S
    while state == PENDING and time.monotonic() < deadline:  # the first click is saving: wait for its order
        time.sleep(0.1)
        state = type(request.session)(request.session.session_key).get(TOKENS_KEY, {}).get(token)
    return state


def _tokens(request: HttpRequest) -> dict[str, str]:
    return dict(request.session.get(TOKENS_KEY, {}))


def _store_tokens(request: HttpRequest, tokens: dict[str, str], *, now: bool = False) -> None:
    request.session[TOKENS_KEY] = dict(list(tokens.items())[-TOKENS_KEPT:])
    if now:
        request.session.save()


def _claim_token(request: HttpRequest, token: str) -> None:
    _store_tokens(request, {**_tokens(request), token: PENDING}, now=True)


def _release_token(request: HttpRequest, token: str) -> None:
    tokens = _tokens(request)
    tokens.pop(token, None)
    _store_tokens(request, tokens, now=True)


def _remember_token(request: HttpRequest, token: str, number: str) -> None:
    _store_tokens(request, {**_tokens(request), token: number})


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _clock(exc: StaleVersion) -> str:
    return f"{timezone.localtime(exc.changed_at):%H:%M:%S}"


def _label(destination: str) -> str:
    return Destination(destination).label


urls = [
    path("orders/new/", order_new, name="order-new"),
    path("orders/new/customers/", customer_search, name="order-customer-search"),
    path("orders/new/customers/pick/", customer_pick, name="order-customer-pick"),
    path("orders/new/items/", item_search, name="order-item-search"),
    path("orders/new/line/", line_row, name="order-line-row"),
    path("orders/new/check/", order_check, name="order-check"),
    path("orders/<ordernumber:number>/edit/", order_edit, name="order-edit"),
    path("orders/<ordernumber:number>/fix/", order_fix, name="order-fix"),
]
