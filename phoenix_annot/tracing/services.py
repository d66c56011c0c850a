from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from phoenix_annot.core.batching import BATCH_SIZE, chunks

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


def trace_rollups_refresh(*, trace_pks: list[int]) -> None:
    """Recompute roll-ups from all stored spans, so traces split over requests end up complete."""
    for chunk in chunks(trace_pks):
        # Locking first makes a concurrent ingest of the same trace wait, then see our spans.
        list(Trace.objects.select_for_update().filter(pk__in=chunk).order_by("pk").values_list("pk"))
        root_name = Span.objects.filter(trace_id=OuterRef("pk"), parent_id__isnull=True).order_by(
            "start_time"
        )
        rollups = (
            Trace.objects.filter(pk__in=chunk)
            .annotate(
                first_start=Min("spans__start_time"),
                last_end=Max("spans__end_time"),
                n_spans=Count("spans"),
                n_errors=Count("spans", filter=Q(spans__status_code=StatusCode.ERROR)),
                prompt=Coalesce(Sum("spans__llm_token_count_prompt"), 0),
                completion=Coalesce(Sum("spans__llm_token_count_completion"), 0),
                total=Coalesce(Sum("spans__llm_token_count_total"), 0),
                root=Coalesce(Subquery(root_name.values("name")[:1]), F("root_span_name")),
            )
            .values_list(
                "pk",
                "first_start",
                "last_end",
                "n_spans",
                "n_errors",
                "prompt",
                "completion",
                "total",
                "root",
            )
        )
        updated = [
            Trace(
                pk=pk,
                start_time=start,
                end_time=end,
                latency_ms=(end - start).total_seconds() * 1000,
                span_count=n_spans,
                error_count=n_errors,
                llm_token_count_prompt=prompt,
                llm_token_count_completion=completion,
                llm_token_count_total=total,
                root_span_name=root,
            )
            for pk, start, end, n_spans, n_errors, prompt, completion, total, root in rollups
        ]
        Trace.objects.bulk_update(
            updated,
            [
                "start_time",
                "end_time",
                "latency_ms",
                "span_count",
                "error_count",
                "llm_token_count_prompt",
                "llm_token_count_completion",
                "llm_token_count_total",
                "root_span_name",
            ],
            batch_size=BATCH_SIZE,
        )
