"""The order form: a header form and the line-item formset, validated together and handed whole to one service.

`OrderEntry` holds both. It turns them into what the services take (`fields`, `LineInput`s, customer,
destinations), puts the services' errors back on the right field and row (`lines[1].quantity` → the second kept
row), and builds the unsaved preview the page shows before submitting: totals and the pre-send check per
destination, computed by the same functions the services use.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from django import forms
from django.conf import settings
from django.db.models.functions import Lower
from django.forms.utils import ErrorDict
from django.urls import reverse_lazy

from orders.integrations.validation import Finding, presend_check
from orders.models import (
    CUSTOMER_SNAPSHOT_FIELDS,
    SHIP_TO_SNAPSHOT_FIELDS,
    CatalogItem,
    Customer,
    CustomerShipTo,
    Destination,
    Order,
    OrderLine,
)
from orders.services import LineInput
from orders.services.orders import review_reasons

NEW, EDIT, FIX = "new", "edit", "fix"

CUSTOMER_FIELDS = (
    "customer_name", "customer_no", "customer_address1", "customer_address2", "customer_city", "customer_state",
    "customer_zip", "customer_country_code", "customer_email", "customer_telephone",
)  # fmt: skip
OWN_SHIP_TO_FIELDS = (
    "ship_to_name", "ship_to_attention", "ship_to_address1", "ship_to_address2", "ship_to_city", "ship_to_state",
    "ship_to_zip", "ship_to_country_code", "ship_to_telephone", "ship_to_email",
)  # fmt: skip
DETAIL_FIELDS = (
    "po_number", "ship_method", "must_ship_by_date", "shipping_total", "tax_total", "packslip_message", "comments",
)  # fmt: skip
# "Same as customer": each ship-to field and the customer field it is taken from.
SAME_AS_CUSTOMER = {
    f"ship_to_{name}": f"customer_{name}"
    for name in ("name", "address1", "address2", "city", "state", "zip", "country_code", "telephone", "email")
}
SHIP_TO_CUSTOMER, SHIP_TO_OWN = "customer", "own"
LINE_KEY = re.compile(r"^lines\[(\d+)\]\.(\w+)$")
ROW_FIELD_LABELS = {"sku": "SKU", "description": "Description", "quantity": "Quantity", "unit_price": "Unit price"}


class QuietMixin:
    """A quiet form shows the input it was given without validating it: used when the page is re-rendered for
    an "add line" or "pick customer" click, where errors about half-typed rows would only be noise."""

    def __init__(self, *args: Any, quiet: bool = False, **kwargs: Any) -> None:
        self.quiet = quiet
        super().__init__(*args, **kwargs)

    def full_clean(self) -> None:
        if self.quiet:
            self._errors, self.cleaned_data = ErrorDict(), {}
            return
        super().full_clean()


def _labels(prefix: str, **extra: str) -> dict[str, str]:
    words = {
        "name": "Name", "attention": "Attention", "no": "Customer number", "address1": "Address",
        "address2": "Address line 2", "city": "City", "state": "State", "zip": "ZIP", "country_code": "Country",
        "email": "Email", "telephone": "Phone",
    }  # fmt: skip
    return {f"{prefix}{key}": label for key, label in words.items()} | extra


class OrderForm(QuietMixin, forms.ModelForm):
    """The order header: customer block, ship-to, details and destinations."""

    customer = forms.ModelChoiceField(Customer.objects.all(), required=False, widget=forms.HiddenInput)
    customer_q = forms.CharField(
        required=False,
        label="Find a customer",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Name or customer number",
                "autocomplete": "off",
                "hx-get": reverse_lazy("orders:order-customer-search"),
                "hx-trigger": "input changed delay:300ms, search",
                "hx-target": "#customer-results",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
                "data-customer-search": "",
            }
        ),
    )
    ship_to_source = forms.ChoiceField(label="Ship to", widget=forms.RadioSelect, initial=SHIP_TO_CUSTOMER)
    destinations = forms.MultipleChoiceField(
        label="Send to",
        choices=Destination.choices,
        initial=list(Destination.values),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one destination."},
    )
    also_update_cimcloud = forms.BooleanField(
        required=False,
        label="Also update CIMcloud",
        help_text="CIMcloud already has this order; it updates by order number.",
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    form_token = forms.CharField(max_length=64, widget=forms.HiddenInput)

    class Meta:
        model = Order
        fields = (*CUSTOMER_FIELDS, *OWN_SHIP_TO_FIELDS, *DETAIL_FIELDS)
        labels = {
            **_labels("customer_"),
            **_labels("ship_to_"),
            "po_number": "PO number",
            "ship_method": "Ship method",
            "must_ship_by_date": "Must ship by",
            "shipping_total": "Shipping",
            "tax_total": "Tax",
            "packslip_message": "Packing slip message",
            "comments": "Comments",
        }
        widgets = {
            "must_ship_by_date": forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
            "comments": forms.Textarea(attrs={"rows": 2}),
            "packslip_message": forms.TextInput(),
            "customer_country_code": forms.TextInput(attrs={"size": 4}),
            "ship_to_country_code": forms.TextInput(attrs={"size": 4}),
        }

    def __init__(
        self, *args: Any, mode: str = NEW, order: Order | None = None, cimcloud_accepted: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.mode = mode
        if mode == FIX and order is not None:  # the service corrects the snapshot; customer and destinations stay
            fixed = {"customer": order.customer_id, "customer_q": "", "destinations": order.destinations}
            for name, value in fixed.items():
                self.fields[name].disabled = True
                self.initial[name] = value
        self.fields["customer_name"].error_messages["required"] = "Enter the customer's name."
        for name in ("shipping_total", "tax_total"):
            self.fields[name].widget.attrs.update(inputmode="decimal", placeholder="0.00")
        self.chosen_customer = _customer(self._raw("customer"))
        self.saved_ship_tos = list(self.chosen_customer.ship_tos.all()) if self.chosen_customer else []
        self.fields["ship_to_source"].choices = [
            (SHIP_TO_CUSTOMER, "Same as the customer address"),
            *((str(st.pk), _ship_to_label(st)) for st in self.saved_ship_tos),
            (SHIP_TO_OWN, "Another address"),
        ]
        self.fields["version"].required = mode != NEW
        if mode != FIX or not cimcloud_accepted:
            del self.fields["also_update_cimcloud"]

    def _raw(self, name: str) -> Any:
        if self.is_bound and not self.fields[name].disabled:
            return self.data.get(self.add_prefix(name))
        value = self.initial.get(name)
        return value.pk if isinstance(value, Customer) else value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        source = data.get("ship_to_source")
        self.saved_ship_to = next((st for st in self.saved_ship_tos if str(st.pk) == source), None)
        if source != SHIP_TO_OWN:  # the own address is hidden and unused: what is typed there cannot be wrong
            for name in OWN_SHIP_TO_FIELDS:
                self.errors.pop(name, None)
        return data

    # --- what the services take ------------------------------------------------------------------------------
    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        fields = {name: data[name] for name in (*CUSTOMER_FIELDS, *DETAIL_FIELDS) if name in data}
        fields.update(self.ship_to_fields())
        return fields

    def ship_to_fields(self) -> dict[str, Any]:
        """Every ship-to snapshot field, from the chosen source (so switching sources leaves nothing stale)."""
        data = self.cleaned_data
        out: dict[str, Any] = dict.fromkeys(SHIP_TO_SNAPSHOT_FIELDS.values(), "")
        source = data.get("ship_to_source")
        if getattr(self, "saved_ship_to", None) is not None:
            out.update({target: getattr(self.saved_ship_to, src) for src, target in SHIP_TO_SNAPSHOT_FIELDS.items()})
        elif source == SHIP_TO_CUSTOMER:
            out.update({target: data.get(src, "") for target, src in SAME_AS_CUSTOMER.items()})
        else:
            out.update({name: data.get(name, "") for name in OWN_SHIP_TO_FIELDS})
        return out

    def destination_list(self) -> list[str] | None:
        return list(self.cleaned_data["destinations"]) if "destinations" in self.cleaned_data else None

    def error_target(self, key: str) -> tuple[str | None, str]:
        """The form field a service error about `key` belongs on, and a prefix when it has none."""
        source = self.data.get(self.add_prefix("ship_to_source")) if self.is_bound else None
        if key in SAME_AS_CUSTOMER and source == SHIP_TO_CUSTOMER:
            return SAME_AS_CUSTOMER[key], ""
        if key in SHIP_TO_SNAPSHOT_FIELDS.values() and source not in (None, SHIP_TO_CUSTOMER, SHIP_TO_OWN):
            return "ship_to_source", "The saved ship-to: "
        if key in self.fields and not self.fields[key].disabled:
            return key, ""
        return None, f"{describe_field(key)}: "


def _customer(value: Any) -> Customer | None:
    if value in (None, "") or not str(value).isdigit():
        return None
    return Customer.objects.filter(pk=int(value)).prefetch_related("ship_tos").first()


def _ship_to_label(st: CustomerShipTo) -> str:
    where = ", ".join(filter(None, [st.address1, st.city, " ".join(filter(None, [st.state, st.zip]))]))
    return f"{st.code} · {st.name}" + (f" — {where}" if where else "")


class LineForm(QuietMixin, forms.Form):
    sku = forms.CharField(
        label="SKU",
        max_length=60,
        widget=forms.TextInput(
            attrs={
                "list": "sku-options",
                "autocomplete": "off",
                "spellcheck": "false",
                "data-sku": "",
                "hx-get": reverse_lazy("orders:order-item-search"),
                "hx-trigger": "input changed delay:250ms",
                "hx-target": "#sku-options",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
            }
        ),
        error_messages={"required": "Enter a SKU."},
    )
    description = forms.CharField(label="Description", max_length=200, required=False)
    quantity = forms.IntegerField(
        label="Quantity",
        min_value=1,
        initial=1,
        widget=forms.NumberInput(attrs={"min": 1, "inputmode": "numeric"}),
        error_messages={"min_value": "Enter a quantity of at least 1.", "required": "Enter a quantity."},
    )
    unit_price = forms.DecimalField(
        label="Unit price",
        max_digits=13,
        decimal_places=2,
        min_value=0,
        required=False,  # taken from the catalogue when left empty
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00", "data-price": ""}),
        error_messages={"min_value": "A price cannot be negative."},
    )


class BaseLineFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_few_forms": "Add at least one line.",
        "too_many_forms": "An order holds at most %(num)d lines: split it in two.",
    }

    def __init__(self, *args: Any, quiet: bool = False, **kwargs: Any) -> None:
        self.quiet = quiet
        kwargs.setdefault("prefix", "lines")
        kwargs["form_kwargs"] = {**kwargs.get("form_kwargs", {}), "quiet": quiet}
        super().__init__(*args, **kwargs)
        self.unknown_rows: set[int] = set()

    def full_clean(self) -> None:
        if self.quiet:
            self._errors, self._non_form_errors = [], self.error_class(error_class="nonform", renderer=self.renderer)
            return
        super().full_clean()

    def blank_row(self, index: int) -> LineForm:
        """One more empty row, as the formset would build it at `index` (for the "add line" request)."""
        form = self.form(
            prefix=self.add_prefix(index),
            auto_id=self.auto_id,
            empty_permitted=True,
            use_required_attribute=False,
            renderer=self.renderer,
        )
        self.add_fields(form, index)
        return form

    def kept_forms(self) -> list[tuple[int, LineForm]]:
        """The rows that become lines: not removed, not left blank."""
        out = []
        for index, form in enumerate(self.forms):
            if self.can_delete and self._should_delete_form(form):
                continue
            if form.empty_permitted and not form.has_changed():
                continue
            out.append((index, form))
        return out

    def clean(self) -> None:
        """Fill an empty description and price from the catalogue; a SKU it does not know is allowed (the page
        warns) but then needs a price."""
        rows = [(i, f) for i, f in self.kept_forms() if f.cleaned_data.get("sku")]
        keys = {f.cleaned_data["sku"].strip().lower() for _, f in rows}
        catalogue = {
            item.sku.lower(): item
            for item in CatalogItem.objects.alias(key=Lower("sku")).filter(active=True, key__in=keys)
        } if keys else {}  # fmt: skip
        for index, form in rows:
            item = catalogue.get(form.cleaned_data["sku"].strip().lower())
            if item is None:
                self.unknown_rows.add(index)
                if form.cleaned_data.get("unit_price") is None and "unit_price" not in form.errors:
                    form.add_error("unit_price", "Enter a price: this SKU is not in the catalogue.")
                continue
            if not form.cleaned_data.get("description"):
                form.cleaned_data["description"] = item.description
            if form.cleaned_data.get("unit_price") is None and "unit_price" not in form.errors:
                form.cleaned_data["unit_price"] = item.default_price


LineFormSet = forms.formset_factory(
    LineForm,
    formset=BaseLineFormSet,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=settings.ORDER_MAX_LINES,
    validate_max=True,  # a crafted post with more rows gets a form error, not more lines
    absolute_max=settings.ORDER_MAX_LINES + 50,  # rows past this are not even built
    can_delete=True,
)


# --- the preview shown before submitting ---------------------------------------------------------------------


@dataclass(frozen=True)
class CheckItem:
    where: str
    message: str


@dataclass
class DestinationCheck:
    destination: str
    label: str
    errors: list[CheckItem] = field(default_factory=list)
    warnings: list[CheckItem] = field(default_factory=list)


@dataclass
class Preview:
    """Totals and pre-send findings of the order as it stands in the form (nothing saved)."""

    ran: bool = False
    row_totals: dict[int, Decimal] = field(default_factory=dict)  # formset row index → quantity × price
    subtotal: Decimal = Decimal("0.00")
    shipping: Decimal = Decimal("0.00")
    tax: Decimal = Decimal("0.00")
    total: Decimal = Decimal("0.00")
    line_count: int = 0
    destinations: list[DestinationCheck] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    notes: list[CheckItem] = field(default_factory=list)  # unknown SKUs, incomplete rows


class OrderEntry:
    """The header form and the lines formset of one order, validated together."""

    def __init__(
        self,
        form: OrderForm,
        lines: BaseLineFormSet,
        *,
        mode: str,
        order: Order | None = None,
        customer_results: list[Customer] | None = None,
    ) -> None:
        self.form, self.lines, self.mode, self.order = form, lines, mode, order
        self.customer_results = customer_results
        self.line_errors: list[str] = []
        self.row_of: list[int] = []  # service line index → formset row index

    # --- construction --------------------------------------------------------------------------------------
    @classmethod
    def start(cls, *, mode: str, token: str, order: Order | None = None, cimcloud_accepted: bool = False):
        """Unbound: a blank new order, or the saved order to edit or fix."""
        if order is None:
            initial = {"customer_country_code": "USA", "ship_to_country_code": "USA", "form_token": token}
            return cls(OrderForm(initial=initial, mode=mode), LineFormSet(), mode=mode)
        form = OrderForm(
            initial={**initial_from_order(order), "form_token": token},
            mode=mode,
            order=order,
            cimcloud_accepted=cimcloud_accepted,
        )
        lines = LineFormSet(
            initial=[
                {"sku": ln.sku, "description": ln.description, "quantity": ln.quantity, "unit_price": ln.unit_price}
                for ln in order.lines.all()
            ]
        )
        return cls(form, lines, mode=mode, order=order)

    @classmethod
    def bind(
        cls,
        data: Mapping[str, Any],
        *,
        mode: str,
        order: Order | None = None,
        quiet: bool = False,
        cimcloud_accepted: bool = False,
        customer_results: list[Customer] | None = None,
    ):
        form = OrderForm(data, mode=mode, order=order, quiet=quiet, cimcloud_accepted=cimcloud_accepted)
        return cls(form, LineFormSet(data, quiet=quiet), mode=mode, order=order, customer_results=customer_results)

    # --- validation and the services' input ----------------------------------------------------------------
    def is_valid(self) -> bool:
        form_ok = self.form.is_valid()
        lines_ok = self.lines.is_valid()
        return form_ok and lines_ok

    def line_inputs(self) -> list[LineInput]:
        kept = self.lines.kept_forms()
        self.row_of = [index for index, _ in kept]
        return [
            LineInput(
                sku=form.cleaned_data["sku"],
                quantity=form.cleaned_data["quantity"],
                unit_price=form.cleaned_data["unit_price"],
                description=form.cleaned_data.get("description", ""),
            )
            for _, form in kept
        ]

    @property
    def version(self) -> int:
        return self.form.cleaned_data.get("version") or 0

    @property
    def token(self) -> str:
        return self.form.cleaned_data.get("form_token", "")

    # --- errors from the services --------------------------------------------------------------------------
    def apply_errors(self, field_errors: Mapping[str, list[str]]) -> None:
        """Put a service's `field_errors` on the field and row they are about."""
        if not self.row_of:
            self.row_of = [index for index, _ in self.lines.kept_forms()]
        for key, messages in field_errors.items():
            match = LINE_KEY.match(key)
            if match:
                position, name = int(match[1]), match[2]
                if position < len(self.row_of):
                    row = self.lines.forms[self.row_of[position]]
                    target = name if name in row.fields else None
                    prefix = "" if target else f"{ROW_FIELD_LABELS.get(name, name)}: "
                    for message in messages:
                        row.add_error(target, f"{prefix}{message}")
                    continue
                self.line_errors.extend(f"Line {position + 1}: {m}" for m in messages)
            elif key == "lines":
                self.line_errors.extend(messages)
            else:
                target, prefix = self.form.error_target(key)
                for message in messages:
                    self.form.add_error(target, f"{prefix}{message}")

    @property
    def has_errors(self) -> bool:
        if self.form.quiet or not self.form.is_bound:
            return False
        return bool(self.form.errors or self.line_errors or self.lines.non_form_errors() or any(self.lines.errors))

    # --- the preview ---------------------------------------------------------------------------------------
    @property
    def rows(self) -> list[tuple[LineForm, Decimal | None]]:
        """Each formset row with its line total from the preview."""
        totals = self.preview.row_totals
        return [(form, totals.get(index)) for index, form in enumerate(self.lines.forms)]

    @cached_property
    def preview(self) -> Preview:
        """Totals and the pre-send check of the order as typed. Runs on unsaved objects; writes nothing.

        Bound: what validates so far (an invalid field counts as empty). Unbound: the saved order as it is."""
        if self.form.quiet:  # shown without errors, but the totals and checks still count what validates
            return OrderEntry.bind(self.form.data, mode=self.mode, order=self.order).preview
        if not self.form.is_bound:
            if self.order is None:
                return Preview()
            lines = list(self.order.lines.all())
            return build_preview(self.order, lines, rows=list(range(len(lines))))
        self.is_valid()
        data = self.form.cleaned_data
        order = copy.copy(self.order or Order())  # never the caller's instance: nothing here is saved
        customer = data.get("customer") if "customer" in data else self.form.chosen_customer
        if self.mode == FIX:
            customer = None  # fix and resend keeps the snapshot; the form's fields correct it
        if customer is not None and customer.pk != order.customer_id:
            apply_customer_snapshot(order, customer)
        for name, value in self.form.service_fields().items():
            setattr(order, name, value)
        for name in (*CUSTOMER_FIELDS, *DETAIL_FIELDS):
            if name not in data and name in self.form.fields:  # invalid input: leave it out of the check
                setattr(order, name, None if name in ("must_ship_by_date", "shipping_total", "tax_total") else "")
        destinations = self.form.destination_list()
        if destinations is not None and self.mode != FIX:
            order.send_to_cimcloud = Destination.CIMCLOUD in destinations
            order.send_to_tulaerp = Destination.TULAERP in destinations
        if not order.order_number:  # a new order gets its number on save: check with one of the same shape
            order.order_number = f"{settings.ORDER_NUMBER_PREFIX}{'0' * settings.ORDER_NUMBER_DIGITS}"
        order.client_id = order.client_id if order.client_id is not None else settings.TULAERP_CLIENT_ID
        order.member_id = order.member_id if order.member_id is not None else settings.TULAERP_MEMBER_ID
        lines, rows, notes = [], [], []
        for index, form in self.lines.kept_forms():
            cleaned = getattr(form, "cleaned_data", {})
            quantity, price = cleaned.get("quantity"), cleaned.get("unit_price")
            if quantity is None or price is None:
                notes.append(CheckItem(f"Line {index + 1}", "Enter a quantity and a price to include it."))
                continue
            rows.append(index)
            lines.append(
                OrderLine(
                    position=len(lines) + 1,
                    sku=(cleaned.get("sku") or "").strip(),
                    description=cleaned.get("description", ""),
                    quantity=quantity,
                    unit_price=price,
                )
            )
        for index in sorted(self.lines.unknown_rows):
            sku = self.lines.forms[index].cleaned_data.get("sku", "")
            notes.append(CheckItem(f"Line {index + 1}", f"{sku} is not in the catalogue: check the SKU."))
        preview = build_preview(order, lines, rows=rows)
        preview.notes = notes + preview.notes
        return preview


def build_preview(order: Order, lines: list[OrderLine], *, rows: list[int]) -> Preview:
    check = presend_check(order, lines)
    preview = Preview(ran=True, line_count=len(lines))
    for row, line in zip(rows, lines, strict=True):
        preview.row_totals[row] = line.line_total
    preview.subtotal = sum((line.line_total for line in lines), Decimal("0.00"))
    preview.shipping = order.shipping_total or Decimal("0.00")
    preview.tax = order.tax_total or Decimal("0.00")
    preview.total = preview.subtotal + preview.shipping + preview.tax
    by_destination = {d: DestinationCheck(d, Destination(d).label) for d in order.destinations}
    for finding in check.errors:
        by_destination[finding.destination].errors.append(_item(finding, rows))
    for finding in check.warnings:
        by_destination[finding.destination].warnings.append(_item(finding, rows))
    preview.destinations = list(by_destination.values())
    preview.review = [r["message"] for r in review_reasons(order, check) if r["code"] != "presend_warning"]
    return preview


def _item(finding: Finding, rows: list[int]) -> CheckItem:
    match = LINE_KEY.match(finding.field)
    if match and int(match[1]) < len(rows):
        where = f"Line {rows[int(match[1])] + 1} · {ROW_FIELD_LABELS.get(match[2], match[2])}"
    else:
        where = describe_field(finding.field)
    return CheckItem(where, finding.message)


def describe_field(key: str) -> str:
    """A person's name for an order field path: "ship_to_zip" → "Ship-to ZIP"."""
    if key == "lines":
        return "Lines"
    match = LINE_KEY.match(key)
    if match:
        return f"Line {int(match[1]) + 1} · {ROW_FIELD_LABELS.get(match[2], match[2])}"
    for prefix, section in (("customer_", "Customer"), ("ship_to_", "Ship-to")):
        if key.startswith(prefix):
            rest = key.removeprefix(prefix)
            word = _labels("").get(rest, rest.replace("_", " "))
            return f"{section} {word if word.isupper() else word.lower()}"
    label = OrderForm.Meta.labels.get(key)
    if label:
        return label
    try:
        return str(Order._meta.get_field(key).verbose_name).capitalize()
    except Exception:  # noqa: BLE001  (a path we do not know: show it as it is)
        return key


def apply_customer_snapshot(order: Order, customer: Customer) -> None:
    """The customer's snapshot onto an unsaved order, as order_create takes it (the form's fields then win)."""
    order.customer = customer
    for source, target in CUSTOMER_SNAPSHOT_FIELDS.items():
        setattr(order, target, getattr(customer, source))
    order.client_id, order.member_id = customer.tulaerp_client_id, customer.tulaerp_member_id


def customer_values(customer: Customer | None) -> dict[str, Any]:
    """The customer block of the form, filled from a customer (or emptied for a new one)."""
    values = {name: "" for name in CUSTOMER_FIELDS}
    values["customer_country_code"] = "USA"
    if customer is not None:
        for source, target in CUSTOMER_SNAPSHOT_FIELDS.items():
            if target in values:
                values[target] = getattr(customer, source)
    return values


def initial_from_order(order: Order) -> dict[str, Any]:
    initial: dict[str, Any] = {
        name: getattr(order, name) for name in (*CUSTOMER_FIELDS, *OWN_SHIP_TO_FIELDS, *DETAIL_FIELDS)
    }
    initial.update(customer=order.customer_id, destinations=order.destinations, version=order.version)
    saved = (
        order.customer.ship_tos.filter(code=order.ship_to_code).first()
        if order.customer_id and order.ship_to_code
        else None
    )
    same = all(getattr(order, target) == getattr(order, source) for target, source in SAME_AS_CUSTOMER.items())
    initial["ship_to_source"] = str(saved.pk) if saved else (SHIP_TO_CUSTOMER if same else SHIP_TO_OWN)
    return initial
