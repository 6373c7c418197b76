from __future__ import annotations

from django.db import models
from django.db.models import Q

from orders.models.choices import LinkSource, TulaOrderStatus
from orders.models.orders import Order


class Shipment(models.Model):
    """A TulaERP OrderShipment. Keyed by (order, TulaERP id) when TulaERP gave one, else (order, package number)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    tulaerp_id = models.BigIntegerField(null=True, blank=True)
    short_order_number = models.CharField(max_length=40, blank=True)
    package_number = models.PositiveIntegerField(null=True, blank=True)  # orderShipmentPackageNumber
    shipment_date = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=TulaOrderStatus.choices, default=TulaOrderStatus.UNKNOWN)
    warehouse_id = models.BigIntegerField(null=True, blank=True)
    ship_name = models.CharField(max_length=100, blank=True)
    ship_address1 = models.CharField(max_length=100, blank=True)
    ship_address2 = models.CharField(max_length=100, blank=True)
    ship_address3 = models.CharField(max_length=100, blank=True)
    ship_city = models.CharField(max_length=60, blank=True)
    ship_state = models.CharField(max_length=40, blank=True)
    ship_zip = models.CharField(max_length=20, blank=True)
    ship_phone = models.CharField(max_length=40, blank=True)
    weight = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "tulaerp_id"], condition=Q(tulaerp_id__isnull=False), name="shipment_unique_tulaerp_id"
            ),
            models.UniqueConstraint(
                fields=["order", "package_number"],
                condition=Q(tulaerp_id__isnull=True),
                name="shipment_unique_package_number",
            ),
        ]
        # The list's "shipped on" filter (the "Shipped today" tab) starts from the day's shipments.
        indexes = [models.Index(fields=["shipment_date"], name="shipment_date_idx")]

    def __str__(self) -> str:
        return f"Shipment {self.tulaerp_id or self.package_number} of {self.order_id}"


class ShipmentItem(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="items")
    tulaerp_id = models.BigIntegerField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)
    item_code = models.CharField(max_length=60)
    quantity = models.PositiveIntegerField(default=0)
    location_name = models.CharField(max_length=60, blank=True)
    picked_quantity = models.PositiveIntegerField(null=True, blank=True)
    picked_at = models.DateTimeField(null=True, blank=True)
    kit_build_barcode = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["shipment", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "position"], name="shipment_item_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.item_code} × {self.quantity}"


class Package(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="packages")
    tulaerp_id = models.BigIntegerField(null=True, blank=True)
    package_number = models.PositiveIntegerField()
    weight = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    carrier = models.CharField(max_length=40, blank=True)
    tracking_number1 = models.CharField(max_length=60, blank=True)  # stored upper-case, searched exactly
    tracking_number2 = models.CharField(max_length=60, blank=True)
    tracking_link = models.URLField(max_length=500, blank=True)
    tracking_link_source = models.CharField(max_length=10, choices=LinkSource.choices, default=LinkSource.NONE)
    delivery_status = models.CharField(max_length=60, blank=True)
    carrier_receive_date = models.DateTimeField(null=True, blank=True)
    transit_days = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    delivery_date = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["shipment", "package_number"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "package_number"], name="package_unique_number"),
            models.CheckConstraint(
                condition=Q(tracking_link="") | ~Q(tracking_link_source=LinkSource.NONE),
                name="package_link_has_source",
            ),
        ]
        indexes = [
            models.Index(fields=["tracking_number1"], name="package_tracking1_idx"),
            models.Index(fields=["tracking_number2"], name="package_tracking2_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number1}".strip()

    @property
    def is_delivered(self) -> bool:
        return self.delivery_date is not None or self.delivery_status.strip().lower() == "delivered"
