"""Store decoded spans: one transaction, bulk statements, a constant number of queries per request."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from phoenix_annot.annotations.services import pending_annotations_apply
from phoenix_annot.core.batching import BATCH_SIZE, chunks
from phoenix_annot.core.bulk import bulk_insert
from phoenix_annot.tracing.models import Project, Span, Trace
from phoenix_annot.tracing.services import trace_rollups_refresh

from .otlp import SpanRecord


@dataclass(frozen=True)
class IngestResult:
    received: int
    stored: int


def spans_ingest(*, records: Sequence[SpanRecord]) -> IngestResult:
    """Store spans, ignoring ones already stored (exporter retries), and refresh their traces' roll-ups.

    A trace keeps the project of its first span; later spans of the trace join it there. API annotations
    that were waiting for these spans are applied in the same transaction.
    """
    if not records:
        return IngestResult(received=0, stored=0)
    with transaction.atomic():
        projects = _projects_by_name({record.project_name for record in records})
        traces = _traces_by_trace_id(records, projects)
        stored_span_ids = _insert_spans(records, traces)
        trace_rollups_refresh(trace_pks=sorted(trace.pk for trace in traces.values()))
        pending_annotations_apply(span_ids=stored_span_ids, trace_ids=traces.keys())
    return IngestResult(received=len(records), stored=len(stored_span_ids))


def _projects_by_name(names: set[str]) -> dict[str, Project]:
    projects = {p.name: p for p in Project.objects.filter(name__in=names)}
    missing = names - projects.keys()
    if missing:
        Project.objects.bulk_create([Project(name=name) for name in sorted(missing)], ignore_conflicts=True)
        projects = {p.name: p for p in Project.objects.filter(name__in=names)}
    return projects


def _traces_by_trace_id(records: Sequence[SpanRecord], projects: dict[str, Project]) -> dict[str, Trace]:
    new_traces: dict[str, Trace] = {}
    for record in records:
        trace = new_traces.get(record.trace_id)
        if trace is None:
            new_traces[record.trace_id] = Trace(
                project=projects[record.project_name],
                trace_id=record.trace_id,
                start_time=record.start_time,
                end_time=record.end_time,
            )
    trace_ids = sorted(new_traces)
    existing = _existing_traces(trace_ids)
    missing = [new_traces[trace_id] for trace_id in trace_ids if trace_id not in existing]
    if missing:
        # Sorted, so concurrent requests sharing traces take row locks in one order and cannot deadlock.
        Trace.objects.bulk_create(missing, ignore_conflicts=True, batch_size=BATCH_SIZE)
        existing = _existing_traces(trace_ids)
    return existing


def _existing_traces(trace_ids: list[str]) -> dict[str, Trace]:
    found: dict[str, Trace] = {}
    for chunk in chunks(trace_ids):
        found.update(
            (trace.trace_id, trace)
            for trace in Trace.objects.filter(trace_id__in=chunk).only("id", "trace_id", "project_id")
        )
    return found


def _insert_spans(records: Sequence[SpanRecord], traces: dict[str, Trace]) -> list[str]:
    unique = {record.span_id: record for record in records}
    already_stored: set[str] = set()
    for chunk in chunks(sorted(unique)):
        already_stored.update(Span.objects.filter(span_id__in=chunk).values_list("span_id", flat=True))
    rows = [
        _span_row(unique[span_id], traces[unique[span_id].trace_id])
        for span_id in sorted(unique)
        if span_id not in already_stored
    ]
    # Conflicts are still skipped: a concurrent request may store the same span meanwhile.
    bulk_insert(Span, rows, skip_conflicts_on="span_id")
    return [row["span_id"] for row in rows]


def _span_row(record: SpanRecord, trace: Trace) -> dict[str, Any]:
    """The span's column values by attribute name, for the ORM and for COPY alike."""
    return {
        "trace_id": trace.pk,
        "project_id": trace.project_id,
        "span_id": record.span_id,
        "parent_id": record.parent_id,
        "name": record.name,
        "span_kind": record.span_kind,
        "start_time": record.start_time,
        "end_time": record.end_time,
        "latency_ms": record.latency_ms,
        "status_code": record.status_code,
        "status_message": record.status_message,
        "attributes": record.attributes,
        "events": record.events,
        "input_value": record.input_value,
        "input_mime_type": record.input_mime_type,
        "output_value": record.output_value,
        "output_mime_type": record.output_mime_type,
        "llm_model_name": record.llm_model_name,
        "llm_token_count_prompt": record.llm_token_count_prompt,
        "llm_token_count_completion": record.llm_token_count_completion,
        "llm_token_count_total": record.llm_token_count_total,
    }
