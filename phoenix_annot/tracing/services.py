from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min, Model, Q, QuerySet, Sum
from django.utils import timezone

from phoenix_annot.core.batching import BATCH_SIZE, chunks

from .models import DEFAULT_PROJECT_NAME, Project, Session, Span, SpanKind, StatusCode, Trace


class DefaultProjectDeletion(ValidationError):
    pass


class DuplicateProjectName(ValidationError):
    pass


def project_create(*, name: str, description: str = "") -> Project:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A project needs a name."})
    try:
        with transaction.atomic():
            return Project.objects.create(name=name, description=description)
    except IntegrityError:
        raise DuplicateProjectName({"name": f"A project named {name!r} already exists."}) from None


def project_update(*, project: Project, description: str) -> Project:
    project.description = description
    project.save(update_fields=["description", "updated_at"])
    return project


def project_delete(*, project: Project) -> None:
    """Delete a project with all its traces, spans and their annotations; `default` stays."""
    if project.name == DEFAULT_PROJECT_NAME:
        raise DefaultProjectDeletion("The default project cannot be deleted")
    project.delete()


def span_delete(*, span: Span) -> None:
    """Delete one span (its children stay, as orphans); an emptied trace goes too, others get new roll-ups,
    and so does the trace's session (which goes with its last trace)."""
    with transaction.atomic():
        trace_pk = span.trace_id
        session_pk = Trace.objects.filter(pk=trace_pk).values_list("session_id", flat=True).first()
        span.delete()
        if Span.objects.filter(trace_id=trace_pk).exists():
            trace_rollups_refresh(trace_pks=[trace_pk])
        else:
            Trace.objects.filter(pk=trace_pk).delete()
        if session_pk is not None:
            session_rollups_refresh(session_pks=[session_pk])


def sessions_delete(*, sessions: QuerySet[Session]) -> int:
    """Delete these sessions with their traces, spans and annotations, as Phoenix does; how many went."""
    with transaction.atomic():
        _total, by_model = sessions.delete()
    return by_model.get(Session._meta.label, 0)


ROLLUP_COLUMNS = (
    "start_time",
    "end_time",
    "latency_ms",
    "span_count",
    "error_count",
    "llm_token_count_prompt",
    "llm_token_count_completion",
    "llm_token_count_total",
    "root_span_name",
)


def trace_rollups_refresh(*, trace_pks: list[int]) -> None:
    """Recompute roll-ups from all stored spans, so traces split over requests end up complete."""
    for chunk in chunks(trace_pks):
        # Locking first makes a concurrent ingest of the same trace wait, then see our spans.
        names = dict(
            Trace.objects.select_for_update()
            .filter(pk__in=chunk)
            .order_by("pk")
            .values_list("pk", "root_span_name")
        )
        for trace_pk, name in (
            Span.objects.filter(trace_id__in=chunk, parent_id__isnull=True)
            .order_by("trace_id", "-start_time")
            .values_list("trace_id", "name")
        ):
            names[trace_pk] = name  # the earliest root comes last and wins
        totals = (
            Span.objects.filter(trace_id__in=chunk)
            .values("trace_id")
            .annotate(
                first_start=Min("start_time"),
                last_end=Max("end_time"),
                n_spans=Count("pk"),
                n_errors=Count("pk", filter=Q(status_code=StatusCode.ERROR)),
                prompt=Sum("llm_token_count_prompt", default=0),
                completion=Sum("llm_token_count_completion", default=0),
                total=Sum("llm_token_count_total", default=0),
            )
            .order_by()
        )
        _update_rows(Trace, ROLLUP_COLUMNS, [_rollup_row(row, names[row["trace_id"]]) for row in totals])


def _rollup_row(totals: dict[str, Any], root_name: str) -> tuple[Any, ...]:
    start, end = totals["first_start"], totals["last_end"]
    adapt = connection.ops.adapt_datetimefield_value
    return (
        adapt(start),
        adapt(end),
        (end - start).total_seconds() * 1000,
        totals["n_spans"],
        totals["n_errors"],
        totals["prompt"],
        totals["completion"],
        totals["total"],
        root_name,
        totals["trace_id"],
    )


def _update_rows(model: type[Model], columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """One prepared UPDATE run for every row (its values in `columns` order, then its pk): the ORM's
    bulk_update builds a CASE per field and row, which cost more than everything else in an ingest
    request."""
    table = connection.ops.quote_name(model._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(column)} = %s" for column in columns)
    with connection.cursor() as cursor:
        key = connection.ops.quote_name(model._meta.pk.column)
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {key} = %s", rows)


def trace_sessions_attach(*, traces: Iterable[Trace], session_ids: dict[str, str]) -> list[int]:
    """Give each of these traces without a session the one its spans name (`session_ids`, by trace_id),
    creating the sessions not stored yet in the trace's project; the pks of all these traces' sessions.

    A trace keeps the first session it was given, as in Phoenix, even when a later span names another.
    """
    traces = list(traces)
    attached = {trace.session_id for trace in traces if trace.session_id is not None}
    waiting = {
        trace.pk: (session_ids[trace.trace_id], trace.project_id)
        for trace in traces
        if trace.session_id is None and trace.trace_id in session_ids
    }
    if not waiting:
        return sorted(attached)
    projects: dict[str, int] = {}
    for trace_pk in sorted(waiting):
        session_id, project_pk = waiting[trace_pk]
        projects.setdefault(session_id, project_pk)
    stored = sessions_get_or_create(projects=projects)
    table = connection.ops.quote_name(Trace._meta.db_table)
    column, key = (connection.ops.quote_name(name) for name in ("session_id", Trace._meta.pk.column))
    with connection.cursor() as cursor:
        # "IS NULL": a concurrent request that gave the trace a session first wins, as the first span does.
        cursor.executemany(
            f"UPDATE {table} SET {column} = %s WHERE {key} = %s AND {column} IS NULL",
            [(stored[session_id], trace_pk) for trace_pk, (session_id, _project) in sorted(waiting.items())],
        )
    for chunk in chunks(sorted(waiting)):
        attached.update(
            Trace.objects.filter(pk__in=chunk, session__isnull=False).values_list("session_id", flat=True)
        )
    return sorted(attached)


def sessions_get_or_create(*, projects: dict[str, int]) -> dict[str, int]:
    """The pks of the sessions with these session ids, creating the missing ones in the project given
    (`projects`: session id -> project pk); their roll-ups are placeholders until refreshed."""
    stored = _session_pks(projects)
    now = timezone.now()
    missing = [
        Session(project_id=projects[session_id], session_id=session_id, start_time=now, end_time=now)
        for session_id in sorted(projects.keys() - stored.keys())
    ]
    if missing:
        # Sorted, so concurrent requests creating the same sessions take their locks in one order.
        Session.objects.bulk_create(missing, ignore_conflicts=True, batch_size=BATCH_SIZE)
        stored.update(_session_pks([session.session_id for session in missing]))
    return stored


def _session_pks(session_ids: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunks(sorted(session_ids)):
        found.update(Session.objects.filter(session_id__in=chunk).values_list("session_id", "pk"))
    return found


SESSION_ROLLUP_COLUMNS = (
    "start_time",
    "end_time",
    "trace_count",
    "error_count",
    "llm_token_count_prompt",
    "llm_token_count_completion",
    "llm_token_count_total",
    "llm_cost_total",
    "updated_at",
)


def session_rollups_refresh(*, session_pks: list[int]) -> None:
    """Recompute sessions' roll-ups from their stored traces and LLM spans; a session left without
    traces is deleted, as Phoenix deletes a session when its last trace moves away."""
    adapt = connection.ops.adapt_datetimefield_value
    for chunk in chunks(session_pks):
        # Locking first makes a concurrent ingest of the same session wait, then see our traces.
        list(Session.objects.select_for_update().filter(pk__in=chunk).order_by("pk").values_list("pk"))
        turns = {
            row["session_id"]: row
            for row in Trace.objects.filter(session_id__in=chunk)
            .values("session_id")
            .annotate(
                first_start=Min("start_time"),
                last_end=Max("end_time"),
                n_traces=Count("pk"),
                n_errors=Sum("error_count"),
            )
            .order_by()
        }
        tokens = {
            row["trace__session_id"]: row
            for row in Span.objects.filter(trace__session_id__in=chunk, span_kind=SpanKind.LLM)
            .values("trace__session_id")
            .annotate(
                prompt=Sum("llm_token_count_prompt", default=0),
                completion=Sum("llm_token_count_completion", default=0),
                total=Sum("llm_token_count_total", default=0),
                cost=Sum("llm_cost_total", default=0.0),
            )
            .order_by()
        }
        now = adapt(timezone.now())
        empty = {"prompt": 0, "completion": 0, "total": 0, "cost": 0.0}
        rows = [
            (
                adapt(row["first_start"]),
                adapt(row["last_end"]),
                row["n_traces"],
                row["n_errors"],
                tokens.get(pk, empty)["prompt"],
                tokens.get(pk, empty)["completion"],
                tokens.get(pk, empty)["total"],
                tokens.get(pk, empty)["cost"],
                now,
                pk,
            )
            for pk, row in turns.items()
        ]
        _update_rows(Session, SESSION_ROLLUP_COLUMNS, rows)
        if emptied := set(chunk) - turns.keys():
            Session.objects.filter(pk__in=emptied).delete()
