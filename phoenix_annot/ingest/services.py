"""Store decoded spans: one transaction, bulk statements, a constant number of queries per batch of spans."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from phoenix_annot.accounts.access import AnyUser, projects_unwritable
from phoenix_annot.accounts.services import creator_memberships_add
from phoenix_annot.annotations.services import pending_annotations_apply
from phoenix_annot.core.batching import BATCH_SIZE, chunks
from phoenix_annot.core.bulk import bulk_insert
from phoenix_annot.queues.rules import queue_rules_apply
from phoenix_annot.tracing.models import Project, Span, Trace
from phoenix_annot.tracing.services import (
    session_rollups_refresh,
    sessions_get_or_create,
    trace_rollups_refresh,
    trace_sessions_attach,
)

from .otlp import SpanRecord


@dataclass(frozen=True)
class RejectedSpan:
    """A span not stored because its span_id, which names a span on its own, belongs to another trace."""

    span_id: str
    trace_id: str
    holding_trace_id: str


@dataclass(frozen=True)
class IngestResult:
    received: int
    stored: int
    rejected: tuple[RejectedSpan, ...] = ()


@dataclass
class _Batches:
    """What one ingest has seen so far, carried from batch to batch."""

    projects: dict[str, Project] = field(default_factory=dict)
    # The pks of the projects this request created (not a concurrent one): their creator becomes a member.
    created_project_pks: set[int] = field(default_factory=set)
    traces: dict[str, Trace] = field(default_factory=dict)
    # span_id -> trace_id of every span of the request kept so far (stored now or before).
    span_traces: dict[str, str] = field(default_factory=dict)
    stored_span_ids: list[str] = field(default_factory=list)
    # trace_id -> the session.id its stored spans name: a root span's, else the first in span_id order.
    trace_sessions: dict[str, str] = field(default_factory=dict)
    rejected: list[RejectedSpan] = field(default_factory=list)
    received: int = 0


class IngestRefused(PermissionDenied):
    """A request writing to projects its writer may not write to (per-project access); nothing stored."""

    def __init__(self, project_names: list[str]) -> None:
        self.project_names = project_names
        names = ", ".join(repr(name) for name in project_names)
        super().__init__(
            f"This API key's user may not write spans to project {names} (per-project access); "
            "nothing was stored."
        )


def spans_ingest(*, records: Iterable[SpanRecord], writer: AnyUser | None = None) -> IngestResult:
    """Store spans, ignoring ones already stored (exporter retries), and refresh their traces' roll-ups.

    Records are read and stored a batch at a time, so a large request never holds all its decoded spans in
    memory; it is still one transaction: an error in any batch (a record that fails to decode included)
    stores nothing. A span whose span_id is already stored, or earlier in the request, in another trace is
    rejected and returned, not stored: span ids name spans on their own across the API.

    A trace keeps the project of its first span; later spans of the trace join it there. API annotations
    that were waiting for these spans are applied in the same transaction, and then the review queues'
    rules add the spans they match.

    With a `writer` (the caller of /v1/traces; internal callers pass none), every project the spans land
    in, by name or by the existing trace they join, must be one the writer may write to, or the request is
    refused whole (IngestRefused): once memberships exist, a key stores spans only in its owner's projects.
    A project the request creates is theirs: its writer becomes a member of it, in the same transaction
    (accounts.services.creator_memberships_add).
    """
    state = _Batches()
    with transaction.atomic():
        for batch in chunks(records):
            state.received += len(batch)
            _ingest_batch(batch, state)
        if writer is not None:
            creator_memberships_add(user=writer, project_pks=state.created_project_pks)
            refused = projects_unwritable(writer, {trace.project_id for trace in state.traces.values()})
            if refused:
                raise IngestRefused(refused)
        if state.traces:
            trace_rollups_refresh(trace_pks=sorted(trace.pk for trace in state.traces.values()))
            session_pks = trace_sessions_attach(
                traces=state.traces.values(), session_ids=state.trace_sessions
            )
            session_rollups_refresh(session_pks=session_pks)
            pending_annotations_apply(
                span_ids=state.stored_span_ids,
                trace_ids=state.traces.keys(),
                session_ids=set(state.trace_sessions.values()),
            )
            queue_rules_apply(
                project_pks={trace.project_id for trace in state.traces.values()},
                span_ids=state.stored_span_ids,
            )
    return IngestResult(
        received=state.received, stored=len(state.stored_span_ids), rejected=tuple(state.rejected)
    )


def _ingest_batch(batch: list[SpanRecord], state: _Batches) -> None:
    new = _new_records(batch, state)
    if not new:
        return
    names = {record.project_name for record in new} - state.projects.keys()
    if names:
        state.projects.update(_projects_by_name(names, created=state.created_project_pks))
    for record in new:
        if record.session_id is None:
            continue
        if record.parent_id is None:
            state.trace_sessions[record.trace_id] = record.session_id
        else:
            state.trace_sessions.setdefault(record.trace_id, record.session_id)
    trace_ids = {record.trace_id for record in new} - state.traces.keys()
    if trace_ids:
        records = [r for r in new if r.trace_id in trace_ids]
        state.traces.update(_traces_by_trace_id(records, state))
    rows = [_span_row(record, state.traces[record.trace_id]) for record in new]
    # Conflicts are still skipped: a concurrent request may store the same span meanwhile.
    bulk_insert(Span, rows, skip_conflicts_on="span_id")
    state.stored_span_ids.extend(record.span_id for record in new)


def _session_pks(records: list[SpanRecord], state: _Batches) -> dict[str, int]:
    """The pk of the session each trace of `records` (all new) names, by trace_id, creating missing
    sessions: new traces are created in their sessions, with no UPDATE of each trace afterwards."""
    named = {
        r.trace_id: state.trace_sessions[r.trace_id] for r in records if r.trace_id in state.trace_sessions
    }
    if not named:
        return {}
    projects = {r.trace_id: state.projects[r.project_name].pk for r in records}
    # A new session goes to the project of its first trace (by trace_id, when one request holds several).
    sessions = sessions_get_or_create(
        projects={
            session_id: projects[trace_id] for trace_id, session_id in sorted(named.items(), reverse=True)
        }
    )
    return {trace_id: sessions[session_id] for trace_id, session_id in named.items()}


def _new_records(batch: list[SpanRecord], state: _Batches) -> list[SpanRecord]:
    """The batch's spans not yet stored, in span_id order (so concurrent requests lock rows in one order);
    those whose span_id another trace holds go to `state.rejected`."""
    unseen = sorted({record.span_id for record in batch} - state.span_traces.keys())
    stored = dict(
        Span.objects.filter(span_id__in=unseen).values_list("span_id", "trace__trace_id").order_by()
    )
    new: list[SpanRecord] = []
    for record in batch:
        holder = state.span_traces.get(record.span_id) or stored.get(record.span_id)
        if holder is None:
            new.append(record)
            state.span_traces[record.span_id] = record.trace_id
        elif holder != record.trace_id:
            state.rejected.append(RejectedSpan(record.span_id, record.trace_id, holder))
    return sorted(new, key=lambda record: record.span_id)


def _projects_by_name(names: set[str], *, created: set[int]) -> dict[str, Project]:
    """The projects of these names, creating the missing ones; the pks of those created go to `created`."""
    projects = {p.name: p for p in Project.objects.filter(name__in=names)}
    missing = names - projects.keys()
    if missing:
        created.update(_projects_create(sorted(missing)))
        projects = {p.name: p for p in Project.objects.filter(name__in=names)}
    return projects


def _projects_create(names: list[str]) -> set[int]:
    """Insert projects of these names but those a concurrent request inserted first; the pks inserted here.

    In SQL: bulk_create(ignore_conflicts=True) cannot tell which rows it inserted, and a writer who became
    a member of a project another request just created would see that request's spans.
    """
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    table = connection.ops.quote_name(Project._meta.db_table)
    rows = ", ".join(["(%s, '', %s, %s)"] * len(names))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, description, created_at, updated_at) VALUES {rows} "
            "ON CONFLICT (name) DO NOTHING RETURNING id",
            [value for name in names for value in (name, now, now)],
        )
        return {pk for (pk,) in cursor.fetchall()}


def _traces_by_trace_id(records: list[SpanRecord], state: _Batches) -> dict[str, Trace]:
    """The traces of these records by trace_id, creating those not stored yet in their project and in the
    session their spans name."""
    trace_ids = sorted({record.trace_id for record in records})
    existing = _existing_traces(trace_ids)
    records = [record for record in records if record.trace_id not in existing]
    if not records:
        return existing
    sessions = _session_pks(records, state)
    new_traces: dict[str, Trace] = {}
    for record in records:
        if record.trace_id not in new_traces:
            new_traces[record.trace_id] = Trace(
                project=state.projects[record.project_name],
                session_id=sessions.get(record.trace_id),
                trace_id=record.trace_id,
                start_time=record.start_time,
                end_time=record.end_time,
            )
    # Sorted, so concurrent requests sharing traces take row locks in one order and cannot deadlock.
    missing = [new_traces[trace_id] for trace_id in sorted(new_traces)]
    Trace.objects.bulk_create(missing, ignore_conflicts=True, batch_size=BATCH_SIZE)
    return _existing_traces(trace_ids)


def _existing_traces(trace_ids: list[str]) -> dict[str, Trace]:
    found: dict[str, Trace] = {}
    for chunk in chunks(trace_ids):
        found.update(
            (trace.trace_id, trace)
            for trace in Trace.objects.filter(trace_id__in=chunk).only(
                "id", "trace_id", "project_id", "session_id"
            )
        )
    return found


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
        "llm_cost_total": record.llm_cost_total,
    }
