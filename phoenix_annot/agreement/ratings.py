"""What reviewers gave one annotation name on a set of rows, read as counted patterns for the coefficients.

A rater is whoever holds one value per row: a reviewer's Annotate panel rows (`px-app:<user>`, HUMAN),
a HUMAN writer's /v1 rows under one identifier (`identifier` + the writing user), or an LLM or CODE
annotator under one identifier. Each of these names at most one row per row and name, because
(row, name, identifier) is unique, so a pattern never has to choose between two values of one rater.

The rows are any queryset of spans, traces or sessions (the Spans tab's filter, a dataset version's spans,
later a queue's items): only their primary keys are read, inside the same queries.
"""

import enum
from collections import Counter
from dataclasses import dataclass

from django.db import connections
from django.db.models import Case, Count, Max, Model, Q, QuerySet, When

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import (
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

HUMANS = (AnnotatorKind.HUMAN,)
EVERYONE = (AnnotatorKind.HUMAN, AnnotatorKind.LLM, AnnotatorKind.CODE)
_LEVELS = {AnnotationType.CATEGORICAL: Level.NOMINAL, AnnotationType.CONTINUOUS: Level.INTERVAL}
_VALUE_FIELDS = {Level.NOMINAL: "label", Level.INTERVAL: "score"}


class Target(enum.StrEnum):
    """What the annotations are of; each kind lives in its own table."""

    SPAN = "span"
    TRACE = "trace"
    SESSION = "session"

    @property
    def model(self) -> type[Model]:
        return {
            Target.SPAN: SpanAnnotation,
            Target.TRACE: TraceAnnotation,
            Target.SESSION: SessionAnnotation,
        }[self]


@dataclass(frozen=True)
class Rater:
    """One opinion per row: `rater_key` says whose an annotation row is."""

    kind: str
    identifier: str
    # The writer, for HUMAN rows outside the Annotate panel: their identifier alone is shared by writers.
    user_id: int | None
    name: str

    @property
    def key(self) -> tuple[str, str, int | None]:
        return self.kind, self.identifier, self.user_id

    def rows(self) -> Q:
        q = Q(annotator_kind=self.kind, identifier=self.identifier)
        if self.kind == AnnotatorKind.HUMAN and not self.identifier.startswith(REVIEWER_IDENTIFIER_PREFIX):
            q &= Q(user_id=self.user_id)
        return q


def rating_level(*, name: str, target: Target) -> Level | None:
    """Labels compare as nominal data, scores as interval data: by the name's config (a freeform one is
    not rated: None), else by what the annotations hold (labels when any of them has one)."""
    config_type = AnnotationConfig.objects.filter(name=name).values_list("type", flat=True).first()
    if config_type is not None:
        return _LEVELS.get(config_type)
    labelled = target.model.objects.filter(name=name, label__isnull=False).exists()
    return Level.NOMINAL if labelled else Level.INTERVAL


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
        """The annotation rows rated: of the name, by the kinds, with a value, on the rows."""
        rows = self.target.model.objects.filter(
            name=self.name, annotator_kind__in=self.kinds, **{f"{self.value_field}__isnull": False}
        )
        if self.rows is not None:
            rows = rows.filter(**{f"{self.target.value}__in": self.rows.order_by().values("pk")})
        return rows.order_by()

    def raters(self) -> list[Rater]:
        """Everyone who rated, humans first, by name; two queries whatever their number."""
        keys = {
            rater_key(*row)
            for row in self.annotations().values_list("annotator_kind", "identifier", "user_id").distinct()
        }
        owners = {
            annotation_owner_pk(user_id=user_id, identifier=identifier) for _, identifier, user_id in keys
        }
        usernames = dict(User.objects.filter(pk__in=owners - {None}).values_list("pk", "username"))
        raters = [Rater(*key, _rater_name(*key, usernames)) for key in keys]
        return sorted(raters, key=lambda r: (r.kind != AnnotatorKind.HUMAN, r.name, r.identifier))

    def by_item(self, raters: list[Rater]) -> QuerySet:
        """One row per rated item: its pk and each rater's value as `r0`, `r1`, ... (NULL where none)."""
        columns = {
            f"r{i}": Max(Case(When(rater.rows(), then=self.value_field))) for i, rater in enumerate(raters)
        }
        return self.annotations().values(self.target.value).annotate(**columns)

    def patterns(self, raters: list[Rater]) -> Patterns:
        """How many items have each distinct row of values: one query, one row per pattern."""
        if not raters:
            return Counter()
        sql, params = self.by_item(raters).query.sql_with_params()
        connection = connections[self.annotations().db]
        columns = ", ".join(connection.ops.quote_name(f"r{i}") for i in range(len(raters)))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {columns}, COUNT(*) FROM ({sql}) items GROUP BY {columns}",
                params,
            )
            return Counter({tuple(row[:-1]): row[-1] for row in cursor.fetchall()})

    def disagreeing(self, raters: list[Rater]) -> list[tuple[int, Pattern]]:
        """Each item whose raters gave different values: its pk and pattern, in one query."""
        items = (
            self.by_item(raters).annotate(values=Count(self.value_field, distinct=True)).filter(values__gt=1)
        )
        width = len(raters)
        return [
            (row[0], tuple(row[1 : width + 1]))
            for row in items.values_list(self.target.value, *(f"r{i}" for i in range(width)))
        ]

    def disagreeing_pks(self) -> QuerySet:
        """The pks of the items whose raters gave different values, as a subquery."""
        return (
            self.annotations()
            .values(self.target.value)
            .annotate(values=Count(self.value_field, distinct=True))
            .filter(values__gt=1)
            .values(self.target.value)
        )


def rater_key(kind: str, identifier: str, user_id: int | None) -> tuple[str, str, int | None]:
    """Which rater an annotation row belongs to (see the module docstring)."""
    human_writer = kind == AnnotatorKind.HUMAN and not identifier.startswith(REVIEWER_IDENTIFIER_PREFIX)
    return kind, identifier, user_id if human_writer else None


def _rater_name(kind: str, identifier: str, user_id: int | None, usernames: dict[int, str]) -> str:
    owner = annotation_owner_pk(user_id=user_id, identifier=identifier)
    if kind != AnnotatorKind.HUMAN:
        return f"{kind} {identifier}".strip()
    who = usernames.get(owner, "no user") if owner is not None else "no user"
    if identifier.startswith(REVIEWER_IDENTIFIER_PREFIX) or not identifier:
        return who
    return f"{who} ({identifier})"
