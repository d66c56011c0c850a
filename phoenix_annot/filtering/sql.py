"""Database expressions the filter language needs and Django lacks, written for SQLite and PostgreSQL.

Each one turns what would be a database error (a JSON value of the wrong type, a float8 overflow, a
division by zero) into NULL, so a filter over messy data matches nothing instead of failing the page.
"""

import enum
import re
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, F, FloatField, Func, TextField
from django.db.models.fields import Field
from django.db.models.sql.compiler import SQLCompiler

from phoenix_annot.core.numbers import ascii_int
from phoenix_annot.tracing.models import Span

SqlAndParams = tuple[str, list[Any]]

# A number written as text that float8 can hold: at most 200 integer digits and a two-digit exponent.
NUMERIC_TEXT_PATTERN = r"^\s*[-+]?(\d{1,200}(\.\d*)?|\.\d+)([eE][-+]?\d{1,2})?\s*$"


class JsonKind(enum.Enum):
    """What to read at a JSON path, as Phoenix reads a JSON value compared with a constant of each type.

    Phoenix translates these to SQL per backend and the answers differ where the databases do (SQLite
    renders true as 1, PostgreSQL as 'true'); each template below gives Phoenix's answer on its backend.
    """

    NUMBER = "number"  # a number, or a string spelling one; on SQLite also true/false as 1/0
    TEXT = "text"  # any value as text: strings as they are, numbers, booleans and lists rendered
    BOOLEAN = "boolean"  # true/false, the strings 'true'/'false' in any case, the numbers 1/0
    PRESENT = "present"  # the JSON type name; NULL when the key is missing or holds null


_OUTPUT_FIELDS: dict[JsonKind, type[Field]] = {
    JsonKind.NUMBER: FloatField,
    JsonKind.TEXT: TextField,
    JsonKind.BOOLEAN: BooleanField,
    JsonKind.PRESENT: TextField,
}


def _postgres_double(numeric: str) -> str:
    """A numeric as a double: NULL past a double's range, 0 below its smallest step, where a cast fails."""
    return (
        f"CASE WHEN abs({numeric}) > 1.7976931348623157e308 THEN NULL"
        f" WHEN abs({numeric}) < 1e-320 THEN 0.0 ELSE ({numeric})::double precision END"
    )


# {value} is the JSON value at the path, {text} the same as text; both repeat, as SQL has no let-binding.
_POSTGRES_TEMPLATES: dict[JsonKind, str] = {
    JsonKind.NUMBER: (
        f"CASE WHEN jsonb_typeof({{value}}) = 'number' THEN {_postgres_double('({value})::numeric')}"
        " WHEN jsonb_typeof({value}) = 'string' AND {text} ~ {pattern}"
        f" THEN {_postgres_double('({text})::numeric')} END"
    ),
    JsonKind.TEXT: "{text}",
    JsonKind.BOOLEAN: (
        "CASE jsonb_typeof({value}) WHEN 'boolean' THEN ({text})::boolean"
        " WHEN 'string' THEN CASE lower({text}) WHEN 'true' THEN true WHEN 'false' THEN false END"
        " WHEN 'number' THEN CASE {text} WHEN '1' THEN true WHEN '0' THEN false END END"
    ),
    JsonKind.PRESENT: "NULLIF(jsonb_typeof({value}), 'null')",
}
# Nested CASEs, not AND: SQLite may evaluate both sides of an AND, and json_type() fails on invalid JSON.
_SQLITE_TEMPLATES: dict[JsonKind, str] = {
    JsonKind.NUMBER: (
        # A number too long for a double reads as infinity in SQLite: missing, as in PostgreSQL.
        "CASE WHEN {type} IN ('integer', 'real') THEN NULLIF(NULLIF({value}, 9e999), -9e999)"
        " WHEN {type} = 'true' THEN 1.0"
        " WHEN {type} = 'false' THEN 0.0 WHEN {type} = 'text' THEN CASE WHEN json_valid({value})"
        " THEN CASE WHEN json_type({value}) IN ('integer', 'real')"
        # Text such as '1e999' spells infinity in SQLite; it reads as missing, as in PostgreSQL.
        " THEN NULLIF(NULLIF(CAST({value} AS REAL), 9e999), -9e999) END END END"
    ),
    JsonKind.TEXT: "CAST({value} AS TEXT)",
    JsonKind.BOOLEAN: (
        "CASE {type} WHEN 'true' THEN 1 WHEN 'false' THEN 0"
        " WHEN 'integer' THEN CASE {value} WHEN 1 THEN 1 WHEN 0 THEN 0 END"
        " WHEN 'text' THEN CASE lower({value}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END END"
    ),
    JsonKind.PRESENT: "NULLIF({type}, 'null')",
}


class JsonValue(Func):
    """The value at `keys` inside the JSON column `column`, read as `kind` (NULL when it is not one)."""

    def __init__(self, column: str, keys: tuple[str | int, ...], kind: JsonKind) -> None:
        super().__init__(F(column), output_field=_OUTPUT_FIELDS[kind]())
        self.keys = keys
        self.kind = kind

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any) -> SqlAndParams:
        raise NotImplementedError(f"JSON filters support SQLite and PostgreSQL, not {connection.vendor}.")

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> SqlAndParams:
        column, column_params = compiler.compile(self.source_expressions[0])
        path = [str(key) for key in self.keys]
        return _render(
            _POSTGRES_TEMPLATES[self.kind],
            value=(f"({column} #> %s::text[])", [*column_params, path]),
            text=(f"({column} #>> %s::text[])", [*column_params, path]),
            pattern=("%s", [NUMERIC_TEXT_PATTERN]),
        )

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> SqlAndParams:
        column, column_params = compiler.compile(self.source_expressions[0])
        path = sqlite_json_path(self.keys)
        return _render(
            _SQLITE_TEMPLATES[self.kind],
            type=(f"json_type({column}, %s)", [*column_params, path]),
            value=(f"json_extract({column}, %s)", [*column_params, path]),
        )


def sqlite_json_path(keys: tuple[str | int, ...]) -> str:
    """A SQLite JSON path; digit-only keys index arrays, as PostgreSQL's #> does for arrays."""
    parts = ["$"]
    for key in keys:
        index = key if isinstance(key, int) else ascii_int(key)
        if index is not None:
            parts.append(f"[{index}]")
        else:
            # SQLite reads a quoted key up to the next double quote: callers reject keys holding one.
            parts.append(f'."{key}"')
    return "".join(parts)


def _render(template: str, **pieces: SqlAndParams) -> SqlAndParams:
    """Fill a template's {placeholders} with SQL pieces, collecting their params in order of use."""
    params: list[Any] = []

    def piece(match: re.Match[str]) -> str:
        sql, piece_params = pieces[match.group(1)]
        params.extend(piece_params)
        return sql

    sql = re.sub(r"\{(\w+)\}", piece, template)
    return sql, params


class ExactNumber(Func):
    """A number in the type arithmetic stays exact and error-free in: numeric on PostgreSQL, REAL on SQLite.

    float8 arithmetic raises on overflow in PostgreSQL, and a numeric compared with a float8 is cast back
    to float8; so every operand and both sides of a comparison involving arithmetic pass through here.
    On SQLite the cast stops integer division from truncating.
    """

    output_field = FloatField()

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any) -> SqlAndParams:
        return self.as_sqlite(compiler, connection)

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> SqlAndParams:
        return super().as_sql(compiler, connection, template="CAST(%(expressions)s AS REAL)")

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> SqlAndParams:
        return super().as_sql(compiler, connection, template="(%(expressions)s)::numeric")


# Division and modulo by zero give NULL; on SQLite, MOD (a Python function there) must not see infinity.
_ARITHMETIC_TEMPLATES: dict[str, str] = {
    "+": "({left} + {right})",
    "-": "({left} - {right})",
    "*": "({left} * {right})",
    "/": "({left} / NULLIF({right}, 0))",
    "%": "MOD({left}, NULLIF({right}, 0))",
}
_SQLITE_MODULO = "MOD(NULLIF(NULLIF({left}, 9e999), -9e999), NULLIF({right}, 0))"


class Arithmetic(Func):
    """`left <operator> right` over numbers, computed as ExactNumber so it cannot fail."""

    output_field = FloatField()

    def __init__(self, operator: str, left: Any, right: Any) -> None:
        super().__init__(exact_number(left), exact_number(right))
        self.operator = operator

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any) -> SqlAndParams:
        template = _ARITHMETIC_TEMPLATES[self.operator]
        if connection.vendor == "sqlite" and self.operator == "%":
            template = _SQLITE_MODULO
        left, right = (compiler.compile(expression) for expression in self.source_expressions)
        return _render(template, left=left, right=right)


def exact_number(expression: Any) -> Any:
    """The expression as an ExactNumber, unless it is one already (Arithmetic results are)."""
    return expression if isinstance(expression, ExactNumber | Arithmetic) else ExactNumber(expression)


class CumulativeTokenCount(Func):
    """The LLM token counts of a span and all its descendants in its trace, summed as Phoenix keeps them.

    Phoenix stores these sums at ingest; here they are computed when a filter asks, walking the span's
    subtree with a recursive query, so ingest stays one insert a span. As in Phoenix only LLM spans count,
    a missing count is 0 and so is the sum of none. UNION, not UNION ALL: a parent_id cycle ends.
    """

    output_field = FloatField()
    template = (
        "(WITH RECURSIVE pa_subtree(span_id) AS (SELECT %(span_id)s UNION"
        " SELECT pa_child.span_id FROM {table} pa_child JOIN pa_subtree"
        " ON pa_child.parent_id = pa_subtree.span_id WHERE pa_child.trace_id = %(trace)s)"
        " SELECT COALESCE(SUM(CASE WHEN pa_node.span_kind = 'LLM' THEN {counts} END), 0)"
        " FROM {table} pa_node WHERE pa_node.trace_id = %(trace)s"
        " AND pa_node.span_id IN (SELECT span_id FROM pa_subtree))"
    )

    def __init__(self, columns: tuple[str, ...]) -> None:
        super().__init__(F("span_id"), F("trace"))
        self.columns = columns

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any) -> SqlAndParams:
        (span_id, span_params), (trace, trace_params) = (
            compiler.compile(expression) for expression in self.source_expressions
        )
        counts = " + ".join(f"COALESCE(pa_node.{connection.ops.quote_name(c)}, 0)" for c in self.columns)
        template = self.template.format(table=connection.ops.quote_name(Span._meta.db_table), counts=counts)
        sql = template % {"span_id": span_id, "trace": trace}
        return sql, [*span_params, *trace_params, *trace_params]
