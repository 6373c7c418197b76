"""Tracking lookup: one box for whatever staff were given, the packages of the orders it finds."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET
from django_htmx.http import push_url

from orders import selectors
from orders.views.htmx import vary_on_htmx, wants_partial

TEMPLATE = "orders/tracking.html"
TRACKING_PATH = "/tracking/"


@require_GET
def tracking(request: HttpRequest) -> HttpResponse:
    lookup = selectors.tracking_lookup(request.GET.get("q", ""))
    context = {"lookup": lookup, "q": lookup.q}
    url = f"{TRACKING_PATH}?{urlencode({'q': lookup.q})}" if lookup.q else TRACKING_PATH
    if wants_partial(request):
        return vary_on_htmx(push_url(render(request, f"{TEMPLATE}#results", context), url))
    return vary_on_htmx(render(request, TEMPLATE, context))


urls = [path("tracking/", tracking, name="tracking")]
