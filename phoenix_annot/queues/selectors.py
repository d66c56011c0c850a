"""Queue reads: items with their state, counts by state, what a reviewer may see."""

from datetime import datetime
from typing import Any

from django.db.models import F, Prefetch, QuerySet

from phoenix_annot.accounts.models import User

from .models import AnnotationQueue, ItemState, QueueConfig, QueueItem, QueueReview, ReviewOutcome

ITEM_FIELDS = ("pk", "queue_id", "review_count", "completed_at", "created_at", "skip_count", "reserved_count")


def annotation_queues_with_settings() -> QuerySet[AnnotationQueue]:
    """Queues with what describes them fetched for the whole page: their configs and reviewers' ids."""
    return AnnotationQueue.objects.prefetch_related(
        Prefetch("queue_configs", queryset=QueueConfig.objects.select_related("annotation_config")),
        Prefetch("reviewers", queryset=User.objects.only("pk")),
    )


def queue_item_rows(items: QuerySet[QueueItem], *, now: datetime) -> QuerySet[Any]:
    """The items as plain rows: their counts, and the id of their span, trace or session (`*_key`)."""
    return items.with_counts(now=now).values(
        *ITEM_FIELDS,
        span_key=F("span__span_id"),
        trace_key=F("trace__trace_id"),
        session_key=F("session__session_id"),
    )


def item_state(row: dict[str, Any]) -> str:
    """The ItemState of a `queue_item_rows` row, as `QueueItemQuerySet.in_state` selects it."""
    if row["completed_at"] is not None:
        return ItemState.DONE
    if row["review_count"] or row["reserved_count"]:
        return ItemState.IN_REVIEW
    return ItemState.SKIPPED if row["skip_count"] else ItemState.PENDING


def queue_item_counts(queue: AnnotationQueue, *, now: datetime) -> dict[str, int]:
    """How many of the queue's items are in each ItemState."""
    items = QueueItem.objects.filter(queue=queue)
    return {state: items.in_state(state, now=now).count() for state in ItemState.values}


def labels_hidden_from(*, item: QueueItem, reviewer: User) -> bool:
    """Whether the reviewer must not see others' labels on the item yet: a blind queue shows them only
    once the reviewer has submitted theirs."""
    return (
        item.queue.blind
        and not QueueReview.objects.filter(
            item=item, reviewer=reviewer, outcome=ReviewOutcome.SUBMITTED
        ).exists()
    )
