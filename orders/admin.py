"""Django admin: read-only for orders and what hangs off them (writes go through services); customers are
edited here through `customer_update`."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from orders import services
from orders.models import (
    CatalogItem,
    Customer,
    CustomerShipTo,
    Order,
    OrderEvent,
    OrderLine,
    Package,
    Shipment,
    ShipmentItem,
)
from orders.services import Actor


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["position", "sku", "description", "quantity", "unit_price"]


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "kind", "actor", "actor_label", "channel", "message"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["order_number", "created_at", "customer_name", "state", "fulfilment_state", "total"]
    list_filter = ["state", "fulfilment_state", "source"]
    search_fields = ["order_number", "customer_name", "customer_no", "po_number"]
    date_hierarchy = "created_at"
    list_select_related = True
    inlines = [OrderLineInline, OrderEventInline]
    show_full_result_count = False


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyAdmin):
    list_display = ["order", "position", "sku", "quantity", "unit_price"]
    search_fields = ["sku"]
    list_select_related = ["order"]


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "order", "kind", "actor", "actor_label", "channel", "message"]
    list_filter = ["kind", "channel"]
    list_select_related = ["order", "actor"]


class PackageInline(ReadOnlyInline):
    model = Package


class ShipmentItemInline(ReadOnlyInline):
    model = ShipmentItem


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = ["order", "tulaerp_id", "status", "shipment_date"]
    list_select_related = ["order"]
    inlines = [ShipmentItemInline, PackageInline]


@admin.register(ShipmentItem)
class ShipmentItemAdmin(ReadOnlyAdmin):
    list_display = ["shipment", "item_code", "quantity"]


@admin.register(Package)
class PackageAdmin(ReadOnlyAdmin):
    list_display = ["shipment", "package_number", "carrier", "tracking_number1", "delivery_status"]
    search_fields = ["tracking_number1", "tracking_number2"]


class CustomerShipToInline(admin.StackedInline):
    model = CustomerShipTo
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["customer_no", "name", "city", "state", "credit_hold"]
    list_filter = ["credit_hold"]
    search_fields = ["customer_no", "name", "email"]
    inlines = [CustomerShipToInline]

    def save_model(self, request: HttpRequest, obj: Customer, form: object, change: bool) -> None:
        actor = Actor.from_request(request, channel="admin")
        values = {name: getattr(obj, name) for name in services.customers.CUSTOMER_FIELDS}
        if change:
            services.customer_update(actor=actor, customer_id=obj.pk, fields=values)
        else:
            obj.pk = services.customer_create(actor=actor, fields=values).pk


@admin.register(CatalogItem)
class CatalogItemAdmin(admin.ModelAdmin):
    list_display = ["sku", "description", "default_price", "active"]
    list_filter = ["active"]
    search_fields = ["sku", "description"]
