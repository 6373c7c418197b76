"""Tracking links: the ERP's own link first, else one built from a per-carrier template in settings."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from django.conf import settings

__all__ = ["UPS", "FEDEX", "USPS", "DHL_EXPRESS", "canonical_carrier", "carrier_for_tracking_number", "tracking_link"]

UPS = "UPS"
FEDEX = "FedEx"
USPS = "USPS"
DHL_EXPRESS = "DHL Express"

# Names carriers go by in ERP data, normalised (lower case, letters and digits only) → the settings key.
_ALIASES = {
    "ups": UPS,
    "unitedparcelservice": UPS,
    "upsground": UPS,
    "fedex": FEDEX,
    "federalexpress": FEDEX,
    "fedexground": FEDEX,
    "fedexexpress": FEDEX,
    "fedexhomedelivery": FEDEX,
    "usps": USPS,
    "unitedstatespostalservice": USPS,
    "uspostalservice": USPS,
    "uspriority": USPS,
    "uspsprioritymail": USPS,
    "uspsfirstclass": USPS,
    "dhl": DHL_EXPRESS,
    "dhlexpress": DHL_EXPRESS,
    "dhlworldwideexpress": DHL_EXPRESS,
}

_UPS_RE = re.compile(r"^1Z[0-9A-Z]{16}$")
_USPS_S10_RE = re.compile(r"^[A-Z]{2}\d{9}US$")
_DIGITS_RE = re.compile(r"^\d+$")


def tracking_link(carrier: str | None, number: str | None, erp_link: str | None = None) -> tuple[str, str]:
    """(link, source): source is "erp" for the ERP's link, "template" when built here, "none" when neither.

    A carrier name we do not know falls back to recognising the number's shape.
    """
    if erp_link and _is_web_link(erp_link.strip()):
        return erp_link.strip(), "erp"
    cleaned = _clean_number(number or "")
    if not cleaned:
        return "", "none"
    templates = _templates()
    name = _template_key(carrier or "", templates) or _template_key(carrier_for_tracking_number(cleaned), templates)
    if name is None:
        return "", "none"
    # str.replace, not str.format: a template may contain other braces, and must not be able to read attributes.
    return templates[name].replace("{number}", quote(cleaned, safe="")), "template"


def carrier_for_tracking_number(number: str | None) -> str | None:
    """Guess the carrier from the number's shape; None when it fits none (or is ambiguous by design)."""
    cleaned = _clean_number(number or "")
    if _UPS_RE.match(cleaned):
        return UPS
    if _USPS_S10_RE.match(cleaned):
        return USPS
    if not _DIGITS_RE.match(cleaned):
        return None
    length = len(cleaned)
    # FedEx Ground's 22-digit barcode starts 96; USPS IMpb numbers (20-22 digits) start 9 otherwise. Check the
    # narrower FedEx prefix first so it is not taken for USPS.
    if length == 22 and cleaned.startswith("96"):
        return FEDEX
    if 20 <= length <= 22 and cleaned.startswith("9"):
        return USPS
    if length in (12, 15, 20, 22):
        return FEDEX
    if length == 10:
        return DHL_EXPRESS
    return None


def canonical_carrier(name: str | None) -> str | None:
    """The settings key for a carrier name or alias ("Federal Express" → "FedEx"), None when unknown."""
    return _template_key(name or "", _templates())


def _template_key(name: str | None, templates: dict[str, str]) -> str | None:
    key = _normalise(name or "")
    if not key:
        return None
    by_normalised = {_normalise(template_name): template_name for template_name in templates}
    if key in by_normalised:
        return by_normalised[key]
    alias = _ALIASES.get(key)
    return by_normalised.get(_normalise(alias)) if alias else None


def _templates() -> dict[str, str]:
    return dict(getattr(settings, "CARRIER_TRACKING_TEMPLATES", {}) or {})


def _normalise(name: str) -> str:
    return "".join(char for char in name.lower() if char.isalnum())


def _clean_number(number: str) -> str:
    # Staff paste numbers with spaces or dashes ("1Z 999 AA1 ..."); carriers ignore both.
    return "".join(char for char in number.upper() if char.isalnum())


def _is_web_link(link: str) -> bool:
    # Rendered as an href: only http(s), never javascript: or data: from an upstream system.
    parts = urlsplit(link)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
