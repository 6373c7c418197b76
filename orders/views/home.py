from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from orders import selectors


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/home.html", {"orders": selectors.order_list_recent(limit=25)})


urls = [path("", home, name="home")]
