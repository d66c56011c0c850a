from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min, Q, Sum

from phoenix_annot.core.batching import chunks

from .models import DEFAULT_PROJECT_NAME, Project, Span, StatusCode, Trace


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
    """Delete one span (its children stay, as orphans); an emptied trace goes too, others get new roll-ups."""
    with transaction.atomic():
        trace_pk = span.trace_id
        span.delete()
        if Span.objects.filter(trace_id=trace_pk).exists():
            trace_rollups_refresh(trace_pks=[trace_pk])
        else:
            Trace.objects.filter(pk=trace_pk).delete()


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
        _update_rollups([_rollup_row(row, names[row["trace_id"]]) for row in totals])


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


def _update_rollups(rows: list[tuple[Any, ...]]) -> None:
    """One prepared UPDATE run for every trace: the ORM's bulk_update builds a CASE per field and row,
    which cost more than everything else in an ingest request."""
    table = connection.ops.quote_name(Trace._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(column)} = %s" for column in ROLLUP_COLUMNS)
    with connection.cursor() as cursor:
        key = connection.ops.quote_name(Trace._meta.pk.column)
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {key} = %s", rows)
