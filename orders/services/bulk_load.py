"""Writing generated rows fast: COPY on PostgreSQL with the tables' indexes and constraints rebuilt after the
load, `bulk_create` in batches on SQLite. Both run inside the caller's transaction, so a failure leaves the
database as it was.

On PostgreSQL the definitions are read from the catalogue (`pg_get_indexdef`, `pg_get_constraintdef`) before
they are dropped and replayed verbatim afterwards, so the schema ends exactly as the migrations made it. Primary
keys and CHECK constraints stay (other tables' foreign keys depend on the keys; checks cost little per row).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from operator import attrgetter

from django.db import connection, models


def next_ids(models_: Sequence[type[models.Model]]) -> dict[type, int]:
    """The first free id per model: above both the largest id and the id sequence, so nothing is reused."""
    out = {}
    with connection.cursor() as cursor:
        for model in models_:
            table = model._meta.db_table
            cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
            largest = cursor.fetchone()[0]
            if connection.vendor == "postgresql":
                cursor.execute(f"SELECT pg_get_serial_sequence('\"{table}\"', 'id')")
                sequence = cursor.fetchone()[0]
                cursor.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")
                largest = max(largest, cursor.fetchone()[0])
            out[model] = largest + 1
    return out


class SqliteLoader:
    """`written` is accepted for the same call as PostgresLoader: SQLite's ANALYZE covers every table anyway."""

    def __init__(self, models_: Sequence[type[models.Model]], *, written: Sequence[type[models.Model]] = ()) -> None:
        self.models = models_

    def prepare(self) -> None:
        pass

    def write(self, rows: dict[type, list]) -> None:
        for model in self.models:
            model.objects.bulk_create(rows[model], batch_size=2000)

    def finish(self, progress: Callable[[str], None]) -> None:
        progress("ANALYZE")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


class PostgresLoader:
    """Binary COPY per table and chunk, sent from a background thread while the next chunk is being built. The
    rows go to psycopg as tuples of Python values with the columns' types from the catalogue, so its C dumpers
    write them (text COPY formatted in Python was a third of the generator's time)."""

    def __init__(self, models_: Sequence[type[models.Model]], *, written: Sequence[type[models.Model]] = ()) -> None:
        """`models_` are COPY-loaded; `written` are tables the caller fills through the ORM in the same run,
        indexes in place (they get the same finish: fresh statistics, merged GIN pending lists)."""
        self.models = models_
        self.tables = [m._meta.db_table for m in models_]
        self.written = [m._meta.db_table for m in written]
        self.getters = {m: attrgetter(*(f.attname for f in m._meta.concrete_fields)) for m in models_}
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.pending: Future | None = None
        self.indexes: list[tuple[str, str]] = []
        self.constraints: list[tuple[str, str, str, str]] = []
        self.types: dict[type, list[int]] = {}

    def prepare(self) -> None:
        self.raw = connection.connection  # used from the COPY thread: the same session and transaction
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            self.types = {m: _column_types(cursor, m) for m in self.models}
            self.constraints = _constraints(cursor, self.tables)
            declared = _declared_indexes(self.models)
            self.indexes = [(name, declared.get(name, sql)) for name, sql in _indexes(cursor, self.tables)]
            for table, name, _kind, _definition in self.constraints:
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            for name, _definition in self.indexes:
                cursor.execute(f'DROP INDEX "{name}"')

    def write(self, rows: dict[type, list]) -> None:
        tuples = [(m, list(map(self.getters[m], rows[m]))) for m in self.models]
        self._wait()
        self.pending = self.pool.submit(self._copy, tuples)

    def _copy(self, tuples: list[tuple[type, list[tuple]]]) -> None:
        with self.raw.cursor() as cursor:
            for model, rows in tuples:
                if not rows:
                    continue
                columns = ", ".join(f'"{f.column}"' for f in model._meta.concrete_fields)
                with cursor.copy(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN (FORMAT BINARY)') as copy:
                    copy.set_types(self.types[model])
                    for row in rows:
                        copy.write_row(row)

    def _wait(self) -> None:
        if self.pending is not None:
            self.pending.result()
            self.pending = None

    def finish(self, progress: Callable[[str], None]) -> None:
        self._wait()
        self.pool.shutdown()
        with connection.cursor() as cursor:
            for model in self.models:
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), MAX(id)) FROM \"{table}\" "
                    "HAVING MAX(id) IS NOT NULL"
                )
            for name, definition in self.indexes:
                progress(f"index {name}")
                cursor.execute(definition)
            for kind in ("u", "f"):  # unique first: nothing else depends on them, foreign keys last
                for table, name, con_kind, definition in self.constraints:
                    if con_kind == kind:
                        progress(f"constraint {name}")
                        cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            # Rows inserted with a GIN index in place wait in its pending list (fastupdate), which every search
            # reads through until a VACUUM: 20,000 customers made a trigram lookup 15 ms instead of 0.2 ms, and
            # the planner chose a sequential scan. Merge them now (VACUUM cannot run inside the transaction).
            progress("GIN pending lists")
            cursor.execute(
                "SELECT gin_clean_pending_list(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "JOIN pg_am a ON a.oid = i.relam WHERE a.amname = 'gin' AND x.indrelid = ANY(%s::regclass[])",
                [self.written],
            )
            progress("ANALYZE")
            cursor.execute("ANALYZE " + self._every_table())

    def vacuum(self) -> None:
        """After the commit (VACUUM cannot run in a transaction): a COPY leaves the visibility map empty, so until a
        VACUUM every index-only scan also reads the table (the home chart's count of 27,000 index entries made
        27,000 heap fetches)."""
        with connection.cursor() as cursor:
            cursor.execute("VACUUM " + self._every_table())

    def _every_table(self) -> str:
        return ", ".join(f'"{t}"' for t in [*self.tables, *self.written])


def schema_objects(tables: Sequence[str]) -> list[tuple[str, str]]:
    """(name, definition) of every index and constraint on the tables, sorted: to compare schemas in tests (by
    both: a unique constraint and its index share a name)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = ANY(%s::regclass[]) "
            "UNION ALL SELECT conname, pg_get_constraintdef(oid) || CASE WHEN convalidated THEN '' ELSE ' NOT VALID' "
            "END FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
            [list(tables), list(tables)],
        )
        return cursor.fetchall()


def _constraints(cursor, tables: list[str]) -> list[tuple[str, str, str, str]]:
    """Unique and foreign-key constraints (not primary keys, not checks): (table, name, kind, definition)."""
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('u', 'f') ORDER BY contype DESC, conname",
        [tables],
    )
    return [(table.strip('"'), name, kind, definition) for table, name, kind, definition in cursor.fetchall()]


def _column_types(cursor, model: type[models.Model]) -> list[int]:
    """The type oid of each concrete field's column, in field order (binary COPY needs them exactly)."""
    cursor.execute(
        "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        [model._meta.db_table],
    )
    oids = dict(cursor.fetchall())
    return [oids[f.column] for f in model._meta.concrete_fields]


def _declared_indexes(models_: Sequence[type[models.Model]]) -> dict[str, str]:
    """name → CREATE INDEX of the models' declared indexes and conditional unique constraints, as the migrations'
    schema editor writes it. Replayed from `pg_get_indexdef` instead, a predicate can come back spelt otherwise
    (`state IN (…)` on a varchar column returns as `ANY ((ARRAY[…])::text[])`): same rows, different schema."""
    editor = connection.schema_editor(collect_sql=True)
    out = {}
    for model in models_:
        for item in [*model._meta.indexes, *model._meta.constraints]:
            if isinstance(item, models.Index) or getattr(item, "condition", None) is not None:
                statement = item.create_sql(model, editor)
                if statement is not None:
                    out[item.name] = str(statement)
    return out


def _indexes(cursor, tables: list[str]) -> list[tuple[str, str]]:
    """Indexes that no constraint owns (those come back with their constraint): (name, CREATE INDEX …)."""
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = ANY(%s::regclass[]) AND NOT x.indisprimary AND NOT EXISTS ("
        "  SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid) "
        "ORDER BY 1",
        [tables],
    )
    return cursor.fetchall()
