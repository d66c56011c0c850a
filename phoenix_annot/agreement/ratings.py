"""What raters gave one annotation name on a set of rows, read as counted patterns for the coefficients.

A rater is whoever holds one value per row: a reviewer's Annotate panel rows (`px-app:<user>`, HUMAN),
a HUMAN writer's /v1 rows under one identifier (`identifier` + the writing user), or an LLM or CODE
annotator under one identifier. Each of these names at most one row per row and name, because
(row, name, identifier) is unique, so a pattern never has to choose between two values of one rater.

The rows are any queryset of spans, traces or sessions (the Spans tab's filter, a dataset version's spans,
later a queue's items): only their primary keys are read, inside the same query.

Two passes, each along an index of its own (see the annotation models' Meta): the raters are found by
skipping from one (identifier, kind, writer) to the next of the name, a few index probes per rater; then one
pass in item order gives each item one column per rater (its value or NULL) and the database counts the
items per row of columns. Grouping by item needs no sort or hash, since the index is in item order and
holds every column read, so 500,000 annotations are read without touching the table.
"""

import enum
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connections
from django.db.models import Aggregate, F, Max, Min, Model, Q, QuerySet

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

RaterKey = tuple[str, str, int | None]
# Each rater is a column of the pass over the items (and of the pages' tables): past this many the query
# outgrows what the databases take (PostgreSQL: 1,664 columns) long before the figures mean anything.
MAX_RATERS = 50


class TooManyRaters(Exception):
    def __init__(self, count: int) -> None:
        super().__init__(
            f"{count} raters gave this name on these rows; agreement is read between at most {MAX_RATERS}: "
            "count humans only, or narrow the rows."
        )


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
    return kind, identifier, user_id if _by_writer(kind, identifier) else None


def _by_writer(kind: str, identifier: str) -> bool:
    """Whether the writer tells raters apart: HUMAN rows outside the Annotate panel share identifiers."""
    return kind == AnnotatorKind.HUMAN and not identifier.startswith(REVIEWER_IDENTIFIER_PREFIX)


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
        """The annotation rows rated: of the name, by the kinds, with a value, on the rows; never gold, which
        settles the raters' values rather than being one of them."""
        return self._of_name().filter(**{f"{self.value_field}__isnull": False})

    def _of_name(self) -> QuerySet:
        """`annotations` with or without a value. The pass over the items reads these: its aggregates skip
        missing values anyway, and a test of the value beside the name makes PostgreSQL misjudge how many
        rows the name has (one name's labels are missing exactly where another's scores are given) and
        leave the item-ordered index for a hash of every item, twice as slow."""
        rows = self.target.model.objects.filter(name=self.name, annotator_kind__in=self.kinds).exclude(
            identifier=GOLD_IDENTIFIER
        )
        if self.rows is not None:
            rows = rows.filter(**{f"{self.target.value}__in": self.rows.order_by().values("pk")})
        return rows.order_by()

    def read(self) -> Ratings:
        """Who rated and how many items have each row of values: one query finds the raters, one counts
        the items per row of values, one reads the raters' usernames, whatever the number of raters or
        items."""
        keys = self._rater_keys()
        if not keys:
            return Ratings([], Counter())
        columns = self._columns(keys)
        items = self._by_item(columns).values(*columns)
        sql, params = items.query.sql_with_params()
        connection = connections[items.db]
        names = ", ".join(connection.ops.quote_name(column) for column in columns)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {names}, COUNT(*) FROM ({sql}) items GROUP BY {names}", params)
            # Items whose rows of the name all lack a value have none in any column: they were not rated.
            found = {
                tuple(values): count
                for *values, count in cursor.fetchall()
                if any(value is not None for value in values)
            }
        raters, arrange = _arranged(keys, found)
        patterns: Patterns = Counter()
        for values, count in found.items():
            patterns[arrange(values)] += count
        return Ratings(raters, patterns)

    def disagreeing(self) -> Ratings:
        """The items whose raters gave different values, each item's pattern by its pk, and their raters."""
        keys = self._rater_keys()
        if not keys:
            return Ratings([], Counter(), {})
        columns = self._columns(keys)
        items = self._by_item(columns).annotate(**self._spread()).filter(lowest__lt=F("highest"))
        found = {pk: tuple(values) for pk, *values in items.values_list(self.target.value, *columns)}
        raters, arrange = _arranged(keys, found.values())
        by_item = {pk: arrange(values) for pk, values in found.items()}
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

    def _rater_keys(self) -> list[RaterKey]:
        """The raters of the name among the kinds asked, gold aside, in one query (a second past
        `MAX_RATERS`, TooManyRaters past it again).

        It may name raters with no value on `rows` (or none at all): their columns come back empty and
        `_arranged` leaves them out. Reading the distinct raters of 500,000 annotations costs a fifth of a
        second; the recursive query instead hops along the (name, identifier, kind, writer) index from one
        rater to the next, each hop an index probe ordered like the index (so the probe never turns into a
        scan), carrying the pk of the row it landed on."""
        table = self.target.model._meta.db_table
        after = (
            "(a.identifier, a.annotator_kind, COALESCE(a.user_id, 0))"
            " > (p.identifier, p.annotator_kind, COALESCE(p.user_id, 0))"
        )
        order = "ORDER BY a.identifier, a.annotator_kind, COALESCE(a.user_id, 0) LIMIT 1"
        sql = f"""
            WITH RECURSIVE hops(pk) AS (
                SELECT (SELECT a.id FROM {table} a WHERE a.name = %s {order})
                UNION ALL
                SELECT (SELECT a.id FROM {table} a WHERE a.name = %s AND {after} {order})
                FROM hops INNER JOIN {table} p ON p.id = hops.pk
            )
            SELECT p.annotator_kind, p.identifier, p.user_id FROM hops INNER JOIN {table} p ON p.id = hops.pk
        """
        with connections[self.target.model.objects.db].cursor() as cursor:
            cursor.execute(sql, [self.name, self.name])
            found = cursor.fetchall()
        keys = self._keys(found)
        if len(keys) > MAX_RATERS and self.rows is not None:
            # The name's raters are too many for one pass; those of the rows may not be: read them there.
            keys = self._keys(
                self.annotations().values_list("annotator_kind", "identifier", "user_id").distinct()
            )
        if len(keys) > MAX_RATERS:
            raise TooManyRaters(len(keys))
        return keys

    def _keys(self, rows: Iterable[tuple[str, str, int | None]]) -> list[RaterKey]:
        """The raters of these (kind, identifier, writer) rows among the kinds read, gold aside, in order."""
        keys = {
            rater_key(kind, identifier, user_id)
            for kind, identifier, user_id in rows
            if kind in self.kinds and identifier != GOLD_IDENTIFIER
        }
        return sorted(keys, key=lambda key: (key[0], key[1], key[2] or 0))

    def _columns(self, keys: list[RaterKey]) -> dict[str, Aggregate]:
        """An item's value from each rater, by position: a rater has at most one row per item.

        The keys are every rater of the name among the kinds read, so a rater alone with its identifier
        is told apart by the identifier alone: one comparison per row and rater instead of three."""
        shared = Counter(identifier for _, identifier, _ in keys)
        return {
            f"r{i}": Max(
                self.value_field, filter=_rows_of(key) if shared[key[1]] > 1 else Q(identifier=key[1])
            )
            for i, key in enumerate(keys)
        }

    def _by_item(self, columns: dict[str, Aggregate]) -> QuerySet:
        """One row per rated item: its pk and a column per rater."""
        return self._of_name().values(self.target.value).annotate(**columns)


def _rows_of(key: RaterKey) -> Q:
    """The annotation rows of one rater (see `rater_key`)."""
    kind, identifier, user_id = key
    rows = Q(annotator_kind=kind, identifier=identifier)
    if not _by_writer(kind, identifier):
        return rows
    return rows & (Q(user_id=user_id) if user_id is not None else Q(user_id__isnull=True))


def _arranged(
    keys: list[RaterKey], rows: Iterable[tuple[Rated | None, ...]]
) -> tuple[list[Rater], Callable[[tuple[Rated | None, ...]], Pattern]]:
    """The raters with a value in these rows (column by column, as `keys`), in the pages' order, and how
    to turn a row of columns into a pattern in that order."""
    used = {i for row in rows for i, value in enumerate(row) if value is not None}
    raters = _raters({keys[i] for i in used})
    position = {key: i for i, key in enumerate(keys)}
    order = [position[rater.key] for rater in raters]
    return raters, lambda row: tuple(row[i] for i in order)


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
