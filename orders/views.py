from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from orders import selectors


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/home.html", {"orders": selectors.order_list_recent(limit=25)})
