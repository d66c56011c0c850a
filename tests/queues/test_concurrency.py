"""Twenty reviewers working through a queue at once (PostgreSQL: SQLite's shared in-memory test database
cannot host concurrent writers; bench/queue_next.py --check runs the same on a SQLite file, see
test_queue_bench.py)."""

import threading
from collections import Counter

import pytest
from django.db import connection

from phoenix_annot.queues.models import QueueItem, QueueReview
from phoenix_annot.queues.services import queue_item_next, queue_item_submit
from tests.factories import UserFactory
from tests.queues.factories import AnnotationQueueFactory, QueueItemFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs concurrent writers"),
]
REVIEWERS = 20
ITEMS = 30


def test_twenty_reviewers_working_through_a_queue_at_once_give_every_item_exactly_n_reviews():
    queue = AnnotationQueueFactory(reviewers_per_item=2)
    items = [QueueItemFactory(queue=queue) for _ in range(ITEMS)]
    reviewers = [UserFactory() for _ in range(REVIEWERS)]
    barrier = threading.Barrier(REVIEWERS)
    seen: dict[int, list[int]] = {reviewer.pk: [] for reviewer in reviewers}
    errors: list[BaseException] = []

    def work(reviewer) -> None:
        try:
            barrier.wait()
            reservation = queue_item_next(queue=queue, reviewer=reviewer)
            while reservation is not None:
                seen[reviewer.pk].append(reservation.item_id)
                item = QueueItem.objects.select_related("queue").get(pk=reservation.item_id)
                reservation = queue_item_submit(
                    item=item, reviewer=reviewer, annotations=[], source="API"
                ).next
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(reviewer,)) for reviewer in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert all(len(items_seen) == len(set(items_seen)) for items_seen in seen.values())
    assert Counter(item for items_seen in seen.values() for item in items_seen) == {
        item.pk: 2 for item in items
    }
    assert Counter(QueueReview.objects.values_list("item", flat=True)) == {item.pk: 2 for item in items}
    assert set(QueueItem.objects.values_list("review_count", flat=True)) == {2}
    assert not QueueItem.objects.filter(completed_at__isnull=True).exists()
