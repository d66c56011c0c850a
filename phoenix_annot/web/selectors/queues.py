"""What the queue pages read: the item a reviewer is served with its progress, and the queue's overview."""

import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import (
    AnnotationConfig,
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
    reviewer_identifier,
)
from phoenix_annot.core.keyset import decode_cursor, encode_cursor, keyset_after
from phoenix_annot.queues.models import (
    AnnotationQueue,
    ItemKind,
    ItemState,
    QueueConfig,
    QueueItem,
    QueueReservation,
    QueueReview,
    ReviewOutcome,
)
from phoenix_annot.queues.selectors import item_state, queue_item_counts, queue_item_rows
from phoenix_annot.tracing.conversations import Turn, first_roots, session_turns
from phoenix_annot.tracing.models import Span

from ..span_display import SpanDisplay, span_display

ITEMS_PER_PAGE = 50
# Each kind's annotation model, the item's field that names its target, and the target's own id from an
# annotation (the `<kind>_key` of queue_item_rows).
ANNOTATIONS: dict[str, tuple[type[Any], str, str]] = {
    ItemKind.SPAN: (SpanAnnotation, "span_id", "span__span_id"),
    ItemKind.TRACE: (TraceAnnotation, "trace_id", "trace__trace_id"),
    ItemKind.SESSION: (SessionAnnotation, "session_id", "session__session_id"),
}


def queues_of_project(project_pk: int) -> QuerySet[AnnotationQueue]:
    """The project's queues by name, each with its item count and how many are done."""
    return (
        AnnotationQueue.objects.filter(project_id=project_pk)
        .select_related("user")
        .annotate(
            item_count=Count("items"),
            done_count=Count("items", filter=Q(items__completed_at__isnull=False)),
        )
        .order_by("name")
    )


def queue_configs(queue: AnnotationQueue) -> list[QueueConfig]:
    return list(QueueConfig.objects.filter(queue=queue).select_related("annotation_config"))


@dataclass(frozen=True)
class Progress:
    """ "12 of 80 left for you, 310 of 400 done by the team": open items the reviewer has neither reviewed
    nor skipped, and items with their N reviews, each of all the queue's items."""

    left_for_you: int
    done: int
    total: int


def queue_progress(queue: AnnotationQueue, *, reviewer: User) -> Progress:
    given = QueueReview.objects.filter(item=OuterRef("pk"), reviewer=reviewer)
    counts = QueueItem.objects.filter(queue=queue).aggregate(
        total=Count("pk"),
        done=Count("pk", filter=Q(completed_at__isnull=False)),
        left=Count("pk", filter=Q(completed_at__isnull=True) & ~Q(Exists(given))),
    )
    return Progress(left_for_you=counts["left"], done=counts["done"], total=counts["total"])


@dataclass(frozen=True)
class ReviewItem:
    """The item a reviewer is served: a span (a trace by its root span) or a session's turns, and the labels
    others gave it (`others_hidden` in a blind queue, where the reviewer has not submitted yet)."""

    item: QueueItem
    kind: str
    span: Span | None
    display: SpanDisplay | None
    turns: list[Turn]
    others: list[Any]
    others_hidden: bool


def review_item(item_pk: int, *, queue: AnnotationQueue, reviewer: User) -> ReviewItem:
    item = QueueItem.objects.select_related("span__trace", "trace", "session").get(pk=item_pk, queue=queue)
    kind = item.kind
    span: Span | None = item.span
    turns: list[Turn] = []
    if kind == ItemKind.TRACE:
        span = first_roots(Span.objects.filter(trace_id=item.trace_id)).get(item.trace_id)
    elif kind == ItemKind.SESSION:
        turns = session_turns([item.session_id])[item.session_id]
    # The reviewer has not submitted this item (it is their next), so a blind queue hides every other label.
    hidden = queue.blind
    model, target, _ = ANNOTATIONS[kind]
    others = (
        []
        if hidden
        else list(
            model.objects.filter(**{target: getattr(item, target)})
            .exclude(identifier=reviewer_identifier(reviewer.pk))
            .select_related("user")
            .order_by("name", "-updated_at")
        )
    )
    return ReviewItem(
        item=item,
        kind=kind,
        span=span,
        display=span_display(span) if span is not None else None,
        turns=turns,
        others=others,
        others_hidden=hidden,
    )


@dataclass(frozen=True)
class ItemsPage:
    rows: list[dict[str, Any]]
    next_cursor: str | None


def queue_items_page(queue: AnnotationQueue, *, params: QueryDict, now: datetime) -> ItemsPage:
    """One page of the queue's items, newest first, in the state asked for (every state when none is)."""
    items = QueueItem.objects.filter(queue=queue)
    state = params.get("state", "")
    if state in ItemState.values:
        items = items.in_state(state, now=now)
    after = decode_cursor(params.get("cursor", ""), by_time=True) if params.get("cursor") else None
    if after is not None:
        items = items.filter(keyset_after("created_at", after[0], after[1], descending=True))
    rows = list(queue_item_rows(items.order_by("-created_at", "-pk"), now=now)[: ITEMS_PER_PAGE + 1])
    for row in rows:
        row["state"] = item_state(row)
        row["state_label"] = ItemState(row["state"]).label
    more = len(rows) > ITEMS_PER_PAGE
    last = rows[ITEMS_PER_PAGE - 1] if more else None
    return ItemsPage(
        rows=rows[:ITEMS_PER_PAGE],
        next_cursor=encode_cursor(last["created_at"], last["pk"]) if last else None,
    )


@dataclass(frozen=True)
class ReviewerThroughput:
    username: str
    submitted: int
    skipped: int
    median_seconds: float | None


def reviewer_throughput(queue: AnnotationQueue) -> list[ReviewerThroughput]:
    """Per reviewer: reviews submitted and skipped, and the median time from an item's serving to its submit.

    The median is taken here, not in SQL: SQLite has no percentile aggregate. It reads one pair of times per
    submitted review of the queue, in one query.
    """
    reviews = QueueReview.objects.filter(queue=queue)
    counts = (
        reviews.order_by()
        .values("reviewer_id", username=F("reviewer__username"))
        .annotate(
            submitted=Count("pk", filter=Q(outcome=ReviewOutcome.SUBMITTED)),
            skipped=Count("pk", filter=Q(outcome=ReviewOutcome.SKIPPED)),
        )
        .order_by("username")
    )
    durations: dict[int | None, list[float]] = {}
    timed = reviews.filter(outcome=ReviewOutcome.SUBMITTED, reserved_at__isnull=False)
    for reviewer_pk, reserved_at, created_at in timed.values_list("reviewer_id", "reserved_at", "created_at"):
        durations.setdefault(reviewer_pk, []).append((created_at - reserved_at).total_seconds())
    return [
        ReviewerThroughput(
            username=row["username"] or "(deleted user)",
            submitted=row["submitted"],
            skipped=row["skipped"],
            median_seconds=statistics.median(durations[row["reviewer_id"]])
            if row["reviewer_id"] in durations
            else None,
        )
        for row in counts
    ]


@dataclass(frozen=True)
class QueueOverview:
    queue: AnnotationQueue
    configs: list[QueueConfig]
    counts: dict[str, int]
    items: ItemsPage
    throughput: list[ReviewerThroughput]
    reserved_now: int


def queue_overview(queue: AnnotationQueue, *, params: QueryDict) -> QueueOverview:
    now = timezone.now()
    return QueueOverview(
        queue=queue,
        configs=queue_configs(queue),
        counts=queue_item_counts(queue, now=now),
        items=queue_items_page(queue, params=params, now=now),
        throughput=reviewer_throughput(queue),
        reserved_now=QueueReservation.objects.live(now).filter(queue=queue).count(),
    )


def config_names(configs: list[QueueConfig]) -> list[str]:
    return [choice.annotation_config.name for choice in configs]


def project_config_choices(project_pk: int) -> QuerySet[AnnotationConfig]:
    """The configs a queue of the project may ask for: those assigned to the project."""
    return AnnotationConfig.objects.filter(projects=project_pk).order_by("name")


EXPORT_CHUNK = 500
EXPORT_FIELDS = (
    "item_id",
    "kind",
    "target_id",
    "state",
    "reviewer",
    "outcome",
    "skip_reason",
    "reserved_at",
    "reviewed_at",
)


def queue_export_rows(queue: AnnotationQueue) -> Iterator[dict[str, Any]]:
    """The queue's items, oldest first, one row per review (an item without any: one row without a reviewer),
    with the reviewer's labels for each of the queue's configs. Read a chunk of items at a time: three queries
    per chunk whatever the queue's size."""
    names = config_names(queue_configs(queue))
    now = timezone.now()
    items = QueueItem.objects.filter(queue=queue).order_by("pk")
    last_pk = 0
    while True:
        rows = list(queue_item_rows(items.filter(pk__gt=last_pk), now=now)[:EXPORT_CHUNK])
        if not rows:
            return
        last_pk = rows[-1]["pk"]
        yield from _export_chunk(rows, names)


def _export_chunk(rows: list[dict[str, Any]], names: list[str]) -> Iterator[dict[str, Any]]:
    reviews: dict[int, list[QueueReview]] = {}
    for review in (
        QueueReview.objects.filter(item__in=[row["pk"] for row in rows])
        .select_related("reviewer")
        .order_by("created_at", "pk")
    ):
        reviews.setdefault(review.item_id, []).append(review)
    labels = _reviewers_labels(rows, reviews, names)
    for row in rows:
        kind = ItemKind.SPAN if row["span_key"] else ItemKind.TRACE if row["trace_key"] else ItemKind.SESSION
        base = {
            "item_id": row["pk"],
            "kind": kind,
            "target_id": row["span_key"] or row["trace_key"] or row["session_key"],
            "state": item_state(row),
        }
        for review in reviews.get(row["pk"]) or [None]:
            given = labels.get((base["target_id"], review.reviewer_id)) if review else None
            yield base | {
                "reviewer": review.reviewer.username if review and review.reviewer else "",
                "outcome": review.outcome if review else "",
                "skip_reason": review.skip_reason if review else "",
                "reserved_at": review.reserved_at.isoformat() if review and review.reserved_at else "",
                "reviewed_at": review.created_at.isoformat() if review else "",
                "labels": {name: (given or {}).get(name) for name in names},
            }


def _reviewers_labels(
    rows: list[dict[str, Any]], reviews: dict[int, list[QueueReview]], names: list[str]
) -> dict[tuple[str, int | None], dict[str, dict[str, Any]]]:
    """(target id, reviewer pk) -> config name -> the reviewer's label and score on the target."""
    labels: dict[tuple[str, int | None], dict[str, dict[str, Any]]] = {}
    reviewers = {review.reviewer_id for given in reviews.values() for review in given if review.reviewer_id}
    identifiers = {reviewer_identifier(pk): pk for pk in reviewers}
    for kind, (model, _, lookup) in ANNOTATIONS.items():
        targets = [row[f"{kind}_key"] for row in rows if row[f"{kind}_key"]]
        if not targets or not identifiers:
            continue
        for target_id, identifier, name, label, score in model.objects.filter(
            **{f"{lookup}__in": targets}, identifier__in=identifiers, name__in=names
        ).values_list(lookup, "identifier", "name", "label", "score"):
            labels.setdefault((target_id, identifiers[identifier]), {})[name] = {
                "label": label,
                "score": score,
            }
    return labels


def queue_tab_choices(project_pk: int) -> QuerySet[Any]:
    """(pk, name) of the project's queues, for the tables' Add to queue."""
    return AnnotationQueue.objects.filter(project_id=project_pk).order_by("name").values_list("pk", "name")
