"""The Agreement page and its disagreements: one annotation name over the rows a tab's filters keep."""

from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import QueryDict

from phoenix_annot.accounts.models import User
from phoenix_annot.agreement.coefficients import Level, Pattern
from phoenix_annot.agreement.ratings import (
    EVERYONE,
    HUMANS,
    Rater,
    RatingQuery,
    Target,
    rater_key,
    rating_level,
)
from phoenix_annot.agreement.report import AgreementReport, agreement_report, disagreement
from phoenix_annot.annotations.models import NOTE_NAME, AnnotationConfig, AnnotationType
from phoenix_annot.tracing.models import Project, Session, Span, Trace

from .sessions import session_filterset
from .spans import span_filterset

# The page's own parameters; every other one is the tab's filter, carried as it is.
OWN_PARAMS = ("annotation", "target", "raters", "page")
DISAGREEMENTS_PER_PAGE = 50
TABS = {Target.SPAN: "spans", Target.TRACE: "traces", Target.SESSION: "sessions"}


@dataclass(frozen=True)
class AgreementChoice:
    """What the page was asked: a name, the kind of rows, whose opinions, under which tab filter."""

    project: Project
    target: Target
    name: str
    everyone: bool
    # The tab's query string, without the page's own parameters.
    filter_query: str
    filter_errors: dict[str, Any]
    names: list[str]
    level: Level | None = None

    @property
    def tab(self) -> str:
        return TABS[self.target]

    @property
    def target_choices(self) -> list[tuple[str, str]]:
        return [(target.value, TABS[target]) for target in Target]

    def filter_params(self) -> list[tuple[str, str]]:
        """The tab's filter as (key, value) pairs, for the page's form to carry as hidden inputs."""
        return [(key, value) for key, values in QueryDict(self.filter_query).lists() for value in values]

    def disagreement_filter_query(self) -> str | None:
        """The Spans tab's query string that lists exactly the disagreements (HUMAN reviewers on spans)."""
        if self.target != Target.SPAN or self.everyone:
            return None
        query = QueryDict(self.filter_query, mutable=True)
        query["disagreement"] = self.name
        return query.urlencode()

    def query(self, rows: QuerySet, level: Level) -> RatingQuery:
        return RatingQuery(
            name=self.name,
            target=self.target,
            level=level,
            rows=rows,
            kinds=EVERYONE if self.everyone else HUMANS,
        )


@dataclass(frozen=True)
class AgreementPage:
    choice: AgreementChoice
    report: AgreementReport | None


@dataclass(frozen=True)
class DisagreementRow:
    target: Any
    how_much: str
    # One cell per rater, in the report's order: the rater's label or score and explanation, or None.
    cells: list[dict[str, Any] | None]


@dataclass(frozen=True)
class DisagreementPage:
    choice: AgreementChoice
    raters: list[Rater]
    total: int
    page: Page | None
    rows: list[DisagreementRow] = field(default_factory=list)


def agreement_choice(
    *, project: Project, params: QueryDict, user: User
) -> tuple[AgreementChoice, QuerySet | None]:
    """The choice the parameters make and the rows its tab's filter keeps (None on a filter error)."""
    target = next((target for target in Target if target.value == params.get("target")), Target.SPAN)
    name = (params.get("annotation") or "").strip()
    filters = params.copy()
    for own in OWN_PARAMS:
        filters.pop(own, None)
    rows, errors = _rows(project=project, target=target, params=filters, user=user)
    choice = AgreementChoice(
        project=project,
        target=target,
        name=name,
        everyone=params.get("raters") == "everyone",
        filter_query=filters.urlencode(),
        filter_errors=errors,
        names=_rated_names(project=project, target=target),
        level=rating_level(name=name, target=target) if name else None,
    )
    return choice, rows


def agreement_for_review(*, project: Project, params: QueryDict, user: User) -> AgreementPage:
    """Every figure of the chosen name over the filtered rows, in a fixed number of queries."""
    choice, rows = agreement_choice(project=project, params=params, user=user)
    if rows is None or choice.level is None:
        return AgreementPage(choice, None)
    return AgreementPage(choice, agreement_report(choice.query(rows, choice.level)))


def disagreements_for_review(*, project: Project, params: QueryDict, user: User) -> DisagreementPage:
    """The rows whose raters differ, furthest apart first, a page at a time, each rater's value and
    explanation side by side."""
    choice, rows = agreement_choice(project=project, params=params, user=user)
    if rows is None or choice.level is None:
        return DisagreementPage(choice, [], 0, None)
    query = choice.query(rows, choice.level)
    ratings = query.disagreeing()
    raters = ratings.raters
    measured = {pattern: disagreement(pattern, choice.level) for pattern in ratings.patterns}
    ranked = sorted(
        ((measured[pattern], pk, pattern) for pk, pattern in ratings.by_item.items()),
        key=lambda row: (row[0][0], -_rated(row[2]), row[1]),
    )
    page = Paginator(ranked, DISAGREEMENTS_PER_PAGE).get_page(params.get("page"))
    pks = [pk for _, pk, _ in page.object_list]
    cells = _cells(query, raters, pks)
    targets = _targets(choice.target, pks)
    return DisagreementPage(
        choice,
        raters,
        len(ranked),
        page,
        [DisagreementRow(targets[pk], how_much, cells[pk]) for (_, how_much), pk, _ in page.object_list],
    )


def _rated(pattern: Pattern) -> int:
    return sum(value is not None for value in pattern)


def _cells(query: RatingQuery, raters: list[Rater], pks: list[int]) -> dict[int, list[dict[str, Any] | None]]:
    """Each rater's annotation of each item, in one query."""
    position = {rater.key: i for i, rater in enumerate(raters)}
    cells: dict[int, list[dict[str, Any] | None]] = {pk: [None] * len(raters) for pk in pks}
    found = query.annotations().filter(**{f"{query.target.value}__in": pks})
    for row in found.values(
        query.target.value, "annotator_kind", "identifier", "user_id", "label", "score", "explanation"
    ):
        at = position.get(rater_key(row["annotator_kind"], row["identifier"], row["user_id"]))
        if at is not None:
            cells[row[query.target.value]][at] = row
    return cells


def _targets(target: Target, pks: list[int]) -> dict[int, Any]:
    if target == Target.SPAN:
        rows = Span.objects.select_related("trace").only("span_id", "name", "span_kind", "trace__trace_id")
    elif target == Target.TRACE:
        rows = Trace.objects.only("trace_id", "root_span_name")
    else:
        rows = Session.objects.only("session_id")
    return rows.in_bulk(pks)


def _rows(
    *, project: Project, target: Target, params: QueryDict, user: User
) -> tuple[QuerySet | None, dict[str, Any]]:
    """The rows the target's tab lists with these filters, as that tab reads them."""
    if target == Target.SESSION:
        filterset = session_filterset(project=project, params=params)
    else:
        filterset = span_filterset(project=project, params=params, user=user, tab=TABS[target])
    if not filterset.is_valid():
        return None, filterset.errors
    if target == Target.TRACE:
        return Trace.objects.filter(pk__in=filterset.qs.order_by().values("trace_id")), {}
    return filterset.qs, {}


def _rated_names(*, project: Project, target: Target) -> list[str]:
    """The names worth rating: configs that are not freeform, and the names in use on the project's rows."""
    configs = AnnotationConfig.objects.exclude(type=AnnotationType.FREEFORM).values_list("name", flat=True)
    return sorted(set(configs) | set(_names_in_use(project=project, target=target)))


def _names_in_use(*, project: Project, target: Target) -> list[str]:
    """The annotation names on the project's rows but notes.

    A DISTINCT over the rows reads every annotation of the project (a fifth of a second for 500,000 on
    PostgreSQL); instead the recursive query skips from one name to the next along the (name, label) index,
    and asks of each name whether one of its rows is the project's: a few index probes per name. The probe is
    a scalar subquery, since PostgreSQL would turn an EXISTS into one join over every annotation.
    """
    annotations = target.model._meta
    row_field = annotations.get_field(target.value)
    rows = row_field.related_model._meta
    sql = f"""
        WITH RECURSIVE names(name) AS (
            SELECT MIN(name) FROM {annotations.db_table}
            UNION ALL
            SELECT (SELECT MIN(a.name) FROM {annotations.db_table} a WHERE a.name > names.name)
            FROM names WHERE names.name IS NOT NULL
        )
        SELECT names.name FROM names
        WHERE names.name IS NOT NULL AND names.name <> %s AND (
            SELECT 1 FROM {annotations.db_table} a
            INNER JOIN {rows.db_table} r ON a.{row_field.column} = r.{rows.pk.column}
            WHERE a.name = names.name AND r.project_id = %s
            LIMIT 1
        ) = 1
    """
    with connections[target.model.objects.db].cursor() as cursor:
        cursor.execute(sql, [NOTE_NAME, project.pk])
        return [name for (name,) in cursor.fetchall()]
