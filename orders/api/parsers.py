"""Decimal-exact JSON in both directions: `72.00` is read as Decimal("72.00") and written back as `72.00`.

DRF's own JSON goes through float on the way in and out (72.00 → 72.0), which would blur money; these use
orders.integrations.jsonutil, the same codec the outbox uses for the external APIs.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.utils.functional import Promise
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer

from orders.integrations import jsonutil


class DecimalJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Mapping | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            return jsonutil.loads(stream.read().decode(encoding))
        except ValueError as exc:  # also UnicodeDecodeError and JSONDecodeError
            raise ParseError(f"The body is not valid JSON: {exc}") from None
        except RecursionError:
            raise ParseError("The body is not valid JSON: nested too deeply.") from None


# A Decimal is handed to the stdlib's (C) encoder as a marked string and unquoted afterwards: the fast path for
# large answers such as a page of the order list. The marker is random per process, so no client's text can
# forge it; its NUL comes out of the encoder as the escape \u0000.
_MARK = f"\x00{uuid.uuid4().hex}:"
_MARKED_NUMBER = re.compile(r'"\\u0000' + _MARK[1:] + r'([-0-9.]+)"')


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _MARK + jsonutil.decimal_text(value)
    if isinstance(value, Promise):
        return str(value)  # lazy translations
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class DecimalJSONRenderer(JSONRenderer):
    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping | None = None
    ) -> bytes:
        if data is None:
            return b""
        try:
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_default, allow_nan=False)
        except ValueError:  # a non-finite float: the careful path below writes it as null
            return jsonutil.dumps(_jsonable(data)).encode()
        return _MARKED_NUMBER.sub(r"\1", text).encode()


def _jsonable(value: Any) -> Any:
    """What jsonutil accepts. An exception while rendering would escape the API's error handler as an HTML
    500, so the few types DRF may produce besides ours are converted rather than refused."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        # Our money is Decimal; a float here (a throttle's wait, say) is written as its shortest repr.
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Promise):
        return str(value)  # lazy translations
    return value
