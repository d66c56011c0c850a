"""The Spans and Traces tables: filters, feedback roll-ups, one keyset page of rows."""

from dataclasses import dataclass
from typing import Any

from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.http import QueryDict

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import AnnotationConfig
from phoenix_annot.core.keyset import decode_cursor, encode_cursor, keyset_after
from phoenix_annot.core.numbers import ascii_int
from phoenix_annot.filtering.feedback import (
    FeedbackRollup,
    FeedbackSummary,
    RetrievalRollup,
    count_and_retrieval_rollup,
    feedback_rollups,
    feedback_summaries_for_spans,
    feedback_summaries_for_traces,
    span_annotation_names,
)
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.tracing.models import Project, Span

from .configs import configs_by_name

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
    retrieval: RetrievalRollup | None
    total: int
    sort: str
    descending: bool
    page_size: int
    next_cursor: str | None
    configs_by_name: dict[str, AnnotationConfig]
    annotation_names: list[str]
    # Annotation names the filters ask about that no span of the project has, and the names that exist.
    absent_annotation_names: list[str]
    existing_annotation_names: list[str]


def span_list_for_review(*, project: Project, params: QueryDict, user: User, tab: str) -> SpanPage:
    """One page of the project's spans (or root spans, for the traces tab) matching the filters.

    Filters with an error match nothing: a list that ignored the bad filter would offer every row to Add.
    """
    filterset = span_filterset(project=project, params=params, user=user, tab=tab)
    sort = params.get("sort") if params.get("sort") in SORTS[tab] else "start_time"
    descending = params.get("dir") != "asc"
    page_size = page_size_from(params.get("size"))
    configs = configs_by_name()
    rows: list[Span] = []
    next_cursor, rollups, retrieval, total = None, [], None, 0
    if filterset.is_valid():
        matching = filterset.qs
        rollups = feedback_rollups(matching)
        total, retrieval = count_and_retrieval_rollup(
            matching, project=project, whole_project=tab == "spans" and not filterset.narrows()
        )
        rows, next_cursor = keyset_page(
            matching,
            sort_key=SORTS[tab][sort],
            by_time=sort == "start_time",
            descending=descending,
            size=page_size,
            cursor=params.get("cursor"),
        )
    rolled_up = {rollup.name for rollup in rollups}
    # Names found on the listed spans exist; only the others cost a look at the whole project.
    unseen = filterset.annotation_names_asked() - rolled_up
    existing = span_annotation_names(filterset.queryset) if unseen else []
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
        retrieval=retrieval,
        total=total,
        sort=sort,
        descending=descending,
        page_size=page_size,
        next_cursor=next_cursor,
        configs_by_name=configs,
        annotation_names=sorted(rolled_up | set(configs)),
        absent_annotation_names=sorted(unseen - set(existing)),
        existing_annotation_names=existing,
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


def page_size_from(raw: str | None) -> int:
    size = ascii_int(raw or "")
    return size if size in PAGE_SIZES else PAGE_SIZES[1]


def span_filterset(*, project: Project, params: QueryDict, user: User, tab: str) -> SpanFilter:
    """The filter bar over the project's spans, or over its root spans on the traces tab."""
    base = Span.objects.filter(project=project)
    if tab == "traces":
        base = base.filter(parent_id__isnull=True)
    filterset = SpanFilter(params, queryset=base, request=RequestUser(user))
    filterset.refuse_unknown_columns()
    return filterset


def matching_spans(*, project: Project, params: QueryDict, user: User, tab: str) -> QuerySet[Span]:
    """Every span of the list the reviewer sees with these filters, evaluated on the server; none when a
    filter has an error, as the list then shows none."""
    filterset = span_filterset(project=project, params=params, user=user, tab=tab)
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()
