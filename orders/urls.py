import orders.converters  # noqa: F401  (registers <ordernumber:…> before the view modules build their routes)
from orders.views import (
    customers,
    home,
    order_detail,
    order_form,
    order_list,
    order_notes,
    outbox,
    review,
    saved_views,
    tracking,
)

app_name = "orders"
urlpatterns = [
    *home.urls,
    *order_list.urls,
    *order_form.urls,
    *review.urls,
    *order_detail.urls,
    *order_notes.urls,
    *saved_views.urls,
    *tracking.urls,
    *outbox.urls,
    *customers.urls,
]
