"""Insert many rows fast: COPY on PostgreSQL, the ORM's bulk_create elsewhere."""

from typing import Any

from django.db import connection
from django.db.models import DateTimeField, JSONField, Model
from django.utils import timezone
from psycopg.types.json import Jsonb

from .batching import BATCH_SIZE


def bulk_insert(
    model: type[Model], rows: list[dict[str, Any]], *, skip_conflicts_on: str | None = None
) -> None:
    """Insert rows given by attribute name (`trace_id`, not `trace`); `auto_now_add` fields are filled in.

    With `skip_conflicts_on` (a unique column), rows that would violate it are skipped.

    Building a multi-row INSERT through the ORM costs far more than PostgreSQL spends running it (every
    value prepared field by field, every JSON quote escaped in Python); COPY streams the same rows for a
    fraction of that. Nothing is returned: callers that need the new ids use bulk_create.
    """
    if not rows:
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    now = timezone.now()
    stamped = [field.attname for field in fields if isinstance(field, DateTimeField) and field.auto_now_add]
    if connection.vendor != "postgresql":
        objects = [model(**{name: now for name in stamped}, **row) for row in rows]
        model.objects.bulk_create(
            objects, ignore_conflicts=skip_conflicts_on is not None, batch_size=BATCH_SIZE
        )
        return
    names = [field.attname for field in fields]
    json_fields = {field.attname for field in fields if isinstance(field, JSONField)}
    quote = connection.ops.quote_name
    table, columns = quote(model._meta.db_table), ", ".join(quote(field.column) for field in fields)
    staging = f"{model._meta.db_table}_staging"
    with connection.cursor() as cursor:
        if skip_conflicts_on is not None:
            # A session-local table emptied at commit; ON CONFLICT needs an INSERT, which COPY is not.
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS "
                f"AS SELECT {columns} FROM {table} WITH NO DATA"
            )
        target = staging if skip_conflicts_on is not None else table
        with cursor.cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = {**dict.fromkeys(stamped, now), **row}
                copy.write_row([_copied(values[name], json=name in json_fields) for name in names])
        if skip_conflicts_on is not None:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "
                f"ON CONFLICT ({quote(skip_conflicts_on)}) DO NOTHING"
            )
            # Emptied now, not only at commit: a transaction that inserts in batches must not insert a
            # batch again with the next.
            cursor.execute(f"TRUNCATE {staging}")


def _copied(value: Any, *, json: bool) -> Any:
    """A value as COPY takes it; a JSON field's None is SQL NULL, as the ORM saves it."""
    return Jsonb(value) if json and value is not None else value


def bulk_update_by_pk(model: type[Model], rows: list[dict[str, Any]], *, fields: list[str]) -> None:
    """Give each row (by attribute name, with its "id") its own values of `fields`: on PostgreSQL, COPY into
    a temporary table and one UPDATE ... FROM it; elsewhere the ORM's bulk_update.

    bulk_update writes a CASE per row and field, and bulk_create's upsert prepares every value of every
    field in Python: for 10,000 rows either spent seconds before PostgreSQL did anything.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update([model(**row) for row in rows], fields, batch_size=BATCH_SIZE)
        return
    quote = connection.ops.quote_name
    columns = {name: model._meta.get_field(name) for name in ["id", *fields]}
    names = [field.attname for field in columns.values()]
    json_fields = {field.attname for field in columns.values() if isinstance(field, JSONField)}
    table = quote(model._meta.db_table)
    staging = f"{model._meta.db_table}_updates"
    listed = ", ".join(quote(field.column) for field in columns.values())
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS "
            f"AS SELECT {listed} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {staging} ({listed}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_copied(row[name], json=name in json_fields) for name in names])
        assignments = ", ".join(
            f"{quote(field.column)} = s.{quote(field.column)}"
            for name, field in columns.items()
            if name != "id"
        )
        cursor.execute(f"UPDATE {table} AS t SET {assignments} FROM {staging} AS s WHERE t.id = s.id")
        cursor.execute(f"TRUNCATE {staging}")
