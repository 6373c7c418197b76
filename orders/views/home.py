"""Home: today's numbers, the review queue, failures per destination, orders per day, recent orders and activity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_safe

from orders import selectors
from orders.charts import Bucket, Chart, column_chart, labelled_indexes
from orders.views.htmx import wants_partial

CHART_DAYS = 30
RECENT_ORDERS = 15
RECENT_EVENTS = 15


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    overview = selectors.home_overview(days=CHART_DAYS)
    context = {
        "overview": overview,
        "chart": orders_chart(overview.per_day),
        "orders": selectors.order_list_recent(limit=RECENT_ORDERS),
        "activity": selectors.recent_activity(limit=RECENT_EVENTS),
    }
    # The overview refreshes itself every 30 s.
    return render(request, "orders/home.html#overview" if wants_partial(request) else "orders/home.html", context)


def orders_chart(per_day: Sequence[tuple[date, int]]) -> Chart:
    ticks = labelled_indexes(len(per_day), 7)
    buckets = [
        Bucket(label=f"{day:%a %b} {day.day}", values=(n,), tick=f"{day:%b} {day.day}" if i in ticks else "")
        for i, (day, n) in enumerate(per_day)
    ]
    return column_chart(
        buckets, series=("bar-orders",), describe=lambda b: f"{b.label}: {b.values[0]} order{_s(b.values[0])}"
    )


def _s(n: int) -> str:
    return "" if n == 1 else "s"


urls = [path("", home, name="home")]
