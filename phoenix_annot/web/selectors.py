"""One selector per screen: each reads what its page shows in a fixed, small number of queries."""

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Avg, Count, F, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404, QueryDict

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import (
    NOTE_NAME,
    AnnotationConfig,
    SpanAnnotation,
    TraceAnnotation,
    reviewer_identifier,
)
from phoenix_annot.annotations.ownership import Held, may_delete
from phoenix_annot.core.keyset import decode_cursor, encode_cursor, keyset_after
from phoenix_annot.core.numbers import ascii_int
from phoenix_annot.filtering.feedback import (
    FeedbackRollup,
    FeedbackSummary,
    feedback_rollups,
    feedback_summaries_for_spans,
    feedback_summaries_for_traces,
)
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.tracing.models import Project, Span, Trace
from phoenix_annot.tracing.selectors import (
    TreePlace,
    TreeRow,
    projects_with_activity,
    spans_for_tree,
    trace_tree_order,
)


@dataclass(frozen=True)
class ProjectFeedback:
    name: str
    count: int
    mean_score: float | None


@dataclass(frozen=True)
class ProjectRow:
    project: Project
    feedback: list[ProjectFeedback]


def project_list_for_review() -> list[ProjectRow]:
    """Every project with its counts and, per annotation name, how many annotations and their mean score."""
    projects = list(projects_with_activity())
    feedback: dict[int, list[ProjectFeedback]] = {project.pk: [] for project in projects}
    rows = (
        SpanAnnotation.objects.exclude(name=NOTE_NAME)
        .values_list("span__project_id", "name")
        .annotate(count=Count("pk"), mean=Avg("score"))
        .order_by("span__project_id", "name")
    )
    for project_id, name, count, mean in rows:
        feedback[project_id].append(ProjectFeedback(name=name, count=count, mean_score=mean))
    return [ProjectRow(project=project, feedback=feedback[project.pk]) for project in projects]


@dataclass
class AnnotationTargetView:
    """What the Annotate panel needs for one span or one trace."""

    kind: str
    key: str
    annotations: list[Any]
    configs: list[AnnotationConfig]
    mine: dict[str, Any] = field(default_factory=dict)
    deletable: set[int] = field(default_factory=set)
    errors: dict[str, list[str]] = field(default_factory=dict)
    error_name: str = ""

    @property
    def other_name_failed(self) -> bool:
        """The errors are of a name typed under "Another annotation name", which has no config form."""
        return bool(self.errors and self.error_name) and all(c.name != self.error_name for c in self.configs)


# The trace page lists this many spans of the tree at a time and loads the pages around on demand: a
# trace of 100,000 spans rendered whole was 45 MB of HTML and 21 s.
TREE_PAGE_SIZE = 300


@dataclass(frozen=True)
class TreeWindow:
    """One page of a trace's span tree in depth-first order, and the first span of the pages around it."""

    rows: list[TreeRow]
    summaries: dict[int, list[FeedbackSummary]]
    page: int
    total: int
    earlier_span_id: str | None
    later_span_id: str | None

    @property
    def start(self) -> int:
        return self.page * TREE_PAGE_SIZE

    @property
    def after(self) -> int:
        """How many spans follow this page."""
        return max(self.total - self.start - len(self.rows), 0)


@dataclass(frozen=True)
class TraceReview:
    trace: Trace
    tree: TreeWindow
    selected: Span
    span_panel: AnnotationTargetView
    trace_panel: AnnotationTargetView
    configs_by_name: dict[str, AnnotationConfig]


def trace_for_review(*, trace_id: str, span_id: str | None, user: User) -> TraceReview:
    """The trace page: the page of the span tree holding the selected span (the first span by default)."""
    trace = _trace(trace_id)
    order = _tree_order(trace)
    index = next((i for i, place in enumerate(order) if place.span_id == span_id), 0)
    selected = Span.objects.get(pk=order[index].pk)
    configs = project_configs(trace.project)
    return TraceReview(
        configs_by_name=configs_by_name(),
        trace=trace,
        tree=_tree_window(order, page=index // TREE_PAGE_SIZE),
        selected=selected,
        span_panel=span_panel(selected, user=user, configs=configs),
        trace_panel=trace_panel(trace, user=user, configs=configs),
    )


def trace_tree_page(*, trace_id: str, page: int) -> TreeWindow:
    """Another page of the trace's span tree, for the "more spans" links (an empty one past the end)."""
    return _tree_window(_tree_order(_trace(trace_id)), page=page)


def _trace(trace_id: str) -> Trace:
    trace = Trace.objects.select_related("project").filter(trace_id=trace_id).first()
    if trace is None:
        raise Http404(f"No trace {trace_id}")
    return trace


def _tree_order(trace: Trace) -> list[TreePlace]:
    order = trace_tree_order(trace)
    if not order:
        raise Http404(f"Trace {trace.trace_id} has no spans")
    return order


def _tree_window(order: list[TreePlace], *, page: int) -> TreeWindow:
    """The page's spans read whole (but their heavy JSON) with their feedback, for one page only."""
    start = page * TREE_PAGE_SIZE
    window = order[start : start + TREE_PAGE_SIZE]
    spans = spans_for_tree([place.pk for place in window])
    end = start + TREE_PAGE_SIZE
    return TreeWindow(
        rows=[TreeRow(span=spans[place.pk], depth=place.depth) for place in window],
        summaries=feedback_summaries_for_spans(spans),
        page=page,
        total=len(order),
        earlier_span_id=order[start - TREE_PAGE_SIZE].span_id if 0 < start <= len(order) else None,
        later_span_id=order[end].span_id if end < len(order) else None,
    )


def project_configs(project: Project) -> list[AnnotationConfig]:
    """The configs whose forms the Annotate panel shows: those assigned to the project, the ones that check
    its annotations (annotations/configs.py, config_for_project)."""
    return list(AnnotationConfig.objects.filter(projects=project))


def span_panel(span: Span, *, user: User, configs: list[AnnotationConfig]) -> AnnotationTargetView:
    annotations = (
        SpanAnnotation.objects.filter(span=span).select_related("user").order_by("name", "-updated_at")
    )
    return _panel("span", span.span_id, list(annotations), user=user, configs=configs)


def trace_panel(trace: Trace, *, user: User, configs: list[AnnotationConfig]) -> AnnotationTargetView:
    annotations = (
        TraceAnnotation.objects.filter(trace=trace).select_related("user").order_by("name", "-updated_at")
    )
    return _panel("trace", trace.trace_id, list(annotations), user=user, configs=configs)


def _panel(
    kind: str, key: str, annotations: list[Any], *, user: User, configs: list[AnnotationConfig]
) -> AnnotationTargetView:
    identifier = reviewer_identifier(user.pk)
    mine = {a.name: a for a in annotations if a.identifier == identifier}
    deletable = {a.pk for a in annotations if may_delete(actor=user, held=Held.of(a))}
    return AnnotationTargetView(
        kind=kind, key=key, annotations=annotations, configs=configs, mine=mine, deletable=deletable
    )


def configs_by_name() -> dict[str, AnnotationConfig]:
    """Every config, to colour feedback chips by their optimisation direction."""
    return {config.name: config for config in AnnotationConfig.objects.all()}


# Sort keys per tab. The traces tab lists root spans but shows their trace's latency and token totals,
# so it sorts by those.
SORTS: dict[str, dict[str, Any]] = {
    "spans": {
        "start_time": F("start_time"),
        "latency_ms": F("latency_ms"),
        "tokens": Coalesce("llm_token_count_total", 0),
    },
    "traces": {
        "start_time": F("start_time"),
        "latency_ms": F("trace__latency_ms"),
        "tokens": F("trace__llm_token_count_total"),
    },
}
PAGE_SIZES = (25, 50, 100)


@dataclass(frozen=True)
class SpanPage:
    project: Project
    tab: str
    filterset: SpanFilter
    rows: list[Span]
    summaries: dict[int, list[FeedbackSummary]]
    trace_summaries: dict[int, list[FeedbackSummary]]
    rollups: list[FeedbackRollup]
    total: int
    sort: str
    descending: bool
    page_size: int
    next_cursor: str | None
    configs_by_name: dict[str, AnnotationConfig]
    annotation_names: list[str]


def span_list_for_review(*, project: Project, params: QueryDict, user: User, tab: str) -> SpanPage:
    """One page of the project's spans (or root spans, for the traces tab) matching the filters."""
    filterset = span_filterset(project=project, params=params, user=user, tab=tab)
    matching = filterset.qs
    sort = params.get("sort") if params.get("sort") in SORTS[tab] else "start_time"
    descending = params.get("dir") != "asc"
    page_size = _page_size(params.get("size"))
    rollups = feedback_rollups(matching)
    configs = configs_by_name()
    rows, next_cursor = keyset_page(
        matching,
        sort_key=SORTS[tab][sort],
        by_time=sort == "start_time",
        descending=descending,
        size=page_size,
        cursor=params.get("cursor"),
    )
    return SpanPage(
        project=project,
        tab=tab,
        filterset=filterset,
        rows=rows,
        summaries=feedback_summaries_for_spans(span.pk for span in rows),
        trace_summaries=feedback_summaries_for_traces(span.trace_id for span in rows)
        if tab == "traces"
        else {},
        rollups=rollups,
        total=matching.count(),
        sort=sort,
        descending=descending,
        page_size=page_size,
        next_cursor=next_cursor,
        configs_by_name=configs,
        annotation_names=sorted({rollup.name for rollup in rollups} | set(configs)),
    )


@dataclass(frozen=True)
class RequestUser:
    """What SpanFilter reads of a request: its user."""

    user: User


def keyset_page(
    spans: QuerySet[Span], *, sort_key: Any, by_time: bool, descending: bool, size: int, cursor: str | None
) -> tuple[list[Span], str | None]:
    """Order by (sort key, id) and continue after the cursor's row, so page 1,000 costs what page 1 does;
    a cursor that was tampered with restarts the list."""
    spans = spans.annotate(sort_key=sort_key).select_related("trace").defer("attributes", "events")
    if cursor:
        after = decode_cursor(cursor, by_time=by_time)
        if after is not None:
            value, pk = after
            spans = spans.filter(keyset_after("sort_key", value, pk, descending=descending))
    prefix = "-" if descending else ""
    rows = list(spans.order_by(f"{prefix}sort_key", f"{prefix}pk")[: size + 1])
    next_cursor = encode_cursor(rows[size - 1].sort_key, rows[size - 1].pk) if len(rows) > size else None
    return rows[:size], next_cursor


def _page_size(raw: str | None) -> int:
    size = ascii_int(raw or "")
    return size if size in PAGE_SIZES else PAGE_SIZES[1]


@dataclass(frozen=True)
class Neighbours:
    """Trace ids before and after the current one in the list the reviewer came from (newest first)."""

    previous: str | None = None
    next: str | None = None


def trace_neighbours(*, trace: Trace, anchor: Span, list_query: str, user: User) -> Neighbours:
    if not list_query:
        return Neighbours()
    params = QueryDict(list_query)
    spans = matching_spans(project=trace.project, params=params, user=user, tab=params.get("tab", "spans"))
    others = spans.exclude(trace=trace)
    newer = keyset_after("start_time", anchor.start_time, anchor.pk, descending=False)
    older = keyset_after("start_time", anchor.start_time, anchor.pk, descending=True)
    trace_ids = "trace__trace_id"
    return Neighbours(
        previous=others.filter(newer).order_by("start_time", "pk").values_list(trace_ids, flat=True).first(),
        next=others.filter(older).order_by("-start_time", "-pk").values_list(trace_ids, flat=True).first(),
    )


def span_filterset(*, project: Project, params: QueryDict, user: User, tab: str) -> SpanFilter:
    """The filter bar over the project's spans, or over its root spans on the traces tab."""
    base = Span.objects.filter(project=project)
    if tab == "traces":
        base = base.filter(parent_id__isnull=True)
    return SpanFilter(params, queryset=base, request=RequestUser(user))


def matching_spans(*, project: Project, params: QueryDict, user: User, tab: str) -> QuerySet[Span]:
    """Every span of the list the reviewer sees with these filters, evaluated on the server."""
    return span_filterset(project=project, params=params, user=user, tab=tab).qs
