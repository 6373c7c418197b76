"""The review queue: orders awaiting review, approved or rejected one at a time or in bulk."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from orders import selectors, services
from orders.errors import DomainError
from orders.models import Order
from orders.services import Actor
from orders.views.auth import operator_required
from orders.views.htmx import wants_partial
from orders.views.order_detail import explain

TEMPLATE = "orders/review.html"
ACTIONS = ("approve", "reject")


def _render_queue(request: HttpRequest) -> HttpResponse:
    template = f"{TEMPLATE}#queue" if wants_partial(request) else TEMPLATE
    return render(request, template, {"queue": selectors.review_queue()})


@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    return _render_queue(request)


@operator_required
@require_POST
def review_bulk(request: HttpRequest) -> HttpResponse:
    """Approve or reject the chosen orders, one service call each. The four-eyes rule (and anything else the
    service refuses) stops that order only: it is named in a message and the others go ahead."""
    action = request.POST.get("action", "")
    ids = [int(v) for v in request.POST.getlist("order") if v.isdigit()]
    comment = request.POST.get("comment", "").strip()
    if action not in ACTIONS:
        messages.error(request, "Choose approve or reject.")
    elif not ids:
        messages.error(request, "Tick at least one order.")
    elif action == "reject" and not comment:
        messages.error(request, "Say why the orders are rejected: the comment is kept on each order.")
    else:
        _apply(request, action, ids, comment)
    if request.htmx:
        return _render_queue(request)
    return redirect("orders:review-queue")


def _apply(request: HttpRequest, action: str, ids: list[int], comment: str) -> None:
    actor = Actor.from_request(request)
    numbers = dict(Order.objects.filter(pk__in=ids).values_list("pk", "order_number"))
    done: list[str] = []
    for order_id in ids:
        if order_id not in numbers:
            messages.error(request, f"Order #{order_id} no longer exists.")
            continue
        try:
            if action == "approve":
                services.order_approve(actor=actor, order_id=order_id)
            else:
                services.order_reject(actor=actor, order_id=order_id, comment=comment)
        except DomainError as exc:
            messages.error(request, f"{numbers[order_id]}: {explain(exc)}")
        else:
            done.append(numbers[order_id])
    if done:
        verb = "Approved and submitted" if action == "approve" else "Rejected"
        messages.success(request, f"{verb} {len(done)} order{'s' if len(done) != 1 else ''}: {', '.join(done)}.")


urls = [
    path("orders/review/", review_queue, name="review-queue"),
    path("orders/review/bulk/", review_bulk, name="review-bulk"),
]
