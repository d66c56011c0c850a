"""The Agreement page and its disagreements: one annotation name over the rows a tab's filters keep."""

from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import QueryDict

from phoenix_annot.accounts.access import may_adjudicate, may_write
from phoenix_annot.accounts.models import User
from phoenix_annot.agreement.alignment import AlignmentReport, Judge, JudgeQuery, Window
from phoenix_annot.agreement.coefficients import Level, Pattern
from phoenix_annot.agreement.coefficients import Value as Rated
from phoenix_annot.agreement.ratings import (
    EVERYONE,
    HUMANS,
    Rater,
    RatingQuery,
    Target,
    TooManyRaters,
    rater_key,
    rating_level,
)
from phoenix_annot.agreement.report import AgreementReport, agreement_report, disagreement
from phoenix_annot.agreement.within import Within, WithinError, within_choices, within_parsed
from phoenix_annot.annotations.configs import config_for_project
from phoenix_annot.annotations.models import GOLD_IDENTIFIER, NOTE_NAME, AnnotationConfig, AnnotationType
from phoenix_annot.tracing.models import Project, Session, Span, Trace

from .queues import queue_tab_choices
from .sessions import session_filterset
from .spans import span_filterset

# The page's own parameters; every other one is the tab's filter, carried as it is.
OWN_PARAMS = ("annotation", "target", "raters", "within", "page", "judge", "since", "until", "threshold")
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
    # A queue's items or a dataset version's examples, narrowing the tab's rows.
    within: Within | None = None
    within_error: str = ""
    # Why nothing is rated although the choice is valid (too many raters).
    rating_error: str = ""

    @property
    def tab(self) -> str:
        return TABS[self.target]

    @property
    def target_choices(self) -> list[tuple[str, str]]:
        return [(target.value, TABS[target]) for target in Target]

    @cached_property
    def within_choices(self) -> list[tuple[str, str]]:
        """What the page's Within offers: read when a page shows it, not for the posts that reuse the
        choice (gold, promote, add to queue)."""
        return within_choices(project=self.project)

    @property
    def within_values(self) -> set[str]:
        return {value for value, _ in self.within_choices}

    def filter_params(self) -> list[tuple[str, str]]:
        """The tab's filter as (key, value) pairs, for the page's form to carry as hidden inputs."""
        return [(key, value) for key, values in QueryDict(self.filter_query).lists() for value in values]

    def disagreement_filter_query(self) -> str | None:
        """The Spans tab's query string that lists exactly the disagreements (HUMAN reviewers on spans; the
        tab cannot narrow to a queue or a dataset version)."""
        if self.target != Target.SPAN or self.everyone or self.within:
            return None
        query = QueryDict(self.filter_query, mutable=True)
        query["disagreement"] = self.name
        return query.urlencode()

    def query(self, rows: QuerySet | None, level: Level) -> RatingQuery:
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
class AlignmentPage:
    choice: AgreementChoice
    # The LLM and CODE annotators of the name, the one compared (None when there is none), its report.
    judges: list[Judge] = field(default_factory=list)
    judge: Judge | None = None
    report: AlignmentReport | None = None
    window_errors: dict[str, list[str]] = field(default_factory=dict)
    since: str = ""
    until: str = ""
    # The disagreeing rows listed: span, trace or session by pk.
    targets: dict[int, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GoldCell:
    """A row's gold value of the name, and what an adjudicator may choose it from."""

    target: Target
    pk: int
    name: str
    level: Level
    # label, score, explanation (the reason) and the adjudicator's username; None before adjudication.
    gold: dict[str, Any] | None
    # The raters' values, commonest first, each with how many gave it.
    offered: list[tuple[Rated, int]]
    # The config's labels nobody gave (labels only): a new value to choose.
    others: list[str]
    # No config lists the labels: a new one is typed in.
    free_text: bool


@dataclass(frozen=True)
class DisagreementRow:
    target: Any
    how_much: str
    # One cell per rater, in the report's order: the rater's label or score and explanation, or None.
    cells: list[dict[str, Any] | None]
    gold: GoldCell


@dataclass(frozen=True)
class DisagreementPage:
    choice: AgreementChoice
    raters: list[Rater]
    total: int
    page: Page | None
    rows: list[DisagreementRow] = field(default_factory=list)
    # Whether the reader may set gold values and promote agreeing rows, and the queues they may send to.
    adjudicator: bool = False
    queues: list[tuple[int, str]] = field(default_factory=list)


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
    within, within_error = None, ""
    try:
        within = within_parsed(project=project, value=params.get("within", ""))
    except WithinError as exc:
        within_error, rows = str(exc), None
    if within and rows is not None:
        rows = within.narrowed(rows, target)
    choice = AgreementChoice(
        project=project,
        target=target,
        name=name,
        everyone=params.get("raters") == "everyone",
        filter_query=filters.urlencode(),
        filter_errors=errors,
        names=_rated_names(project=project, target=target),
        level=rating_level(name=name, target=target) if name else None,
        within=within,
        within_error=within_error,
    )
    return choice, rows


def agreement_for_review(*, project: Project, params: QueryDict, user: User) -> AgreementPage:
    """Every figure of the chosen name over the filtered rows, in a fixed number of queries."""
    choice, rows = agreement_choice(project=project, params=params, user=user)
    if rows is None or choice.level is None:
        return AgreementPage(choice, None)
    try:
        return AgreementPage(choice, agreement_report(choice.query(rows, choice.level)))
    except TooManyRaters as exc:
        return AgreementPage(replace(choice, rating_error=str(exc)), None)


def disagreements_for_review(*, project: Project, params: QueryDict, user: User) -> DisagreementPage:
    """The rows whose raters differ, furthest apart first, a page at a time, each rater's value and
    explanation side by side with the row's gold value."""
    choice, rows = agreement_choice(project=project, params=params, user=user)
    if rows is None or choice.level is None:
        return DisagreementPage(choice, [], 0, None)
    adjudicator = may_adjudicate(user, project)
    queues = list(queue_tab_choices(project.pk)) if may_write(user, project) else []
    query = choice.query(rows, choice.level)
    try:
        ratings = query.disagreeing()
    except TooManyRaters as exc:
        return DisagreementPage(replace(choice, rating_error=str(exc)), [], 0, None)
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
    golds = gold_cells(
        project=project, query=query, values={pk: [_value(cell, query) for cell in cells[pk]] for pk in pks}
    )
    return DisagreementPage(
        choice,
        raters,
        len(ranked),
        page,
        [
            DisagreementRow(targets[pk], how_much, cells[pk], golds[pk])
            for (_, how_much), pk, _ in page.object_list
        ],
        adjudicator=adjudicator,
        queues=queues,
    )


def judge_alignment_for_review(*, project: Project, params: QueryDict, user: User) -> AlignmentPage:
    """The chosen judge (else the one with most labels) against the humans over the filtered rows, in the
    date window: four queries after the choice's, whatever the number of rows."""
    choice, rows = agreement_choice(project=project, params=params, user=user)
    since, until = params.get("since", ""), params.get("until", "")
    page = AlignmentPage(choice, since=since, until=until)
    if rows is None or choice.level != Level.NOMINAL:
        return page
    try:
        window = Window.parse(since, until)
    except ValidationError as exc:
        return replace(page, window_errors=exc.message_dict)
    query = JudgeQuery(name=choice.name, target=choice.target, rows=rows, window=window)
    judges = query.judges()
    asked = params.get("judge", "")
    judge = next((j for j in judges if f"{j.kind}:{j.identifier}" == asked), judges[0] if judges else None)
    if judge is None:
        return replace(page, judges=judges)
    report = query.report(judge)
    targets = _targets(choice.target, [row.target_pk for row in report.disagreements])
    return replace(page, judges=judges, judge=judge, report=report, targets=targets)


def gold_cells(
    *, project: Project, query: RatingQuery, values: dict[int, list[Rated | None]]
) -> dict[int, GoldCell]:
    """The gold cell of each row (by pk) whose raters gave these values: two queries (the gold rows, the
    name's config) for any number of rows."""
    key = query.target.value
    found = query.target.model.objects.filter(
        name=query.name, identifier=GOLD_IDENTIFIER, **{f"{key}__in": list(values)}
    ).values(key, "label", "score", "explanation", "user__username")
    golds = {row[key]: row for row in found}
    config = config_for_project(name=query.name, project_id=project.pk)
    labels = [value["label"] for value in config.values] if config and query.level == Level.NOMINAL else []
    cells = {}
    for pk, given in values.items():
        offered = Counter(value for value in given if value is not None).most_common()
        others = [label for label in labels if label not in dict(offered)]
        cells[pk] = GoldCell(
            query.target, pk, query.name, query.level, golds.get(pk), offered, others, free_text=not labels
        )
    return cells


def gold_cell(*, project: Project, query: RatingQuery, pk: int) -> GoldCell:
    """One row's gold cell, as the page shows it after its gold is set."""
    given = query.annotations().filter(**{query.target.value: pk}).values_list(query.value_field, flat=True)
    return gold_cells(project=project, query=query, values={pk: list(given)})[pk]


def _value(cell: dict[str, Any] | None, query: RatingQuery) -> Rated | None:
    return None if cell is None else cell[query.value_field]


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
