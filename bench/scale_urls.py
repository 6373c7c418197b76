"""bench/scale.py only: the project's URLs plus Django's admin changelist over the orders, as a baseline.

A plain ModelAdmin on its own AdminSite (never registered in the project): `search_fields` on the fields the
order search looks at, default lookups (icontains), `show_full_result_count` left on.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from orders.models import Order
from ordersite.urls import urlpatterns as project_urlpatterns

site = admin.AdminSite(name="bench_admin")


class BaselineOrderAdmin(admin.ModelAdmin):
    search_fields = (
        "order_number", "erp_order_number", "tulaerp_short_order_number", "po_number", "customer_name",
        "customer_no", "email", "customer_email", "ship_to_email", "lines__sku",
        "shipments__packages__tracking_number1", "shipments__packages__tracking_number2",
    )  # fmt: skip


site.register(Order, BaselineOrderAdmin)

urlpatterns = [path("bench-admin/", site.urls), *project_urlpatterns]
