"""Indexes for the customer lookups (the order form's customer search and the customers page) at scale.

Both match `name__icontains` / `customer_no__icontains`, which the ORM emits as `UPPER("col"::text) LIKE
UPPER(%s)`: GIN trigram indexes on exactly those expressions, PostgreSQL only (as in 0008). The email match is on
`LOWER(email)`, an ordinary expression index on both databases.
"""

from django.db import migrations, models
from django.db.models.functions import Lower

from orders.migration_ops import PostgresOnlySQL

POSTGRES_INDEXES = {
    "customer_name_trgm_idx": 'USING gin ((UPPER("name"::text)) gin_trgm_ops)',
    "customer_no_trgm_idx": 'USING gin ((UPPER("customer_no"::text)) gin_trgm_ops)',
}


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_scale_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(Lower("email"), name="customer_email_lower_idx"),
        ),
        *(
            PostgresOnlySQL(
                sql=f'CREATE INDEX "{name}" ON "orders_customer" {definition}',
                reverse_sql=f'DROP INDEX IF EXISTS "{name}"',
            )
            for name, definition in POSTGRES_INDEXES.items()
        ),
    ]
