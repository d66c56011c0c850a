"""What raters gave one annotation name on a set of rows, read as counted patterns for the coefficients.

A rater is whoever holds one value per row: a reviewer's Annotate panel rows (`px-app:<user>`, HUMAN),
a HUMAN writer's /v1 rows under one identifier (`identifier` + the writing user), or an LLM or CODE
annotator under one identifier. Each of these names at most one row per row and name, because
(row, name, identifier) is unique, so a pattern never has to choose between two values of one rater.

The rows are any queryset of spans, traces or sessions (the Spans tab's filter, a dataset version's spans,
later a queue's items): only their primary keys are read, inside the same query.

One pass over the annotations does it: each item's rows are joined into one text (`_Entry`), and the
database counts the items per distinct text. The raters are learnt from those texts, so no query has to
find them first (which would read every annotation of the name a second time).
"""

import enum
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Aggregate, F, Func, Max, Min, Model, QuerySet, TextField, Value
from django.db.models.sql.compiler import SQLCompiler

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import (
    GOLD_IDENTIFIER,
    REVIEWER_IDENTIFIER_PREFIX,
    AnnotationConfig,
    AnnotationType,
    AnnotatorKind,
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
    annotation_owner_pk,
)

from .coefficients import Level, Pattern, Patterns
from .coefficients import Value as Rated

HUMANS = (AnnotatorKind.HUMAN,)
EVERYONE = (AnnotatorKind.HUMAN, AnnotatorKind.LLM, AnnotatorKind.CODE)
_LEVELS = {AnnotationType.CATEGORICAL: Level.NOMINAL, AnnotationType.CONTINUOUS: Level.INTERVAL}
_VALUE_FIELDS = {Level.NOMINAL: "label", Level.INTERVAL: "score"}
# Between the fields of an `_Entry`; identifiers and values are length-prefixed, so may hold it too.
SEPARATOR = "\x1f"

RaterKey = tuple[str, str, int | None]


class Target(enum.StrEnum):
    """What the annotations are of; each kind lives in its own table."""

    SPAN = "span"
    TRACE = "trace"
    SESSION = "session"

    @property
    def model(self) -> type[Model]:
        models = {
            Target.SPAN: SpanAnnotation,
            Target.TRACE: TraceAnnotation,
            Target.SESSION: SessionAnnotation,
        }
        return models[self]


@dataclass(frozen=True)
class Rater:
    """One opinion per row: `rater_key` says whose an annotation row is."""

    kind: str
    identifier: str
    # The writer, for HUMAN rows outside the Annotate panel: their identifier alone is shared by writers.
    user_id: int | None
    name: str

    @property
    def key(self) -> RaterKey:
        return self.kind, self.identifier, self.user_id


@dataclass(frozen=True)
class Ratings:
    """The raters, humans first, by name; patterns hold one value or None per rater, in that order."""

    raters: list[Rater]
    patterns: Patterns
    by_item: dict[int, Pattern] = field(default_factory=dict)


def rater_key(kind: str, identifier: str, user_id: int | None) -> RaterKey:
    """Which rater an annotation row belongs to (see the module docstring)."""
    human_writer = kind == AnnotatorKind.HUMAN and not identifier.startswith(REVIEWER_IDENTIFIER_PREFIX)
    return kind, identifier, user_id if human_writer else None


def rating_level(*, name: str, target: Target) -> Level | None:
    """Labels compare as nominal data, scores as interval data: by the name's config (a freeform one is
    not rated: None), else by what the annotations hold (labels when any of them has one)."""
    config_type = AnnotationConfig.objects.filter(name=name).values_list("type", flat=True).first()
    if config_type is not None:
        return _LEVELS.get(config_type)
    labelled = target.model.objects.filter(name=name, label__isnull=False).exists()
    return Level.NOMINAL if labelled else Level.INTERVAL


class _Entry(Func):
    """One annotation row as text: kind, writer, then identifier and value each prefixed by its length."""

    output_field = TextField()

    def __init__(self, value_field: str) -> None:
        super().__init__(F("annotator_kind"), F("user_id"), F("identifier"), F(value_field))

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        compiled = [compiler.compile(expression) for expression in self.get_source_expressions()]
        (kind, kind_params), (user, user_params), (identifier, id_params), (value, value_params) = compiled
        separator = "chr(31)" if connection.vendor == "postgresql" else "char(31)"
        value = f"CAST({value} AS TEXT)"
        parts = [
            kind,
            separator,
            f"COALESCE(CAST({user} AS TEXT), '')",
            separator,
            f"CAST(LENGTH({identifier}) AS TEXT)",
            separator,
            identifier,
            f"CAST(LENGTH({value}) AS TEXT)",
            separator,
            value,
        ]
        params = [*kind_params, *user_params, *id_params, *id_params, *value_params, *value_params]
        return "(" + " || ".join(parts) + ")", params


class _Joined(Aggregate):
    """The texts of a group's rows, one after the other, in no particular order."""

    function = "STRING_AGG"
    output_field = TextField()

    def __init__(self, expression: Func) -> None:
        super().__init__(expression, Value(""))

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        return super().as_sql(compiler, connection, function="GROUP_CONCAT", **extra)


def _field(text: str, at: int) -> tuple[str, int]:
    end = text.index(SEPARATOR, at)
    return text[at:end], end + 1


def _counted(text: str, at: int) -> tuple[str, int]:
    length, at = _field(text, at)
    end = at + int(length)
    return text[at:end], end


@dataclass(frozen=True)
class RatingQuery:
    """One annotation name of one target kind, on `rows` (every row when None), by the annotator kinds."""

    name: str
    target: Target
    level: Level
    rows: QuerySet | None = None
    kinds: tuple[str, ...] = HUMANS

    @property
    def value_field(self) -> str:
        return _VALUE_FIELDS[self.level]

    def annotations(self) -> QuerySet:
        """The annotation rows rated: of the name, by the kinds, with a value, on the rows; never gold, which
        settles the raters' values rather than being one of them."""
        rows = self.target.model.objects.filter(
            name=self.name, annotator_kind__in=self.kinds, **{f"{self.value_field}__isnull": False}
        ).exclude(identifier=GOLD_IDENTIFIER)
        if self.rows is not None:
            rows = rows.filter(**{f"{self.target.value}__in": self.rows.order_by().values("pk")})
        return rows.order_by()

    def read(self) -> Ratings:
        """Who rated and how many items have each row of values: one query for the patterns, one for the
        raters' usernames, whatever the number of raters or items."""
        items = self._by_item()
        sql, params = items.values("entries").query.sql_with_params()
        with connections[items.db].cursor() as cursor:
            cursor.execute(f"SELECT entries, COUNT(*) FROM ({sql}) items GROUP BY entries", params)
            found = [(self._parse(text), count) for text, count in cursor.fetchall()]
        raters = _raters({key for values, _ in found for key in values})
        patterns: Patterns = Counter()
        for values, count in found:
            patterns[tuple(values.get(rater.key) for rater in raters)] += count
        return Ratings(raters, patterns)

    def disagreeing(self) -> Ratings:
        """The items whose raters gave different values, each item's pattern by its pk, and their raters."""
        items = self._by_item().annotate(**self._spread()).filter(lowest__lt=F("highest"))
        texts = dict(items.values_list(self.target.value, "entries"))
        # Items share few distinct texts: each is parsed once.
        parsed = {text: self._parse(text) for text in set(texts.values())}
        raters = _raters({key for values in parsed.values() for key in values})
        patterns = {text: tuple(values.get(rater.key) for rater in raters) for text, values in parsed.items()}
        by_item = {pk: patterns[text] for pk, text in texts.items()}
        return Ratings(raters, Counter(by_item.values()), by_item)

    def disagreeing_pks(self) -> QuerySet:
        """The pks of the items whose raters gave different values, as a subquery."""
        return (
            self.annotations()
            .values(self.target.value)
            .annotate(**self._spread())
            .filter(lowest__lt=F("highest"))
            .values(self.target.value)
        )

    def _spread(self) -> dict[str, Aggregate]:
        """An item's lowest and highest value: they differ exactly when its raters disagree, and cost no
        sort, where counting distinct values would."""
        return {"lowest": Min(self.value_field), "highest": Max(self.value_field)}

    def _by_item(self) -> QuerySet:
        """One row per rated item: its pk and its annotation rows as one text (`entries`)."""
        return (
            self.annotations().values(self.target.value).annotate(entries=_Joined(_Entry(self.value_field)))
        )

    def _parse(self, text: str) -> dict[RaterKey, Rated]:
        """The rater and value of each `_Entry` in an item's text."""
        values: dict[RaterKey, Rated] = {}
        at = 0
        while at < len(text):
            kind, at = _field(text, at)
            user, at = _field(text, at)
            identifier, at = _counted(text, at)
            value, at = _counted(text, at)
            key = rater_key(kind, identifier, int(user) if user else None)
            values[key] = value if self.level == Level.NOMINAL else float(value)
        return values


def _raters(keys: set[RaterKey]) -> list[Rater]:
    """The raters of these keys with the names the pages show, humans first, by name; one query."""
    owners = {annotation_owner_pk(user_id=user_id, identifier=identifier) for _, identifier, user_id in keys}
    usernames = (
        dict(User.objects.filter(pk__in=owners - {None}).values_list("pk", "username")) if keys else {}
    )
    raters = [Rater(*key, _rater_name(*key, usernames)) for key in keys]
    return sorted(raters, key=lambda r: (r.kind != AnnotatorKind.HUMAN, r.name, r.identifier, r.user_id or 0))


def _rater_name(kind: str, identifier: str, user_id: int | None, usernames: dict[int, str]) -> str:
    owner = annotation_owner_pk(user_id=user_id, identifier=identifier)
    if kind != AnnotatorKind.HUMAN:
        return f"{kind} {identifier}".strip()
    who = usernames.get(owner, "no user") if owner is not None else "no user"
    if identifier.startswith(REVIEWER_IDENTIFIER_PREFIX) or not identifier:
        return who
    return f"{who} ({identifier})"
