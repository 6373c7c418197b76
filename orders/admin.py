"""Django admin: read-only for orders and what hangs off them (writes go through services); customers and the
catalogue are edited here through their services; users through Django's user admin with every change audited.
The audit (AuditEntry) and the order events are lists nobody can edit."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import models, transaction
from django.http import HttpRequest

from orders import services
from orders.models import (
    AuditEntry,
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
from orders.services.catalog import catalog_item_save
from orders.services.users import user_record_saved, user_snapshot, user_unlock

# Django 6 makes https the default scheme of a URL form field; say so now (the admin shows tracking links).
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


class ReadOnlyAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    formfield_overrides = URL_FIELDS
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
    list_display = ["created_at", "order", "kind", "actor", "actor_label", "channel", "remote_addr", "message"]
    list_filter = ["kind", "channel"]
    search_fields = ["order__order_number", "actor__username", "actor_label"]
    date_hierarchy = "created_at"
    list_select_related = ["order", "actor"]
    show_full_result_count = False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Changes that concern no order: tokens, users and roles, destinations, customers, the catalogue."""

    list_display = ["created_at", "kind", "target_type", "target_label", "actor", "actor_label", "channel", "message"]
    list_filter = ["kind", "target_type", "channel"]
    search_fields = ["target_label", "target_id", "actor__username", "actor_label", "message"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
    show_full_result_count = False


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

    def save_model(self, request: HttpRequest, obj: CatalogItem, form: object, change: bool) -> None:
        saved = catalog_item_save(
            actor=Actor.from_request(request, channel="admin"),
            sku=obj.sku,
            description=obj.description,
            default_price=obj.default_price,
            active=obj.active,
        )
        obj.pk = saved.pk


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    """Django's user admin, with every change (fields, roles, password) in the audit and an unlock action."""

    actions = ["unlock_sign_in"]

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        # The roles are saved after the user (save_related): remember what was there, record it all then.
        request._audit_before = user_snapshot(User.objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        user_record_saved(
            actor=Actor.from_request(request, channel="admin"),
            user=form.instance,
            before=getattr(request, "_audit_before", None),
        )

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = ""):
        user = self.get_object(request, id)
        before = user_snapshot(user) if user is not None else None
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if before is not None and request.method == "POST":
                user.refresh_from_db()
                user_record_saved(actor=Actor.from_request(request, channel="admin"), user=user, before=before)
        return response

    @admin.action(description="Unlock sign-in (clear failed attempts)", permissions=["change"])
    def unlock_sign_in(self, request: HttpRequest, queryset) -> None:
        actor = Actor.from_request(request, channel="admin")
        for user in queryset:
            cleared = user_unlock(actor=actor, user=user)
            self.message_user(
                request, f"{user.get_username()}: {cleared} failed sign-in record(s) cleared.", messages.SUCCESS
            )
