"""Phoenix's span filter language (PHOENIX_COMPAT.md §5) translated into a Django Q over Span.

The text is parsed with `ast` and walked with an allow-list: each node kind below has a rule, every other
node is refused, and nothing the user typed is ever compiled or evaluated. Values reach SQL only as query
parameters. Semantics follow Phoenix:

- Missing values match nothing (SQL NULL): `attributes['tier'] != 'premium'` skips spans without a tier.
- Attribute values are typed by what they are compared with, as Phoenix's SafeJsonFloat, as_string and
  SafeJsonBoolean do on each backend (sql.JsonKind): a number also matches a string spelling it; text
  sees any value as text, lists and mappings as their JSON; True/False also match 'true'/'false' and 1/0.
  float()/int()/str() convert the same way. The answers come from Phoenix itself
  (tests/filtering/test_phoenix_parity.py).
- `'x' in input.value` is case-insensitive containment (any letters, not only ASCII); `==` and `in [...]`
  are exact.
- `annotations['q'].label == 'a' and annotations['q'].score > 0.5` must hold for ONE q annotation, and
  `annotations['q'].label is None` also matches spans without a q annotation (see predicates.py); a
  `not` over conditions on the span and on annotations goes down to each (`not (a and b)` is `not a or
  not b`), as Phoenix evaluates it on each row of its annotation join.
- `not` over conditions on one name applies per annotation, as in Phoenix: `not annotations['q'].label
  == 'a'` keeps spans with a q annotation labelled otherwise.
- `session_annotations['q']` reads the annotations of the span's session (through its trace), with the
  same rules as `trace_annotations['q']`; a span outside any session has none. Phoenix 20.26 refuses it.
- `cumulative_llm_token_count_*` sum the LLM token counts of the span and its descendants, as Phoenix's
  stored sums do; they are computed when asked (sql.CumulativeTokenCount).
"""

import ast
import difflib
import enum
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from django.db.models import (
    BooleanField,
    Case,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.fields import Field as ModelField
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    In,
    IRegex,
    IsNull,
    LessThan,
    LessThanOrEqual,
    Lookup,
)

from phoenix_annot.tracing.models import Span

from .predicates import AnnotationScope, Predicate, combine
from .sql import Arithmetic, CumulativeTokenCount, JsonKind, JsonValue, exact_number

MAX_EXPRESSION_CHARS = 10_000
MAX_STRING_CHARS = 5_000
MAX_INTEGER = 2**53  # the largest integer a float, and so every number here, holds exactly
MAX_DEPTH = 50
# Each comparison may become a subquery, and SQLite refuses expressions more than 1000 levels deep.
MAX_COMPARISONS = 100
MAX_ARITHMETIC = 20
# Each annotation reference is a subquery over the annotations table per span considered: the cost of a
# filter grows with their number far more than with that of the comparisons on the span's own columns.
MAX_ANNOTATION_TERMS = 10
MAX_ARRAY_INDEX = 2**31 - 1


class FilterExpressionError(ValueError):
    """A filter expression that cannot be used; the message is written for the person who typed it."""


class ValueType(enum.Enum):
    TEXT = "text"
    NUMBER = "a number"
    BOOLEAN = "True or False"
    TIME = "a time"


_OUTPUT_FIELDS: dict[ValueType, type[ModelField]] = {
    ValueType.TEXT: TextField,
    ValueType.NUMBER: FloatField,
    ValueType.BOOLEAN: BooleanField,
    ValueType.TIME: DateTimeField,
}
_JSON_KINDS = {
    ValueType.TEXT: JsonKind.TEXT,
    ValueType.NUMBER: JsonKind.NUMBER,
    ValueType.BOOLEAN: JsonKind.BOOLEAN,
}

# Names of span columns (PHOENIX_COMPAT.md §5.2) -> (Span lookup path, type).
_COLUMNS: dict[str, tuple[str, ValueType]] = {
    "span_id": ("span_id", ValueType.TEXT),
    "context.span_id": ("span_id", ValueType.TEXT),
    "trace_id": ("trace__trace_id", ValueType.TEXT),
    "context.trace_id": ("trace__trace_id", ValueType.TEXT),
    "parent_id": ("parent_id", ValueType.TEXT),
    "span_kind": ("span_kind", ValueType.TEXT),
    "name": ("name", ValueType.TEXT),
    "status_code": ("status_code", ValueType.TEXT),
    "status_message": ("status_message", ValueType.TEXT),
    "latency_ms": ("latency_ms", ValueType.NUMBER),
    "start_time": ("start_time", ValueType.TIME),
    "end_time": ("end_time", ValueType.TIME),
}
# Attributes Phoenix types as numbers by name: comparing them with text or True/False is a mistake.
_NUMBER_ATTRIBUTES = frozenset(f"llm.token_count.{part}" for part in ("prompt", "completion", "total"))
# Text attributes the span also keeps in a column, which is faster to read than the JSON.
_TEXT_COLUMNS = {("input", "value"): "input_value", ("output", "value"): "output_value"}
_UPPERCASE_COLUMNS = frozenset({"span_kind", "status_code"})
# Phoenix's cumulative counts (the span's and its descendants') and their legacy names -> columns summed.
_CUMULATIVE_COLUMNS: dict[str, tuple[str, ...]] = {
    f"{prefix}{part}": columns
    for prefix in ("cumulative_llm_token_count_", "cumulative_token_count.")
    for part, columns in (
        ("prompt", ("llm_token_count_prompt",)),
        ("completion", ("llm_token_count_completion",)),
        # Phoenix's total is prompt + completion, whatever total the spans reported.
        ("total", ("llm_token_count_prompt", "llm_token_count_completion")),
    )
}
# session_annotations is ours: Phoenix 20.26 refuses it in a span filter ("invalid expression").
_ANNOTATION_TARGETS = {
    "annotations": "span",
    "evals": "span",
    "trace_annotations": "trace",
    "session_annotations": "session",
}
_ANNOTATION_FIELDS = {
    "label": ValueType.TEXT,
    "score": ValueType.NUMBER,
    "explanation": ValueType.TEXT,
    "identifier": ValueType.TEXT,
}
_JSON_ROOTS = {"attributes": (), "metadata": ("metadata",)}
_SUBSCRIPTABLE = (*_JSON_ROOTS, *_ANNOTATION_TARGETS)
_BARE_NAME_HINTS = {
    "attributes": "write attributes['key'] to read an attribute",
    "metadata": "write metadata['key'] to read a metadata value",
    "events": "span events cannot be filtered on",
    **{name: f"write {name}['name'].label, .score or .explanation" for name in _ANNOTATION_TARGETS},
}
# The columns a bare (undotted) name may be; any other is an attribute to Phoenix, and a typo to a reviewer.
KNOWN_COLUMNS = tuple(name for name in [*_COLUMNS, *_CUMULATIVE_COLUMNS, "parent_span"] if "." not in name)

# != is the negation of Exact.
_LOOKUPS: dict[type[ast.cmpop], type[Lookup]] = {
    ast.Eq: Exact,
    ast.NotEq: Exact,
    ast.Lt: LessThan,
    ast.LtE: LessThanOrEqual,
    ast.Gt: GreaterThan,
    ast.GtE: GreaterThanOrEqual,
}
_MIRRORED: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.Eq,
    ast.NotEq: ast.NotEq,
    ast.Lt: ast.Gt,
    ast.LtE: ast.GtE,
    ast.Gt: ast.Lt,
    ast.GtE: ast.LtE,
    ast.Is: ast.Is,
    ast.IsNot: ast.IsNot,
}
_ARITHMETIC: dict[type[ast.operator], tuple[str, Callable[[float, float], float]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    # fmod, not Python's %, so that folded constants agree with SQL's MOD on negative numbers.
    ast.Mod: ("%", math.fmod),
}
_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda functions",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.JoinedStr: "f-strings",
    ast.NamedExpr: "assignment expressions (:=)",
    ast.Starred: "starred expressions",
    ast.IfExp: "conditional expressions (x if y else z)",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.Slice: "slices",
    ast.Await: "await",
}
_REFUSED_OPERATORS: dict[type[ast.AST], str] = {
    ast.Pow: "the ** operator",
    ast.FloorDiv: "the // operator",
    ast.MatMult: "the @ operator",
    ast.BitAnd: "bitwise operators",
    ast.BitOr: "bitwise operators",
    ast.BitXor: "bitwise operators",
    ast.LShift: "bitwise operators",
    ast.RShift: "bitwise operators",
    ast.Invert: "the ~ operator",
}
_VALUE_HANDLERS: dict[type[ast.AST], str] = {
    ast.Constant: "_constant",
    ast.Tuple: "_constants",
    ast.List: "_constants",
    ast.Name: "_name",
    ast.Attribute: "_attribute",
    ast.Subscript: "_subscript",
    ast.Call: "_call",
    ast.BinOp: "_binary",
    ast.UnaryOp: "_unary",
}

Scalar = str | float | bool | None


@dataclass(frozen=True)
class Constant:
    value: Scalar  # every number is a float
    source: str


@dataclass(frozen=True)
class Constants:
    """A list or tuple literal: what may follow `in`."""

    values: tuple[Scalar, ...]
    source: str


@dataclass(frozen=True)
class Field:
    """A typed value of the span, or of the annotations in `scope` when that is set."""

    expression: Any
    type: ValueType
    source: str
    scope: AnnotationScope | None = None
    uppercase: bool = False  # span_kind and status_code: Phoenix upper-cases the text compared with them
    exact: bool = False  # computed by Arithmetic: compare it as an ExactNumber


@dataclass(frozen=True)
class AttributePath:
    """A path into Span.attributes; it takes its type from what it is compared with."""

    keys: tuple[str | int, ...]
    source: str

    def read(self, kind: JsonKind, value_type: ValueType) -> Field:
        column = _TEXT_COLUMNS.get(self.keys)
        if column is not None and kind in (JsonKind.TEXT, JsonKind.PRESENT):
            return Field(_column_copy(column, self.keys), value_type, self.source)
        return Field(JsonValue("attributes", self.keys, kind), value_type, self.source)


@dataclass(frozen=True)
class AnnotationRef:
    """`annotations['name']` without a field: as a condition, "the span has one"."""

    scope: AnnotationScope
    source: str


@dataclass(frozen=True)
class ParentSpan:
    source: str


Operand = Constant | Constants | Field | AttributePath | AnnotationRef | ParentSpan


def span_condition_q(condition: str) -> Q:
    """Translate a Phoenix filter expression into a Q over Span; FilterExpressionError explains a refusal."""
    text = condition.strip()
    if not text:
        return Q()  # Phoenix reads an empty condition as no condition
    tree = _parse(text)
    return _Translator(text).condition(tree.body).span_q()


@dataclass(frozen=True)
class ConditionNames:
    """What a valid filter expression names: bare names that are no column, and span annotation names."""

    unknown_columns: tuple[str, ...]
    annotation_names: tuple[str, ...]


def condition_names(condition: str) -> ConditionNames:
    """The names a filter expression reads, for the review page's hints (span_condition_q accepted it).

    Phoenix reads a bare name that is no column as an attribute and silently matches nothing; a reviewer
    who typed `spankind` meant span_kind, so the page asks. Dotted names (`llm.model_name`) are attributes.
    """
    tree = _parse(condition.strip())
    parts_of_more = {
        id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute | ast.Subscript)
    } | {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    unknown = [
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and id(node) not in parts_of_more and node.id not in KNOWN_COLUMNS
    ]
    annotations = [
        node.slice.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript)
        and _annotation_target(node) == "span"
        and isinstance(node.value, ast.Name)
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, str)
    ]
    return ConditionNames(tuple(dict.fromkeys(unknown)), tuple(dict.fromkeys(annotations)))


def unknown_column_message(name: str) -> str:
    """Why a bare name is refused on the review page, with the column it most looks like."""
    close = difflib.get_close_matches(name, KNOWN_COLUMNS, n=1, cutoff=0.6)
    suggestion = f" — did you mean {close[0]}?" if close else ""
    return (
        f"There is no column `{name}`{suggestion} Columns: {', '.join(KNOWN_COLUMNS)}; read an attribute"
        " as attributes['key'] or by a dotted name such as llm.model_name."
    )


def _parse(text: str) -> ast.Expression:
    if len(text) > MAX_EXPRESSION_CHARS:
        _fail(f"The filter is too long ({len(text)} characters; at most {MAX_EXPRESSION_CHARS}).")
    if "\x00" in text:
        _fail("The filter contains a NUL character.")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        where = f" at character {exc.offset}" if exc.offset else ""
        detail = "" if exc.msg == "invalid syntax" else f": {exc.msg}"
        _fail(f"Invalid syntax{where}{detail}.")
    except (ValueError, RecursionError, MemoryError):
        _fail("The filter is nested too deeply to read.")
    _check_depth(tree)
    return tree


def _check_depth(tree: ast.AST) -> None:
    # Iterative, so that the check itself cannot overflow the stack the translation below relies on.
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            _fail(f"The filter is nested too deeply (more than {MAX_DEPTH} levels).")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _fail(message: str) -> NoReturn:
    raise FilterExpressionError(message)


def _refuse(node: ast.AST, what: str) -> NoReturn:
    _fail(f"`{_source(node)}`: {what} cannot be used in a filter.")


def _source(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 80 else f"{text[:77]}..."


class _Translator:
    def __init__(self, text: str) -> None:
        self.text = text
        self.comparisons = 0
        self.arithmetic = 0
        self.annotation_terms = 0

    # --- conditions ------------------------------------------------------------------------------

    def condition(self, node: ast.expr) -> Predicate:
        if isinstance(node, ast.BoolOp):
            connector = "and" if isinstance(node.op, ast.And) else "or"
            return combine([self.condition(value) for value in node.values], connector)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self.condition(node.operand).negated()
        if isinstance(node, ast.Compare):
            return self._comparison(node)
        # Reading it as a value first explains best why most other things are refused.
        operand = self.value(node)
        if isinstance(operand, AnnotationRef):
            self._count_comparison()
            return Predicate(Q(IsNull(F("pk"), False)), operand.scope, when_missing=False)
        _fail(f"`{_source(node)}` is not a condition; expected a comparison such as `latency_ms > 100`.")

    def _comparison(self, node: ast.Compare) -> Predicate:
        operands = [self.value(node.left), *(self.value(comparator) for comparator in node.comparators)]
        predicates = [
            self._compare(operands[index], op, operands[index + 1]) for index, op in enumerate(node.ops)
        ]
        return predicates[0] if len(predicates) == 1 else combine(predicates, "and")

    def _count_comparison(self) -> None:
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            _fail(f"The filter has too many comparisons (at most {MAX_COMPARISONS}).")

    def _compare(self, left: Operand, op: ast.cmpop, right: Operand) -> Predicate:
        self._count_comparison()
        if isinstance(op, ast.In | ast.NotIn):
            found = self._membership(left, right)
            return found.negated() if isinstance(op, ast.NotIn) else found
        if isinstance(left, Constant | Constants) and not isinstance(right, Constant | Constants):
            left, right, op = right, left, _MIRRORED[type(op)]()
        if isinstance(left, ParentSpan):
            return self._parent_span(op, right)
        subject = self._comparable(left)
        if isinstance(right, Constants):
            _fail(f"A list such as `{right.source}` can only follow `in` or `not in`.")
        if isinstance(right, Constant):
            return self._compare_constant(subject, op, right)
        return self._compare_fields(subject, op, self._comparable(right))

    def _comparable(self, operand: Operand) -> Field | AttributePath:
        if isinstance(operand, Field | AttributePath):
            return operand
        if isinstance(operand, AnnotationRef):
            _fail(f"Compare `{operand.source}.label`, `.score` or `.explanation`, not the annotation itself.")
        if isinstance(operand, ParentSpan):
            _fail("parent_span can only be tested with `is None` or `is not None`.")
        _fail(
            f"`{operand.source}` is a constant; one side of a comparison must be a span field such as name."
        )

    def _compare_constant(
        self, subject: Field | AttributePath, op: ast.cmpop, constant: Constant
    ) -> Predicate:
        if isinstance(op, ast.Is | ast.IsNot):
            if not (constant.value is None or isinstance(constant.value, bool)):
                _fail(f"`is` compares with None, True or False, not {constant.source}; use ==.")
            op = (ast.Eq() if isinstance(op, ast.Is) else ast.NotEq()) if constant.value is not None else op
        if constant.value is None:
            return self._is_none(subject, op)
        field = self._typed(subject, _constant_type(subject, constant.value), constant.source)
        value = _prepared(field, constant)
        if field.exact:
            return self._lookup(field, op, exact_number(Value(value, output_field=FloatField())))
        return self._lookup(field, op, value)

    def _is_none(self, subject: Field | AttributePath, op: ast.cmpop) -> Predicate:
        if not isinstance(op, ast.Is | ast.IsNot | ast.Eq | ast.NotEq):
            _fail(f"`{subject.source}` cannot be ordered against None; use `is None` or `is not None`.")
        field = (
            subject.read(JsonKind.PRESENT, ValueType.TEXT) if isinstance(subject, AttributePath) else subject
        )
        missing = Predicate(Q(IsNull(field.expression, True)), field.scope, when_missing=True)
        return missing if isinstance(op, ast.Is | ast.Eq) else missing.negated()

    def _compare_fields(
        self, left: Field | AttributePath, op: ast.cmpop, right: Field | AttributePath
    ) -> Predicate:
        if isinstance(op, ast.Is | ast.IsNot):
            _fail(f"`is` compares with None, True or False, not with `{right.source}`.")
        if isinstance(left, AttributePath) and isinstance(right, AttributePath):
            # As Phoenix: ordered, both are read as numbers (text would order '9' after '10'); else as text.
            both = ValueType.TEXT if isinstance(op, ast.Eq | ast.NotEq) else ValueType.NUMBER
            left = left.read(_JSON_KINDS[both], both)
        if isinstance(left, AttributePath):
            assert isinstance(right, Field)
            left = self._typed(left, right.type, f"`{right.source}`")
        elif isinstance(right, AttributePath):
            right = self._typed(right, left.type, f"`{left.source}`")
        if left.scope is not None or right.scope is not None:
            _fail(f"Compare annotation values with constants, not `{left.source}` with `{right.source}`.")
        if left.type is not right.type:
            _fail(f"`{left.source}` is {left.type.value} and `{right.source}` is {right.type.value}.")
        if left.exact or right.exact:
            return self._lookup(left, op, exact_number(right.expression), exact=True)
        return self._lookup(left, op, right.expression)

    def _lookup(self, field: Field, op: ast.cmpop, rhs: Any, *, exact: bool = False) -> Predicate:
        if field.type is ValueType.BOOLEAN and not isinstance(op, ast.Eq | ast.NotEq):
            _fail(f"`{field.source}` is True or False; compare it with == or !=.")
        lhs = exact_number(field.expression) if field.exact or exact else field.expression
        lookup = _LOOKUPS[type(op)](lhs, rhs)
        q = ~Q(lookup) if isinstance(op, ast.NotEq) else Q(lookup)
        return Predicate(q, field.scope)

    def _membership(self, needle: Operand, haystack: Operand) -> Predicate:
        if isinstance(haystack, Constants):
            return self._in_list(self._comparable(needle), haystack)
        if isinstance(haystack, Field | AttributePath) and not isinstance(needle, Constants):
            if isinstance(needle, Constant) and not isinstance(needle.value, str):
                _fail(f"Only text can be searched for with `in`, not {needle.source}.")
            field = self._typed(haystack, ValueType.TEXT, needle.source)
            if isinstance(needle, Constant):
                return Predicate(_contains_ignoring_case(field.expression, needle.value), field.scope)
            found = self._typed(self._comparable(needle), ValueType.TEXT, f"`{haystack.source}`")
            if found.scope is not None or field.scope is not None:
                _fail(f"Search annotation values for constants, not `{needle.source}`.")
            return Predicate(Q(IContains(field.expression, found.expression)))
        _fail(
            "`in` needs a list on its right (`span_kind in ['LLM', 'TOOL']`)"
            " or text to search on its right (`'x' in name`)."
        )

    def _in_list(self, subject: Field | AttributePath, constants: Constants) -> Predicate:
        if not constants.values:
            _fail(f"The list after `in` is empty: `{constants.source}`.")
        types = {_constant_type(subject, value) for value in constants.values}
        if len(types) > 1:
            _fail(f"The list `{constants.source}` mixes types; use values of one type.")
        field = self._typed(subject, types.pop(), f"`{constants.source}`")
        values = [_prepared(field, Constant(value, repr(value))) for value in constants.values]
        return Predicate(Q(In(field.expression, values)), field.scope)

    def _typed(self, subject: Field | AttributePath, value_type: ValueType, other: str) -> Field:
        """The subject as a field of `value_type`: attributes take the type, fields must have it."""
        if isinstance(subject, AttributePath):
            if value_type is ValueType.TIME:
                _fail(f"`{subject.source}` cannot be compared with the time {other}.")
            return subject.read(_JSON_KINDS[value_type], value_type)
        if subject.type is not value_type:
            _fail(f"`{subject.source}` is {subject.type.value}, so it cannot be compared with {other}.")
        return subject

    def _parent_span(self, op: ast.cmpop, other: Operand) -> Predicate:
        is_none = isinstance(other, Constant) and other.value is None
        if not (is_none and isinstance(op, ast.Is | ast.IsNot | ast.Eq | ast.NotEq)):
            _fail("parent_span can only be tested with `is None` or `is not None`.")
        # Spans whose parent is stored; its absence makes a root, or an orphan whose parent never arrived.
        has_parent = Predicate(Q(Exists(Span.objects.filter(span_id=OuterRef("parent_id")))))
        return has_parent if isinstance(op, ast.IsNot | ast.NotEq) else has_parent.negated()

    # --- values ----------------------------------------------------------------------------------

    def value(self, node: ast.expr) -> Operand:
        handler = _VALUE_HANDLERS.get(type(node))
        if handler is not None:
            return getattr(self, handler)(node)
        if isinstance(node, ast.Compare | ast.BoolOp):
            _fail(f"`{_source(node)}` is a condition; it cannot be used as a value.")
        _refuse(node, _REFUSED_NODES.get(type(node), f"{type(node).__name__} expressions"))

    def _constant(self, node: ast.Constant) -> Constant:
        value = node.value
        source = _source(node)
        if value is None or isinstance(value, bool):
            return Constant(value, source)
        if isinstance(value, int):
            if abs(value) > MAX_INTEGER:
                _fail(f"The number {source} is too large (at most 2**53 in size).")
            return Constant(float(value), source)
        if isinstance(value, float):
            if not math.isfinite(value):
                _fail(f"The number {ast.get_source_segment(self.text, node)} is too large to be finite.")
            return Constant(value, source)
        if isinstance(value, str):
            _check_text(value, "A string")
            return Constant(value, source)
        _fail(f"`{source}`: only strings, numbers, True, False and None are allowed as constants.")

    def _constants(self, node: ast.Tuple | ast.List) -> Constants:
        values = []
        for element in node.elts:
            operand = self.value(element)
            if not isinstance(operand, Constant) or operand.value is None:
                _fail(f"The list `{_source(node)}` may only hold strings, numbers, True or False.")
            values.append(operand.value)
        return Constants(tuple(values), _source(node))

    def _name(self, node: ast.Name) -> Operand:
        self._check_identifier(node.id, ast.get_source_segment(self.text, node))
        return self._named(node.id, node)

    def _named(self, name: str, node: ast.expr) -> Operand:
        source = _source(node)
        if name in _COLUMNS:
            path, value_type = _COLUMNS[name]
            expression = ExpressionWrapper(F(path), output_field=_OUTPUT_FIELDS[value_type]())
            return Field(expression, value_type, source, uppercase=name in _UPPERCASE_COLUMNS)
        if name in _CUMULATIVE_COLUMNS:
            return Field(CumulativeTokenCount(_CUMULATIVE_COLUMNS[name]), ValueType.NUMBER, source)
        if name == "parent_span":
            return ParentSpan(source)
        if name in _BARE_NAME_HINTS:
            _fail(f"`{name}` cannot be used on its own: {_BARE_NAME_HINTS[name]}.")
        path = AttributePath(tuple(name.split(".")), source)
        return path.read(JsonKind.NUMBER, ValueType.NUMBER) if name in _NUMBER_ATTRIBUTES else path

    def _attribute(self, node: ast.Attribute) -> Operand:
        parts = []
        root: ast.expr = node
        while isinstance(root, ast.Attribute):
            segment = ast.get_source_segment(self.text, root) or ""
            self._check_identifier(root.attr, segment.rsplit(".", 1)[-1].strip())
            parts.append(root.attr)
            root = root.value
        parts.reverse()
        if isinstance(root, ast.Subscript) and _annotation_target(root) is not None:
            return self._annotation_field(node, root, parts)
        if isinstance(root, ast.Subscript):
            # Refuses a name that takes no subscripts (a misspelt annotations accessor), saying which do.
            self._subscript(root)
        if not isinstance(root, ast.Name):
            _fail(f"`{_source(node)}`: dotted names must start with a name, as in llm.model_name.")
        self._check_identifier(root.id, ast.get_source_segment(self.text, root))
        if root.id == "parent_span":
            _fail("parent_span.<field> is not supported; test `parent_span is None` or use parent_id.")
        if root.id in _ANNOTATION_TARGETS:
            _fail(f"`{_source(node)}`: {_BARE_NAME_HINTS[root.id]}.")
        return self._named(".".join([root.id, *parts]), node)

    def _annotation_field(self, node: ast.Attribute, subscript: ast.Subscript, parts: list[str]) -> Field:
        ref = self._subscript(subscript)
        assert isinstance(ref, AnnotationRef)
        name = parts[0]
        if name not in _ANNOTATION_FIELDS:
            close = difflib.get_close_matches(name, _ANNOTATION_FIELDS, n=1)
            hint = f" Did you mean .{close[0]}?" if close else ""
            _fail(f"`{_source(node)}`: annotations have .label, .score, .explanation and .identifier.{hint}")
        if len(parts) > 1:
            _fail(f"`{_source(node)}`: .{name} has no fields of its own.")
        value_type = _ANNOTATION_FIELDS[name]
        expression = ExpressionWrapper(F(name), output_field=_OUTPUT_FIELDS[value_type]())
        return Field(expression, value_type, _source(node), scope=ref.scope)

    def _subscript(self, node: ast.Subscript) -> Operand:
        slices = []
        root: ast.expr = node
        while isinstance(root, ast.Subscript):
            slices.append(root.slice)
            root = root.value
        slices.reverse()
        target = _annotation_target(node)
        if target is not None:
            self.annotation_terms += 1
            if self.annotation_terms > MAX_ANNOTATION_TERMS:
                _fail(f"The filter names annotations too many times (at most {MAX_ANNOTATION_TERMS}).")
            return _annotation_ref(node, target, slices)
        if not (isinstance(root, ast.Name) and root.id in _JSON_ROOTS):
            close = (
                difflib.get_close_matches(root.id, _SUBSCRIPTABLE, n=1) if isinstance(root, ast.Name) else []
            )
            _fail(
                f"`{_source(node)}`: only attributes[...], metadata[...], annotations[...], evals[...],"
                " trace_annotations[...] and session_annotations[...] take subscripts."
                + (f" Did you mean {close[0]}[...]?" if close else "")
            )
        keys = [*_JSON_ROOTS[root.id], *(key for part in slices for key in _subscript_keys(part))]
        if not isinstance(keys[0], str):
            _fail(f"`{_source(node)}`: the first key must be a string.")
        return AttributePath(tuple(keys), _source(node))

    def _call(self, node: ast.Call) -> Field:
        if isinstance(node.func, ast.Attribute):
            _fail(f"`{_source(node)}`: method calls are not allowed; to search text write `'x' in name`.")
        if not (isinstance(node.func, ast.Name) and node.func.id in ("str", "float", "int")):
            _fail(f"`{_source(node)}`: only str(), float() and int() can be called.")
        if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
            _fail(f"`{_source(node)}`: {node.func.id}() takes exactly one value.")
        target_type = ValueType.TEXT if node.func.id == "str" else ValueType.NUMBER
        operand = self.value(node.args[0])
        if isinstance(operand, AttributePath):
            return operand.read(_JSON_KINDS[target_type], target_type)
        if isinstance(operand, Field) and operand.type is target_type:
            return operand
        _fail(f"`{_source(node)}`: {node.func.id}() converts attribute values only.")

    def _binary(self, node: ast.BinOp) -> Operand:
        if type(node.op) not in _ARITHMETIC:
            _refuse(node, _REFUSED_OPERATORS[type(node.op)])
        symbol, apply = _ARITHMETIC[type(node.op)]
        left, right = self._number(node.left), self._number(node.right)
        if isinstance(left, Constant) and isinstance(right, Constant):
            return _folded(node, apply, left, right)
        return self._arithmetic(node, symbol, left, right)

    def _unary(self, node: ast.UnaryOp) -> Operand:
        if isinstance(node.op, ast.Not):
            _fail(f"`{_source(node)}` is a condition; it cannot be used as a value.")
        if isinstance(node.op, ast.Invert):
            _refuse(node, _REFUSED_OPERATORS[ast.Invert])
        operand = self._number(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(operand, Constant):
            return Constant(-operand.value, _source(node))  # type: ignore[operator]
        return self._arithmetic(node, "-", Constant(0.0, "0"), operand)

    def _number(self, node: ast.expr) -> Constant | Field:
        operand = self.value(node)
        if isinstance(operand, AttributePath):
            return operand.read(JsonKind.NUMBER, ValueType.NUMBER)
        if isinstance(operand, Field) and operand.scope is not None:
            _fail(
                f"`{operand.source}`: annotation values cannot be used in arithmetic; compare them directly."
            )
        is_number_field = isinstance(operand, Field) and operand.type is ValueType.NUMBER
        if not (is_number_field or (isinstance(operand, Constant) and isinstance(operand.value, float))):
            _fail(f"`{operand.source}` is not a number; arithmetic (+ - * / %) needs numbers.")
        return operand  # type: ignore[return-value]

    def _arithmetic(
        self, node: ast.expr, symbol: str, left: Constant | Field, right: Constant | Field
    ) -> Field:
        self.arithmetic += 1
        if self.arithmetic > MAX_ARITHMETIC:
            _fail(f"The filter has too many arithmetic operations (at most {MAX_ARITHMETIC}).")
        expression = Arithmetic(symbol, _number_expression(left), _number_expression(right))
        return Field(expression, ValueType.NUMBER, _source(node), exact=True)

    def _check_identifier(self, identifier: str, written: str | None) -> None:
        if identifier.startswith("__"):
            _fail(f"`{identifier}`: names starting with __ are not allowed.")
        # Python folds look-alike letters (NFKC: full-width letters read as plain ones); refuse the disguise.
        if written != identifier:
            _fail(f"`{written}` is written with look-alike characters; type the name in plain letters.")


def _annotation_target(node: ast.Subscript) -> str | None:
    root: ast.expr = node
    while isinstance(root, ast.Subscript):
        root = root.value
    return _ANNOTATION_TARGETS.get(root.id) if isinstance(root, ast.Name) else None


def _annotation_ref(node: ast.Subscript, target: str, slices: list[ast.expr]) -> AnnotationRef:
    name_node = slices[0]
    if len(slices) > 1:
        _fail(f"`{_source(node)}`: an annotation takes one name; then use .label, .score or .explanation.")
    if not (isinstance(name_node, ast.Constant) and isinstance(name_node.value, str) and name_node.value):
        _fail(f"`{_source(node)}`: the annotation name must be a non-empty string, as in annotations['q'].")
    _check_text(name_node.value, "An annotation name")
    return AnnotationRef(AnnotationScope(target, name_node.value), _source(node))  # type: ignore[arg-type]


def _subscript_keys(node: ast.expr) -> list[str | int]:
    """The JSON keys one subscript names: 'a' or 0, or a list of them; a string is ONE key, dots and all."""
    elements = node.elts if isinstance(node, ast.List) and node.elts else [node]
    keys = []
    for element in elements:
        value = element.value if isinstance(element, ast.Constant) else None
        if isinstance(value, str) and value:
            _check_text(value, "A key")
            if '"' in value or "\\" in value:
                _fail(f"The key {value!r} holds a quote or backslash, which keys cannot hold here.")
        elif not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ARRAY_INDEX):
            _fail(
                f"`{_source(node)}`: keys are non-empty strings or array positions (0, 1, ...),"
                " as in attributes['llm']['model_name']."
            )
        keys.append(value)
    return keys  # type: ignore[return-value]


def _check_text(value: str, what: str) -> None:
    if len(value) > MAX_STRING_CHARS:
        _fail(f"{what} is too long ({len(value)} characters; at most {MAX_STRING_CHARS}).")
    if "\x00" in value:
        _fail(f"{what} contains a NUL character.")
    try:
        value.encode()
    except UnicodeEncodeError:
        _fail(f"{what} contains a lone surrogate (an escape such as \\ud800), which is not text.")


def _constant_type(subject: Field | AttributePath, value: Scalar) -> ValueType:
    """The type a constant has when compared with subject: text compared with a time is a time."""
    if isinstance(value, bool):
        return ValueType.BOOLEAN
    if isinstance(value, float):
        return ValueType.NUMBER
    return ValueType.TIME if isinstance(subject, Field) and subject.type is ValueType.TIME else ValueType.TEXT


def _prepared(field: Field, constant: Constant) -> Any:
    """The constant as the field stores it: a time parsed, span_kind/status_code text upper-cased."""
    if field.type is ValueType.TIME:
        return _parsed_time(constant)
    if field.uppercase:
        return str(constant.value).upper()
    return constant.value


def _parsed_time(constant: Constant) -> datetime:
    example = "'2024-01-01T00:00:00Z'"
    try:
        value = datetime.fromisoformat(str(constant.value))
    except ValueError:
        _fail(f"{constant.source} is not an ISO 8601 time such as {example}.")
    if value.tzinfo is None:
        _fail(f"{constant.source} has no timezone; add one, as in {example}.")
    try:
        # In UTC here, so that a time UTC cannot hold (near year 1 or 9999) is refused in words, not by the
        # database driver with a 500.
        return value.astimezone(UTC)
    except OverflowError:
        _fail(f"{constant.source} is out of range in UTC.")


def _folded(
    node: ast.BinOp, apply: Callable[[float, float], float], left: Constant, right: Constant
) -> Constant:
    try:
        result = apply(left.value, right.value)  # type: ignore[arg-type]
    except (ZeroDivisionError, ValueError):  # math.fmod raises ValueError for a zero divisor
        _fail(f"`{_source(node)}` divides by zero.")
    if not math.isfinite(result):
        _fail(f"`{_source(node)}` is too large.")
    return Constant(result, _source(node))


def _contains_ignoring_case(expression: Any, needle: str) -> Q:
    # SQLite's LIKE folds ASCII letters only; other text goes through Python's re there, which folds all
    # letters as Phoenix's casefold does (PostgreSQL folds either way, by its locale).
    if needle.isascii():
        return Q(IContains(expression, needle))
    return Q(IRegex(expression, re.escape(needle)))


def _column_copy(column: str, keys: tuple[str | int, ...]) -> Case:
    """The column, or NULL when the attribute is missing; the column holds '' for both, so only '' asks."""
    present = Q(IsNull(JsonValue("attributes", keys, JsonKind.PRESENT), False))
    return Case(When(~Q(**{column: ""}) | present, then=F(column)), output_field=TextField())


def _number_expression(operand: Constant | Field) -> Any:
    if isinstance(operand, Constant):
        return Value(operand.value, output_field=FloatField())
    return operand.expression
