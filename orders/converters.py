"""The order-number path converter, registered before any view module builds its routes."""

from django.urls import register_converter


class OrderNumberConverter:
    """The order-number pattern, minus the path words of the order screens (any case)."""

    regex = r"(?!(?i:new|review|export|bulk|views)/)[A-Za-z0-9][A-Za-z0-9_-]{0,39}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(OrderNumberConverter, "ordernumber")
