"""Corrected outputs: the answer a span, trace or session should have given, as a reviewer writes it.

A correction is a first-class record beside the annotations, one per target and reviewer (each reviewer
holds their own, as each holds their own label). Its history is `CorrectionEvent`, appended in the
transaction of every change and never changed afterwards, like the annotations' `AnnotationEvent`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from phoenix_annot.annotations.models import EventAction
from phoenix_annot.core.models import TimeStampedModel
from phoenix_annot.tracing.models import SESSION_ID_MAX_LENGTH, Project, Session, Span, Trace


class CorrectionTarget(models.TextChoices):
    SPAN = "span"
    TRACE = "trace"
    SESSION = "session"


class CorrectionFormat(models.TextChoices):
    """What the corrected output is, taken from what the target's own output is."""

    MESSAGE = "message", "the assistant's chat message (its text)"
    TEXT = "text", "plain text"
    JSON = "json", "JSON"


class CorrectionVia(models.TextChoices):
    """Through what a change came: the caller of the service says."""

    PAGE = "page", "page"
    API = "api", "API"
    QUEUE = "queue", "queue"


def user_reference(help_text: str) -> models.ForeignKey:
    """A user the row names, kept (as null) when the user is deleted."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=help_text,
    )


class CorrectionQuerySet(models.QuerySet["Correction"]):
    def of_target(self, kind: str, target: Span | Trace | Session) -> "CorrectionQuerySet":
        return self.filter(target_kind=kind, **{kind: target})

    def winning_first(self) -> "CorrectionQuerySet":
        """The correction a dataset takes first: a gold one (an adjudicator's), else the latest written."""
        return self.order_by("-gold", "-updated_at", "-pk")


class Correction(TimeStampedModel):
    target_kind = models.CharField(max_length=8, choices=CorrectionTarget.choices)
    span = models.ForeignKey(
        Span, on_delete=models.CASCADE, null=True, blank=True, related_name="corrections"
    )
    trace = models.ForeignKey(
        Trace, on_delete=models.CASCADE, null=True, blank=True, related_name="corrections"
    )
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, null=True, blank=True, related_name="corrections"
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", help_text="The target's project, for listing."
    )
    format = models.CharField(max_length=8, choices=CorrectionFormat.choices)
    output = models.JSONField(
        help_text="The corrected output: a string for the message and text formats, any JSON for json."
    )
    gold = models.BooleanField(
        default=False, help_text="Written by an adjudicator: a dataset takes it over everybody else's."
    )
    user = user_reference("Whose correction it is: only they (and admins) change or delete it.")

    objects = CorrectionQuerySet.as_manager()

    class Meta:
        constraints = [
            *(
                models.UniqueConstraint(
                    fields=[kind, "user"],
                    condition=Q(**{f"{kind}__isnull": False}),
                    name=f"correction_{kind}_user_unique",
                )
                for kind in CorrectionTarget.values
            ),
            models.CheckConstraint(
                condition=Q(
                    target_kind=CorrectionTarget.SPAN,
                    span__isnull=False,
                    trace__isnull=True,
                    session__isnull=True,
                )
                | Q(
                    target_kind=CorrectionTarget.TRACE,
                    span__isnull=True,
                    trace__isnull=False,
                    session__isnull=True,
                )
                | Q(
                    target_kind=CorrectionTarget.SESSION,
                    span__isnull=True,
                    trace__isnull=True,
                    session__isnull=False,
                ),
                name="correction_one_target_of_its_kind",
            ),
            models.CheckConstraint(
                condition=Q(format__in=CorrectionFormat.values), name="correction_format_valid"
            ),
        ]
        indexes = [models.Index(fields=["project", "-id"], name="correction_project_idx")]

    def __str__(self) -> str:
        return f"corrected output of {self.target_kind} {self.target_key}"

    @property
    def target(self) -> Span | Trace | Session:
        return getattr(self, self.target_kind)

    @property
    def target_key(self) -> str:
        """The span's or trace's OpenTelemetry id, or the session.id: how the API names the target."""
        return target_key(self.target)


def target_key(target: Span | Trace | Session) -> str:
    if isinstance(target, Span):
        return target.span_id
    if isinstance(target, Trace):
        return target.trace_id
    return target.session_id


# What an event records of a correction before and after the change.
EVENT_VALUE_FIELDS = ("format", "output", "gold")


class CorrectionEvent(models.Model):
    """One create, update or delete of a correction (who, when, through what, the values before and after).

    Targets and projects are plain ids, as in `AnnotationEvent`: the history outlives what it is about.
    """

    project_pk = models.PositiveBigIntegerField(
        help_text="The project of the target when the change was made."
    )
    target_kind = models.CharField(max_length=8, choices=CorrectionTarget.choices)
    target_pk = models.PositiveBigIntegerField()
    target_key = models.CharField(
        max_length=SESSION_ID_MAX_LENGTH,
        help_text="OpenTelemetry span or trace id, or session.id, of the target.",
    )
    correction_pk = models.PositiveBigIntegerField(help_text="After a delete it names a row that is gone.")
    owner = user_reference("Whose correction changed (an admin may change another reviewer's).")
    action = models.CharField(max_length=8, choices=EventAction.choices)
    before = models.JSONField(
        null=True, blank=True, help_text="format, output and gold before; null for a create."
    )
    after = models.JSONField(
        null=True, blank=True, help_text="format, output and gold after; null for a delete."
    )
    user = user_reference("Who made the change.")
    via = models.CharField(max_length=8, choices=CorrectionVia.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(action=EventAction.CREATE, before__isnull=True, after__isnull=False)
                | Q(action=EventAction.UPDATE, before__isnull=False, after__isnull=False)
                | Q(action=EventAction.DELETE, before__isnull=False, after__isnull=True),
                name="correction_event_values_fit_action",
            ),
            models.CheckConstraint(
                condition=Q(via__in=CorrectionVia.values), name="correction_event_via_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["target_kind", "target_pk", "-id"], name="correction_event_target_idx")
        ]

    def __str__(self) -> str:
        return f"{self.action} corrected output of {self.target_kind} {self.target_key} ({self.via})"
