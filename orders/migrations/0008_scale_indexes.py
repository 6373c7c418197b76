"""Indexes that keep the pages flat with a million orders (issue #8).

The trigram and pattern indexes are PostgreSQL-only, so they are raw SQL run only there (SQLite has no GIN and
no operator classes); the models do not declare them, and `makemigrations` leaves them alone. Their expressions
are exactly what the ORM emits, so the planner can match them:

- `customer_name__icontains` / `customer_no__icontains` → `UPPER("col"::text) LIKE UPPER(%s)`;
- the order-number prefix search → `LOWER("order_number")::text LIKE 'd-0001%'`, which the unique index on
  LOWER(order_number) cannot serve under a non-C collation: `text_pattern_ops` can.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

from orders.migration_ops import PostgresOnlySQL

POSTGRES_INDEXES = {
    "order_customer_name_trgm_idx": 'USING gin ((UPPER("customer_name"::text)) gin_trgm_ops)',
    "order_customer_no_trgm_idx": 'USING gin ((UPPER("customer_no"::text)) gin_trgm_ops)',
    "order_number_prefix_idx": '((LOWER("order_number")::text) text_pattern_ops)',
}


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0007_audit"),
    ]

    operations = [
        TrigramExtension(),  # CREATE EXTENSION IF NOT EXISTS pg_trgm; a no-op on SQLite
        migrations.AddIndex(
            model_name="orderevent",
            index=models.Index(fields=["created_at", "id"], name="event_time_idx"),
        ),
        *(
            PostgresOnlySQL(
                sql=f'CREATE INDEX "{name}" ON "orders_order" {definition}',
                reverse_sql=f'DROP INDEX IF EXISTS "{name}"',
            )
            for name, definition in POSTGRES_INDEXES.items()
        ),
    ]
