from django.urls import register_converter

from orders.views import customers, home, order_detail, order_form, order_list, outbox, review, tracking


class OrderNumberConverter:
    """The order-number pattern, minus the path words of the order screens (any case)."""

    regex = r"(?!(?i:new|review|export|bulk)/)[A-Za-z0-9][A-Za-z0-9_-]{0,39}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(OrderNumberConverter, "ordernumber")

app_name = "orders"
urlpatterns = [
    *home.urls,
    *order_list.urls,
    *order_form.urls,
    *review.urls,
    *order_detail.urls,
    *tracking.urls,
    *outbox.urls,
    *customers.urls,
]
