"""POST /v1/spans: Phoenix's span query (PHOENIX_COMPAT.md §3.4), the call behind get_spans_dataframe.

Each query becomes a table in pandas' "table" JSON orientation; the client reads it with
`parse_table_schema` after stripping the `<n>_` prefixes that keep column names unique.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.fields.json import KeyTransform, KeyTransformIsNull
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
# What a query reads of each span: the fields of the columns above (the trace id comes by a join), and
# the attributes.
ROW_FIELDS = sorted({field for field in COLUMNS.values() if field != "otel_trace_id"} | {"attributes"})
SpanRow = dict[str, Any]
ALIASES = {"span_id": SPAN_ID, "trace_id": "context.trace_id"}
# Phoenix numbers retrieved documents `document_position`, the items of any other list `position`.
DOCUMENT_LISTS = {"retrieval.documents", "attributes.retrieval.documents"}
DEFAULT_SEPARATOR = "\n\n"


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
    separator = serializers.CharField(
        allow_blank=True, trim_whitespace=False, required=False, default=DEFAULT_SEPARATOR
    )
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
    """Rows keyed by `index` and `columns`; `labels` renames columns (never the index) on the way out."""

    index: list[str]
    columns: list[str]
    rows: list[dict[str, Any]]
    labels: dict[str, str] = field(default_factory=dict)


def run_query(spans: QuerySet[Span], query: dict[str, Any], *, limit: int) -> Table:
    """One SpanQuery (select/filter/explode/concat/rename/index) over the spans, newest first.

    Without select, explode or concat the answer is the default table, indexed by span id whatever the
    query's index, as Phoenix answers it.
    """
    condition = (query.get("filter") or {}).get("condition") or ""
    if condition.strip():
        spans = spans.filter(_condition_q(condition, "filter"))
    if not (query.get("select") or query.get("explode") or query.get("concat")):
        return _default(_newest(spans, limit))
    shape = Shape.of(query)
    if shape.attribute_lists:
        # Only spans holding a list answer, so `limit` counts those rather than every span.
        spans = spans.filter(reduce(or_, map(_holding, shape.attribute_lists)))
    return shape.table(_newest(spans, limit))


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
    keys = [*table.index, *table.columns]
    names = [*table.index, *(table.labels.get(column, column) for column in table.columns)]
    prefixed = [f"{position}_{name}" for position, name in enumerate(names)]
    columns = [[row.get(key) for row in table.rows] for key in keys]
    fields = [_field(prefix, values) for prefix, values in zip(prefixed, columns, strict=True)]
    # Column by column, then rows zipped in C: the default table is about 50 columns by 1,000 rows.
    # Only datetime columns need converting: attributes come from JSON and hold no datetimes.
    columns = [
        [_timestamp(value) for value in values] if field["type"] == "datetime" else values
        for field, values in zip(fields, columns, strict=True)
    ]
    # A missing cell is left out rather than sent as null: pandas reads both as missing, and the default
    # table is sparse (documents beside messages), so 1,200 rows shrink from 4.4 to 2.7 MB and the
    # client parses them in half the time.
    data = [
        {name: value for name, value in zip(prefixed, cells, strict=True) if value is not None}
        for cells in zip(*columns, strict=True)
    ]
    schema = {"fields": fields, "primaryKey": prefixed[: len(table.index)], "pandas_version": "1.4.0"}
    return fastjson.dumps({"schema": schema, "data": data})


@dataclass(frozen=True)
class ListSpec:
    """The list an explode or concat reads (`key`), and the item fields it picks by alias (`kwargs`)."""

    key: str
    fields: dict[str, str]

    @classmethod
    def of(cls, spec: dict[str, Any], where: str) -> "ListSpec":
        fields = spec.get("kwargs") or {}
        return cls(
            _key(spec, where),
            {alias: _key({"key": path}, f"{where}.{alias}") for alias, path in fields.items()},
        )

    def items(self, span: SpanRow, flat: dict[str, Any]) -> list[Any] | None:
        value = _value(span, self.key, flat)
        return value if isinstance(value, list) else None

    def picked(self, item: dict[str, Any]) -> dict[str, Any]:
        """The item's fields by alias, leaving out those it lacks; every field when no alias is given."""
        flat = flatten_attributes(item)
        if not self.fields:
            return flat
        found = {alias: _lookup(item, flat, path) for alias, path in self.fields.items()}
        return {alias: value for alias, value in found.items() if value is not None}


@dataclass(frozen=True)
class Shape:
    """What a SpanQuery with a select, explode or concat answers: its index and columns, row by row.

    - `select` picks values by alias; an alias equal to the index becomes the index.
    - `concat` answers only spans whose `key` is a list: each alias holds that field of the list's items
      joined by `separator` (without aliases, one column named `key` joins the items themselves).
    - `explode` answers one row per object of its list, indexed by its primary index and the item's
      position (`document_position` for retrieved documents, `position` for any other list). A span
      whose list has no object, or that holds only the concatenated list, keeps one row without position.
    - Columns come as selected, concatenated, exploded; `span_id`/`trace_id` read `context.…`, then
      `rename` relabels columns (never the index).
    """

    index: list[str]
    selected: dict[str, str]
    explode: ListSpec | None
    concat: ListSpec | None
    separator: str
    rename: dict[str, str]

    @classmethod
    def of(cls, query: dict[str, Any]) -> "Shape":
        explode, concat = query.get("explode"), query.get("concat")
        if explode:
            primary = {"key": explode.get("primary_index_key") or SPAN_ID}
            index_key = _unaliased(_key(primary, "explode.primary_index_key"))
            exploded = ListSpec.of(explode, "explode")
            position = "document_position" if exploded.key in DOCUMENT_LISTS else "position"
            index = [index_key, position]
        else:
            index = [_unaliased(_key(query.get("index") or {"key": SPAN_ID}, "index"))]
            exploded = None
        selected = {alias: _key(spec, alias) for alias, spec in (query.get("select") or {}).items()}
        return cls(
            index=index,
            selected={alias: key for alias, key in selected.items() if alias != index[0]},
            explode=exploded,
            concat=ListSpec.of(concat, "concat") if concat else None,
            separator=concat.get("separator", DEFAULT_SEPARATOR) if concat else DEFAULT_SEPARATOR,
            rename=query.get("rename") or {},
        )

    @property
    def attribute_lists(self) -> list[str]:
        """The dotted attribute paths read as lists (a path with subscripts reads nothing)."""
        specs = (self.explode, self.concat)
        return [spec.key for spec in specs if spec and spec.key not in COLUMNS and "[" not in spec.key]

    def fixed_columns(self) -> list[str]:
        """The columns known before reading any span: all but the fields an explode finds in its items."""
        concatenated = (list(self.concat.fields) or [self.concat.key]) if self.concat else []
        exploded = list(self.explode.fields) if self.explode else []
        return list(dict.fromkeys([*self.selected, *concatenated, *exploded]))

    def table(self, spans: list[SpanRow]) -> Table:
        rows: list[dict[str, Any]] = []
        found: dict[str, None] = {}
        for span in spans:
            flat = flatten_attributes(span["attributes"])
            row = {self.index[0]: _value(span, self.index[0], flat)}
            row.update({alias: _value(span, key, flat) for alias, key in self.selected.items()})
            joined = self._joined(span, flat)
            row.update(joined or {})
            if self.explode is None:
                if self.concat is None or joined is not None:
                    rows.append(row)
                continue
            items = self.explode.items(span, flat)
            exploded = [
                (n, self.explode.picked(item)) for n, item in enumerate(items or []) if isinstance(item, dict)
            ]
            for position, fields in exploded:
                found.update(dict.fromkeys(fields))
                rows.append({**fields, **row, self.index[1]: position})
            if not exploded and (items is not None or joined is not None):
                rows.append({**row, self.index[1]: None})
        columns = list(dict.fromkeys([*self.fixed_columns(), *found]))
        labels = {column: label for column in columns if (label := self._label(column)) != column}
        return Table(index=self.index, columns=columns, rows=rows, labels=labels)

    def _label(self, column: str) -> str:
        column = _unaliased(column)
        return self.rename.get(column, column)

    def _joined(self, span: SpanRow, flat: dict[str, Any]) -> dict[str, str | None] | None:
        """The concatenated columns, or None when the span has no such list."""
        if self.concat is None or (items := self.concat.items(span, flat)) is None:
            return None
        if not self.concat.fields:
            return {self.concat.key: self.separator.join(str(item) for item in items)}
        parts: dict[str, list[str]] = {alias: [] for alias in self.concat.fields}
        for item in items:
            if isinstance(item, dict):
                for alias, value in self.concat.picked(item).items():
                    parts[alias].append(str(value))
        return {alias: self.separator.join(values) if values else None for alias, values in parts.items()}


def _newest(spans: QuerySet[Span], limit: int) -> list[SpanRow]:
    # Values, not models: building 1,200 models took a third of a query's time.
    rows = spans.order_by("-start_time", "-pk").values(*ROW_FIELDS, otel_trace_id=F("trace__trace_id"))
    return list(rows[:limit])


def _condition_q(condition: str, where: str) -> Q:
    try:
        return span_condition_q(condition)
    except FilterExpressionError as exc:
        raise SpanQueryError(f"{where}: {exc}") from exc


def _holding(key: str) -> Q:
    """Spans whose attributes hold a value at the dotted path `key`."""
    path: str | KeyTransform = "attributes"
    for part in key.removeprefix("attributes.").split("."):
        path = KeyTransform(part, path)
    return Q(KeyTransformIsNull(path, False))


def _default(rows: list[SpanRow]) -> Table:
    records = []
    attribute_keys: dict[str, None] = {}
    for span in rows:
        record = {column: _column(span, column) for column in DEFAULT_COLUMNS}
        for key, value in flatten_attributes(span["attributes"]).items():
            attribute_keys[f"attributes.{key}"] = None
            record[f"attributes.{key}"] = value
        records.append(record)
    return Table(index=[SPAN_ID], columns=[*DEFAULT_COLUMNS, *attribute_keys], rows=records)


def _key(spec: Any, where: str) -> str:
    key = spec.get("key") if isinstance(spec, dict) else None
    if not isinstance(key, str) or not PATH.match(key.strip()):
        raise SpanQueryError(f"{where}: expected a name or attribute path such as 'input.value', got {key!r}")
    return key.strip()


def _unaliased(key: str) -> str:
    return ALIASES.get(key, key)


def _value(span: SpanRow, key: str, flat: dict[str, Any]) -> Any:
    """A column, or an attribute by its flattened key, or a nested part of the attributes (lists too)."""
    if key in COLUMNS:
        return _column(span, key)
    return _lookup(span["attributes"], flat, key.removeprefix("attributes."))


def _lookup(node: dict[str, Any], flat: dict[str, Any], path: str) -> Any:
    """`path` in `node`, whose flattened form is `flat`: a leaf by its dotted key, or a nested part."""
    return flat[path] if path in flat else _nested(node, path.split("."))


def _nested(node: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and (index := ascii_int(part)) is not None and index < len(node):
            node = node[index]
        else:
            return None
    return node


def _column(span: SpanRow, column: str) -> Any:
    return span[COLUMNS[column]]


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def _field(name: str, values: list[Any]) -> dict[str, Any]:
    """The column's type in the table schema, from the types of its values (None is a missing value)."""
    kinds = set(map(type, values))
    complete = type(None) not in kinds
    kinds.discard(type(None))
    if kinds == {datetime}:
        return {"name": name, "type": "datetime", "tz": "UTC"}
    if complete and kinds == {bool}:
        return {"name": name, "type": "boolean"}
    if complete and kinds == {int}:
        return {"name": name, "type": "integer"}
    if kinds and kinds <= {int, float}:
        return {"name": name, "type": "number"}
    return {"name": name, "type": "string"}
