"""The order page and its actions: submit, approve, reject, cancel, duplicate. One small POST view per action."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from orders import selectors, services
from orders.errors import DomainError
from orders.forms import describe_field
from orders.models import NOTE_MAX_LENGTH, Destination, Order, OrderState
from orders.selectors.detail import OrderDetail, badge_rows
from orders.services import Actor
from orders.views.auth import operator_required
from orders.views.htmx import wants_partial

TEMPLATE = "orders/order_detail.html"


class NoteForm(forms.Form):
    """A staff note, added on the order page or edited in place (orders/views/order_notes.py)."""

    text = forms.CharField(
        label="Note", max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}), strip=True
    )
    pinned = forms.BooleanField(label="Pin it: show it on the order list", required=False)


@require_GET
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    try:
        detail = selectors.order_detail(number=number)
    except Order.DoesNotExist:
        raise Http404(f"No order {number}.") from None
    template = f"{TEMPLATE}#page" if wants_partial(request) else TEMPLATE
    return render(request, template, detail_context(request, detail))


def detail_context(request: HttpRequest, detail: OrderDetail, **extra) -> dict:
    """What the order page and its notes partial render from; `extra` carries a bound note form and a status."""
    now = timezone.now()
    return {
        "d": detail,
        "o": detail.order,
        "here": request.get_full_path(),
        "note_form": NoteForm(),
        # The notes the viewer may still edit or delete (theirs, younger than the edit window).
        "changeable": {note.pk for note in detail.notes if note.changeable_by(request.user, now=now)},
        **extra,
    }


@require_GET
def order_sync_badges(request: HttpRequest, number: str) -> HttpResponse:
    """The badge strip, polled every 2 s while a message is on its way; it stops polling itself when done."""
    if not request.htmx:
        return redirect("orders:order-detail", number=number)
    try:
        order, latest, in_flight = selectors.order_sync_badges(number=number)
    except Order.DoesNotExist:
        raise Http404(f"No order {number}.") from None
    return render(
        request,
        f"{TEMPLATE}#sync_badges",
        {"o": order, "badges": badge_rows(order, latest), "in_flight": in_flight},
    )


# --- actions ---------------------------------------------------------------------------------------------------


def _action(view: Callable[[HttpRequest, Order, Actor], None]) -> Callable[..., HttpResponse]:
    """Operators and admins, POST only: load the order, run the service, say what happened, go back."""

    @operator_required
    @require_POST
    def wrapped(request: HttpRequest, number: str) -> HttpResponse:
        try:
            order = selectors.order_for_action(number=number)
        except Order.DoesNotExist:
            raise Http404(f"No order {number}.") from None
        try:
            response = view(request, order, Actor.from_request(request))
        except DomainError as exc:
            messages.error(request, explain(exc))
            response = None
        return response or redirect(back_to(request, reverse("orders:order-detail", args=[order.order_number])))

    wrapped.__name__ = view.__name__
    return wrapped


@_action
def order_submit(request: HttpRequest, order: Order, actor: Actor) -> None:
    order = services.order_submit(actor=actor, order_id=order.pk)
    if order.state == OrderState.AWAITING_REVIEW:
        reasons = "; ".join(r["message"] for r in order.review_reasons)
        messages.warning(request, f"Order {order.order_number} was sent to review before sending: {reasons}")
    else:
        names = " and ".join(Destination(d).label for d in order.destinations)
        messages.success(request, f"Order {order.order_number} submitted; it is being sent to {names}.")


@_action
def order_approve(request: HttpRequest, order: Order, actor: Actor) -> None:
    services.order_approve(actor=actor, order_id=order.pk)
    messages.success(request, f"Order {order.order_number} approved and submitted.")


@_action
def order_reject(request: HttpRequest, order: Order, actor: Actor) -> None:
    services.order_reject(actor=actor, order_id=order.pk, comment=request.POST.get("comment", ""))
    messages.success(request, f"Order {order.order_number} rejected.")


@_action
def order_cancel(request: HttpRequest, order: Order, actor: Actor) -> None:
    services.order_cancel(actor=actor, order_id=order.pk, reason=request.POST.get("reason", ""))
    messages.success(request, f"Order {order.order_number} cancelled.")


@_action
def order_duplicate(request: HttpRequest, order: Order, actor: Actor) -> HttpResponse:
    copy = services.order_duplicate(actor=actor, order_id=order.pk)
    messages.success(
        request, f"Draft {copy.order_number} created from {order.order_number}. Check it, add a PO number, and save."
    )
    return redirect("orders:order-edit", number=copy.order_number)


# --- shared with the review queue ------------------------------------------------------------------------------


def back_to(request: HttpRequest, default: str) -> str:
    """The `next` field when it points into this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def explain(exc: DomainError) -> str:
    """A domain error as one message, naming the fields it is about."""
    details = "; ".join(f"{describe_field(k)}: {' '.join(v)}" for k, v in exc.field_errors.items())
    return f"{exc.message} {details}".strip() if details else exc.message


urls = [
    path("orders/<ordernumber:number>/", order_detail, name="order-detail"),
    path("orders/<ordernumber:number>/sync/", order_sync_badges, name="order-sync"),
    path("orders/<ordernumber:number>/submit/", order_submit, name="order-submit"),
    path("orders/<ordernumber:number>/approve/", order_approve, name="order-approve"),
    path("orders/<ordernumber:number>/reject/", order_reject, name="order-reject"),
    path("orders/<ordernumber:number>/cancel/", order_cancel, name="order-cancel"),
    path("orders/<ordernumber:number>/duplicate/", order_duplicate, name="order-duplicate"),
]
