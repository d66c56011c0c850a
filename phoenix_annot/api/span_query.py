"""POST /v1/spans: Phoenix's span query (PHOENIX_COMPAT.md §3.4), the call behind get_spans_dataframe.

Each query becomes a table in pandas' "table" JSON orientation; the client reads it with
`parse_table_schema` after stripping the `<n>_` prefixes that keep column names unique.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import F, Q, QuerySet
from rest_framework import serializers

from phoenix_annot.core import fastjson
from phoenix_annot.core.numbers import ascii_int
from phoenix_annot.filtering.expression import FilterExpressionError, span_condition_q
from phoenix_annot.tracing.attributes import flatten_attributes
from phoenix_annot.tracing.models import Span

from .schema import PatternField

SPAN_ID = "context.span_id"
COLUMNS = {
    "name": "name",
    "span_kind": "span_kind",
    "parent_id": "parent_id",
    "start_time": "start_time",
    "end_time": "end_time",
    "status_code": "status_code",
    "status_message": "status_message",
    "events": "events",
    SPAN_ID: "span_id",
    "span_id": "span_id",
    "context.trace_id": "otel_trace_id",
    "trace_id": "otel_trace_id",
    "latency_ms": "latency_ms",
}
DEFAULT_COLUMNS = [
    "name",
    "span_kind",
    "parent_id",
    "start_time",
    "end_time",
    "status_code",
    "status_message",
    "events",
    SPAN_ID,
    "context.trace_id",
]
PATH_SYNTAX = r"[A-Za-z_][\w.]*(\[\s*('[^']*'|\"[^\"]*\"|\d+)\s*\])*"
PATH = re.compile(f"^{PATH_SYNTAX}$")
# As documented: keys are stripped before they are checked (by `_key`, to answer as Phoenix does).
KEY_PATTERN = rf"^\s*{PATH_SYNTAX}\s*$"
MAX_LIMIT = 100_000


class SpanQueryError(ValueError):
    pass


class KeyInput(serializers.Serializer):
    key = PatternField(KEY_PATTERN, help_text="A column (`name`, `context.span_id`) or attribute path.")


class FilterInput(serializers.Serializer):
    condition = serializers.CharField(
        allow_blank=True, trim_whitespace=False, required=False, default="", help_text="PHOENIX_COMPAT.md §5"
    )


class ExplodeInput(serializers.Serializer):
    key = PatternField(KEY_PATTERN, help_text="A list attribute, e.g. `retrieval.documents`.")
    primary_index_key = serializers.CharField(required=False, default=SPAN_ID)
    kwargs = serializers.DictField(
        child=PatternField(KEY_PATTERN), required=False, default=dict, help_text="alias -> item field"
    )


class ConcatInput(serializers.Serializer):
    key = PatternField(KEY_PATTERN)
    separator = serializers.CharField(allow_blank=True, trim_whitespace=False, required=False, default="\n\n")
    kwargs = serializers.DictField(child=serializers.CharField(), required=False, default=dict)


class SpanQueryInput(serializers.Serializer):
    """One SpanQuery as arize-phoenix-client's `SpanQuery.to_dict()` sends it."""

    select = serializers.DictField(child=KeyInput(), allow_null=True, required=False, default=None)
    filter = FilterInput(allow_null=True, required=False, default=None)
    explode = ExplodeInput(allow_null=True, required=False, default=None)
    concat = ConcatInput(allow_null=True, required=False, default=None)
    rename = serializers.DictField(
        child=serializers.CharField(), allow_null=True, required=False, default=None
    )
    index = KeyInput(allow_null=True, required=False, default=None)


@dataclass(frozen=True)
class Table:
    index: list[str]
    columns: list[str]
    rows: list[dict[str, Any]]


def run_query(spans: QuerySet[Span], query: dict[str, Any], *, limit: int) -> Table:
    """One SpanQuery (select/filter/explode/concat/rename/index) over the spans, newest first."""
    condition = (query.get("filter") or {}).get("condition") or ""
    if condition.strip():
        try:
            spans = spans.filter(span_condition_q(condition))
        except FilterExpressionError as exc:
            raise SpanQueryError(str(exc)) from exc
    rows = list(spans.annotate(otel_trace_id=F("trace__trace_id")).order_by("-start_time", "-pk")[:limit])
    select = query.get("select")
    explode = query.get("explode")
    if explode:
        table = _explode(rows, explode, select)
    elif select:
        table = _selected(rows, select, query.get("concat"))
    else:
        table = _default(rows)
    return _renamed(table, query.get("rename") or {})


def spans_in_range(
    spans: QuerySet[Span], *, start: datetime | None, end: datetime | None, roots: bool
) -> QuerySet[Span]:
    condition = Q()
    if start is not None:
        condition &= Q(start_time__gte=start)
    if end is not None:
        condition &= Q(start_time__lt=end)
    if roots:
        condition &= Q(parent_id__isnull=True)
    return spans.filter(condition)


def table_json(table: Table) -> bytes:
    """pandas' table orientation, with ordinal prefixes so repeated names (the index) stay distinct."""
    names = [*table.index, *table.columns]
    prefixed = [f"{position}_{name}" for position, name in enumerate(names)]
    columns = [[row.get(name) for row in table.rows] for name in names]
    fields = [_field(prefix, values) for prefix, values in zip(prefixed, columns, strict=True)]
    # Column by column, then rows zipped in C: the default table is about 50 columns by 1,000 rows.
    # Only datetime columns need converting: attributes come from JSON and hold no datetimes.
    columns = [
        [_timestamp(value) for value in values] if field["type"] == "datetime" else values
        for field, values in zip(fields, columns, strict=True)
    ]
    data = [dict(zip(prefixed, cells, strict=True)) for cells in zip(*columns, strict=True)]
    schema = {"fields": fields, "primaryKey": prefixed[: len(table.index)], "pandas_version": "1.4.0"}
    return fastjson.dumps({"schema": schema, "data": data})


def _default(rows: list[Span]) -> Table:
    records = []
    attribute_keys: dict[str, None] = {}
    for span in rows:
        record = {column: _column(span, column) for column in DEFAULT_COLUMNS}
        for key, value in flatten_attributes(span.attributes).items():
            attribute_keys[f"attributes.{key}"] = None
            record[f"attributes.{key}"] = value
        records.append(record)
    return Table(index=[SPAN_ID], columns=[*DEFAULT_COLUMNS, *attribute_keys], rows=records)


def _selected(rows: list[Span], select: dict[str, Any], concat: dict[str, Any] | None) -> Table:
    keys = {alias: _key(spec, alias) for alias, spec in select.items()}
    records = []
    for span in rows:
        flat = flatten_attributes(span.attributes)
        record = {SPAN_ID: span.span_id}
        record.update({alias: _value(span, key, flat) for alias, key in keys.items()})
        if concat:
            key = _key(concat, "concat")
            record[key] = _concatenated(_value(span, key, flat), concat.get("separator", "\n\n"))
        records.append(record)
    columns = [*keys, *([_key(concat, "concat")] if concat else [])]
    return Table(index=[SPAN_ID], columns=columns, rows=records)


def _explode(rows: list[Span], explode: dict[str, Any], select: dict[str, Any] | None) -> Table:
    """One row per item of a list attribute (retrieved documents), indexed by span and position.

    `kwargs` picks item fields by alias (`content="document.content"`); without it every field is a column.
    """
    key = _key(explode, "explode")
    position = "document_position"
    picked = {alias: _key({"key": path}, alias) for alias, path in (explode.get("kwargs") or {}).items()}
    selected = {alias: _key(spec, alias) for alias, spec in (select or {}).items()}
    records, columns = [], {}
    for span in rows:
        flat = flatten_attributes(span.attributes)
        items = _value(span, key, flat)
        for index, item in enumerate(items if isinstance(items, list) else []):
            fields = flatten_attributes(item if isinstance(item, dict) else {"value": item})
            record: dict[str, Any] = {SPAN_ID: span.span_id, position: index}
            record.update({alias: _value(span, path, flat) for alias, path in selected.items()})
            record.update({alias: fields.get(path) for alias, path in picked.items()} if picked else fields)
            columns.update(dict.fromkeys(k for k in record if k not in (SPAN_ID, position)))
            records.append(record)
    return Table(index=[SPAN_ID, position], columns=list(columns), rows=records)


def _renamed(table: Table, rename: dict[str, str]) -> Table:
    if not rename:
        return table
    renamed = [{rename.get(k, k): v for k, v in row.items()} for row in table.rows]
    return Table(index=table.index, columns=[rename.get(c, c) for c in table.columns], rows=renamed)


def _key(spec: Any, where: str) -> str:
    key = spec.get("key") if isinstance(spec, dict) else None
    if not isinstance(key, str) or not PATH.match(key.strip()):
        raise SpanQueryError(f"{where}: expected a name or attribute path such as 'input.value', got {key!r}")
    return key.strip()


def _value(span: Span, key: str, flat: dict[str, Any]) -> Any:
    """A column, or an attribute by its flattened key, or a nested part of the attributes (lists too)."""
    if key in COLUMNS:
        return _column(span, key)
    path = key.removeprefix("attributes.")
    return flat[path] if path in flat else _nested(span.attributes, path.split("."))


def _nested(node: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and (index := ascii_int(part)) is not None and index < len(node):
            node = node[index]
        else:
            return None
    return node


def _column(span: Span, column: str) -> Any:
    return getattr(span, COLUMNS[column])


def _concatenated(value: Any, separator: str) -> Any:
    if isinstance(value, list):
        return separator.join(str(item) for item in value)
    return value


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def _field(name: str, values: list[Any]) -> dict[str, Any]:
    present = [value for value in values if value is not None]
    if present and all(isinstance(v, datetime) for v in present):
        return {"name": name, "type": "datetime", "tz": "UTC"}
    if present and len(present) == len(values) and all(isinstance(v, bool) for v in present):
        return {"name": name, "type": "boolean"}
    if present and len(present) == len(values) and all(_is_int(v) for v in present):
        return {"name": name, "type": "integer"}
    if present and all(_is_int(v) or isinstance(v, float) for v in present):
        return {"name": name, "type": "number"}
    return {"name": name, "type": "string"}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
