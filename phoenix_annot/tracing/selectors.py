from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, QuerySet, Sum

from phoenix_annot.core.batching import chunks

from .models import Project, Session, Span, Trace


def projects_with_activity() -> QuerySet[Project]:
    """Projects with trace and span counts and the time of their latest span, in one query."""
    return Project.objects.annotate(
        trace_count=Count("traces"),
        span_count=Sum("traces__span_count", default=0),
        last_activity=Max("traces__end_time"),
    ).order_by("name")


@dataclass(frozen=True)
class TreeRow:
    span: Span
    depth: int


@dataclass(frozen=True)
class TreePlace:
    """Where a span sits in its trace's tree: enough to order and indent it, nothing to show."""

    pk: int
    span_id: str
    depth: int


def trace_tree_order(trace: Trace) -> list[TreePlace]:
    """The trace's spans in depth-first order, children by start time; spans whose parent is missing are
    shown as roots. Read as three plain columns a span (model instances made it 10x slower at 100k spans)."""
    rows = list(
        Span.objects.filter(trace=trace)
        .order_by("start_time", "pk")
        .values_list("pk", "span_id", "parent_id")
    )
    known = {span_id for _pk, span_id, _parent in rows}
    children: dict[str | None, list[tuple[int, str]]] = {}
    for pk, span_id, parent_id in rows:
        children.setdefault(parent_id if parent_id in known else None, []).append((pk, span_id))
    order: list[TreePlace] = []
    # An explicit stack: traces can be deeper than Python's recursion limit.
    stack = [(pk, span_id, 0) for pk, span_id in reversed(children.get(None, []))]
    while stack:
        pk, span_id, depth = stack.pop()
        order.append(TreePlace(pk=pk, span_id=span_id, depth=depth))
        stack.extend((child, child_id, depth + 1) for child, child_id in reversed(children.pop(span_id, [])))
    # Spans whose parent links form a loop are unreachable from any root; list them rather than lose them.
    placed = {place.pk for place in order}
    order += [TreePlace(pk=pk, span_id=span_id, depth=0) for pk, span_id, _parent in rows if pk not in placed]
    return order


def spans_for_tree(span_pks: list[int]) -> dict[int, Span]:
    """These spans by primary key, without their heavy JSON: enough for rows of the tree."""
    return Span.objects.defer("attributes", "events", "input_value", "output_value").in_bulk(span_pks)


def sessions_with_turns(sessions: list[Session]) -> dict[int, list[dict[str, Any]]]:
    """The traces (turns) of these sessions, by session pk, in start order: one query for a whole page."""
    turns: dict[int, list[dict[str, Any]]] = {session.pk: [] for session in sessions}
    for chunk in chunks(list(turns)):
        for row in (
            Trace.objects.filter(session_id__in=chunk)
            .order_by("start_time", "pk")
            .values("pk", "trace_id", "start_time", "end_time", "session_id")
        ):
            turns[row["session_id"]].append(row)
    return turns
