"""The Sessions tab and the session page: conversations, each trace of a session one turn."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import QueryDict

from phoenix_annot.accounts.access import row_or_404
from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import AnnotationConfig, SessionAnnotation
from phoenix_annot.core.keyset import decode_cursor, encode_cursor, keyset_after
from phoenix_annot.filtering.feedback import (
    FeedbackRollup,
    FeedbackSummary,
    feedback_rollups_for_sessions,
    feedback_summaries_for_sessions,
)
from phoenix_annot.filtering.sessions import SessionFilter
from phoenix_annot.tracing.conversations import Turn, first_roots, last_user_text, session_turns
from phoenix_annot.tracing.models import Project, Session, Span, Trace

from .configs import configs_by_name
from .spans import page_size_from
from .traces import AnnotationTargetView, session_panel

# What a row of the tab reads of a root span: its texts, never its attributes.
_ROOT_TEXT_FIELDS = ("trace_id", "start_time", "input_value", "input_mime_type", "output_value")


@dataclass(frozen=True)
class SessionRow:
    session: Session
    first_input: str
    last_output: str


@dataclass(frozen=True)
class SessionPage:
    project: Project
    filterset: SessionFilter
    rows: list[SessionRow]
    summaries: dict[int, list[FeedbackSummary]]
    rollups: list[FeedbackRollup]
    total: int
    page_size: int
    next_cursor: str | None
    configs_by_name: dict[str, AnnotationConfig]
    annotation_names: list[str]


def idle_minutes() -> int:
    """The idle window after which a session has ended (SESSION_IDLE_SECONDS), in whole minutes."""
    return max(1, round(settings.SESSION_IDLE_SECONDS / 60))


def session_filterset(*, project: Project, params: QueryDict) -> SessionFilter:
    return SessionFilter(params, queryset=Session.objects.for_project(project))


def matching_sessions(*, project: Project, params: QueryDict) -> QuerySet[Session]:
    """The sessions the tab lists with these filters; none when a filter has an error, as the tab shows."""
    filterset = session_filterset(project=project, params=params)
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


def session_list_for_review(*, project: Project, params: QueryDict) -> SessionPage:
    """One page of the project's sessions, newest first, with their first input and last output."""
    filterset = session_filterset(project=project, params=params)
    page_size = page_size_from(params.get("size"))
    sessions: list[Session] = []
    next_cursor, rollups, total = None, [], 0
    if filterset.is_valid():
        matching = filterset.qs
        rollups = feedback_rollups_for_sessions(matching)
        sessions, next_cursor = _keyset_page(matching, size=page_size, cursor=params.get("cursor"))
        total = matching.count()
    configs = configs_by_name()
    return SessionPage(
        project=project,
        filterset=filterset,
        rows=_with_texts(sessions),
        summaries=feedback_summaries_for_sessions(session.pk for session in sessions),
        rollups=rollups,
        total=total,
        page_size=page_size,
        next_cursor=next_cursor,
        configs_by_name=configs,
        annotation_names=sorted({rollup.name for rollup in rollups} | set(configs)),
    )


def _keyset_page(
    sessions: QuerySet[Session], *, size: int, cursor: str | None
) -> tuple[list[Session], str | None]:
    """Newest first by (start time, id), continuing after the cursor's row; a tampered cursor restarts."""
    turns = Trace.objects.filter(session=OuterRef("pk")).values("pk")
    sessions = sessions.annotate(
        first_trace=Subquery(turns.order_by("start_time", "pk")[:1]),
        last_trace=Subquery(turns.order_by("-start_time", "-pk")[:1]),
    )
    after = decode_cursor(cursor, by_time=True) if cursor else None
    if after is not None:
        sessions = sessions.filter(keyset_after("start_time", after[0], after[1], descending=True))
    rows = list(sessions.order_by("-start_time", "-pk")[: size + 1])
    next_cursor = encode_cursor(rows[size - 1].start_time, rows[size - 1].pk) if len(rows) > size else None
    return rows[:size], next_cursor


def _with_texts(sessions: list[Session]) -> list[SessionRow]:
    """Each session with the input of its first turn and the output of its last, in one query for all."""
    trace_pks = {pk for s in sessions for pk in (s.first_trace, s.last_trace) if pk is not None}
    roots = first_roots(Span.objects.filter(trace_id__in=trace_pks).only(*_ROOT_TEXT_FIELDS))
    return [
        SessionRow(
            session=session,
            first_input=last_user_text(roots[session.first_trace]) if session.first_trace in roots else "",
            last_output=roots[session.last_trace].output_value if session.last_trace in roots else "",
        )
        for session in sessions
    ]


@dataclass(frozen=True)
class SessionReview:
    session: Session
    turns: list[Turn]
    panel: AnnotationTargetView
    configs_by_name: dict[str, AnnotationConfig]


def session_for_review(*, pk: int, user: User) -> SessionReview:
    """The session page: its turns in order, each read from its trace's root span, and its Annotate panel."""
    session = row_or_404(user, Session.objects.select_related("project"), pk=pk)
    return SessionReview(
        session=session,
        turns=session_turns([session.pk])[session.pk],
        panel=session_panel(session, user=user, configs=session_configs(session.project)),
        configs_by_name=configs_by_name(),
    )


def session_configs(project: Project) -> list[AnnotationConfig]:
    """The project's configs for the session panel, those already used on its sessions first.

    A config does not say what it judges, and a project's span configs (correctness, ...) come with it: this
    way the digits and `e` start on the ones reviewers judge conversations by (the demo's outcome).
    """
    used = SessionAnnotation.objects.filter(session__project=project, name=OuterRef("name"))
    configs = (
        AnnotationConfig.objects.filter(projects=project).annotate(on_sessions=Exists(used)).order_by("name")
    )
    return sorted(configs, key=lambda config: not config.on_sessions)


@dataclass(frozen=True)
class SessionNeighbours:
    """The sessions before and after this one in the list the reviewer came from (their pks)."""

    previous: int | None = None
    next: int | None = None


def session_neighbours(*, session: Session, list_query: str) -> SessionNeighbours:
    """The list's sessions around this one, with the list's filters, newest first; two queries.

    The session need not match the filters any more (labelling it may take it out of a to-do list).
    """
    rows = matching_sessions(project=session.project, params=QueryDict(list_query))
    return SessionNeighbours(
        previous=_first_after(rows, session, descending=False),
        next=_first_after(rows, session, descending=True),
    )


def _first_after(rows: QuerySet[Session], session: Session, *, descending: bool) -> int | None:
    prefix = "-" if descending else ""
    return (
        rows.filter(keyset_after("start_time", session.start_time, session.pk, descending=descending))
        .order_by(f"{prefix}start_time", f"{prefix}pk")
        .values_list("pk", flat=True)
        .first()
    )
