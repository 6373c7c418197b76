"""Decimal-exact JSON for the external APIs.

Money travels as a JSON *number* with its scale intact: ``Decimal("72.00")`` is written as ``72.00`` (not
``"72.00"`` and not ``72.0``), and numbers with a fraction or exponent are read back as ``Decimal``. The stdlib
encoder cannot emit a raw number for a non-float type, so encoding is a small recursive writer; decoding is
the stdlib parser with ``parse_float=Decimal``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from json.encoder import encode_basestring as _quote  # the C quoting json.dumps(ensure_ascii=False) uses
from typing import Any

__all__ = ["decimal_text", "dumps", "loads"]


def dumps(value: Any) -> str:
    """Compact JSON text. Floats are refused: money must be Decimal, and a float would hide a rounding bug."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def loads(text: str | bytes) -> Any:
    """Parse JSON; fractions become Decimal, integers stay int. NaN/Infinity are rejected as invalid JSON."""
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _write(value: Any, parts: list[str]) -> None:
    # The exact types payloads are made of first (outbound payloads are built per message), then subclasses.
    kind = type(value)
    if kind is str:
        parts.append(_quote(value))
    elif kind is dict:
        _write_object(value, parts)
    elif kind is Decimal:
        parts.append(decimal_text(value))
    elif kind is int:
        parts.append(int.__repr__(value))
    elif kind is list:
        _write_array(value, parts)
    else:
        _write_other(value, parts)


def _write_other(value: Any, parts: list[str]) -> None:
    # bool before int: bool is a subclass of int.
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(_quote(value))
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, Decimal):
        parts.append(decimal_text(value))
    elif isinstance(value, float):
        raise TypeError(f"float {value!r} in outbound JSON: use Decimal for money and quantities with fractions")
    elif isinstance(value, Mapping):
        _write_object(value, parts)
    elif isinstance(value, list | tuple):
        _write_array(value, parts)
    elif isinstance(value, dt.datetime | dt.date | dt.time):
        parts.append(_quote(value.isoformat()))
    elif isinstance(value, uuid.UUID):
        parts.append(_quote(str(value)))
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _write_object(value: Mapping[Any, Any], parts: list[str]) -> None:
    parts.append("{")
    for index, (key, item) in enumerate(value.items()):
        if not isinstance(key, str):
            raise TypeError(f"JSON object keys must be str, not {type(key).__name__}")
        if index:
            parts.append(",")
        parts.append(_quote(key))
        parts.append(":")
        _write(item, parts)
    parts.append("}")


def _write_array(value: list[Any] | tuple[Any, ...], parts: list[str]) -> None:
    parts.append("[")
    for index, item in enumerate(value):
        if index:
            parts.append(",")
        _write(item, parts)
    parts.append("]")


def decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number")
    # Fixed-point notation keeps the scale ("72.00") and avoids exponents ("1E+2") that some
    # .NET parsers bind poorly to decimal fields.
    return format(value, "f")
