"""PostgreSQL: the order search's note branch can use the trigram index of migration 0006 (note_text_trgm_idx).

The tables are tiny here, so the planner would rather scan them; `enable_seqscan = off` asks whether the SQL the
search generates *can* use the index at all, which is what breaks when the expression and the index drift apart.
"""

from __future__ import annotations

import pytest
from django.db import connection

from orders.selectors import order_search
from orders.services import Actor, note_add
from tests.test_search import new_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_ordernote")
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test's transaction ends it
    return queryset.explain()


def test_the_trigram_index_exists_on_the_expression_icontains_compares():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'note_text_trgm_idx'")
        (definition,) = cursor.fetchone()
    assert "gin" in definition and "upper(text)" in definition and "gin_trgm_ops" in definition


def test_note_search_uses_the_trigram_index(make_order, operator):
    wanted = new_order(make_order)
    other = new_order(make_order)
    note_add(actor=Actor(user=operator), order_id=wanted.pk, text="Customer wants a BLIND drop-ship, no invoice")
    note_add(actor=Actor(user=operator), order_id=other.pk, text="Called about the delivery date")
    found = order_search(q="blind drop")
    assert list(found.values_list("pk", flat=True)) == [wanted.pk]
    plan = _plan(found)
    assert "note_text_trgm_idx" in plan, plan
