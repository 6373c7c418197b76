"""Tracking numbers in the carriers' real formats, drawn from a caller's seeded generator.

UPS: `1Z` + 6 shipper characters + 2-digit service code + 7-digit package number + check digit.
FedEx (Express): 12 digits, the last a mod-11 check digit. USPS (IMpb): 22 digits, a known service prefix,
the last a mod-10 check digit. The check digits make them look right to any validator the dashboard may use.
"""

from __future__ import annotations

import random
import re
import string

CARRIERS = ("UPS", "FedEx", "USPS")

TRACKING_PATTERNS = {
    "UPS": re.compile(r"^1Z[0-9A-Z]{6}[0-9]{2}[0-9]{8}$"),
    "FedEx": re.compile(r"^[0-9]{12}$"),
    "USPS": re.compile(r"^(9400|9205|9261|9270|9274)[0-9]{18}$"),
}

# Real carrier pages; USPS gets no link on purpose, so the dashboard must build it from its own template.
_LINKS = {
    "UPS": "https://www.ups.com/track?loc=en_US&tracknum={number}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={number}",
}

_UPS_SERVICES = ("01", "02", "03", "12", "13", "59")
_USPS_PREFIXES = ("9400", "9205", "9261", "9270", "9274")
_ALNUM = string.digits + string.ascii_uppercase


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def ups_check_digit(body: str) -> str:
    """Check digit over the 15 characters after `1Z` (letters count as (ord - 63) mod 10)."""
    values = [int(c) if c.isdigit() else (ord(c) - 63) % 10 for c in body]
    total = sum(values[0::2]) + 2 * sum(values[1::2])
    return str((10 - total % 10) % 10)


def fedex_check_digit(body: str) -> str:
    """FedEx Express: weights 1, 3, 7 from the right over 11 digits, sum mod 11, 10 becomes 0."""
    weights = (1, 3, 7)
    total = sum(int(c) * weights[i % 3] for i, c in enumerate(reversed(body)))
    return str(total % 11 % 10)


def usps_check_digit(body: str) -> str:
    """USPS IMpb: weights 3, 1 from the right over 21 digits, mod 10."""
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def ups_number(rng: random.Random) -> str:
    body = "".join(rng.choice(_ALNUM) for _ in range(6)) + rng.choice(_UPS_SERVICES) + _digits(rng, 7)
    return "1Z" + body + ups_check_digit(body)


def fedex_number(rng: random.Random) -> str:
    body = str(rng.randint(1, 9)) + _digits(rng, 10)
    return body + fedex_check_digit(body)


def usps_number(rng: random.Random) -> str:
    body = rng.choice(_USPS_PREFIXES) + _digits(rng, 17)
    return body + usps_check_digit(body)


_NUMBERS = {"UPS": ups_number, "FedEx": fedex_number, "USPS": usps_number}


def tracking_number(carrier: str, rng: random.Random) -> str:
    return _NUMBERS[carrier](rng)


def tracking_link(carrier: str, number: str, rng: random.Random) -> str | None:
    """The carrier's page for UPS and FedEx; for USPS an empty string or null, as TulaERP sends either."""
    template = _LINKS.get(carrier)
    if template is None:
        return rng.choice(("", None))
    return template.format(number=number)


def is_valid(carrier: str, number: str) -> bool:
    """Format and check digit, as a test or a client-side validator would check them."""
    pattern = TRACKING_PATTERNS.get(carrier)
    if pattern is None or not pattern.match(number):
        return False
    if carrier == "UPS":
        return ups_check_digit(number[2:17]) == number[17]
    if carrier == "FedEx":
        return fedex_check_digit(number[:11]) == number[11]
    return usps_check_digit(number[:21]) == number[21]
