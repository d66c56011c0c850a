from django.db import models
from django.db.models import F
from django.db.models.functions import Coalesce

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


class TraceQuerySet(models.QuerySet["Trace"]):
    def for_project(self, project: Project) -> "TraceQuerySet":
        return self.filter(project=project)


class Trace(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="traces")
    trace_id = models.CharField(
        max_length=32, unique=True, help_text="OpenTelemetry trace id, 32 lowercase hex."
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
        indexes = [models.Index(fields=["project", "-start_time"], name="trace_project_start_idx")]
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
