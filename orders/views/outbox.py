"""The outbox monitor: per destination health, sends per hour, the needs-attention list and the staff actions.

The message actions (retry, mark as sent, cancel) are shared with the order page: they accept a `next` POST
field (a local path) to return to, and default back to the monitor.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect

from orders import selectors, services
from orders.charts import Bucket, Chart, column_chart, labelled_indexes
from orders.errors import DomainError, InvalidInput
from orders.models import Destination
from orders.selectors.dashboard import local_zone
from orders.services import Actor
from orders.services.destinations import REASON_MAX
from orders.services.outbox import BulkRetryPlan
from orders.views.auth import admin_required, operator_required
from orders.views.htmx import add_domain_errors, wants_partial

PAGE = "orders/outbox.html"
CHART_HOURS = 24
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


# --- Forms (small and only used here) -------------------------------------------------------------------------


class PauseForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX,
        help_text="Shown in every page's banner until the destination is resumed.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. CIMcloud maintenance until 14:00"}),
    )


class MarkSentForm(forms.Form):
    external_reference = forms.CharField(
        max_length=100,
        required=False,
        label="Reference in the destination",
        help_text="TulaERP's short order number, or CIMcloud's order id, if you have it.",
    )
    note = forms.CharField(
        max_length=2000,
        label="How do you know it is there?",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "A note is required."},
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class BulkRetryForm(forms.Form):
    destination = forms.ChoiceField(choices=Destination.choices)
    since = forms.DateTimeField(
        label="Created from", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)
    )
    until = forms.DateTimeField(
        label="Created before", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            self.add_error("until", "Choose a time after the start of the window.")
        return data

    @classmethod
    def fresh(cls) -> BulkRetryForm:
        now = timezone.localtime(timezone.now(), local_zone()).replace(second=0, microsecond=0)
        return cls(initial={"destination": Destination.CIMCLOUD, "since": now - timedelta(days=1), "until": now})


# --- Pages -----------------------------------------------------------------------------------------------------


@require_safe
def outbox(request: HttpRequest) -> HttpResponse:
    """The monitor. Its live region asks for itself every 5 s and gets the `live` partial."""
    if wants_partial(request):
        return render(request, f"{PAGE}#live", _live_context(partial=True))
    return render(request, PAGE, {**_live_context(partial=False), "bulk_form": BulkRetryForm.fresh()})


@operator_required
@require_http_methods(["GET", "POST"])
def bulk_retry(request: HttpRequest) -> HttpResponse:
    """Two steps, both POST: without `confirm` a dry run (how many, how long to drain), with it the retry."""
    if request.method == "GET":
        return redirect("orders:outbox")
    form = BulkRetryForm(request.POST)
    plan = None
    if form.is_valid():
        data = form.cleaned_data
        confirmed = data["confirm"]
        try:
            plan = services.outbox_bulk_retry(
                actor=Actor.from_request(request),
                destination=data["destination"],
                since=data["since"],
                until=data["until"],
                dry_run=not confirmed,
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            if confirmed:
                label = Destination(data["destination"]).label
                if plan.count:
                    messages.success(
                        request,
                        f"{plan.count} message{_s(plan.count)} to {label} queued again at bulk priority "
                        f"(new orders go first); {duration_text(plan.estimated_seconds)} to send.",
                    )
                else:
                    messages.info(request, f"Nothing to retry for {label} in that window any more.")
                if not wants_partial(request):
                    return redirect("orders:outbox")
                form, plan = BulkRetryForm.fresh(), None
    context = {"bulk_form": form, "plan": plan, "plan_text": _plan_text(form, plan), "partial": True}
    if wants_partial(request):
        return render(request, f"{PAGE}#bulk", context)
    # Without JavaScript the dry run is shown on the whole page (a read: nothing to redirect after).
    return render(request, PAGE, {**_live_context(partial=False), **context, "partial": False})


@admin_required
@require_http_methods(["GET", "POST"])
def destination_pause(request: HttpRequest, destination: str) -> HttpResponse:
    label = _destination_label(destination)
    form = PauseForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            services.destination_pause(
                actor=Actor.from_request(request), destination=destination, reason=form.cleaned_data["reason"]
            )
        except InvalidInput as exc:
            add_domain_errors(form, exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return _to_monitor(request)
        else:
            messages.success(request, f"{label} is paused. Its messages stay queued until you resume it.")
            return _to_monitor(request)
    context = {"screen": "pause", "form": form, "destination": destination, "label": label}
    return render(request, f"{PAGE}#pause_form" if wants_partial(request) else PAGE, context)


@admin_required
@require_POST
def destination_resume(request: HttpRequest, destination: str) -> HttpResponse:
    label = _destination_label(destination)
    try:
        services.destination_resume(actor=Actor.from_request(request), destination=destination)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{label} is sending again.")
    return _to_monitor(request)


@operator_required
@require_POST
def message_retry(request: HttpRequest, message_id: int) -> HttpResponse:
    try:
        message = services.outbox_retry_now(actor=Actor.from_request(request), message_id=message_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{message.order.order_number} is queued to {message.get_destination_display()} again now."
        )
    return _back(request)


@operator_required
@require_POST
def message_cancel(request: HttpRequest, message_id: int) -> HttpResponse:
    try:
        message = services.outbox_cancel_message(
            actor=Actor.from_request(request), message_id=message_id, note=request.POST.get("note", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Sending {message.order.order_number} to {message.get_destination_display()} is cancelled."
        )
    return _back(request)


@operator_required
@require_http_methods(["GET", "POST"])
def message_mark_sent(request: HttpRequest, message_id: int) -> HttpResponse:
    """GET: a confirmation page with the form (works without JavaScript). POST: the form, from there or inline."""
    message = selectors.outbox_message_for_action(message_id=message_id)
    if message is None:
        raise Http404("No such outbox message.")
    if request.method == "POST":
        form = MarkSentForm(request.POST)
        if form.is_valid():
            try:
                services.outbox_mark_sent(
                    actor=Actor.from_request(request),
                    message_id=message_id,
                    external_reference=form.cleaned_data["external_reference"],
                    note=form.cleaned_data["note"],
                )
            except InvalidInput as exc:
                add_domain_errors(form, exc)
            except DomainError as exc:
                messages.error(request, exc.message)
                return _back(request)
            else:
                messages.success(
                    request,
                    f"{message.order.order_number} is marked as sent to {message.get_destination_display()}.",
                )
                return _back(request)
    else:
        form = MarkSentForm(initial={"next": _safe_next(request, request.GET.get("next", ""))})
    back = _safe_next(request, form["next"].value() or "") or reverse("orders:outbox")
    context = {"screen": "mark_sent", "message": message, "form": form, "back": back}
    return render(request, f"{PAGE}#mark_sent_form" if wants_partial(request) else PAGE, context)


# --- Helpers ---------------------------------------------------------------------------------------------------


def _live_context(*, partial: bool) -> dict[str, Any]:
    panels = selectors.destination_panels()
    now = timezone.now()
    return {
        "screen": "monitor",
        "partial": partial,  # a partial shows its own messages: the layout's message list is not re-rendered
        "panels": panels,
        "attention": selectors.needs_attention_messages(),
        "attention_total": sum(p.needs_attention for p in panels),
        "chart": attempts_chart(),
        "heartbeat": selectors.last_heartbeat(),
        "now": now,
        "minute_ago": now - timedelta(minutes=1),  # younger than this reads "just now", not "0 minutes"
    }


def attempts_chart() -> Chart:
    hours = selectors.attempts_per_hour(hours=CHART_HOURS)
    zone = local_zone()
    ticks = labelled_indexes(len(hours), 6)
    buckets = []
    for index, (hour, (sent, failed)) in enumerate(hours):
        local = timezone.localtime(hour, zone)
        buckets.append(
            Bucket(
                label=f"{local:%b} {local.day}, {local:%H:%M}",
                values=(sent, failed),
                tick=f"{local:%H:%M}" if index in ticks else "",
            )
        )
    return column_chart(
        buckets,
        series=("bar-sent", "bar-failed"),
        describe=lambda b: f"{b.label}: {b.values[0]} sent, {b.values[1]} not sent",
    )


def duration_text(seconds: float) -> str:
    """A drain estimate in words: "right away", "about 40 s", "about 25 min", "about 2 h 5 min"."""
    if seconds <= 0:
        return "right away"
    if seconds < 60:
        return f"about {math.ceil(seconds)} s"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"about {hours} h {rest} min" if rest else f"about {hours} h"


def rate_limit_text(destination: str) -> str:
    if destination == Destination.CIMCLOUD:
        window = settings.CIMCLOUD_RATE_WINDOW_SECONDS
        span = f"{window / 60:g} min" if window >= 60 else f"{window:g} s"
        return f"{settings.CIMCLOUD_RATE_PER_SECOND} per second and {settings.CIMCLOUD_RATE_PER_WINDOW} per {span}"
    return "no rate limit"


def _plan_text(form: BulkRetryForm, plan: BulkRetryPlan | None) -> dict[str, str] | None:
    if plan is None or not form.is_valid():
        return None
    destination = form.cleaned_data["destination"]
    return {
        "label": Destination(destination).label,
        "duration": duration_text(plan.estimated_seconds),
        "limit": rate_limit_text(destination),
    }


def _safe_next(request: HttpRequest, candidate: str | None = None) -> str:
    """The `next` path to return to, if it stays on this site; anything else is ignored."""
    target = (request.POST.get("next", "") if candidate is None else candidate).strip()
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _back(request: HttpRequest) -> HttpResponse:
    """After a message action: to `next` if given and safe, else the monitor; htmx from the monitor gets the live
    region back with the outcome in it."""
    target = _safe_next(request)
    if wants_partial(request):
        if target:
            return HttpResponseClientRedirect(target)
        return render(request, f"{PAGE}#live", _live_context(partial=True))
    return redirect(target or reverse("orders:outbox"))


def _to_monitor(request: HttpRequest) -> HttpResponse:
    """Pause and resume change every page's banner: reload the whole monitor, also from htmx."""
    url = reverse("orders:outbox")
    return HttpResponseClientRedirect(url) if wants_partial(request) else redirect(url)


def _destination_label(destination: str) -> str:
    if destination not in Destination.values:
        raise Http404("No such destination.")
    return Destination(destination).label


def _s(n: int) -> str:
    return "" if n == 1 else "s"


urls = [
    path("outbox/", outbox, name="outbox"),
    path("outbox/bulk-retry/", bulk_retry, name="outbox-bulk-retry"),
    path("outbox/destinations/<str:destination>/pause/", destination_pause, name="outbox-pause"),
    path("outbox/destinations/<str:destination>/resume/", destination_resume, name="outbox-resume"),
    path("outbox/<int:message_id>/retry/", message_retry, name="outbox-retry"),
    path("outbox/<int:message_id>/mark-sent/", message_mark_sent, name="outbox-mark-sent"),
    path("outbox/<int:message_id>/cancel/", message_cancel, name="outbox-cancel"),
]
