"""Queue writes: queues, their items, and the reviewers' next / submit / skip / release.

Every change to an item's reviews or reservations is made holding the item's row lock: PostgreSQL's
`SELECT ... FOR UPDATE` (SKIP LOCKED when looking for a next item, so that reviewers never wait on each
other); on SQLite every transaction takes the database's write lock before its first read (settings:
`transaction_mode` IMMEDIATE), which serialises them. Under that lock an item never gets more than N submitted
reviews, nor more live reservations than its free slots. Those transactions are durable: inside another,
the items they lock would stay locked, passed over by every other reviewer, until it ended.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack

from django.core.exceptions import EmptyResultSet, PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import AnnotationConfig, AnnotatorKind, EventVia, reviewer_identifier
from phoenix_annot.annotations.services import (
    AnnotationWrite,
    MissingTargets,
    annotation_validate,
    session_annotations_upsert,
    span_annotations_upsert,
    trace_annotations_upsert,
)
from phoenix_annot.core.batching import chunks
from phoenix_annot.tracing.models import Session, Span, Trace

from .models import (
    AnnotationQueue,
    Assignment,
    ItemKind,
    QueueConfig,
    QueueItem,
    QueueReservation,
    QueueReview,
    QueueReviewer,
    ReviewOutcome,
)

# How the annotations of a submit reach each kind of target: the bulk upsert of annotations/services.py.
UPSERTS: dict[str, Callable[..., list[int | None]]] = {
    ItemKind.SPAN: span_annotations_upsert,
    ItemKind.TRACE: trace_annotations_upsert,
    ItemKind.SESSION: session_annotations_upsert,
}
# Each kind's model, and the field its OpenTelemetry (or session) id is in.
TARGET_MODELS: dict[str, tuple[type[Span] | type[Trace] | type[Session], str]] = {
    ItemKind.SPAN: (Span, "span_id"),
    ItemKind.TRACE: (Trace, "trace_id"),
    ItemKind.SESSION: (Session, "session_id"),
}
# From a span to the item of each kind it belongs to: itself, its trace, its trace's session.
SPAN_TO_TARGET = {ItemKind.SPAN: "pk", ItemKind.TRACE: "trace_id", ItemKind.SESSION: "trace__session_id"}


class DuplicateQueueName(ValidationError):
    pass


class NotAReviewer(PermissionDenied):
    """The user may not work on this queue; nothing was done."""


class ReviewRefused(Exception):
    """The item cannot take this reviewer's review or skip (already given, or no slot left)."""


@dataclass(frozen=True)
class QueueConfigChoice:
    """An annotation config for a queue's reviewers to fill in, and whether every submit must."""

    config: AnnotationConfig
    required: bool = False


class QueueFields(TypedDict, total=False):
    name: str
    instructions: str
    reviewers_per_item: int
    assignment: str
    reservation_timeout_seconds: int
    blind: bool
    reviewers: Sequence[User]
    configs: Sequence[QueueConfigChoice]


def annotation_queue_create(
    *, project_id: int, user: User | None, **fields: Unpack[QueueFields]
) -> AnnotationQueue:
    return _queue_save(AnnotationQueue(project_id=project_id, user=user), fields)


def annotation_queue_update(*, queue: AnnotationQueue, **fields: Unpack[QueueFields]) -> AnnotationQueue:
    """Change the given fields only; `reviewers` and `configs`, when given, replace the queue's."""
    return _queue_save(queue, fields)


def annotation_queue_delete(*, queue: AnnotationQueue) -> None:
    """Delete the queue with its items, reservations and reviews; the annotations reviewers wrote stay."""
    queue.delete()


def _queue_save(queue: AnnotationQueue, fields: QueueFields) -> AnnotationQueue:
    values: dict[str, Any] = dict(fields)
    reviewers = values.pop("reviewers", None)
    configs = values.pop("configs", None)
    for name, value in values.items():
        setattr(queue, name, value.strip() if name == "name" else value)
    queue.full_clean(exclude=["project", "user"], validate_unique=False, validate_constraints=False)
    if reviewers is not None:
        _check_reviewers(reviewers)
    if configs is not None:
        _check_configs(configs)
    with transaction.atomic():
        try:
            with transaction.atomic():
                queue.save()
        except IntegrityError:
            raise DuplicateQueueName(
                {"name": f"The project already has a queue named '{queue.name}'."}
            ) from None
        if reviewers is not None:
            QueueReviewer.objects.filter(queue=queue).delete()
            QueueReviewer.objects.bulk_create(QueueReviewer(queue=queue, user=user) for user in reviewers)
        if configs is not None:
            QueueConfig.objects.filter(queue=queue).delete()
            QueueConfig.objects.bulk_create(
                QueueConfig(queue=queue, annotation_config=c.config, required=c.required, position=position)
                for position, c in enumerate(configs)
            )
        if "reviewers_per_item" in values:
            _recount_completion(queue)
    return queue


def _check_reviewers(reviewers: Sequence[User]) -> None:
    viewers = [user.username for user in reviewers if not user.can_write]
    if viewers:
        raise ValidationError({"reviewers": f"Viewers cannot review: {', '.join(viewers)}."})


def _check_configs(configs: Sequence[QueueConfigChoice]) -> None:
    names = [choice.config.name for choice in configs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValidationError({"annotation_configs": f"Given more than once: {', '.join(twice)}."})


def _recount_completion(queue: AnnotationQueue) -> None:
    """Done items are those with N submitted reviews, for the queue's N as it is now.

    An item a submit is completing meanwhile is locked: these updates wait for it, then recheck the row.
    """
    items = QueueItem.objects.filter(queue=queue)
    items.filter(completed_at__isnull=False, review_count__lt=queue.reviewers_per_item).update(
        completed_at=None
    )
    items.filter(completed_at__isnull=True, review_count__gte=queue.reviewers_per_item).update(
        completed_at=timezone.now()
    )


@dataclass(frozen=True)
class ItemsAdded:
    added: int
    already: int


def queue_items_add(
    *, queue: AnnotationQueue, kind: str, target_ids: Sequence[str], user: User | None
) -> ItemsAdded:
    """Add the spans, traces or sessions of the queue's project named by these ids (OpenTelemetry ids, or
    session.ids); ids that are items already are counted, not added again. Ids that name nothing in the
    project raise MissingTargets, and nothing is added."""
    model, key = TARGET_MODELS[kind]
    ids = list(dict.fromkeys(target_ids))
    in_project = model.objects.filter(project_id=queue.project_id)
    found: set[str] = set()
    for chunk in chunks(ids):
        found.update(in_project.filter(**{f"{key}__in": chunk}).values_list(key, flat=True))
    missing = [target_id for target_id in ids if target_id not in found]
    if missing:
        raise MissingTargets(missing)
    with transaction.atomic():
        added = sum(
            targets_insert(
                queue, kind, in_project.filter(**{f"{key}__in": chunk}).values(target_pk=F("pk")), user
            )
            for chunk in chunks(ids)
        )
    return ItemsAdded(added=added, already=len(ids) - added)


def queue_items_add_matching(
    *, queue: AnnotationQueue, spans: QuerySet[Span], kind: str, user: User | None
) -> ItemsAdded:
    """Add, in one statement on the server, the items these spans make: the spans themselves, their traces or
    their traces' sessions, those of the queue's project only. Idempotent: items already there stay as they
    are and are counted in `already`."""
    targets = span_targets(project_pk=queue.project_id, spans=spans, kind=kind)
    with transaction.atomic():
        matched = targets.count()
        added = targets_insert(queue, kind, targets, user)
    return ItemsAdded(added=added, already=matched - added)


def span_targets(*, project_pk: int, spans: QuerySet[Span], kind: str) -> QuerySet[Any]:
    """The distinct `target_pk`s of the items of `kind` these spans make, within the project."""
    targets = (
        spans.filter(project_id=project_pk)
        .order_by()
        .values(target_pk=F(SPAN_TO_TARGET[kind]))
        .distinct()
        .exclude(target_pk=None)
    )
    if kind == ItemKind.SESSION:
        # A trace of another project may carry a session.id first seen in this one, and the reverse.
        targets = targets.filter(trace__session__project_id=project_pk)
    return targets


@dataclass(frozen=True)
class ItemSource:
    """Items to insert: the `target_pk`s a SELECT yields (its SQL and parameters), as items of `kind` of a
    queue, added by a user."""

    queue_pk: int
    kind: str
    select: tuple[str, Sequence[Any]]
    user_pk: int | None


def targets_insert(queue: AnnotationQueue, kind: str, targets: QuerySet[Any], user: User | None) -> int:
    """Insert the `target_pk`s of `targets` as items of `kind` of the queue (items_insert); how many."""
    source = item_source(queue.pk, kind, targets, user.pk if user else None)
    return items_insert([source]) if source else 0


def item_source(queue_pk: int, kind: str, targets: QuerySet[Any], user_pk: int | None) -> ItemSource | None:
    """None when the targets are none by construction (`.none()`, `labelled_by=me` without a user): Django
    compiles no SQL for them."""
    try:
        select = targets.query.sql_with_params()
    except EmptyResultSet:
        return None
    return ItemSource(queue_pk, kind, select, user_pk)


def items_insert(sources: Sequence[ItemSource]) -> int:
    """INSERT ... SELECT the targets of every source in one statement, skipping those in their queue already
    (the queue_item_unique_<kind> constraints); how many were added.

    The ORM has no INSERT ... SELECT: building one row object per target would bring every id of a large
    filter through Python, where the database copies them itself.
    """
    quote = connection.ops.quote_name
    target_columns = [quote(QueueItem._meta.get_field(kind).column) for kind in ItemKind.values]
    now = timezone.now()
    selects: list[str] = []
    params: list[Any] = []
    for source in sources:
        select_sql, select_params = source.select
        # Typed NULLs: PostgreSQL reads an untyped NULL of a UNION as text, which no id column takes.
        values = ", ".join(
            "target.target_pk" if kind == source.kind else "CAST(NULL AS BIGINT)" for kind in ItemKind.values
        )
        selects.append(
            f"SELECT CAST(%s AS BIGINT) AS queue, {values}, CAST(%s AS BIGINT), %s FROM ({select_sql}) target"
        )
        params += [source.queue_pk, source.user_pk, now, *select_params]
    sql = (
        f"INSERT INTO {quote(QueueItem._meta.db_table)} "
        f"({quote('queue_id')}, {', '.join(target_columns)}, {quote('added_by_id')}, {quote('created_at')}, "
        f"{quote('review_count')}) "
        f"SELECT item.*, 0 FROM ({' UNION ALL '.join(selects)}) item "
        # The WHERE keeps SQLite from reading ON CONFLICT as part of the FROM clause; ids follow the targets.
        "WHERE true ORDER BY 1, 2, 3, 4 ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _check_reviewer(queue: AnnotationQueue, user: User) -> None:
    if not user.can_write:
        raise NotAReviewer("Viewers cannot review.")
    if (
        queue.assignment == Assignment.NAMED_REVIEWERS
        and not user.is_admin
        and not QueueReviewer.objects.filter(queue=queue, user=user).exists()
    ):
        raise NotAReviewer(f"Only the named reviewers of queue '{queue.name}' (and admins) review its items.")


def queue_item_next(*, queue: AnnotationQueue, reviewer: User) -> QueueReservation | None:
    """Reserve for the reviewer the oldest item they have not reviewed or skipped that has a free slot of
    its N; None when there is none. A reviewer holding a live reservation gets that item again, its time
    renewed."""
    _check_reviewer(queue, reviewer)
    with transaction.atomic(durable=True):
        now = timezone.now()
        expires_at = now + timedelta(seconds=queue.reservation_timeout_seconds)
        held = QueueReservation.objects.live(now).filter(queue=queue, reviewer=reviewer).first()
        if held is not None:
            held.expires_at = expires_at
            held.save(update_fields=["expires_at"])
            return held
        pk = _lock_next_item(queue, reviewer, now)
        if pk is None:
            return None
        reservation = QueueReservation(
            queue=queue, reviewer=reviewer, item_id=pk, reserved_at=now, expires_at=expires_at
        )
        # One row per reviewer and queue: an expired one is replaced, and of two tabs asking at once, the
        # reservation of the later stands.
        QueueReservation.objects.bulk_create(
            [reservation],
            update_conflicts=True,
            unique_fields=["queue", "reviewer"],
            update_fields=["item", "reserved_at", "expires_at"],
        )
        return reservation


def _lock_next_item(queue: AnnotationQueue, reviewer: User, now: datetime) -> int | None:
    """The id of the next item for the reviewer, locked until the transaction ends."""
    candidates = QueueItem.objects.next_for(queue=queue, reviewer_pk=reviewer.pk, now=now)
    passed: list[int] = []
    while True:
        pk = (
            candidates.exclude(pk__in=passed)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            return None
        # The search read the reservations as they were when it started; one committed by whoever held this
        # item's lock before us is seen only by a new statement, now that the lock is ours.
        if candidates.filter(pk=pk).exists():
            return pk
        passed.append(pk)


@dataclass(frozen=True)
class ReviewAnnotation:
    """One label of a submit: the reviewer's annotation of the item's target with this config's name."""

    name: str
    label: str | None = None
    score: float | None = None
    explanation: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Submitted:
    review: QueueReview
    next: QueueReservation | None


def queue_item_submit(
    *, item: QueueItem, reviewer: User, annotations: Sequence[ReviewAnnotation], source: str
) -> Submitted:
    """Write the reviewer's annotations of the item (HUMAN, their px-app: identifier) and count their review;
    then reserve their next item. Every required config of the queue must be among the annotations, and
    only the queue's configs may be; nothing is written when anything is refused."""
    queue = item.queue
    _check_reviewer(queue, reviewer)
    _check_annotations(queue, annotations)
    with transaction.atomic(durable=True):
        now = timezone.now()
        locked, reserved_at = _lock_for_review(item, reviewer, now)
        needed = _free_slot_for(locked, reserved_at=reserved_at, now=now)
        UPSERTS[locked.kind](
            writes=[
                AnnotationWrite(
                    target_id=locked.target_key,
                    name=annotation.name,
                    annotator_kind=AnnotatorKind.HUMAN,
                    label=annotation.label,
                    score=annotation.score,
                    explanation=annotation.explanation,
                    metadata=annotation.metadata,
                    identifier=reviewer_identifier(reviewer.pk),
                )
                for annotation in annotations
            ],
            source=source,
            user=reviewer,
            via=EventVia.QUEUE,
        )
        review = QueueReview.objects.create(
            queue=queue,
            item=locked,
            reviewer=reviewer,
            outcome=ReviewOutcome.SUBMITTED,
            reserved_at=reserved_at,
        )
        locked.review_count += 1
        if locked.review_count >= needed:
            locked.completed_at = now
        locked.save(update_fields=["review_count", "completed_at"])
        QueueReservation.objects.filter(item=locked, reviewer=reviewer).delete()
    return Submitted(review=review, next=queue_item_next(queue=queue, reviewer=reviewer))


def queue_item_skip(*, item: QueueItem, reviewer: User, reason: str = "") -> QueueReservation | None:
    """Record that the reviewer passes on the item (it is not served to them again, and takes none of its
    N slots) and reserve their next item."""
    queue = item.queue
    _check_reviewer(queue, reviewer)
    with transaction.atomic(durable=True):
        locked, reserved_at = _lock_for_review(item, reviewer, timezone.now())
        QueueReview.objects.create(
            queue=queue,
            item=locked,
            reviewer=reviewer,
            outcome=ReviewOutcome.SKIPPED,
            skip_reason=reason.strip(),
            reserved_at=reserved_at,
        )
        QueueReservation.objects.filter(item=locked, reviewer=reviewer).delete()
    return queue_item_next(queue=queue, reviewer=reviewer)


def queue_item_release(*, item: QueueItem, reviewer: User) -> None:
    """Give the item back to the pool before its reservation expires; nothing when the reviewer holds none."""
    QueueReservation.objects.filter(item=item, reviewer=reviewer).delete()


def _lock_for_review(item: QueueItem, reviewer: User, now: datetime) -> tuple[QueueItem, datetime | None]:
    """The item, locked, with its `target_key`; and when it was served to the reviewer (None if it was not,
    or the reservation lapsed). Raises ReviewRefused when the reviewer has reviewed or skipped it."""
    locked = (
        QueueItem.objects.select_for_update(of=("self",))
        .annotate(target_key=Coalesce("span__span_id", "trace__trace_id", "session__session_id"))
        .get(pk=item.pk)
    )
    given = (
        QueueReview.objects.filter(item=locked, reviewer=reviewer).values_list("outcome", flat=True).first()
    )
    if given is not None:
        done = "reviewed" if given == ReviewOutcome.SUBMITTED else "skipped"
        raise ReviewRefused(f"You have {done} this item already.")
    reserved_at = (
        QueueReservation.objects.live(now)
        .filter(item=locked, reviewer=reviewer)
        .values_list("reserved_at", flat=True)
        .first()
    )
    return locked, reserved_at


def _free_slot_for(locked: QueueItem, *, reserved_at: datetime | None, now: datetime) -> int:
    """The queue's N, when one of the locked item's N slots is the reviewer's: theirs by reservation, or
    free of submitted reviews and others' live reservations; else ReviewRefused."""
    # Read under the item's lock: a change of N committed meanwhile counts (_recount_completion).
    needed = AnnotationQueue.objects.values_list("reviewers_per_item", flat=True).get(pk=locked.queue_id)
    if locked.review_count >= needed:
        raise ReviewRefused(f"This item has its {needed} reviews already.")
    if reserved_at is None and (
        locked.review_count + QueueReservation.objects.live(now).filter(item=locked).count() >= needed
    ):
        raise ReviewRefused(
            "Every review slot of this item is reserved by other reviewers; ask for the next item."
        )
    return needed


def _check_annotations(queue: AnnotationQueue, annotations: Sequence[ReviewAnnotation]) -> None:
    """Refuse, naming each field, annotations that are not the queue's configs or do not fit them, and a
    submit without every required config."""
    choices = {
        choice.annotation_config.name: choice
        for choice in QueueConfig.objects.filter(queue=queue).select_related("annotation_config")
    }
    problems: dict[str, list[str]] = {}
    seen: set[str] = set()
    for index, annotation in enumerate(annotations):
        choice = choices.get(annotation.name)
        if choice is None:
            offered = ", ".join(choices) or "none"
            problems[f"data[{index}].name"] = [
                f"'{annotation.name}' is not an annotation config of this queue (its configs: {offered})."
            ]
            continue
        if annotation.name in seen:
            problems[f"data[{index}].name"] = [f"'{annotation.name}' is given twice."]
            continue
        seen.add(annotation.name)
        try:
            annotation_validate(
                name=annotation.name,
                label=annotation.label,
                score=annotation.score,
                explanation=annotation.explanation,
                config=choice.annotation_config,
            )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                problems[f"data[{index}].{name}"] = messages
    missing = [name for name, choice in choices.items() if choice.required and name not in seen]
    if missing:
        problems["data"] = [f"Required and missing: {', '.join(missing)}."]
    if problems:
        raise ValidationError(problems)
