"""Customers: search, one customer with ship-tos and recent orders, and the edit form.

Who may change what: operators and admins edit the contact and address fields; only admins place or lift a credit
hold (lifting one lets the customer's orders skip review, so it stays with the role that can override the review
rules). `customer_update` audits every change, a credit-hold change in an entry of its own (AuditEntry).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_safe

from orders import selectors, services
from orders.errors import DomainError, InvalidInput
from orders.models import Customer
from orders.roles import can_administer
from orders.services import Actor
from orders.views.auth import operator_required
from orders.views.htmx import wants_partial

CONTACT_FIELDS = ("name", "email", "telephone", "telephone_ext", "fax")
ADDRESS_FIELDS = ("address1", "address2", "address3", "city", "state", "zip", "country_code", "ship_method")
EDITABLE_FIELDS = (*CONTACT_FIELDS, *ADDRESS_FIELDS, "credit_hold")


class CustomerForm(forms.ModelForm):
    # The record's last change as the editor saw it: a save over someone else's newer change is refused.
    seen = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Customer
        fields = EDITABLE_FIELDS
        labels = {
            "address1": "Address line 1",
            "address2": "Address line 2",
            "address3": "Address line 3",
            "zip": "ZIP / postal code",
            "country_code": "Country code",
            "telephone_ext": "Extension",
            "credit_hold": "On credit hold",
        }
        help_texts = {
            "credit_hold": "New orders of a customer on hold go to review before they are sent.",
            "country_code": "Three letters, e.g. USA.",
        }

    def __init__(self, *args, can_hold: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["seen"].initial = _version(self.instance)
        if not can_hold:
            self.fields["credit_hold"].disabled = True  # the posted value is ignored, the stored one kept
            self.fields["credit_hold"].help_text = "Only an admin can place or lift a credit hold."

    def contact_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in CONTACT_FIELDS]

    def address_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ADDRESS_FIELDS]


@require_safe
def customer_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    after = _positive_int(request.GET.get("after"))
    page = selectors.customer_list_page(query=query, after=after)
    context = {"q": query, "page": page, "after": after}
    return render(
        request,
        "orders/customer_list.html#results" if wants_partial(request) else "orders/customer_list.html",
        context,
    )


@require_safe
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(customer_id)
    orders, more_orders = selectors.customer_recent_orders(customer_id=customer_id)
    context = {
        "customer": customer,
        "ship_tos": list(selectors.customer_ship_tos(customer_id=customer_id)),
        "orders": orders,
        "more_orders": more_orders,
    }
    return render(request, "orders/customer_detail.html", context)


@operator_required
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(customer_id)
    version, was_on_hold = _version(customer), customer.credit_hold
    can_hold = can_administer(request.user)
    if request.method != "POST":
        form = CustomerForm(instance=customer, can_hold=can_hold)
    else:
        form = CustomerForm(request.POST, instance=customer, can_hold=can_hold)
        if form.is_valid():
            changed = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE_FIELDS}
            if form.cleaned_data["seen"] != version:
                form.add_error(None, "Someone else changed this customer while you were editing. Reload to see it.")
            elif not changed:
                messages.info(request, "Nothing changed.")
                return redirect("orders:customer-detail", customer_id=customer_id)
            else:
                try:
                    saved = services.customer_update(
                        actor=Actor.from_request(request), customer_id=customer_id, fields=changed
                    )
                except InvalidInput as exc:
                    for field, errors in exc.field_errors.items():
                        for error in errors:
                            form.add_error(field if field in form.fields else None, error)
                    if not exc.field_errors:
                        form.add_error(None, exc.message)
                except DomainError as exc:
                    form.add_error(None, exc.message)
                else:
                    _report_saved(request, saved, changed, was_on_hold=was_on_hold)
                    return redirect("orders:customer-detail", customer_id=customer_id)
    return render(request, "orders/customer_form.html", {"customer": customer, "form": form, "can_hold": can_hold})


def _report_saved(request: HttpRequest, customer: Customer, changed: dict, *, was_on_hold: bool) -> None:
    who = request.user.get_username()
    if "credit_hold" in changed and changed["credit_hold"] != was_on_hold:
        if customer.credit_hold:
            messages.warning(request, f"{customer.name} is on credit hold: new orders go to review. Recorded as {who}.")
        else:
            messages.success(request, f"Credit hold lifted for {customer.name}. Recorded as {who}.")
    messages.success(request, f"{customer.name} saved. Existing orders keep the details they were placed with.")


def _customer_or_404(customer_id: int) -> Customer:
    customer = selectors.customer_detail(customer_id=customer_id)
    if customer is None:
        raise Http404("No such customer.")
    return customer


def _version(customer: Customer) -> str:
    return customer.updated_at.isoformat() if customer.updated_at else ""


def _positive_int(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 19 else None


urls = [
    path("customers/", customer_list, name="customer-list"),
    path("customers/<int:customer_id>/", customer_detail, name="customer-detail"),
    path("customers/<int:customer_id>/edit/", customer_edit, name="customer-edit"),
]
