"""The trace page: its span tree, the selected span, the Annotate panels and the list around it."""

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet, Subquery
from django.http import Http404, QueryDict

from phoenix_annot.accounts.access import row_or_404
from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import (
    AnnotationConfig,
    DocumentAnnotation,
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
    reviewer_identifier,
)
from phoenix_annot.annotations.ownership import Held, may_delete
from phoenix_annot.annotations.retrieval import (
    RELEVANCE_NAME,
    Judgement,
    RelevanceChoice,
    RetrievalScores,
    document_relevances,
    relevance_choices,
    retrieval_scores,
)
from phoenix_annot.core.keyset import keyset_after
from phoenix_annot.filtering.feedback import FeedbackSummary, feedback_summaries_for_spans
from phoenix_annot.tracing.models import Session, Span, Trace
from phoenix_annot.tracing.selectors import TreePlace, TreeRow, spans_for_tree, trace_tree_order

from ..span_display import Document
from .configs import configs_by_name, project_configs
from .spans import SORTS, matching_spans

# The panel's fields in the reviewer's words. An error of no one field (the service's "result", a bad Undo)
# is shown alone.
FIELD_WORDS = {"name": "Name", "label": "Label", "score": "Score", "explanation": "Explanation"}


def error_messages(errors: dict[str, list[str]]) -> list[str]:
    """Each problem once, after the name of the field it is about as the panel labels it."""
    return [
        f"{FIELD_WORDS[field]}: {problem}" if field in FIELD_WORDS else problem
        for field, problems in errors.items()
        for problem in problems
    ]


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
    def error_messages(self) -> list[str]:
        return error_messages(self.errors)

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
    root: TreePlace
    span_panel: AnnotationTargetView
    trace_panel: AnnotationTargetView
    configs_by_name: dict[str, AnnotationConfig]


def trace_for_review(*, trace_id: str, span_id: str | None, user: User) -> TraceReview:
    """The trace page: the page of the span tree holding the selected span (the first span by default)."""
    trace = _trace(trace_id, user)
    order = _tree_order(trace)
    index = next((i for i, place in enumerate(order) if place.span_id == span_id), 0)
    selected = Span.objects.get(pk=order[index].pk)
    configs = project_configs(trace.project)
    return TraceReview(
        configs_by_name=configs_by_name(),
        trace=trace,
        tree=_tree_window(order, page=index // TREE_PAGE_SIZE),
        selected=selected,
        root=order[0],
        span_panel=span_panel(selected, user=user, configs=configs),
        trace_panel=trace_panel(trace, user=user, configs=configs),
    )


def trace_tree_page(*, trace_id: str, page: int, user: User) -> TreeWindow:
    """Another page of the trace's span tree, for the "more spans" links (an empty one past the end)."""
    return _tree_window(_tree_order(_trace(trace_id, user)), page=page)


def _trace(trace_id: str, user: User) -> Trace:
    """The trace, with `user`'s role on its project (`access_role`), or a 404 when there is none or `user`
    may not see its project."""
    return row_or_404(user, Trace.objects.select_related("project"), trace_id=trace_id)


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


def session_panel(session: Session, *, user: User, configs: list[AnnotationConfig]) -> AnnotationTargetView:
    """The panel of the session page; the web pages address a session by its pk (a session.id may hold any
    text, slashes included)."""
    annotations = (
        SessionAnnotation.objects.filter(session=session)
        .select_related("user")
        .order_by("name", "-updated_at")
    )
    return _panel("session", str(session.pk), list(annotations), user=user, configs=configs)


def _panel(
    kind: str, key: str, annotations: list[Any], *, user: User, configs: list[AnnotationConfig]
) -> AnnotationTargetView:
    identifier = reviewer_identifier(user.pk)
    mine = {a.name: a for a in annotations if a.identifier == identifier}
    deletable = {a.pk for a in annotations if may_delete(actor=user, held=Held.of(a))}
    return AnnotationTargetView(
        kind=kind, key=key, annotations=annotations, configs=configs, mine=mine, deletable=deletable
    )


@dataclass(frozen=True)
class DocumentRow:
    """One retrieved document with its annotations (every name, everybody's) and the reviewer's relevance."""

    position: int
    document: Document
    annotations: list[DocumentAnnotation]
    mine: DocumentAnnotation | None


@dataclass(frozen=True)
class DocumentsReview:
    """A retriever span's documents with their relevance controls, and its retrieval metrics."""

    span_id: str
    rows: list[DocumentRow]
    choices: list[RelevanceChoice]
    scores: RetrievalScores | None
    name: str = RELEVANCE_NAME


def documents_review(
    span: Span, *, documents: list[Document], user: User, configs: list[AnnotationConfig]
) -> DocumentsReview:
    """The span's documents (`span_display`'s) with their annotations, in one query whatever their number.

    The choices are those of the project's categorical `relevance` config when it has one; the metrics are
    computed as the stored ones are (annotations/retrieval.py), from the same rows.
    """
    annotations = list(
        DocumentAnnotation.objects.filter(span=span)
        .select_related("user")
        .order_by("document_position", "name", "-updated_at")
    )
    identifier = reviewer_identifier(user.pk)
    by_position: dict[int, list[DocumentAnnotation]] = {}
    for annotation in annotations:
        by_position.setdefault(annotation.document_position, []).append(annotation)
    rows = []
    for position, document in enumerate(documents):
        found = by_position.get(position, [])
        mine = next((a for a in found if a.name == RELEVANCE_NAME and a.identifier == identifier), None)
        rows.append(DocumentRow(position, document, found, mine))
    judgements = [
        Judgement(a.document_position, a.annotator_kind, a.score)
        for a in annotations
        if a.name == RELEVANCE_NAME and a.score is not None
    ]
    return DocumentsReview(
        span_id=span.span_id,
        rows=rows,
        choices=relevance_choices(configs),
        scores=retrieval_scores(document_relevances(len(documents), judgements)),
    )


@dataclass(frozen=True)
class ListRow:
    """A row of the Spans or Traces table, as the trace page opens it: its trace with its span selected."""

    trace_id: str
    span_id: str


@dataclass(frozen=True)
class Neighbours:
    """The rows before and after the current one in the list the reviewer came from, in its order."""

    previous: ListRow | None = None
    next: ListRow | None = None


def trace_neighbours(*, review: TraceReview, list_query: str, user: User) -> Neighbours:
    """The list's rows around the selected span (spans tab) or the trace's root span (traces tab), with the
    list's filters and sort; two queries, whatever the list's size.

    The current row need not match the filters any more (labelling it may take it out of a to-do list):
    the neighbours are the rows that sort just before and after it.
    """
    params = QueryDict(list_query)
    tab = params.get("tab") if params.get("tab") in SORTS else "spans"
    # The list's own reading of `sort` and `dir` (span_list_for_review): an unknown sort is start time,
    # anything but `asc` is newest first.
    sort = params.get("sort") if params.get("sort") in SORTS[tab] else "start_time"
    descending = params.get("dir") != "asc"
    anchor = review.selected.pk if tab == "spans" else review.root.pk
    sort_key = SORTS[tab][sort]
    anchor_key = Subquery(Span.objects.filter(pk=anchor).annotate(v=sort_key).values("v")[:1])
    rows = matching_spans(project=review.trace.project, params=params, user=user, tab=tab).annotate(
        sort_key=sort_key
    )
    return Neighbours(
        previous=_first_row(rows, anchor_key, anchor, descending=not descending),
        next=_first_row(rows, anchor_key, anchor, descending=descending),
    )


def _first_row(
    rows: QuerySet[Span], anchor_key: Subquery, anchor: int, *, descending: bool
) -> ListRow | None:
    prefix = "-" if descending else ""
    found = (
        rows.filter(keyset_after("sort_key", anchor_key, anchor, descending=descending))
        .order_by(f"{prefix}sort_key", f"{prefix}pk")
        .values_list("trace__trace_id", "span_id")
        .first()
    )
    return None if found is None else ListRow(*found)
