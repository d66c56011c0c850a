"""Which correction a dataset example takes, for many rows in one query each."""

from collections.abc import Callable, Iterable

from django.db.models import Q, QuerySet

from phoenix_annot.core.batching import chunks
from phoenix_annot.tracing.models import Span

from .models import Correction, CorrectionTarget


def winning_span_corrections(spans: Iterable[Span]) -> dict[int, Correction]:
    """Span pk -> the correction its example takes: of the span, or of its trace when it is the trace's
    root (a trace's correction is its root span's output corrected); gold first, else the latest."""
    winners: dict[int, Correction] = {}
    for chunk in chunks(spans):
        roots = {span.trace_id: span.pk for span in chunk if not span.parent_id}
        rows = Correction.objects.filter(
            Q(target_kind=CorrectionTarget.SPAN, span__in=[span.pk for span in chunk])
            | Q(target_kind=CorrectionTarget.TRACE, trace__in=roots)
        )
        winners |= _winners(rows, lambda row: row.span_id or roots[row.trace_id])  # noqa: B023 (used at once)
    return winners


def winning_session_corrections(session_pks: Iterable[int]) -> dict[int, Correction]:
    """Session pk -> the correction of its last answer its example takes: gold first, else the latest."""
    winners: dict[int, Correction] = {}
    for chunk in chunks(session_pks):
        rows = Correction.objects.filter(target_kind=CorrectionTarget.SESSION, session__in=chunk)
        winners |= _winners(rows, lambda row: row.session_id)
    return winners


def _winners(rows: QuerySet[Correction], row_key: Callable[[Correction], int]) -> dict[int, Correction]:
    """The first correction of each row, in the order a dataset prefers them."""
    winners: dict[int, Correction] = {}
    for correction in rows.select_related("user").winning_first():
        winners.setdefault(row_key(correction), correction)
    return winners
