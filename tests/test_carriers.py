from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.utils import timezone

from orders.integrations.carriers import canonical_carrier, carrier_for_tracking_number, tracking_link
from orders.integrations.tulaerp import TulaerpClient


@pytest.mark.parametrize(
    ("number", "carrier"),
    [
        ("1Z999AA10123456784", "UPS"),
        ("1z 999 aa1 0123 4567 84", "UPS"),
        ("123456789012", "FedEx"),  # 12 digits
        ("123456789012345", "FedEx"),  # 15 digits
        ("00123456789012345678", "FedEx"),  # 20 digits, SSCC-style
        ("9612019012345678901234", "FedEx"),  # 22 digits, FedEx Ground 96 prefix
        ("9400111899223344556677", "USPS"),  # 22 digits, IMpb
        ("92055901755477000271990", None),  # 23 digits: nobody
        ("9205590175547700027199", "USPS"),
        ("94001118992233445566", "USPS"),  # 20 digits starting 9
        ("EA123456789US", "USPS"),
        ("ea 123 456 789 us", "USPS"),
        ("1234567890", "DHL Express"),
        ("12345", None),
        ("", None),
        ("1Z999AA1012345678", None),  # one character short
        ("ABCDEFGHIJKL", None),
    ],
)
def test_carrier_for_tracking_number(number: str, carrier: str | None) -> None:
    assert carrier_for_tracking_number(number) == carrier


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("UPS", "UPS"),
        ("ups", "UPS"),
        ("United Parcel Service", "UPS"),
        ("FedEx", "FedEx"),
        ("Federal Express", "FedEx"),
        ("FEDEX GROUND", "FedEx"),
        ("usps", "USPS"),
        ("U.S.P.S.", "USPS"),
        ("DHL", "DHL Express"),
        ("dhl express", "DHL Express"),
        ("Pony Express", None),
        ("", None),
    ],
)
def test_canonical_carrier_matches_names_and_aliases(name: str, key: str | None) -> None:
    assert canonical_carrier(name) == key


def test_erp_link_wins() -> None:
    link = "https://carrier.example/track/1Z999AA10123456784"
    assert tracking_link("UPS", "1Z999AA10123456784", link) == (link, "erp")


def test_template_link_when_the_erp_sends_none() -> None:
    assert tracking_link("Federal Express", "1234 5678 9012", None) == (
        "https://www.fedex.com/fedextrack/?trknbr=123456789012",
        "template",
    )
    assert tracking_link("DHL", "1234567890", "") == (
        "https://www.dhl.com/en/express/tracking.html?AWB=1234567890",
        "template",
    )


def test_unsafe_erp_link_is_ignored() -> None:
    assert tracking_link("UPS", "1Z999AA10123456784", "javascript:alert(1)") == (
        "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        "template",
    )


def test_unknown_carrier_falls_back_to_the_number_shape() -> None:
    assert tracking_link("", "9400111899223344556677", None) == (
        "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223344556677",
        "template",
    )
    assert tracking_link("Pony Express", "12345", None) == ("", "none")
    assert tracking_link("UPS", "", None) == ("", "none")


def test_templates_come_from_settings(settings: Any) -> None:
    settings.CARRIER_TRACKING_TEMPLATES = {"OnTrac": "https://ontrac.example/t/{number}"}
    assert tracking_link("ontrac", "C1234", None) == ("https://ontrac.example/t/C1234", "template")
    assert tracking_link("UPS", "1Z999AA10123456784", None) == ("", "none")


def test_links_for_packages_the_erp_simulator_ships(settings: Any, sim: Any) -> None:
    settings.TULAERP_BASE_URL = sim.tulaerp_base_url
    settings.TULAERP_AUTH_HEADER = settings.SIM_TULAERP_CREDENTIALS["header"]
    settings.TULAERP_AUTH_VALUE = settings.SIM_TULAERP_CREDENTIALS["value"]
    settings.TULAERP_BASIC_USERNAME = settings.TULAERP_BASIC_PASSWORD = None
    payload = {
        "orderNumber": str(uuid.uuid4()),
        "clientId": 1,
        "memberId": 1,
        "orderDate": timezone.now().isoformat(),
        "shipName": "John Doe",
        "shipAddress1": "456 Shipping St",
        "shipCity": "Shipping City",
        "shipState": "CA",
        "shipZip": "54321",
        "orderItems": [{"itemCode": "SOFTOFF365", "quantity": 2}],
    }
    with TulaerpClient.from_settings() as client:
        created = client.post_order(payload)
        deadline = time.monotonic() + 10
        order = client.get_order(created.short_order_number)
        while not order.body.get("orderShipments") and time.monotonic() < deadline:
            time.sleep(0.25)
            order = client.get_order(created.short_order_number)

    packages = [package for shipment in order.body["orderShipments"] for package in shipment["orderShipmentPackages"]]
    assert packages
    for package in packages:
        number = package["trackingNumber1"]
        assert carrier_for_tracking_number(number) == canonical_carrier(package["shipCarrier"])
        link, source = tracking_link(package["shipCarrier"], number, package.get("trackingLink"))
        assert number in link
        assert source == ("erp" if package.get("trackingLink") else "template")
        link, source = tracking_link(package["shipCarrier"], number, None)
        assert (source, number in link) == ("template", True)
