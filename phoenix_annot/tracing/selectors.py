from dataclasses import dataclass

from django.db.models import Count, Max, QuerySet, Sum

from .models import Project, Span


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


def span_tree(spans: list[Span]) -> list[TreeRow]:
    """Spans in depth-first order with their depth; spans whose parent is missing are shown as roots."""
    known = {span.span_id for span in spans}
    children: dict[str | None, list[Span]] = {}
    for span in sorted(spans, key=lambda s: (s.start_time, s.pk)):
        parent = span.parent_id if span.parent_id in known else None
        children.setdefault(parent, []).append(span)
    rows: list[TreeRow] = []
    # An explicit stack: traces can be deeper than Python's recursion limit.
    stack = [(span, 0) for span in reversed(children.get(None, []))]
    while stack:
        span, depth = stack.pop()
        rows.append(TreeRow(span=span, depth=depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(span.span_id, [])))
    # Spans whose parent links form a loop are unreachable from any root; list them rather than lose them.
    placed = {row.span.pk for row in rows}
    rows += [TreeRow(span=span, depth=0) for span in spans if span.pk not in placed]
    return rows


def spans_for_tree(span_pks: list[int]) -> dict[int, Span]:
    """These spans by primary key, without their heavy JSON: enough for rows of the tree."""
    return Span.objects.defer("attributes", "events", "input_value", "output_value").in_bulk(span_pks)
