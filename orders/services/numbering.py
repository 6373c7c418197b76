from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F

from orders.models import Order, OrderNumberCounter


def next_order_number() -> str:
    """Hand out the next manual order number; call inside the creating transaction.

    The UPDATE takes the counter row's lock until that transaction ends (on SQLite the IMMEDIATE transaction
    already serialises writers), so concurrent creators never get the same value. Numbers whose value an
    import already took are skipped; a rolled-back transaction leaves a gap, which is allowed.
    """
    assert transaction.get_connection().in_atomic_block, "next_order_number() must run inside a transaction"
    prefix, digits = settings.ORDER_NUMBER_PREFIX, settings.ORDER_NUMBER_DIGITS
    OrderNumberCounter.objects.get_or_create(prefix=prefix)
    counter = OrderNumberCounter.objects.filter(prefix=prefix)
    while True:
        counter.update(last_value=F("last_value") + 1)
        value = counter.values_list("last_value", flat=True).get()
        number = f"{prefix}{value:0{digits}d}"
        if not Order.objects.filter(order_number__iexact=number).exists():
            return number
