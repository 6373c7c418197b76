"""The order list: search as you type, filters, keyset pages, live sync badges, bulk retry and CSV export."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timezone import localdate, localtime
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url

from orders import selectors
from orders.errors import DomainError
from orders.models import (
    Destination,
    FulfilmentState,
    MessageState,
    Order,
    OrderSource,
    OrderState,
    SavedView,
)
from orders.roles import can_operate
from orders.selectors.orders import OrderListRow, SyncRow
from orders.selectors.search import EXPORT_FIELDS, PAGE_SIZE
from orders.selectors.tracking import PackageSummary
from orders.services import Actor
from orders.services.bulk import order_bulk_retry
from orders.views.auth import operator_required
from orders.views.htmx import vary_on_htmx, wants_partial

LIST_PATH = "/orders/"
TEMPLATE = "orders/order_list.html"
EXPORT_CONFIRM_ROWS = 50_000  # larger exports ask first
EXPORT_COUNT_CAP = 1_000_000  # the confirm page counts this far ("1,000,000+")
EXPORT_CHUNK_ROWS = 2000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# The natural first direction of each column: newest, largest first; names and numbers A→Z.
SORT_COLUMNS = {"created": "-created", "number": "number", "customer": "customer", "total": "-total"}
TAB_COUNT_CAP = selectors.COUNT_CAP  # tabs say "1,000+" beyond this
SYNC_CHOICES = [*MessageState.choices, (selectors.SYNC_NONE, "Not sent")]


class OrderListForm(forms.Form):
    """The list's query string. Invalid values are ignored (and said so), never a 400: links get mangled."""

    q = forms.CharField(required=False, max_length=200)
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *OrderState.choices])
    fulfilment = forms.ChoiceField(required=False, choices=[("", "Any fulfilment"), *FulfilmentState.choices])
    source = forms.ChoiceField(required=False, choices=[("", "Any source"), *OrderSource.choices])
    sync_cimcloud = forms.ChoiceField(required=False, choices=[("", "Any"), *SYNC_CHOICES], label="CIMcloud sync")
    sync_tulaerp = forms.ChoiceField(required=False, choices=[("", "Any"), *SYNC_CHOICES], label="TulaERP sync")
    created_from = forms.DateField(required=False, label="Created from", widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, label="Created to", widget=forms.DateInput(attrs={"type": "date"}))
    attention = forms.ChoiceField(
        required=False, choices=[("", "Any"), ("1", "Any destination")], label="Needs attention"
    )
    shipped_on = forms.DateField(required=False, label="Shipped on", widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in selectors.SORTS])
    after = forms.CharField(required=False, max_length=500)

    FILTER_FIELDS = (
        "state", "fulfilment", "source", "sync_cimcloud", "sync_tulaerp", "attention", "created_from", "created_to",
        "shipped_on",
    )  # fmt: skip

    def value(self, name: str):
        self.is_valid()
        return self.cleaned_data.get(name) or ""

    @property
    def sort_key(self) -> str:
        return self.value("sort") or selectors.DEFAULT_SORT

    def order_filters(self) -> selectors.OrderFilters:
        return selectors.OrderFilters(
            state=self.value("state"),
            fulfilment=self.value("fulfilment"),
            source=self.value("source"),
            sync={d: self.value(f"sync_{d}") for d in Destination.values if self.value(f"sync_{d}")},
            created_from=self.value("created_from") or None,
            created_to=self.value("created_to") or None,
            needs_attention=self.value("attention") == "1",
            shipped_on=self.value("shipped_on") or None,
        )

    def params(self, **overrides) -> dict[str, str]:
        """The canonical query (valid, non-empty, default sort left out), without the page cursor."""
        values = {name: self.value(name) for name in ("q", *self.FILTER_FIELDS)}
        values["sort"] = self.sort_key
        values.update(overrides)
        if values.get("sort") == selectors.DEFAULT_SORT:
            values.pop("sort")
        return {name: str(value).strip() for name, value in values.items() if value not in ("", None)}

    @property
    def has_filters(self) -> bool:
        return any(self.value(name) for name in self.FILTER_FIELDS)


def _url(base: str, params: dict[str, str]) -> str:
    return f"{base}?{urlencode(params)}" if params else base


@dataclass(frozen=True)
class OrderRow:
    order: OrderListRow | Order
    badges: list[tuple[str, SyncRow | None]]  # (destination label, its latest message)
    package: PackageSummary | None
    pinned: list[str] = field(default_factory=list)  # texts of pinned notes, newest first

    @property
    def pinned_text(self) -> str:
        return "\n\n".join(self.pinned)


def _rows(orders: Iterable[OrderListRow | Order], *, full: bool = True) -> tuple[list[OrderRow], bool]:
    """The rows' badges; with `full`, also their packages and pinned notes (the badge poll needs neither)."""
    orders = list(orders)
    ids = [order.pk for order in orders]
    states = selectors.sync_states(ids)
    packages = selectors.package_summaries(order_ids=ids) if full else {}
    pinned = selectors.pinned_notes(order_ids=ids) if full else {}
    rows = [
        OrderRow(
            order=order,
            badges=[(Destination(d).label, states[order.pk].get(d)) for d in order.destinations],
            package=packages.get(order.pk),
            pinned=pinned.get(order.pk, []),
        )
        for order in orders
    ]
    return rows, selectors.any_in_flight(states)


@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    if "badges" in request.GET and wants_partial(request):
        return vary_on_htmx(_sync_badges(request))
    form = OrderListForm(request.GET)
    form.is_valid()
    sort = form.sort_key
    page = selectors.order_list_page(
        q=form.value("q"), filters=form.order_filters(), sort=sort, after=form.value("after"), limit=PAGE_SIZE
    )
    rows, in_flight = _rows(page.orders)
    params = form.params()
    current = form.params(after=form.value("after")) if form.value("after") else params
    context = {
        "form": form,
        "filter_fields": [form[name] for name in form.FILTER_FIELDS],
        "q": form.value("q"),
        "shape": selectors.search_shape(form.value("q")),
        "rows": rows,
        "page": page,
        "in_flight": in_flight,
        "poll_url": _url(LIST_PATH, {"badges": ",".join(str(row.order.pk) for row in rows)}),
        "can_operate": can_operate(request.user),
        "sort": sort,
        "sort_links": _sort_links(form, sort),
        "sort_value": "" if sort == selectors.DEFAULT_SORT else sort,
        "current_url": _url(LIST_PATH, current),
        "next_url": _url(LIST_PATH, {**params, "after": page.next_cursor}) if page.next_cursor else "",
        "first_url": _url(LIST_PATH, params) if form.value("after") else "",
        "export_url": _url(f"{LIST_PATH}export/", params),
        "clear_url": _url(LIST_PATH, {k: v for k, v in params.items() if k == "sort"}),
        "ignored": sorted({str(form[name].label) for name in form.errors}),
    }
    context["view_query"] = urlencode(params)  # what "Save view" saves: the query without the page cursor
    if wants_partial(request):
        response = render(request, f"{TEMPLATE}#results", context)
        return vary_on_htmx(push_url(response, context["current_url"]))
    context["tabs"] = list_tabs(request, params, current_count=page.count)
    return vary_on_htmx(render(request, TEMPLATE, context))


# --- Tabs: built-in views and saved ones -------------------------------------------------------------------------


@dataclass(frozen=True)
class Tab:
    name: str
    query: str  # canonical query string ("" for all orders)
    count: int  # capped at COUNT_CAP + 1
    active: bool
    cap: int
    view: SavedView | None = None  # None for the built-in tabs
    can_delete: bool = False

    @property
    def url(self) -> str:
        return f"{LIST_PATH}?{self.query}" if self.query else LIST_PATH

    @property
    def count_is_capped(self) -> bool:
        return self.count > self.cap


def built_in_tabs() -> list[tuple[str, dict[str, str]]]:
    """Every user's tabs, computed (not stored): their queries are list queries like any saved view's."""
    return [
        ("All orders", {}),
        ("Awaiting review", {"state": OrderState.AWAITING_REVIEW}),
        ("Needs attention", {"attention": "1"}),
        ("Shipped today", {"shipped_on": localdate().isoformat()}),
    ]


def list_tabs(request: HttpRequest, current: dict[str, str], *, current_count: int) -> list[Tab]:
    """Built-in tabs, then the user's own and everyone's shared views, each with its capped count. Two queries
    whatever the number of tabs: the saved views, and every count in one; the tab of the page shown takes the
    page's count (the same query), so its query is neither built nor counted twice."""
    views = list(selectors.saved_views_visible(user=request.user)[: selectors.SAVED_VIEW_TABS])
    entries: list[tuple[str, OrderListForm, SavedView | None]] = [
        (name, OrderListForm(params), None) for name, params in built_in_tabs()
    ]
    entries += [(view.name, OrderListForm(QueryDict(view.query)), view) for view in views]
    forms = [(name, form, view, form.params()) for name, form, view in entries]
    others = [form for _, form, _, params in forms if params != current]
    counts = iter(
        selectors.capped_counts(
            [selectors.order_query(q=form.value("q"), filters=form.order_filters()) for form in others],
            cap=TAB_COUNT_CAP,
        )
    )
    tabs = []
    for name, _, view, params in forms:
        active = params == current
        count = min(current_count, TAB_COUNT_CAP + 1) if active else next(counts)
        can_delete = view is not None and view.deletable_by(request.user)
        tabs.append(Tab(name, urlencode(params), count, active, TAB_COUNT_CAP, view, can_delete))
    return tabs


def _sort_links(form: OrderListForm, sort: str) -> dict[str, dict[str, str]]:
    """Per column: the URL that sorts by it (toggling when it is the current sort) and its aria-sort."""
    links = {}
    for column, first in SORT_COLUMNS.items():
        current = sort.lstrip("-") == column
        target = (sort[1:] if sort.startswith("-") else f"-{sort}") if current else first
        links[column] = {
            "url": _url(LIST_PATH, form.params(sort=target)),
            "aria": ("descending" if sort.startswith("-") else "ascending") if current else "",
            "arrow": ("▼" if sort.startswith("-") else "▲") if current else "",
        }
    return links


def _sync_badges(request: HttpRequest) -> HttpResponse:
    """The visible rows' badges again (out-of-band swaps), while any of them is on its way."""
    ids = []
    for part in request.GET.get("badges", "").split(",")[:PAGE_SIZE]:
        if part.strip().isdigit():
            ids.append(int(part))
    rows, in_flight = _rows(selectors.order_destinations(order_ids=ids), full=False)
    context = {"rows": rows, "in_flight": in_flight, "poll_url": _url(LIST_PATH, {"badges": ",".join(map(str, ids))})}
    return render(request, f"{TEMPLATE}#sync_poll", context)


@require_POST
@operator_required
def order_bulk(request: HttpRequest) -> HttpResponse:
    """Bulk actions on the selected rows. One action today: retry sync."""
    back = request.POST.get("next", "")
    if not (back.startswith(LIST_PATH) and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})):
        back = LIST_PATH
    if request.POST.get("action") != "retry":
        messages.error(request, "Choose an action for the selected orders.")
        return HttpResponseRedirect(back)
    order_ids = [int(value) for value in request.POST.getlist("order") if value.isdigit()]
    try:
        result = order_bulk_retry(actor=Actor.from_request(request), order_ids=order_ids)
    except DomainError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(back)
    if not result.messages:
        messages.info(
            request, "Nothing to retry: no selected order has a failed or scheduled sync (or it is cancelled)."
        )
        return HttpResponseRedirect(back)
    text = (
        f"Queued {result.messages} sync message{pluralize(result.messages)} of {result.orders} "
        f"order{pluralize(result.orders)} again, behind new orders."
    )
    skipped = result.selected - result.orders
    if skipped:
        text += f" {skipped} selected order{pluralize(skipped)} had nothing to retry."
    messages.success(request, text)
    return HttpResponseRedirect(back)


@require_GET
def order_export(request: HttpRequest) -> HttpResponse:
    """The current query as CSV, streamed. Above EXPORT_CONFIRM_ROWS it asks first, saying how many."""
    form = OrderListForm(request.GET)
    form.is_valid()
    queryset = selectors.order_query(q=form.value("q"), filters=form.order_filters(), sort=form.sort_key)
    if request.GET.get("confirm") != "1":
        count = selectors.capped_count(queryset, cap=EXPORT_COUNT_CAP)
        if count > EXPORT_CONFIRM_ROWS:
            params = form.params()
            return render(
                request,
                TEMPLATE,
                {
                    "export_confirm": True,
                    "export_count": count,
                    "export_count_cap": EXPORT_COUNT_CAP,
                    "export_params": sorted(params.items()),
                    "back_url": _url(LIST_PATH, params),
                },
            )
    rows = selectors.order_export_rows(queryset=queryset, chunk_size=EXPORT_CHUNK_ROWS)
    response = StreamingHttpResponse(_csv_chunks(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="orders-{localtime():%Y%m%d-%H%M}.csv"'
    response["Cache-Control"] = "no-store"
    return response


EXPORT_HEADERS = {
    "order_number": "Order number",
    "created_at": "Created",
    "state": "State",
    "source": "Source",
    "customer_no": "Customer number",
    "customer_name": "Customer",
    "email": "Email",
    "po_number": "PO number",
    "erp_order_number": "ERP order number",
    "tulaerp_short_order_number": "TulaERP order number",
    "ship_to_city": "Ship-to city",
    "ship_to_state": "Ship-to state",
    "line_count": "Lines",
    "subtotal": "Subtotal",
    "total": "Total",
    "fulfilment_state": "Fulfilment",
}
EXPORT_HEADER = [*(EXPORT_HEADERS[name] for name in EXPORT_FIELDS), *(f"{label} sync" for label in Destination.labels)]
_LABELS = {
    "state": dict(OrderState.choices),
    "source": dict(OrderSource.choices),
    "fulfilment_state": dict(FulfilmentState.choices),
}
_SYNC_LABELS = dict(MessageState.choices)


class _Echo:
    def write(self, value: str) -> str:
        return value


def safe_cell(value: object) -> str:
    """A spreadsheet never evaluates a cell as a formula: text starting with = + - @ tab or CR gets a "'"."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _csv_chunks(rows: Iterator[tuple], batch: int = 500) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(EXPORT_HEADER)  # the BOM makes spreadsheet programs read UTF-8
    names = (*EXPORT_FIELDS, *(f"sync_{d}" for d in Destination.values))
    buffer = []
    for row in rows:
        values = []
        for name, value in zip(names, row, strict=True):
            if name in _LABELS:
                value = _LABELS[name].get(value, value)
            elif name.startswith("sync_"):
                value = _SYNC_LABELS.get(value, "Not sent")
            elif name == "created_at":
                value = localtime(value).strftime("%Y-%m-%d %H:%M")
            values.append(safe_cell(value))
        buffer.append(writer.writerow(values))
        if len(buffer) >= batch:
            yield "".join(buffer)
            buffer = []
    if buffer:
        yield "".join(buffer)


urls = [
    path("orders/", order_list, name="order-list"),
    path("orders/bulk/", order_bulk, name="order-bulk"),
    path("orders/export/", order_export, name="order-export"),
]
