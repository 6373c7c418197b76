"""Domain errors raised by services; pages map them to form errors or messages, the API to JSON."""

from __future__ import annotations

from datetime import datetime


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class InvalidInput(DomainError):
    """Bad input: `field_errors` maps field paths (`ship_to_zip`, `lines[1].quantity`) to messages."""

    code = "invalid"


class InvalidTransition(DomainError):
    code = "invalid_transition"


class NotAllowed(DomainError):
    """The actor may not do this (e.g. approving an order they created: the four-eyes rule)."""

    code = "not_allowed"


class StaleVersion(DomainError):
    code = "stale"

    def __init__(self, message: str, *, changed_by: str, changed_at: datetime) -> None:
        super().__init__(message)
        self.changed_by = changed_by
        self.changed_at = changed_at


class Conflict(DomainError):
    code = "conflict"


def limited_text(value: str, *, field: str, limit: int) -> str:
    """`value` stripped, or InvalidInput naming `field` when it is longer than `limit` (pages and API alike)."""
    text = value.strip()
    if len(text) > limit:
        raise InvalidInput(
            f"The {field.replace('_', ' ')} is too long: at most {limit} characters (this one has {len(text)}).",
            field_errors={field: [f"Use at most {limit} characters."]},
        )
    return text
