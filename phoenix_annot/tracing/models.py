from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from phoenix_annot.core.models import TimeStampedModel

DEFAULT_PROJECT_NAME = "default"


class Project(TimeStampedModel):
    name = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SpanKind(models.TextChoices):
    """OpenInference span kinds; anything else an exporter sends is stored as UNKNOWN."""

    LLM = "LLM"
    CHAIN = "CHAIN"
    RETRIEVER = "RETRIEVER"
    TOOL = "TOOL"
    AGENT = "AGENT"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    GUARDRAIL = "GUARDRAIL"
    EVALUATOR = "EVALUATOR"
    PROMPT = "PROMPT"
    UNKNOWN = "UNKNOWN"


class StatusCode(models.TextChoices):
    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"


# Characters; at four bytes each, still under the size PostgreSQL allows a unique index entry.
SESSION_ID_MAX_LENGTH = 512


def session_id_from_attribute(value: Any) -> str | None:
    """The session a span's `session.id` names, read as Phoenix reads it (any scalar, as text, stripped);
    None for an empty one, a list or mapping, or one longer than a stored session id (the attribute stays)."""
    if value is None or isinstance(value, list | dict):
        return None
    text = str(value).strip()
    return text if 0 < len(text) <= SESSION_ID_MAX_LENGTH else None


def session_idle_since() -> datetime:
    """Sessions whose last span ended at or after this are ongoing: more turns may still come."""
    return timezone.now() - timedelta(seconds=settings.SESSION_IDLE_SECONDS)


class SessionQuerySet(models.QuerySet["Session"]):
    def for_project(self, project: Project) -> "SessionQuerySet":
        return self.filter(project=project)

    def ongoing(self) -> "SessionQuerySet":
        return self.filter(end_time__gte=session_idle_since())

    def ended(self) -> "SessionQuerySet":
        return self.filter(end_time__lt=session_idle_since())


class Session(TimeStampedModel):
    """The traces sharing an OpenInference `session.id`: one conversation, each trace one turn.

    Made and kept current by ingestion only. `session_id` is unique across projects, as in Phoenix: the
    /v1 routes address a session by that string alone. The session belongs to the project of its first
    trace; a trace of another project that carries the same id joins it, as it does in Phoenix.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sessions")
    session_id = models.CharField(
        max_length=SESSION_ID_MAX_LENGTH, help_text="The `session.id` attribute its traces carry."
    )
    # Roll-ups over the session's traces, recomputed by ingestion whenever spans of them arrive.
    start_time = models.DateTimeField(help_text="Start of its first trace.")
    end_time = models.DateTimeField(help_text="End of its last trace.")
    trace_count = models.PositiveIntegerField(default=0, help_text="Turns: the traces of the session.")
    error_count = models.PositiveIntegerField(default=0, help_text="Spans of its traces with status ERROR.")
    llm_token_count_prompt = models.BigIntegerField(
        default=0, help_text="LLM spans only: a total copied onto a root span is not counted twice."
    )
    llm_token_count_completion = models.BigIntegerField(default=0)
    llm_token_count_total = models.BigIntegerField(default=0)
    llm_cost_total = models.FloatField(default=0, help_text="Sum of llm.cost.total over its LLM spans.")

    objects = SessionQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["project", "id"], name="session_project_id_idx"),
            models.Index(fields=["project", "-start_time", "-id"], name="session_project_start_idx"),
            models.Index(fields=["project", "-end_time", "-id"], name="session_project_end_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["session_id"], name="session_id_unique"),
            models.CheckConstraint(condition=~models.Q(session_id=""), name="session_id_not_empty"),
            models.CheckConstraint(
                condition=models.Q(end_time__gte=models.F("start_time")), name="session_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.session_id

    @property
    def status_code(self) -> str:
        return StatusCode.ERROR if self.error_count else StatusCode.OK

    @property
    def is_ongoing(self) -> bool:
        """Whether its last span ended within the idle window (SessionQuerySet.ongoing, for one row)."""
        return self.end_time >= session_idle_since()


class TraceQuerySet(models.QuerySet["Trace"]):
    def for_project(self, project: Project) -> "TraceQuerySet":
        return self.filter(project=project)


class Trace(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="traces")
    trace_id = models.CharField(
        max_length=32, unique=True, help_text="OpenTelemetry trace id, 32 lowercase hex."
    )
    session = models.ForeignKey(
        Session,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="traces",
        help_text="Set once, by the first of its spans ingested with a session.id; deleting the session "
        "deletes its traces, as in Phoenix.",
    )
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    # Roll-ups over the trace's spans, recomputed by ingestion whenever spans of the trace arrive.
    latency_ms = models.FloatField(default=0)
    span_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    root_span_name = models.TextField(blank=True, default="")
    llm_token_count_prompt = models.BigIntegerField(default=0)
    llm_token_count_completion = models.BigIntegerField(default=0)
    llm_token_count_total = models.BigIntegerField(default=0)

    objects = TraceQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["project", "-start_time"], name="trace_project_start_idx"),
            models.Index(fields=["session", "start_time"], name="trace_session_start_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__gte=models.F("start_time")), name="trace_end_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(trace_id__regex=r"^[0-9a-f]{32}$"), name="trace_id_is_32_hex"
            ),
        ]

    def __str__(self) -> str:
        return self.trace_id


class SpanQuerySet(models.QuerySet["Span"]):
    def for_project(self, project: Project) -> "SpanQuerySet":
        return self.filter(project=project)

    def roots(self) -> "SpanQuerySet":
        return self.filter(parent_id__isnull=True)


class Span(models.Model):
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="spans")
    project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        related_name="spans",
        help_text="Copy of trace.project, for fast listing.",
    )
    span_id = models.CharField(
        max_length=16, unique=True, help_text="OpenTelemetry span id, 16 lowercase hex."
    )
    parent_id = models.CharField(
        max_length=16,
        null=True,
        blank=True,
        help_text="span_id of the parent span; not a foreign key, as parents may arrive later.",
    )
    name = models.TextField()
    span_kind = models.CharField(max_length=16, choices=SpanKind.choices, default=SpanKind.UNKNOWN)
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    latency_ms = models.FloatField()
    status_code = models.CharField(max_length=8, choices=StatusCode.choices, default=StatusCode.UNSET)
    status_message = models.TextField(blank=True, default="")
    attributes = models.JSONField(default=dict, help_text="OpenInference attributes, nested by dot segments.")
    events = models.JSONField(default=list)
    # Extracted from attributes for the columns and filters of the review table.
    input_value = models.TextField(blank=True, default="")
    input_mime_type = models.CharField(max_length=100, blank=True, default="")
    output_value = models.TextField(blank=True, default="")
    output_mime_type = models.CharField(max_length=100, blank=True, default="")
    llm_model_name = models.CharField(max_length=255, blank=True, default="")
    llm_token_count_prompt = models.BigIntegerField(null=True, blank=True)
    llm_token_count_completion = models.BigIntegerField(null=True, blank=True)
    llm_token_count_total = models.BigIntegerField(null=True, blank=True)
    llm_cost_total = models.FloatField(null=True, blank=True, help_text="llm.cost.total, when a number.")
    created_at = models.DateTimeField(auto_now_add=True, help_text="When the span was ingested.")

    objects = SpanQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["project", "-start_time", "-id"], name="span_project_start_idx"),
            models.Index(
                fields=["project", "-start_time", "-id"],
                condition=models.Q(parent_id__isnull=True),
                name="span_project_root_start_idx",
            ),
            models.Index(fields=["project", "span_kind", "-start_time"], name="span_project_kind_idx"),
            # The review table's other sort keys; read backwards for descending order.
            models.Index(fields=["project", "latency_ms", "id"], name="span_project_latency_idx"),
            models.Index(
                F("project"), Coalesce("llm_token_count_total", 0), F("id"), name="span_project_tokens_idx"
            ),
            models.Index(fields=["trace", "start_time"], name="span_trace_start_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__gte=models.F("start_time")), name="span_end_after_start"
            ),
            models.CheckConstraint(condition=models.Q(span_kind__in=SpanKind.values), name="span_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(status_code__in=StatusCode.values), name="span_status_code_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(span_id__regex=r"^[0-9a-f]{16}$"), name="span_id_is_16_hex"
            ),
            models.CheckConstraint(
                condition=models.Q(parent_id__isnull=True) | models.Q(parent_id__regex=r"^[0-9a-f]{16}$"),
                name="span_parent_id_is_16_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.span_id})"
