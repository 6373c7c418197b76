"""The order form and its line formset: validation, the services' errors on the right field and row, the preview."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders import services
from orders.errors import InvalidInput
from orders.forms import FIX, NEW, SAME_AS_CUSTOMER, OrderEntry, describe_field, initial_from_order
from orders.models import CatalogItem, CustomerShipTo
from orders.services import Actor, LineInput

pytestmark = pytest.mark.django_db


def entry_data(lines: list[dict] | None = None, **fields) -> dict:
    """POST data of the order form: a valid new order unless told otherwise."""
    lines = [{"sku": "SKU-1", "quantity": "2", "unit_price": "10.50"}] if lines is None else lines
    data = {
        "form_token": "token-1",
        "customer": "",
        "customer_name": "Acme Corp",
        "customer_address1": "1 Main St",
        "customer_city": "Austin",
        "customer_state": "TX",
        "customer_zip": "78701",
        "customer_country_code": "USA",
        "ship_to_source": "customer",
        "destinations": ["cimcloud", "tulaerp"],
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "1",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, line in enumerate(lines):
        for name, value in line.items():
            data[f"lines-{index}-{name}"] = value
    data.update(fields)
    return data


def bind(data: dict, **kwargs) -> OrderEntry:
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for key, value in data.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    return OrderEntry.bind(query, mode=kwargs.pop("mode", NEW), **kwargs)


def test_a_valid_order_gives_the_services_their_input():
    entry = bind(entry_data())
    assert entry.is_valid(), (entry.form.errors, entry.lines.errors)
    fields = entry.form.service_fields()
    assert fields["customer_name"] == "Acme Corp"
    # "Same as customer": every ship-to field is set, from the customer block.
    assert fields["ship_to_name"] == "Acme Corp" and fields["ship_to_zip"] == "78701"
    assert fields["ship_to_code"] == "" and fields["ship_to_address_type"] == ""
    assert entry.line_inputs() == [LineInput(sku="SKU-1", quantity=2, unit_price=Decimal("10.50"), description="")]
    assert entry.form.destination_list() == ["cimcloud", "tulaerp"]


def test_at_least_one_line():
    entry = bind(entry_data(lines=[{"sku": "SKU-1", "quantity": "1", "unit_price": "1", "DELETE": "on"}]))
    assert not entry.is_valid()
    assert entry.lines.non_form_errors() == ["Add at least one line."]


def test_the_first_row_is_required_and_blank_extra_rows_are_ignored():
    blank = {"sku": "", "quantity": "1", "unit_price": ""}
    entry = bind(entry_data(lines=[blank]))
    assert not entry.is_valid()
    assert entry.lines.forms[0].errors["sku"] == ["Enter a SKU."]
    entry = bind(entry_data(lines=[{"sku": "A", "quantity": "3", "unit_price": "2"}, blank, blank]))
    assert entry.is_valid()
    assert [line.sku for line in entry.line_inputs()] == ["A"]


def test_each_row_gets_its_own_errors():
    entry = bind(
        entry_data(
            lines=[
                {"sku": "A", "quantity": "1", "unit_price": "1"},
                {"sku": "B", "quantity": "0", "unit_price": "-1"},
                {"sku": "", "quantity": "2", "unit_price": "3"},
            ]
        )
    )
    assert not entry.is_valid()
    errors = [dict(form.errors) for form in entry.lines.forms]
    assert errors[0] == {}
    assert errors[1] == {"quantity": ["Enter a quantity of at least 1."], "unit_price": ["A price cannot be negative."]}
    assert errors[2] == {"sku": ["Enter a SKU."]}


def test_the_catalogue_fills_description_and_price_and_an_unknown_sku_needs_a_price():
    CatalogItem.objects.create(sku="BOLT-10", description="Hex bolt", default_price=Decimal("18.40"))
    entry = bind(
        entry_data(
            lines=[
                {"sku": "bolt-10", "quantity": "2", "unit_price": ""},
                {"sku": "MYSTERY", "quantity": "1", "unit_price": ""},
                {"sku": "OTHER", "quantity": "1", "unit_price": "4.00"},
            ]
        )
    )
    assert not entry.is_valid()
    assert entry.lines.forms[0].cleaned_data["description"] == "Hex bolt"
    assert entry.lines.forms[0].cleaned_data["unit_price"] == Decimal("18.40")
    assert entry.lines.forms[1].errors["unit_price"] == ["Enter a price: this SKU is not in the catalogue."]
    assert entry.lines.unknown_rows == {1, 2}
    notes = [(n.where, n.message) for n in entry.preview.notes]
    assert ("Line 3", "OTHER is not in the catalogue: check the SKU.") in notes


def test_service_line_errors_land_on_the_row_they_are_about():
    """`lines[i]` counts the lines sent to the service: removed and blank rows are not among them."""
    entry = bind(
        entry_data(
            lines=[
                {"sku": "A", "quantity": "1", "unit_price": "1"},
                {"sku": "GONE", "quantity": "1", "unit_price": "1", "DELETE": "on"},
                {"sku": "C", "quantity": "1", "unit_price": "1"},
            ]
        )
    )
    assert entry.is_valid()
    lines = entry.line_inputs()
    with pytest.raises(InvalidInput) as raised:  # the real service, with an input only it refuses
        services.order_create(
            actor=Actor.system("test"),
            fields=entry.form.service_fields(),
            lines=[lines[0], LineInput(sku="C", quantity=0, unit_price=Decimal("1"))],
        )
    assert "lines[1].quantity" in raised.value.field_errors
    entry.apply_errors(raised.value.field_errors)
    assert entry.lines.forms[2].errors["quantity"] == ["Enter a quantity of at least 1."]
    assert not entry.lines.forms[0].errors and not entry.lines.forms[1].errors
    entry.apply_errors({"lines[0].position": ["Odd."], "lines[7].sku": ["Far away."], "lines": ["Too many."]})
    assert entry.lines.forms[0].non_field_errors() == ["position: Odd."]
    assert entry.line_errors == ["Line 8: Far away.", "Too many."]


def test_header_errors_follow_the_ship_to_choice(customer):
    ship_to = CustomerShipTo.objects.create(customer=customer, code="DOCK", name="Dock", address1="9 Pier", city="X")
    same = bind(entry_data())
    same.is_valid()
    same.apply_errors({"ship_to_zip": ["CIMcloud requires the ship-to zip."]})
    assert same.form.errors["customer_zip"] == ["CIMcloud requires the ship-to zip."]

    saved = bind(entry_data(customer=str(customer.pk), ship_to_source=str(ship_to.pk)))
    assert saved.is_valid(), saved.form.errors
    assert saved.form.service_fields()["ship_to_code"] == "DOCK"
    saved.apply_errors({"ship_to_zip": ["TulaERP requires the ship-to zip."]})
    assert saved.form.errors["ship_to_source"] == ["The saved ship-to: TulaERP requires the ship-to zip."]

    own = bind(entry_data(ship_to_source="own", ship_to_name="Yard", ship_to_zip="1"))
    own.is_valid()
    assert own.form.service_fields()["ship_to_name"] == "Yard"
    own.apply_errors({"ship_to_zip": ["Bad."], "client_id": ["TulaERP requires client id."]})
    assert own.form.errors["ship_to_zip"] == ["Bad."]
    assert own.form.non_field_errors() == ["Client id: TulaERP requires client id."]


def test_the_unused_own_address_cannot_block_a_save():
    assert bind(entry_data(ship_to_email="not an email")).is_valid()
    own = bind(entry_data(ship_to_source="own", ship_to_email="not an email"))
    assert not own.is_valid() and "ship_to_email" in own.form.errors


def test_a_saved_ship_to_of_another_customer_is_refused(customer):
    other = services.customer_create(actor=Actor.system("t"), fields={"customer_no": "C2", "name": "Other"})
    foreign = CustomerShipTo.objects.create(customer=other, code="F", name="F")
    entry = bind(entry_data(customer=str(customer.pk), ship_to_source=str(foreign.pk)))
    assert not entry.is_valid()
    assert "ship_to_source" in entry.form.errors


def test_at_least_one_destination():
    entry = bind(entry_data(destinations=[]))
    assert not entry.is_valid()
    assert entry.form.errors["destinations"] == ["Choose at least one destination."]


def test_a_quiet_form_keeps_the_input_without_errors():
    entry = bind(entry_data(customer_name="", lines=[{"sku": "", "quantity": "x"}]), quiet=True)
    assert not entry.has_errors
    assert entry.form["customer_name"].errors == [] and entry.lines.forms[0]["quantity"].errors == []
    assert entry.lines.forms[0]["quantity"].value() == "x"


def test_preview_totals_checks_and_review_reasons(customer, make_order, operator):
    make_order(operator, fields={"po_number": "PO-7"})
    customer.credit_hold = True
    customer.save()
    entry = bind(
        entry_data(
            customer=str(customer.pk),
            customer_no="C100",
            po_number="po-7",
            shipping_total="5.00",
            ship_to_source="own",
            ship_to_name="Yard",
            ship_to_address1="1 Yard",
            ship_to_city="Salem",
            ship_to_state="OR",
            ship_to_zip="",
            ship_to_country_code="USA",
            lines=[
                {"sku": "A", "quantity": "3", "unit_price": "2.50"},
                {"sku": "B", "quantity": "1", "unit_price": ""},
            ],
        )
    )
    preview = entry.preview
    assert preview.ran and preview.line_count == 1
    assert preview.row_totals == {0: Decimal("7.50")}
    assert (preview.subtotal, preview.shipping, preview.total) == (Decimal("7.50"), Decimal("5.00"), Decimal("12.50"))
    by_destination = {d.destination: d for d in preview.destinations}
    assert [(e.where, e.message) for e in by_destination["cimcloud"].errors] == [
        ("Ship-to ZIP", "CIMcloud requires the ship-to zip.")
    ]
    assert [e.where for e in by_destination["tulaerp"].errors] == ["Ship-to ZIP"]
    assert any("credit hold" in r for r in preview.review)
    assert any("PO po-7 is already used by order" in r for r in preview.review)
    assert ("Line 2", "Enter a quantity and a price to include it.") in [(n.where, n.message) for n in preview.notes]
    # Nothing was written by the preview.
    assert customer.orders.count() == 1


def test_fix_mode_keeps_customer_and_destinations(make_order, operator):
    order = make_order(operator)
    entry = bind(entry_data(customer="", destinations=["tulaerp"], version="1"), mode=FIX, order=order)
    assert entry.is_valid(), entry.form.errors
    assert entry.form.cleaned_data["customer"] == order.customer
    assert entry.form.destination_list() == ["cimcloud", "tulaerp"]
    assert "also_update_cimcloud" not in entry.form.fields


def test_initial_values_of_a_saved_order(make_order, operator, customer):
    order = make_order(operator)
    initial = initial_from_order(order)
    assert initial["ship_to_source"] == "own" and initial["version"] == 1
    dock = CustomerShipTo.objects.create(customer=customer, code="DOCK", name="Dock")
    order.ship_to_code = "DOCK"
    assert initial_from_order(order)["ship_to_source"] == str(dock.pk)
    for target, source in SAME_AS_CUSTOMER.items():
        setattr(order, target, getattr(order, source))
    order.ship_to_code = ""
    assert initial_from_order(order)["ship_to_source"] == "customer"


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("ship_to_zip", "Ship-to ZIP"),
        ("customer_name", "Customer name"),
        ("po_number", "PO number"),
        ("lines[2].unit_price", "Line 3 · Unit price"),
        ("lines", "Lines"),
        ("something_else", "something_else"),
    ],
)
def test_field_names_for_people(key, label):
    assert describe_field(key) == label
