"""The History disclosure of the trace and session pages: the latest annotation events of what the page
shows, newest first, with how many there are in all, in one query."""

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, Window
from django.urls import reverse

from phoenix_annot.annotations.models import EVENT_VALUE_FIELDS, AnnotationEvent, EventAction, PendingTarget
from phoenix_annot.tracing.models import Session, Span, Trace

# The disclosure lists this many events; the export (/v1/projects/{id}/annotation_events) has them all.
HISTORY_LIMIT = 50


@dataclass(frozen=True)
class Change:
    """One value of an annotation, as it was and as it became (None: absent)."""

    field: str
    before: Any
    after: Any

    @property
    def before_text(self) -> str:
        return _text(self.before)

    @property
    def after_text(self) -> str:
        return _text(self.after)


def _text(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


@dataclass(frozen=True)
class HistoryRow:
    event: AnnotationEvent

    @property
    def target(self) -> str:
        """What the event's annotation is of, in the page's words."""
        if self.event.target_kind == PendingTarget.DOCUMENT:
            return f"document #{self.event.document_position}"
        return str(self.event.target_kind)

    @property
    def changes(self) -> list[Change]:
        """The values that differ, or that the annotation had or has when it was created or deleted."""
        before, after = self.event.before or {}, self.event.after or {}
        changes = [
            Change(field, before.get(field), after.get(field))
            for field in EVENT_VALUE_FIELDS
            if before.get(field) != after.get(field)
        ]
        # An empty value appearing or going away is no news.
        return [
            change for change in changes if change.before not in (None, {}) or change.after not in (None, {})
        ]

    @property
    def is_update(self) -> bool:
        return self.event.action == EventAction.UPDATE


@dataclass(frozen=True)
class History:
    rows: list[HistoryRow]
    total: int
    url: str  # where the disclosure reloads itself from when an annotation changes

    @property
    def capped(self) -> bool:
        return self.total > len(self.rows)


def span_history(*, trace: Trace, span: Span) -> History:
    """The events of the span, of its retrieved documents and of its trace."""
    events = Q(target_kind__in=[PendingTarget.SPAN, PendingTarget.DOCUMENT], target_pk=span.pk) | Q(
        target_kind=PendingTarget.TRACE, target_pk=trace.pk
    )
    url = f"{reverse('web:trace', args=[trace.trace_id])}?span={span.span_id}&history=1"
    return _history(events, url=url)


def session_history(*, session: Session) -> History:
    return _history(
        Q(target_kind=PendingTarget.SESSION, target_pk=session.pk),
        url=f"{reverse('web:session', args=[session.pk])}?history=1",
    )


def _history(events: Q, *, url: str) -> History:
    rows = list(
        AnnotationEvent.objects.filter(events)
        .select_related("user", "bulk_action")
        .annotate(total=Window(Count("pk")))
        .order_by("-pk")[:HISTORY_LIMIT]
    )
    return History([HistoryRow(row) for row in rows], rows[0].total if rows else 0, url)
