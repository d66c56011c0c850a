from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone

from phoenix_annot.core.globalid import GlobalIDError, from_global_id, to_global_id
from phoenix_annot.core.models import TimeStampedModel
from phoenix_annot.tracing.models import SESSION_ID_MAX_LENGTH, Project, Session, Span, Trace

NOTE_NAME = "note"
REVIEWER_IDENTIFIER_PREFIX = "px-app:"
# The identifier of an adjudicated (gold) label of a config on a row; only adjudicators may write it.
GOLD_IDENTIFIER = "gold"


def reviewer_identifier(user_pk: int) -> str:
    """The identifier of a reviewer's annotations from the Annotate panel (PHOENIX_COMPAT.md §2.2)."""
    return f"{REVIEWER_IDENTIFIER_PREFIX}{to_global_id('User', user_pk)}"


def annotation_owner_pk(*, user_id: int | None, identifier: str) -> int | None:
    """Whose an annotation is: the user a `px-app:` identifier names, else the user who wrote it.

    A `px-app:` identifier that names no user belongs to nobody, as does a row written without a key.
    """
    if not identifier.startswith(REVIEWER_IDENTIFIER_PREFIX):
        return user_id
    try:
        return from_global_id(identifier.removeprefix(REVIEWER_IDENTIFIER_PREFIX), "User")[1]
    except GlobalIDError:
        return None


class AnnotationType(models.TextChoices):
    CATEGORICAL = "CATEGORICAL"
    CONTINUOUS = "CONTINUOUS"
    FREEFORM = "FREEFORM"


class OptimizationDirection(models.TextChoices):
    MAXIMIZE = "MAXIMIZE"
    MINIMIZE = "MINIMIZE"
    NONE = "NONE"


class AnnotationConfig(TimeStampedModel):
    name = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=16, choices=AnnotationType.choices)
    description = models.TextField(blank=True, default="")
    optimization_direction = models.CharField(
        max_length=8, choices=OptimizationDirection.choices, default=OptimizationDirection.NONE
    )
    values = models.JSONField(
        default=list,
        blank=True,
        help_text='CATEGORICAL only: [{"label": "correct", "score": 1.0}, ...]; labels unique and non-empty.',
    )
    lower_bound = models.FloatField(null=True, blank=True)
    upper_bound = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(
        null=True, blank=True, help_text="FREEFORM only: score threshold to highlight."
    )
    projects = models.ManyToManyField(
        Project, through="ProjectAnnotationConfig", related_name="annotation_configs"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(type__in=AnnotationType.values), name="annotation_config_type_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(optimization_direction__in=OptimizationDirection.values),
                name="annotation_config_direction_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(lower_bound__isnull=True)
                | models.Q(upper_bound__isnull=True)
                | models.Q(lower_bound__lt=models.F("upper_bound")),
                name="annotation_config_bounds_ordered",
            ),
            models.CheckConstraint(
                condition=~models.Q(name=NOTE_NAME), name="annotation_config_name_not_note"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def label_scores(self) -> dict[str, float | None]:
        """Each label of a categorical config -> its score (None where it has none, or is not a label)."""
        return {value["label"]: value.get("score") for value in self.values}

    def score_for(self, label: str | None, score: float | None) -> float | None:
        """The score to store with `label`: `score` when there is one, else the score a categorical config
        gives the label (a chosen label takes it, as in Phoenix's panel)."""
        if score is not None or label is None or self.type != AnnotationType.CATEGORICAL:
            return score
        return self.label_scores().get(label)


class ProjectAnnotationConfig(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    annotation_config = models.ForeignKey(AnnotationConfig, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "annotation_config"], name="project_annotation_config_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.annotation_config_id} on {self.project_id}"


class AnnotatorKind(models.TextChoices):
    HUMAN = "HUMAN"
    LLM = "LLM"
    CODE = "CODE"


class AnnotationSource(models.TextChoices):
    API = "API"
    APP = "APP"


class AnnotationQuerySet(models.QuerySet):
    def owned_by(self, user_pk: int) -> "AnnotationQuerySet":
        """The annotations `annotation_owner_pk` gives to this user."""
        return self.filter(
            models.Q(identifier=reviewer_identifier(user_pk))
            | (models.Q(user_id=user_pk) & ~models.Q(identifier__startswith=REVIEWER_IDENTIFIER_PREFIX))
        )


class AnnotationBase(TimeStampedModel):
    """Fields shared by span and trace annotations; (target, name, identifier) is the upsert key."""

    name = models.CharField(max_length=255)
    label = models.CharField(max_length=255, null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    explanation = models.TextField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    annotator_kind = models.CharField(max_length=8, choices=AnnotatorKind.choices)
    identifier = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="Tells apart annotations of one name on one target; reviewers write px-app:<user id>.",
    )
    source = models.CharField(max_length=8, choices=AnnotationSource.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who wrote it; the row is theirs unless its identifier is another reviewer's px-app: one.",
    )

    objects = AnnotationQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name}: {self.label if self.label is not None else self.score}"


def rating_indexes(row: str, prefix: str) -> list[models.Index]:
    """The indexes agreement reads along (agreement/ratings.py): a name's raters, one index probe from
    each to the next; and every value of a name in row order, holding the columns read so the table is
    not (PostgreSQL; other databases ignore `include`). The row's own lookups use the unique key, which
    starts with the row, so the foreign key needs no index of its own."""
    writer = Coalesce("user_id", models.Value(0), output_field=models.BigIntegerField())
    return [
        models.Index("name", "identifier", "annotator_kind", writer, name=f"{prefix}_rater_idx"),
        models.Index(
            fields=["name", row],
            include=["annotator_kind", "identifier", "user", "label", "score"],
            name=f"{prefix}_rating_idx",
        ),
    ]


class SpanAnnotation(AnnotationBase):
    span = models.ForeignKey(Span, on_delete=models.CASCADE, related_name="annotations", db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["span", "name", "identifier"], name="span_annotation_unique_key"),
            models.CheckConstraint(
                condition=models.Q(annotator_kind__in=AnnotatorKind.values), name="span_annotation_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=AnnotationSource.values), name="span_annotation_source_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["name", "label"], name="span_annotation_name_label_idx"),
            models.Index(fields=["name", "score"], name="span_annotation_name_score_idx"),
            *rating_indexes("span", "span_annot"),
        ]


class TraceAnnotation(AnnotationBase):
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="annotations", db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["trace", "name", "identifier"], name="trace_annotation_unique_key"
            ),
            models.CheckConstraint(
                condition=models.Q(annotator_kind__in=AnnotatorKind.values),
                name="trace_annotation_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=AnnotationSource.values), name="trace_annotation_source_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["name", "label"], name="trace_annot_name_label_idx"),
            models.Index(fields=["name", "score"], name="trace_annot_name_score_idx"),
            *rating_indexes("trace", "trace_annot"),
        ]


class SessionAnnotation(AnnotationBase):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="annotations", db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "name", "identifier"], name="session_annotation_unique_key"
            ),
            models.CheckConstraint(
                condition=models.Q(annotator_kind__in=AnnotatorKind.values),
                name="session_annotation_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=AnnotationSource.values),
                name="session_annotation_source_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["name", "label"], name="session_annot_name_label_idx"),
            models.Index(fields=["name", "score"], name="session_annot_name_score_idx"),
            *rating_indexes("session", "session_annot"),
        ]


class DocumentAnnotation(AnnotationBase):
    """An annotation of one retrieved document of a span (relevance, usually): its position in the span's
    `retrieval.documents`. Phoenix refuses a non-empty identifier over REST; reviewers' px-app: ones keep
    their own label here as they do on spans."""

    span = models.ForeignKey(Span, on_delete=models.CASCADE, related_name="document_annotations")
    document_position = models.PositiveIntegerField(help_text="0-based index into retrieval.documents.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["span", "document_position", "name", "identifier"],
                name="document_annotation_unique_key",
            ),
            models.CheckConstraint(
                condition=models.Q(annotator_kind__in=AnnotatorKind.values),
                name="document_annotation_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=AnnotationSource.values),
                name="document_annotation_source_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["name", "label"], name="document_annot_name_label_idx"),
            models.Index(fields=["name", "score"], name="document_annot_name_score_idx"),
        ]


class RetrievalMetrics(models.Model):
    """Retrieval metrics of one retriever span, from the relevance annotations of its documents
    (`annotations/retrieval.py` says how). Recomputed in the transaction of every document annotation write
    or delete, so the Spans tab filters and rolls them up without reading JSON. A span has a row while at
    least one of its documents is judged."""

    span = models.OneToOneField(
        Span, on_delete=models.CASCADE, primary_key=True, related_name="retrieval_metrics"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    document_count = models.PositiveIntegerField(help_text="k: how many documents the span retrieved.")
    judged_count = models.PositiveIntegerField(help_text="Documents with a scored relevance annotation.")
    relevant_count = models.PositiveIntegerField(help_text="Documents whose relevance is above 0.")
    precision = models.FloatField(help_text="Precision@k: relevant documents / k.")
    ndcg = models.FloatField(help_text="NDCG@k, the relevance scores as gains.")
    hit = models.BooleanField(help_text="At least one relevant document.")

    class Meta:
        verbose_name_plural = "retrieval metrics"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(judged_count__gte=1)
                & models.Q(judged_count__lte=models.F("document_count"))
                & models.Q(relevant_count__lte=models.F("judged_count")),
                name="retrieval_metrics_counts_consistent",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "hit"], name="retrieval_metrics_hit_idx"),
            models.Index(fields=["project", "ndcg"], name="retrieval_metrics_ndcg_idx"),
        ]

    def __str__(self) -> str:
        return f"span {self.span_id}: precision {self.precision:.2f}, NDCG {self.ndcg:.2f}"


class PendingTarget(models.TextChoices):
    SPAN = "span"
    TRACE = "trace"
    SESSION = "session"
    DOCUMENT = "document"


class PendingAnnotation(models.Model):
    """An API annotation (sync=false) for a span, trace or session not ingested yet; applied when it arrives.

    Phoenix retries such annotations in memory for ten minutes and then drops them silently; keeping them
    in the database survives restarts and shows them to admins until they expire.
    """

    target = models.CharField(max_length=8, choices=PendingTarget.choices)
    target_id = models.CharField(
        max_length=SESSION_ID_MAX_LENGTH,
        help_text="OpenTelemetry span or trace id, or session.id, the annotation waits for (a document "
        "annotation waits for its span).",
    )
    document_position = models.PositiveIntegerField(default=0, help_text="Document annotations only.")
    name = models.CharField(max_length=255)
    label = models.CharField(max_length=255, null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    explanation = models.TextField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    annotator_kind = models.CharField(max_length=8, choices=AnnotatorKind.choices)
    identifier = models.CharField(max_length=255, blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    refused_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its target arrived in a project its writer may not write to (it was then kept, not "
        "applied); empty while it waits for its target.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["target", "target_id", "document_position", "name", "identifier"],
                name="pending_annotation_unique_key",
            ),
            models.CheckConstraint(
                condition=models.Q(target__in=PendingTarget.values), name="pending_annotation_target_valid"
            ),
        ]
        indexes = [models.Index(fields=["expires_at"], name="pending_annotation_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.name} for {self.target} {self.target_id} (pending)"


class EventAction(models.TextChoices):
    CREATE = "create", "created"
    UPDATE = "update", "changed"
    DELETE = "delete", "deleted"


class EventVia(models.TextChoices):
    """Through what a change came: the caller of the service says."""

    PAGE = "page", "page"
    API = "api", "API"
    QUEUE = "queue", "queue"
    ADMIN = "admin", "admin"
    INGEST = "ingest", "ingest (an API annotation that waited for its target)"
    BULK = "bulk", "bulk delete (by filter)"
    BULK_LABEL = "label", "bulk label"
    BULK_UNDO = "undo", "undo of a bulk label"


# What an event records of an annotation before and after the change: every value a write replaces but
# its `source` (which `via` says better) and its writer (the event's `user`).
EVENT_VALUE_FIELDS = ("label", "score", "explanation", "metadata", "annotator_kind")


class AnnotationEvent(models.Model):
    """One create, update or delete of an annotation, appended in the transaction of the change and never
    changed afterwards (no service updates or deletes one; the admin only shows them).

    The annotated target and its project are plain ids, not foreign keys: the history of a span, trace,
    session or project outlives its deletion (its OpenTelemetry id or session.id is kept to name it). The
    current annotation rows stay the read path; this is the record of how they came to be.
    """

    project_pk = models.PositiveBigIntegerField(
        help_text="The project of the target when the change was made."
    )
    target_kind = models.CharField(max_length=8, choices=PendingTarget.choices)
    target_pk = models.PositiveBigIntegerField(
        help_text="Primary key of the span, trace or session annotated (a document's span)."
    )
    target_key = models.CharField(
        max_length=SESSION_ID_MAX_LENGTH,
        help_text="OpenTelemetry span or trace id, or session.id, of the target.",
    )
    document_position = models.PositiveIntegerField(null=True, blank=True, help_text="Document events only.")
    annotation_pk = models.PositiveBigIntegerField(
        help_text="Primary key of the annotation row changed; after a delete it names a row that is gone."
    )
    name = models.CharField(max_length=255)
    identifier = models.CharField(max_length=255, blank=True, default="")
    action = models.CharField(max_length=8, choices=EventAction.choices)
    before = models.JSONField(
        null=True, blank=True, help_text=f"{', '.join(EVENT_VALUE_FIELDS)} before; null for a create."
    )
    after = models.JSONField(
        null=True, blank=True, help_text=f"{', '.join(EVENT_VALUE_FIELDS)} after; null for a delete."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who made the change; none for an API write with authentication off.",
    )
    via = models.CharField(max_length=8, choices=EventVia.choices)
    at = models.DateTimeField(default=timezone.now)
    bulk_action = models.ForeignKey(
        "AnnotationBulkAction",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        help_text="The bulk label, or its undo, this change was part of.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(target_kind__in=PendingTarget.values), name="annotation_event_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(via__in=EventVia.values), name="annotation_event_via_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(action=EventAction.CREATE, before__isnull=True, after__isnull=False)
                | models.Q(action=EventAction.UPDATE, before__isnull=False, after__isnull=False)
                | models.Q(action=EventAction.DELETE, before__isnull=False, after__isnull=True),
                name="annotation_event_values_fit_action",
            ),
            models.CheckConstraint(
                condition=models.Q(target_kind=PendingTarget.DOCUMENT, document_position__isnull=False)
                | (~models.Q(target_kind=PendingTarget.DOCUMENT) & models.Q(document_position__isnull=True)),
                name="annotation_event_position_for_documents",
            ),
        ]
        indexes = [
            models.Index(fields=["target_kind", "target_pk", "-id"], name="annotation_event_target_idx"),
            models.Index(fields=["project_pk", "at"], name="annotation_event_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.name} on {self.target_kind} {self.target_key} ({self.via})"


class BulkActionKind(models.TextChoices):
    LABEL = "label", "bulk label"
    UNDO = "undo", "undo"


class AnnotationBulkAction(models.Model):
    """One label, score or explanation of a config written to many spans, traces or sessions at once, or
    the undo of one: its events (`AnnotationEvent.bulk_action`) are the rows it changed, and what undo
    puts back."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=BulkActionKind.choices)
    undoes = models.OneToOneField(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="undone_by",
        help_text="Undo only: the bulk label it undid (once: one undo per label).",
    )
    target_kind = models.CharField(max_length=8, choices=PendingTarget.choices)
    name = models.CharField(max_length=255)
    identifier = models.CharField(max_length=255, blank=True, default="")
    label = models.CharField(max_length=255, null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    explanation = models.TextField(null=True, blank=True)
    annotator_kind = models.CharField(max_length=8, choices=AnnotatorKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    selected_count = models.PositiveIntegerField(help_text="Rows selected (ticked, or matching the filter).")
    created_count = models.PositiveIntegerField(help_text="Annotations created (undo: deleted).")
    replaced_count = models.PositiveIntegerField(help_text="Annotations whose values were replaced.")
    skipped_count = models.PositiveIntegerField(
        default=0, help_text="Rows left alone: another user's annotation the writer may not replace."
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind=BulkActionKind.LABEL, undoes__isnull=True)
                | models.Q(kind=BulkActionKind.UNDO, undoes__isnull=False),
                name="annotation_bulk_action_undo_names_label",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    target_kind__in=[PendingTarget.SPAN, PendingTarget.TRACE, PendingTarget.SESSION]
                ),
                name="annotation_bulk_action_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.name} on {self.selected_count} {self.target_kind}s"


class AnnotationBulkPrior(models.Model):
    """Whose a row a bulk label replaced was, and through what it came: its event keeps its values, not
    these, and undo gives the row back to its owner."""

    action = models.ForeignKey(AnnotationBulkAction, on_delete=models.CASCADE, related_name="priors")
    annotation_pk = models.PositiveBigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=8, choices=AnnotationSource.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["action", "annotation_pk"], name="annotation_bulk_prior_unique"),
        ]

    def __str__(self) -> str:
        return f"annotation {self.annotation_pk} before {self.action_id}"
