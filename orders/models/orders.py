from __future__ import annotations

import re
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from orders.models.choices import Destination, FulfilmentState, OrderSource, OrderState, TulaOrderStatus, TulaOrderType
from orders.models.customers import Customer

ORDER_NUMBER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
# Path words of the order screens: an order with one of these numbers would shadow a route.
RESERVED_ORDER_NUMBERS = frozenset({"new", "review", "export", "bulk", "views"})

# The allowed state changes; services.order_* are the only writers of `state`.
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderState.DRAFT: frozenset({OrderState.SUBMITTED, OrderState.AWAITING_REVIEW}),
    OrderState.AWAITING_REVIEW: frozenset({OrderState.SUBMITTED, OrderState.REJECTED}),
    OrderState.SUBMITTED: frozenset({OrderState.CANCELLED}),
    OrderState.REJECTED: frozenset(),
    OrderState.CANCELLED: frozenset(),
}


def validate_order_number(value: str) -> None:
    if not ORDER_NUMBER_RE.fullmatch(value or ""):
        raise ValidationError(
            "Use 1 to 40 letters, digits, '-' or '_', starting with a letter or digit.", code="order_number_format"
        )
    if value.lower() in RESERVED_ORDER_NUMBERS:
        raise ValidationError(f"'{value}' is reserved for a page address; choose another number.", code="reserved")


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=13, decimal_places=2, **kwargs)


class OrderQuerySet(models.QuerySet):
    def newest_first(self) -> OrderQuerySet:
        return self.order_by("-created_at", "-id")

    def awaiting_review(self) -> OrderQuerySet:
        return self.filter(state=OrderState.AWAITING_REVIEW)

    def not_cancelled(self) -> OrderQuerySet:
        return self.exclude(state=OrderState.CANCELLED)


class Order(models.Model):
    order_number = models.CharField(max_length=40, validators=[validate_order_number])
    # Sent to TulaERP as `orderNumber`: stable across resends so a repeated POST is recognised.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    state = models.CharField(max_length=20, choices=OrderState.choices, default=OrderState.DRAFT)
    source = models.CharField(max_length=10, choices=OrderSource.choices, default=OrderSource.MANUAL)
    # History written by seed_demo / generate_orders: never polled, never sent.
    seeded = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)  # optimistic locking of drafts
    send_to_cimcloud = models.BooleanField(default=True)
    send_to_tulaerp = models.BooleanField(default=True)

    # --- CIMcloud order header -------------------------------------------------------------------------
    erp_order_number = models.CharField(max_length=40, blank=True)
    ref_id = models.CharField(max_length=60, blank=True)
    order_source = models.CharField(max_length=100, blank=True)
    po_number = models.CharField(max_length=60, blank=True)
    carrier_code = models.CharField(max_length=40, blank=True)
    ship_method = models.CharField(max_length=60, blank=True)
    erp_ship_via = models.CharField(max_length=60, blank=True)
    carrier_name = models.CharField(max_length=60, blank=True)
    requested_date = models.CharField(max_length=40, blank=True)  # a string in CIMcloud, kept verbatim
    order_date = models.DateTimeField(null=True, blank=True)
    lifecycle_stage = models.CharField(max_length=60, blank=True)
    comments = models.TextField(blank=True)
    shipping_total = money_field(null=True, blank=True)
    tax_total = money_field(null=True, blank=True)
    order_total = money_field(null=True, blank=True)
    erp_ship_to_code = models.CharField(max_length=40, blank=True)
    erp_ship_to_tax_schedule = models.CharField(max_length=40, blank=True)
    erp_sales_tax_schedule = models.CharField(max_length=40, blank=True)
    erp_ship_to_warehouse = models.CharField(max_length=40, blank=True)
    erp_print_sales_order = models.CharField(max_length=10, blank=True)
    erp_print_pick_sheet = models.CharField(max_length=10, blank=True)
    erp_order_type = models.CharField(max_length=40, blank=True)
    erp_order_status = models.CharField(max_length=40, blank=True)
    erp_hold_reason_code = models.CharField(max_length=40, blank=True)
    update_master = models.BooleanField(default=False)

    # --- The customer as it was when the order was placed (editing the Customer never rewrites this) ----
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    customer_no = models.CharField(max_length=40, blank=True)
    customer_division_no = models.CharField(max_length=40, blank=True)
    customer_salesperson_no = models.CharField(max_length=40, blank=True)
    customer_tax_schedule = models.CharField(max_length=40, blank=True)
    customer_terms_code = models.CharField(max_length=40, blank=True)
    customer_name = models.CharField(max_length=100)
    customer_address1 = models.CharField(max_length=100, blank=True)
    customer_address2 = models.CharField(max_length=100, blank=True)
    customer_address3 = models.CharField(max_length=100, blank=True)
    customer_city = models.CharField(max_length=60, blank=True)
    customer_state = models.CharField(max_length=40, blank=True)
    customer_zip = models.CharField(max_length=20, blank=True)
    customer_country_code = models.CharField(max_length=3, blank=True)
    customer_email = models.EmailField(max_length=254, blank=True)
    customer_telephone = models.CharField(max_length=40, blank=True)
    customer_telephone_ext = models.CharField(max_length=20, blank=True)
    customer_fax = models.CharField(max_length=40, blank=True)
    customer_type = models.CharField(max_length=40, blank=True)
    customer_ship_method = models.CharField(max_length=60, blank=True)
    customer_price_level = models.CharField(max_length=40, blank=True)
    customer_credit_hold = models.BooleanField(default=False)

    # --- Ship-to snapshot (CIMcloud `shipping_address`) ---------------------------------------------------
    ship_to_code = models.CharField(max_length=40, blank=True)
    ship_to_name = models.CharField(max_length=100, blank=True)
    ship_to_attention = models.CharField(max_length=100, blank=True)
    ship_to_address1 = models.CharField(max_length=100, blank=True)
    ship_to_address2 = models.CharField(max_length=100, blank=True)
    ship_to_address3 = models.CharField(max_length=100, blank=True)
    ship_to_city = models.CharField(max_length=60, blank=True)
    ship_to_state = models.CharField(max_length=40, blank=True)
    ship_to_zip = models.CharField(max_length=20, blank=True)
    ship_to_country_code = models.CharField(max_length=3, blank=True)
    ship_to_telephone = models.CharField(max_length=40, blank=True)
    ship_to_email = models.EmailField(max_length=254, blank=True)
    ship_to_address_type = models.CharField(max_length=40, blank=True)

    # --- TulaERP ---------------------------------------------------------------------------------------
    client_id = models.PositiveIntegerField(null=True, blank=True)
    member_id = models.PositiveIntegerField(null=True, blank=True)
    order_type = models.CharField(max_length=20, choices=TulaOrderType.choices, default=TulaOrderType.STANDARD)
    order_template_id = models.PositiveIntegerField(null=True, blank=True)
    shipping_service_level = models.CharField(max_length=60, blank=True)
    preferred_ship_method = models.CharField(max_length=60, blank=True)
    packslip_message = models.CharField(max_length=500, blank=True)
    must_ship_by_date = models.DateField(null=True, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    # What TulaERP gave back.
    tulaerp_id = models.BigIntegerField(null=True, blank=True)
    tulaerp_short_order_number = models.CharField(max_length=40, blank=True)
    tulaerp_status = models.CharField(max_length=20, choices=TulaOrderStatus.choices, blank=True)

    # --- Materialised: written only by the services that change lines or shipments ----------------------
    subtotal = money_field(default=Decimal("0.00"))
    total = money_field(default=Decimal("0.00"))  # subtotal + shipping_total + tax_total
    line_count = models.PositiveIntegerField(default=0)
    fulfilment_state = models.CharField(
        max_length=20, choices=FulfilmentState.choices, default=FulfilmentState.UNSHIPPED
    )

    # --- Review, lifecycle and who did it --------------------------------------------------------------
    review_reasons = models.JSONField(default=list, blank=True)  # [{"code": ..., "message": ...}]
    review_comment = models.TextField(blank=True)
    cancel_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("operate_orders", "Can create, submit, approve and cancel orders and retry their sync"),
            ("administer_dashboard", "Can pause destinations and manage users and shared views"),
        ]
        constraints = [
            models.UniqueConstraint(Lower("order_number"), name="order_number_unique_ci"),
            models.CheckConstraint(
                condition=~Q(order_number="")
                & ~Q(order_number__iexact="new")
                & ~Q(order_number__iexact="review")
                & ~Q(order_number__iexact="export")
                & ~Q(order_number__iexact="bulk"),
                name="order_number_not_empty_or_reserved",
            ),
            models.CheckConstraint(
                condition=Q(send_to_cimcloud=True) | Q(send_to_tulaerp=True), name="order_has_a_destination"
            ),
            models.CheckConstraint(condition=Q(subtotal__gte=0) & Q(total__gte=0), name="order_totals_not_negative"),
            models.CheckConstraint(
                condition=~Q(state__in=[OrderState.SUBMITTED, OrderState.CANCELLED]) | Q(submitted_at__isnull=False),
                name="order_submitted_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(state=OrderState.CANCELLED) | Q(cancelled_at__isnull=False),
                name="order_cancelled_has_time",
            ),
            models.CheckConstraint(condition=Q(state__in=OrderState.values), name="order_state_known"),
        ]
        indexes = [
            models.Index(fields=["created_at", "id"], name="order_created_idx"),
            models.Index(fields=["order_number", "id"], name="order_number_sort_idx"),
            models.Index(fields=["customer_name", "id"], name="order_customer_name_sort_idx"),
            models.Index(fields=["total", "id"], name="order_total_sort_idx"),
            models.Index(fields=["state", "created_at", "id"], name="order_state_created_idx"),
            models.Index(Lower("erp_order_number"), name="order_erp_number_idx"),
            models.Index(Lower("tulaerp_short_order_number"), name="order_tula_number_idx"),
            models.Index(Lower("po_number"), name="order_po_idx"),
            models.Index(Lower("customer_no"), name="order_customer_no_idx"),
            models.Index(Lower("customer_name"), name="order_customer_name_idx"),
            models.Index(Lower("customer_email"), name="order_customer_email_idx"),
            models.Index(Lower("email"), name="order_email_idx"),
            models.Index(Lower("ship_to_email"), name="order_ship_to_email_idx"),
        ]

    def __str__(self) -> str:
        return self.order_number

    @property
    def destinations(self) -> list[str]:
        return [
            d
            for d, on in ((Destination.CIMCLOUD, self.send_to_cimcloud), (Destination.TULAERP, self.send_to_tulaerp))
            if on
        ]

    @property
    def is_editable(self) -> bool:
        return self.state == OrderState.DRAFT

    def can_transition_to(self, state: str) -> bool:
        return state in ORDER_TRANSITIONS[self.state]


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    sku = models.CharField(max_length=60)
    description = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1, "Enter a quantity of at least 1.")])
    unit_price = money_field(validators=[MinValueValidator(0, "A price cannot be negative.")])

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="line_unique_position"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="line_price_not_negative"),
            models.CheckConstraint(condition=~Q(sku=""), name="line_sku_not_empty"),
        ]
        indexes = [models.Index(Lower("sku"), name="line_sku_idx")]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"

    @property
    def line_total(self) -> Decimal:
        return self.quantity * self.unit_price


class OrderNumberCounter(models.Model):
    """Per prefix, the last number handed out. Incremented inside the creating transaction; never reused."""

    prefix = models.CharField(max_length=20, primary_key=True)
    last_value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}{self.last_value}"


def _prefixed(prefix: str, names: str) -> dict[str, str]:
    return {name: f"{prefix}{name}" for name in names.split()}


# Source field (a Customer / CustomerShipTo field, named as in CIMcloud's `customer` / `shipping_address` blocks)
# → the order's snapshot column. Used to take the snapshot and to map to and from CIMcloud.
CUSTOMER_SNAPSHOT_FIELDS: dict[str, str] = {
    "customer_no": "customer_no",
    "customer_type": "customer_type",
    **_prefixed(
        "customer_",
        "division_no salesperson_no tax_schedule terms_code name address1 address2 address3 city state zip "
        "country_code email telephone telephone_ext fax ship_method price_level credit_hold",
    ),
}
SHIP_TO_SNAPSHOT_FIELDS: dict[str, str] = _prefixed(
    "ship_to_",
    "code name attention address1 address2 address3 city state zip country_code telephone email address_type",
)
