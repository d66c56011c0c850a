"""Feedback read for the review tables: per-row summaries for one page, roll-ups for a whole filter, for
spans, traces and sessions alike.

Both leave out notes (annotations named "note"), as Phoenix's summaries do.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Avg, Count, F, Q, QuerySet, Sum, Window

from phoenix_annot.annotations.models import (
    NOTE_NAME,
    AnnotatorKind,
    RetrievalMetrics,
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
)
from phoenix_annot.tracing.models import Project, Session, Span

V = TypeVar("V", int, float)


@dataclass(frozen=True)
class FeedbackSummary:
    """The annotations of one name on one span, as a chip of the Feedback column."""

    name: str
    count: int
    mean_score: float | None
    label_counts: dict[str, int]  # most frequent first, then by label
    annotator_kinds: frozenset[str]

    @property
    def has_human(self) -> bool:
        return AnnotatorKind.HUMAN in self.annotator_kinds

    @property
    def has_machine(self) -> bool:
        return bool(self.annotator_kinds - {AnnotatorKind.HUMAN})


@dataclass(frozen=True)
class FeedbackRollup:
    """The annotations of one name over a set of spans, each span weighing the same (PHOENIX_COMPAT.md §6)."""

    name: str
    annotation_count: int
    span_count: int  # spans with at least one annotation of the name that has a label or a score
    mean_score: float | None  # the mean over spans of each span's mean score
    label_fractions: dict[str, float]  # largest first, then by label; a span's labels share its vote


@dataclass
class _Tally:
    count: int = 0
    scored: int = 0
    score_sum: float = 0.0
    labels: Counter[str] = field(default_factory=Counter)
    kinds: set[str] = field(default_factory=set)


def feedback_summaries_for_spans(span_pks: Iterable[int]) -> dict[int, list[FeedbackSummary]]:
    """Span primary key -> that span's summaries by annotation name (sorted; [] if none), in one query."""
    return _summaries(SpanAnnotation.objects, "span_id", list(span_pks))


def feedback_summaries_for_traces(trace_pks: Iterable[int]) -> dict[int, list[FeedbackSummary]]:
    """Trace primary key -> the summaries of its trace annotations, like the span ones, in one query."""
    return _summaries(TraceAnnotation.objects, "trace_id", list(trace_pks))


def feedback_summaries_for_sessions(session_pks: Iterable[int]) -> dict[int, list[FeedbackSummary]]:
    """Session primary key -> the summaries of its session annotations, like the span ones, in one query."""
    return _summaries(SessionAnnotation.objects, "session_id", list(session_pks))


def _summaries(annotations: QuerySet[Any], target: str, pks: list[int]) -> dict[int, list[FeedbackSummary]]:
    rows = (
        annotations.filter(**{f"{target}__in": pks})
        .exclude(name=NOTE_NAME)
        .values_list(target, "name", "label", "annotator_kind")
        .annotate(count=Count("pk"), scored=Count("score"), score_sum=Sum("score"))
        .order_by()
    )
    tallies: dict[tuple[int, str], _Tally] = defaultdict(_Tally)
    for pk, name, label, kind, count, scored, score_sum in rows:
        tally = tallies[pk, name]
        tally.count += count
        tally.scored += scored
        tally.score_sum += score_sum or 0.0
        tally.kinds.add(kind)
        if label is not None:
            tally.labels[label] += count
    summaries: dict[int, list[FeedbackSummary]] = {pk: [] for pk in pks}
    for (pk, name), tally in sorted(tallies.items()):
        summaries[pk].append(
            FeedbackSummary(
                name=name,
                count=tally.count,
                mean_score=tally.score_sum / tally.scored if tally.scored else None,
                label_counts=_largest_first(tally.labels),
                annotator_kinds=frozenset(tally.kinds),
            )
        )
    return summaries


def span_annotation_names(spans: QuerySet[Span]) -> list[str]:
    """The names of the annotations on these spans, sorted, in one query."""
    names = (
        SpanAnnotation.objects.filter(span__in=spans.order_by().values("pk"))
        .exclude(name=NOTE_NAME)
        .values_list("name", flat=True)
        .distinct()
        .order_by("name")
    )
    return list(names)


_COUNTED = Q(score__isnull=False) | Q(label__isnull=False)
# A float 1 on both databases (SQLite reads the type name's affinity as REAL).
_ONE = "CAST(1 AS DOUBLE PRECISION)"


def feedback_rollups(span_queryset: QuerySet[Span]) -> list[FeedbackRollup]:
    """Per annotation name, the feedback over every span of the queryset, in one query."""
    return _rollups(SpanAnnotation.objects, "span", span_queryset)


def feedback_rollups_for_sessions(session_queryset: QuerySet[Session]) -> list[FeedbackRollup]:
    """Per annotation name, the session annotations over every session of the queryset, each session
    weighing the same (`span_count` counts sessions), in one query."""
    return _rollups(SessionAnnotation.objects, "session", session_queryset)


def _rollups(annotations: QuerySet[Any], target: str, targets: QuerySet[Any]) -> list[FeedbackRollup]:
    """Per annotation name, the feedback over every target (span or session) of `targets`, in one query.

    Window counts over (span, name) give each annotation its weight, 1 / (the counted annotations of its
    span and name), so that summed per (name, label) they add up to 1 per span for the span count, to the
    span's mean score, and to each label's share. One sort of the annotation rows: no GROUP BY before the
    window (a second sort, ~20% slower), no correlated subquery per row (~7x slower).
    """
    siblings = {"partition_by": [F(f"{target}_id"), F("name")]}
    weighted = (
        annotations.filter(**{f"{target}__in": targets.order_by().values("pk")})
        .exclude(name=NOTE_NAME)
        .filter(_COUNTED)
        .annotate(
            span_n=Window(Count("pk"), **siblings),
            span_scored=Window(Count("score"), **siblings),
            span_labelled=Window(Count("label"), **siblings),
        )
        .order_by()
        .values("name", "label", "score", "span_n", "span_scored", "span_labelled")
    )
    inner, params = weighted.query.sql_with_params()
    # Every row counts, so span_n >= 1; span_scored (span_labelled) >= 1 on every row with a score (label).
    # The weights are floats: PostgreSQL divides a 1.0 literal as numeric, a quarter slower over 50k rows.
    sql = f"""
        SELECT name, label,
               COUNT(*),
               SUM({_ONE} / span_n),
               SUM(CASE WHEN score IS NOT NULL THEN {_ONE} / span_scored END),
               SUM(CASE WHEN score IS NOT NULL THEN score / span_scored END),
               SUM(CASE WHEN label IS NOT NULL THEN {_ONE} / span_labelled END)
        FROM ({inner}) weighted
        GROUP BY name, label
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name, label, annotations, *weights in rows:
        spans, scored_spans, mean_scores, label_shares = weights
        by_name[name].append(
            {
                "label": label,
                "annotations": annotations,
                "spans": spans,
                "scored_spans": scored_spans,
                "mean_scores": mean_scores,
                "label_shares": label_shares,
            }
        )
    return [_rollup(name, by_name[name]) for name in sorted(by_name)]


def _rollup(name: str, groups: list[dict[str, Any]]) -> FeedbackRollup:
    """Add up the per-label rows of one name; sums of weights are whole numbers up to float rounding."""
    span_count = round(sum(group["spans"] for group in groups))
    scored_spans = round(sum(group["scored_spans"] or 0 for group in groups))
    score_total = sum(group["mean_scores"] or 0 for group in groups)
    shares = {
        group["label"]: group["label_shares"] / span_count for group in groups if group["label"] is not None
    }
    return FeedbackRollup(
        name=name,
        annotation_count=sum(group["annotations"] for group in groups),
        span_count=span_count,
        mean_score=score_total / scored_spans if scored_spans else None,
        label_fractions=_largest_first(shares),
    )


@dataclass(frozen=True)
class RetrievalRollup:
    """Retrieval metrics over the retriever spans of a filter that have a judged document, each span
    weighing the same (annotations/retrieval.py says what counts)."""

    span_count: int
    mean_precision: float | None
    mean_ndcg: float | None
    hit_count: int

    @property
    def miss_count(self) -> int:
        return self.span_count - self.hit_count

    @property
    def hit_rate(self) -> float | None:
        return self.hit_count / self.span_count if self.span_count else None


def count_and_retrieval_rollup(
    spans: QuerySet[Span], *, project: Project, whole_project: bool
) -> tuple[int, RetrievalRollup]:
    """How many spans the queryset holds and the stored retrieval metrics of its spans, averaged; two
    queries.

    The project's every span (`whole_project`) is counted apart and its roll-up reads the metrics rows
    alone: joining them to the spans took 140 ms at 250,000 spans on PostgreSQL, the rows alone 5 ms. A
    filtered queryset gets both in one query, its spans joined to their metrics rows, which a retrieval
    filter has joined already; in a project without metrics that join is left out.
    """
    metrics = RetrievalMetrics.objects.filter(project=project)
    if whole_project:
        totals = metrics.aggregate(
            span_count=Count("pk"),
            mean_precision=Avg("precision"),
            mean_ndcg=Avg("ndcg"),
            hit_count=Count("pk", filter=Q(hit=True)),
        )
        return spans.count(), RetrievalRollup(**totals)
    if not metrics.exists():
        return spans.count(), RetrievalRollup(span_count=0, mean_precision=None, mean_ndcg=None, hit_count=0)
    totals = spans.order_by().aggregate(
        total=Count("pk"),
        span_count=Count("retrieval_metrics"),
        mean_precision=Avg("retrieval_metrics__precision"),
        mean_ndcg=Avg("retrieval_metrics__ndcg"),
        hit_count=Count("retrieval_metrics", filter=Q(retrieval_metrics__hit=True)),
    )
    return totals.pop("total"), RetrievalRollup(**totals)


def _largest_first(values: Mapping[str, V]) -> dict[str, V]:
    return dict(sorted(values.items(), key=lambda item: (-item[1], item[0])))
