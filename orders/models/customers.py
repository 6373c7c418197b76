from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower


class PostalFields(models.Model):
    """Address lines as CIMcloud names them, shared by customers and saved ship-tos."""

    name = models.CharField(max_length=100)
    address1 = models.CharField(max_length=100, blank=True)
    address2 = models.CharField(max_length=100, blank=True)
    address3 = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=60, blank=True)
    state = models.CharField(max_length=40, blank=True)
    zip = models.CharField(max_length=20, blank=True)
    country_code = models.CharField(max_length=3, blank=True, default="USA")
    telephone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(max_length=254, blank=True)

    class Meta:
        abstract = True


class Customer(PostalFields):
    """The CIMcloud customer block, plus the TulaERP client and member its orders are placed for."""

    customer_no = models.CharField(max_length=40, unique=True)
    division_no = models.CharField(max_length=40, blank=True)
    salesperson_no = models.CharField(max_length=40, blank=True)
    tax_schedule = models.CharField(max_length=40, blank=True)
    terms_code = models.CharField(max_length=40, blank=True)
    telephone_ext = models.CharField(max_length=20, blank=True)
    fax = models.CharField(max_length=40, blank=True)
    customer_type = models.CharField(max_length=40, blank=True)
    ship_method = models.CharField(max_length=60, blank=True)
    price_level = models.CharField(max_length=40, blank=True)
    credit_hold = models.BooleanField(default=False)
    # Empty means "use TULAERP_CLIENT_ID / TULAERP_MEMBER_ID" (resolved when an order is created, not here).
    tulaerp_client_id = models.PositiveIntegerField(null=True, blank=True)
    tulaerp_member_id = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(Lower("name"), "id", name="customer_name_lower_idx"),
            models.Index(Lower("email"), name="customer_email_lower_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer_no})"


class CustomerShipTo(PostalFields):
    """A ship-to address saved on a customer, keyed by its CIMcloud `code`."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="ship_tos")
    code = models.CharField(max_length=40)
    attention = models.CharField(max_length=100, blank=True)
    address_type = models.CharField(max_length=40, blank=True, default="Shipping")

    class Meta:
        ordering = ["customer", "code"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "code"], name="shipto_unique_code_per_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"
