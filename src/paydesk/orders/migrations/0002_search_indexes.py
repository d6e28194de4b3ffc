"""Indexes the order list's search box needs on a million orders (bench/order_pages.py).

E-mail prefixes: a varchar_pattern_ops index (PostgreSQL; elsewhere a plain index).
Names: the search is a case-insensitive substring match, which Django writes as
UPPER(customer_name::text) LIKE UPPER('%text%'); only a trigram index (pg_trgm) on exactly that
expression serves it, so this migration makes one on PostgreSQL and nothing elsewhere. If the
database user may not create the pg_trgm extension, the migration says so and goes on: search
then still works, only slower.
"""

import logging

from django.db import DatabaseError, migrations, models, transaction

log = logging.getLogger("paydesk.migrations")

TRIGRAM_INDEX = "order_name_trgm_idx"


def create_trigram_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        # A savepoint: a refused CREATE EXTENSION must not abort the migration's transaction.
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            # pg_trgm is a trusted extension since PostgreSQL 13: a database owner may create it.
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        log.warning("pg_trgm unavailable (%s): name search works without its index, more slowly", exc)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON orders_order "
            "USING gin ((UPPER(customer_name::text)) gin_trgm_ops)"
        )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [
        migrations.RemoveIndex(model_name="order", name="order_email_idx"),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                fields=["customer_email"], name="order_email_prefix_idx", opclasses=["varchar_pattern_ops"]
            ),
        ),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
    ]
