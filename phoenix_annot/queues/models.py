"""Review queues (issue 13): a team works through a project's spans, traces or sessions, each item reviewed
by N reviewers, the server deciding who reviews what.

The queue's counters live on its rows so that "next item" is one index walk: an item's `review_count` and
`completed_at` change only under its row lock (services.py), which is also what makes "never more than N
submitted reviews per item" hold whatever the concurrency.
"""

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import AnnotationConfig
from phoenix_annot.core.models import TimeStampedModel
from phoenix_annot.tracing.models import Project, Session, Span, Trace

MAX_REVIEWERS_PER_ITEM = 10
MIN_RESERVATION_SECONDS = 30
MAX_RESERVATION_SECONDS = 24 * 60 * 60
DEFAULT_RESERVATION_SECONDS = 15 * 60


class Assignment(models.TextChoices):
    """Who may work on a queue."""

    ALL_ANNOTATORS = "ALL_ANNOTATORS"
    NAMED_REVIEWERS = "NAMED_REVIEWERS"


class ItemKind(models.TextChoices):
    SPAN = "span"
    TRACE = "trace"
    SESSION = "session"


class ReviewOutcome(models.TextChoices):
    SUBMITTED = "SUBMITTED"
    SKIPPED = "SKIPPED"


class ItemState(models.TextChoices):
    """An item's place in the queue, for the team (not for one reviewer)."""

    PENDING = "pending"
    IN_REVIEW = "in_review"
    DONE = "done"
    SKIPPED = "skipped"


class AnnotationQueue(TimeStampedModel):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotation_queues")
    name = models.CharField(max_length=255)
    instructions = models.TextField(blank=True, default="", help_text="Markdown, shown beside every item.")
    reviewers_per_item = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_REVIEWERS_PER_ITEM)],
        help_text=f"N: submitted reviews an item needs to be done (1 to {MAX_REVIEWERS_PER_ITEM}).",
    )
    assignment = models.CharField(
        max_length=16,
        choices=Assignment.choices,
        default=Assignment.ALL_ANNOTATORS,
        help_text="All annotators of the project may review, or only the named reviewers (and admins).",
    )
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="QueueReviewer", related_name="review_queues", blank=True
    )
    reservation_timeout_seconds = models.PositiveIntegerField(
        default=DEFAULT_RESERVATION_SECONDS,
        validators=[MinValueValidator(MIN_RESERVATION_SECONDS), MaxValueValidator(MAX_RESERVATION_SECONDS)],
        help_text="A served item returns to the pool after this long unless submitted or skipped.",
    )
    blind = models.BooleanField(
        default=False, help_text="Reviewers do not see others' labels on an item until they have submitted."
    )
    annotation_configs = models.ManyToManyField(AnnotationConfig, through="QueueConfig", related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who created it: they and admins may change or delete it.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="annotation_queue_unique_name"),
            models.CheckConstraint(
                condition=Q(reviewers_per_item__gte=1, reviewers_per_item__lte=MAX_REVIEWERS_PER_ITEM),
                name="annotation_queue_reviewers_per_item_range",
            ),
            models.CheckConstraint(
                condition=Q(assignment__in=Assignment.values), name="annotation_queue_assignment_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    reservation_timeout_seconds__gte=MIN_RESERVATION_SECONDS,
                    reservation_timeout_seconds__lte=MAX_RESERVATION_SECONDS,
                ),
                name="annotation_queue_reservation_timeout_range",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="annotation_queue_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    def changeable_by(self, user: User) -> bool:
        return user.is_admin or (self.user_id is not None and self.user_id == user.pk)


class QueueConfig(models.Model):
    """An annotation config a queue's reviewers fill in; a required one must be in every submit."""

    queue = models.ForeignKey(AnnotationQueue, on_delete=models.CASCADE, related_name="queue_configs")
    annotation_config = models.ForeignKey(AnnotationConfig, on_delete=models.CASCADE, related_name="+")
    required = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on the review page.")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "annotation_config"], name="queue_config_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.annotation_config_id} in {self.queue_id}"


class QueueReviewer(models.Model):
    """A named reviewer of a queue whose assignment is NAMED_REVIEWERS."""

    queue = models.ForeignKey(AnnotationQueue, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "user"], name="queue_reviewer_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} reviews {self.queue_id}"


class QueueItemQuerySet(models.QuerySet["QueueItem"]):
    def open(self) -> "QueueItemQuerySet":
        """Items that still need submitted reviews."""
        return self.filter(completed_at__isnull=True)

    def not_reviewed_by(self, reviewer_pk: int) -> "QueueItemQuerySet":
        """Items the reviewer has neither submitted nor skipped."""
        return self.exclude(Exists(QueueReview.objects.filter(item=OuterRef("pk"), reviewer_id=reviewer_pk)))

    def with_free_slot(
        self, *, reviewers_per_item: int, reviewer_pk: int, now: datetime
    ) -> "QueueItemQuerySet":
        """Items whose submitted reviews and others' live reservations leave one of N slots free."""
        taken = (
            QueueReservation.objects.live(now)
            .filter(item=OuterRef("pk"))
            .exclude(reviewer_id=reviewer_pk)
            .order_by()
            .values("item")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return self.alias(slots_used=F("review_count") + Coalesce(Subquery(taken), Value(0))).filter(
            slots_used__lt=reviewers_per_item
        )

    def next_for(self, *, queue: AnnotationQueue, reviewer_pk: int, now: datetime) -> "QueueItemQuerySet":
        """The items a reviewer may be served, oldest first (added in one go: in id order)."""
        return (
            self.filter(queue=queue)
            .open()
            .not_reviewed_by(reviewer_pk)
            .with_free_slot(reviewers_per_item=queue.reviewers_per_item, reviewer_pk=reviewer_pk, now=now)
            .order_by("created_at", "pk")
        )

    def in_state(self, state: str, *, now: datetime) -> "QueueItemQuerySet":
        """Items in this ItemState (see `with_state`)."""
        reserved = Exists(QueueReservation.objects.live(now).filter(item=OuterRef("pk")))
        skipped = Exists(QueueReview.objects.filter(item=OuterRef("pk"), outcome=ReviewOutcome.SKIPPED))
        started = Q(review_count__gt=0) | Q(reserved)
        if state == ItemState.DONE:
            return self.filter(completed_at__isnull=False)
        if state == ItemState.IN_REVIEW:
            return self.open().filter(started)
        if state == ItemState.SKIPPED:
            return self.open().exclude(started).filter(skipped)
        return self.open().exclude(started).exclude(skipped)

    def with_counts(self, *, now: datetime) -> "QueueItemQuerySet":
        """Each item with `skip_count` and `reserved_count` (live reservations), for its state."""
        skips = (
            QueueReview.objects.filter(item=OuterRef("pk"), outcome=ReviewOutcome.SKIPPED)
            .order_by()
            .values("item")
            .annotate(count=Count("pk"))
            .values("count")
        )
        reservations = (
            QueueReservation.objects.live(now)
            .filter(item=OuterRef("pk"))
            .order_by()
            .values("item")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return self.annotate(
            skip_count=Coalesce(Subquery(skips), Value(0)),
            reserved_count=Coalesce(Subquery(reservations), Value(0)),
        )


class QueueItem(models.Model):
    """A span, a trace or a session of the queue's project, in the queue once."""

    # Indexed below: by queue_item_list_idx, and each target where it is set (two of the three are empty).
    queue = models.ForeignKey(AnnotationQueue, on_delete=models.CASCADE, related_name="items", db_index=False)
    span = models.ForeignKey(
        Span, on_delete=models.CASCADE, null=True, blank=True, related_name="queue_items", db_index=False
    )
    trace = models.ForeignKey(
        Trace, on_delete=models.CASCADE, null=True, blank=True, related_name="queue_items", db_index=False
    )
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, null=True, blank=True, related_name="queue_items", db_index=False
    )
    review_count = models.PositiveSmallIntegerField(
        default=0, help_text="Submitted reviews (skips are not reviews); changed under the item's row lock."
    )
    completed_at = models.DateTimeField(
        null=True, blank=True, help_text="When it got its N-th submitted review; empty while it needs more."
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = QueueItemQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(span__isnull=False, trace__isnull=True, session__isnull=True)
                | Q(span__isnull=True, trace__isnull=False, session__isnull=True)
                | Q(span__isnull=True, trace__isnull=True, session__isnull=False),
                name="queue_item_one_target",
            ),
            models.UniqueConstraint(
                fields=["queue", "span"], condition=Q(span__isnull=False), name="queue_item_unique_span"
            ),
            models.UniqueConstraint(
                fields=["queue", "trace"], condition=Q(trace__isnull=False), name="queue_item_unique_trace"
            ),
            models.UniqueConstraint(
                fields=["queue", "session"],
                condition=Q(session__isnull=False),
                name="queue_item_unique_session",
            ),
        ]
        indexes = [
            # "Next item" walks this, oldest first, past the few items others hold. By age, not by id alone:
            # ordered by id, PostgreSQL may walk the primary key instead, through every item already done.
            models.Index(
                fields=["queue", "created_at", "id"],
                condition=Q(completed_at__isnull=True),
                name="queue_item_open_age_idx",
            ),
            models.Index(fields=["queue", "-id"], name="queue_item_list_idx"),
            # Deleting a span, trace or session finds its items through these.
            models.Index(fields=["span"], condition=Q(span__isnull=False), name="queue_item_span_idx"),
            models.Index(fields=["trace"], condition=Q(trace__isnull=False), name="queue_item_trace_idx"),
            models.Index(
                fields=["session"], condition=Q(session__isnull=False), name="queue_item_session_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} item {self.pk} of queue {self.queue_id}"

    @property
    def kind(self) -> str:
        if self.span_id is not None:
            return ItemKind.SPAN
        return ItemKind.TRACE if self.trace_id is not None else ItemKind.SESSION


class QueueReservationQuerySet(models.QuerySet["QueueReservation"]):
    def live(self, now: datetime) -> "QueueReservationQuerySet":
        return self.filter(expires_at__gt=now)


class QueueReservation(models.Model):
    """An item served to a reviewer, theirs until they submit, skip or release it, or it expires.

    A reviewer holds at most one item of a queue: asking for the next item while holding one serves it again.
    An expired row counts for nothing and is replaced by the reviewer's next reservation.
    """

    queue = models.ForeignKey(AnnotationQueue, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(QueueItem, on_delete=models.CASCADE, related_name="reservations")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reserved_at = models.DateTimeField(help_text="When the item was first served to the reviewer.")
    expires_at = models.DateTimeField()

    objects = QueueReservationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "reviewer"], name="queue_reservation_one_per_reviewer"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("reserved_at")), name="queue_reservation_expires_after_start"
            ),
        ]
        indexes = [models.Index(fields=["item", "expires_at"], name="queue_reservation_item_idx")]

    def __str__(self) -> str:
        return f"item {self.item_id} held by {self.reviewer_id} until {self.expires_at:%H:%M:%S}"


class QueueReview(models.Model):
    """A reviewer's submitted review of an item, or their skip: each reviewer has one per item.

    The labels themselves are the reviewer's annotations of the item's target (px-app: identifier), written
    by the same services as the Annotate panel's; this row records that the reviewer is done with the item.
    """

    queue = models.ForeignKey(AnnotationQueue, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(QueueItem, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty once the user is deleted; the review still counts toward N.",
    )
    outcome = models.CharField(max_length=16, choices=ReviewOutcome.choices)
    skip_reason = models.TextField(blank=True, default="")
    reserved_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the item was served to the reviewer: time per item starts here.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "reviewer"], name="queue_review_one_per_reviewer"),
            models.CheckConstraint(
                condition=Q(outcome__in=ReviewOutcome.values), name="queue_review_outcome_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome=ReviewOutcome.SKIPPED) | Q(skip_reason=""),
                name="queue_review_reason_only_on_skip",
            ),
        ]
        indexes = [models.Index(fields=["queue", "reviewer", "outcome"], name="queue_review_reviewer_idx")]

    def __str__(self) -> str:
        return f"{self.outcome.lower()} item {self.item_id} by {self.reviewer_id}"


MAX_SAMPLING_PERCENT = 100


class QueueRuleQuerySet(models.QuerySet["QueueRule"]):
    def enabled_in(self, project_pks: Iterable[int]) -> "QueueRuleQuerySet":
        return self.filter(enabled=True, queue__project_id__in=list(project_pks))


class QueueRule(TimeStampedModel):
    """A saved span filter whose matches become items of the queue: those stored when it is saved, then
    those ingested afterwards, as they arrive (rules.py)."""

    queue = models.ForeignKey(AnnotationQueue, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(
        max_length=16,
        choices=ItemKind.choices,
        default=ItemKind.SPAN,
        help_text="What a matching span adds: itself, its trace or its trace's session.",
    )
    filter = models.JSONField(
        default=dict,
        blank=True,
        help_text="SpanFilter parameters as the Spans tab's query string has them (a list for a repeated "
        "one), `condition` the filter expression; {} matches every span of the project.",
    )
    sampling_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SAMPLING_PERCENT)],
        help_text="Add only this share of the matches (1 to 100), chosen by a hash of each span, trace or "
        "session id, so that a backfill and later ingests pick the same ones; empty adds every match.",
    )
    enabled = models.BooleanField(default=True, help_text="A disabled rule adds nothing.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who saved it: the items it adds are theirs, and `labelled_by=me` means them.",
    )

    objects = QueueRuleQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ItemKind.values), name="queue_rule_kind_valid"),
            models.CheckConstraint(
                condition=Q(sampling_percent__isnull=True)
                | Q(sampling_percent__gte=1, sampling_percent__lte=MAX_SAMPLING_PERCENT),
                name="queue_rule_sampling_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"rule {self.pk} of queue {self.queue_id}"
