from __future__ import annotations

from django.urls import path, re_path

from orders.api import views

app_name = "api"
urlpatterns = [
    path("orders/import/cimcloud/", views.CimcloudImportView.as_view(), name="orders-import-cimcloud"),
    # Keep last: anything else under /api/v1/ answers a JSON 404.
    re_path(r"^.*$", views.NotFoundView.as_view(), name="not-found"),
]
