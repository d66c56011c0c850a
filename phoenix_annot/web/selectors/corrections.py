"""The Corrected output editor of the trace and session pages (the target's output to start from, the
reviewer's own correction and everybody else's, in one query) and its part of the History disclosure."""

import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from phoenix_annot.accounts.models import User
from phoenix_annot.corrections.models import (
    Correction,
    CorrectionEvent,
    CorrectionFormat,
    CorrectionTarget,
    target_key,
)
from phoenix_annot.corrections.outputs import (
    CurrentOutput,
    current_output,
    output_text,
    session_output,
    span_output,
)
from phoenix_annot.tracing.conversations import Turn
from phoenix_annot.tracing.models import Session, Span, Trace


@dataclass
class CorrectionEditor:
    kind: str
    key: str  # how the page's routes name the target: a span or trace id, or a session's pk
    current: CurrentOutput
    mine: Correction | None
    others: list[tuple[Correction, str]]  # everybody else's, with its text, the one a dataset takes first
    errors: list[str] = field(default_factory=list)
    # What the reviewer sent when it was refused, shown again for them to fix.
    sent: str | None = None

    @property
    def text(self) -> str:
        """What the editor holds: what was refused, else the reviewer's correction, else the output."""
        if self.sent is not None:
            return self.sent
        if self.mine is not None:
            return output_text(self.mine.format, self.mine.output)
        return self.current.text

    @property
    def is_json(self) -> bool:
        return self.current.format == CorrectionFormat.JSON


def correction_editor(
    *, kind: CorrectionTarget, target: Span | Trace | Session, user: User
) -> CorrectionEditor:
    corrections = _listed(Correction.objects.of_target(kind, target))
    return _editor(kind, target, corrections, user=user, current=current_output(target))


def _listed(corrections: QuerySet[Correction]) -> QuerySet[Correction]:
    """Corrections as the editor lists them (the one a dataset takes first, first); evaluated once, however
    many editors read them."""
    return corrections.select_related("user").winning_first()


def _editor(
    kind: CorrectionTarget,
    target: Span | Trace | Session,
    corrections: QuerySet[Correction],
    *,
    user: User,
    current: CurrentOutput,
) -> CorrectionEditor:
    rows = [row for row in corrections if row.target_kind == kind]
    mine = next((row for row in rows if row.user_id == user.pk), None)
    return CorrectionEditor(
        kind=kind,
        key=str(target.pk) if isinstance(target, Session) else target_key(target),
        current=current,
        mine=mine,
        others=[(row, output_text(row.format, row.output)) for row in rows if row is not mine],
    )


def parse_output(editor: CorrectionEditor, text: str) -> Any:
    """The output a reviewer wrote in the editor: JSON for a JSON target (ValueError when it is not)."""
    return json.loads(text) if editor.is_json else text


# The History disclosure lists this many changes of corrections (as many as of annotations).
HISTORY_LIMIT = 50


@dataclass(frozen=True)
class CorrectionChange:
    event: CorrectionEvent

    @property
    def before_text(self) -> str:
        return _event_text(self.event.before)

    @property
    def after_text(self) -> str:
        return _event_text(self.event.after)


def _event_text(values: dict[str, Any] | None) -> str:
    if values is None:
        return ""
    gold = " (gold)" if values["gold"] else ""
    return f"{output_text(values['format'], values['output'])}{gold}"


def trace_corrections(*, trace: Trace, span: Span, user: User) -> dict[str, Any]:
    """The trace page's editors (the selected span's and the trace's) and their history."""
    # The span's and the trace's corrections in one query.
    corrections = _listed(
        Correction.objects.filter(
            Q(target_kind=CorrectionTarget.SPAN, span=span)
            | Q(target_kind=CorrectionTarget.TRACE, trace=trace)
        )
    )
    return {
        "correction_editors": {
            "span": _editor(CorrectionTarget.SPAN, span, corrections, user=user, current=span_output(span)),
            # The trace's output is its root span's: the span shown, usually, which costs no query.
            "trace": _editor(
                CorrectionTarget.TRACE,
                trace,
                corrections,
                user=user,
                current=span_output(span) if span.parent_id is None else current_output(trace),
            ),
        },
        "correction_history": trace_correction_history(trace=trace, span=span),
    }


def trace_correction_history(*, trace: Trace, span: Span) -> list[CorrectionChange]:
    return _history(
        Q(target_kind=CorrectionTarget.SPAN, target_pk=span.pk)
        | Q(target_kind=CorrectionTarget.TRACE, target_pk=trace.pk)
    )


def session_corrections(*, session: Session, turns: list[Turn], user: User) -> dict[str, Any]:
    """The session page's editor (from the turns the page shows) and its history."""
    corrections = _listed(Correction.objects.of_target(CorrectionTarget.SESSION, session))
    return {
        "correction_editors": {
            "session": _editor(
                CorrectionTarget.SESSION, session, corrections, user=user, current=session_output(turns)
            )
        },
        "correction_history": session_correction_history(session=session),
    }


def session_correction_history(*, session: Session) -> list[CorrectionChange]:
    return _history(Q(target_kind=CorrectionTarget.SESSION, target_pk=session.pk))


def _history(events: Q) -> list[CorrectionChange]:
    rows = CorrectionEvent.objects.filter(events).select_related("user", "owner").order_by("-pk")
    return [CorrectionChange(event) for event in rows[:HISTORY_LIMIT]]
