from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from phoenix_annot.annotations.models import (
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
    reviewer_identifier,
)
from phoenix_annot.annotations.services import MissingTargets
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.queues.models import AnnotationQueue, ItemState, QueueItem, QueueReservation, QueueReview
from phoenix_annot.queues.selectors import item_state, labels_hidden_from, queue_item_counts, queue_item_rows
from phoenix_annot.queues.services import (
    DuplicateQueueName,
    NotAReviewer,
    QueueConfigChoice,
    ReviewAnnotation,
    ReviewRefused,
    annotation_queue_create,
    annotation_queue_update,
    queue_item_next,
    queue_item_release,
    queue_item_skip,
    queue_item_submit,
    queue_items_add,
    queue_items_add_matching,
)
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SessionFactory,
    SpanFactory,
    TraceFactory,
    UserFactory,
)
from tests.queues.factories import AnnotationQueueFactory, QueueItemFactory, QueueReservationFactory

pytestmark = pytest.mark.django_db

CORRECT = ReviewAnnotation(name="correctness", label="correct")


def queue_with_items(count: int, **fields) -> tuple[AnnotationQueue, list[QueueItem]]:
    queue = AnnotationQueueFactory(**fields)
    return queue, [QueueItemFactory(queue=queue) for _ in range(count)]


def reviewed_queue(count: int = 3, **fields) -> tuple[AnnotationQueue, list[QueueItem]]:
    """A queue whose reviewers fill the `correctness` config (required)."""
    queue, items = queue_with_items(count, **fields)
    annotation_queue_update(
        queue=queue, configs=[QueueConfigChoice(AnnotationConfigFactory(name="correctness"), required=True)]
    )
    return queue, items


def submit(item: QueueItem, reviewer, annotations=(CORRECT,)):
    return queue_item_submit(item=item, reviewer=reviewer, annotations=list(annotations), source="API")


def served(queue: AnnotationQueue, reviewer) -> QueueItem | None:
    reservation = queue_item_next(queue=queue, reviewer=reviewer)
    return None if reservation is None else reservation.item


# --- queues ------------------------------------------------------------------------------------------------


def test_a_queue_is_created_with_its_configs_in_order_their_required_flags_and_its_reviewers():
    project, alice = ProjectFactory(), UserFactory()
    tone = AnnotationConfigFactory(name="tone", type="FREEFORM", values=[])
    correctness = AnnotationConfigFactory(name="correctness")

    queue = annotation_queue_create(
        project_id=project.pk,
        user=alice,
        name="  Support answers ",
        reviewers_per_item=2,
        assignment="NAMED_REVIEWERS",
        reviewers=[alice],
        configs=[QueueConfigChoice(tone), QueueConfigChoice(correctness, required=True)],
    )

    assert queue.name == "Support answers"
    assert [(c.annotation_config.name, c.required) for c in queue.queue_configs.all()] == [
        ("tone", False),
        ("correctness", True),
    ]
    assert list(queue.reviewers.all()) == [alice]
    assert (queue.reviewers_per_item, queue.reservation_timeout_seconds, queue.blind) == (2, 900, False)


@pytest.mark.parametrize("value", [0, 11])
def test_reviewers_per_item_outside_one_to_ten_is_refused_naming_the_field(value):
    with pytest.raises(ValidationError) as refused:
        annotation_queue_create(project_id=ProjectFactory().pk, user=None, name="q", reviewers_per_item=value)

    assert "reviewers_per_item" in refused.value.message_dict
    assert not AnnotationQueue.objects.exists()


def test_a_reservation_timeout_under_thirty_seconds_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as refused:
        annotation_queue_create(
            project_id=ProjectFactory().pk, user=None, name="q", reservation_timeout_seconds=5
        )

    assert "reservation_timeout_seconds" in refused.value.message_dict


def test_a_queue_name_is_unique_within_its_project_only():
    first = AnnotationQueueFactory(name="triage")

    with pytest.raises(DuplicateQueueName):
        annotation_queue_create(project_id=first.project_id, user=None, name="triage")
    annotation_queue_create(project_id=ProjectFactory().pk, user=None, name="triage")

    assert AnnotationQueue.objects.filter(name="triage").count() == 2


def test_a_viewer_cannot_be_a_named_reviewer():
    with pytest.raises(ValidationError) as refused:
        annotation_queue_create(
            project_id=ProjectFactory().pk, user=None, name="q", reviewers=[UserFactory(role="VIEWER")]
        )

    assert "reviewers" in refused.value.message_dict


def test_a_config_given_twice_is_refused():
    config = AnnotationConfigFactory()

    with pytest.raises(ValidationError) as refused:
        annotation_queue_create(
            project_id=ProjectFactory().pk,
            user=None,
            name="q",
            configs=[QueueConfigChoice(config), QueueConfigChoice(config, required=True)],
        )

    assert "annotation_configs" in refused.value.message_dict


# --- adding items ------------------------------------------------------------------------------------------


def test_spans_added_by_id_are_added_once_and_those_already_there_are_counted():
    queue = AnnotationQueueFactory()
    spans = SpanFactory.create_batch(3, trace__project=queue.project)

    first = queue_items_add(queue=queue, kind="span", target_ids=[s.span_id for s in spans[:2]], user=None)
    second = queue_items_add(queue=queue, kind="span", target_ids=[s.span_id for s in spans], user=None)

    assert (first.added, first.already, second.added, second.already) == (2, 0, 1, 2)
    assert sorted(QueueItem.objects.values_list("span_id", flat=True)) == sorted(s.pk for s in spans)


def test_ids_of_another_project_are_missing_and_nothing_is_added():
    queue = AnnotationQueueFactory()
    mine, theirs = SpanFactory(trace__project=queue.project), SpanFactory()

    with pytest.raises(MissingTargets) as missing:
        queue_items_add(queue=queue, kind="span", target_ids=[mine.span_id, theirs.span_id], user=None)

    assert missing.value.ids == [theirs.span_id]
    assert not QueueItem.objects.exists()


def test_traces_and_sessions_are_added_by_their_ids():
    queue = AnnotationQueueFactory()
    trace = TraceFactory(project=queue.project)
    session = SessionFactory(project=queue.project)

    queue_items_add(queue=queue, kind="trace", target_ids=[trace.trace_id], user=None)
    queue_items_add(queue=queue, kind="session", target_ids=[session.session_id], user=None)

    assert {item.kind for item in QueueItem.objects.all()} == {"trace", "session"}


def test_all_spans_matching_a_filter_are_added_in_one_insert_and_adding_again_adds_nothing():
    queue = AnnotationQueueFactory()
    llm = SpanFactory.create_batch(3, trace__project=queue.project, span_kind="LLM")
    SpanFactory(trace__project=queue.project, span_kind="TOOL")
    SpanFactory(span_kind="LLM")  # another project's
    spans = SpanFilter(QueryDict("span_kind=LLM"), queryset=queue.project.spans.all()).qs

    with CaptureQueriesContext(connection) as queries:
        first = queue_items_add_matching(queue=queue, spans=spans, kind="span", user=None)
    again = queue_items_add_matching(queue=queue, spans=spans, kind="span", user=None)

    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1 and "SELECT" in inserts[0]
    assert (first.added, first.already, again.added, again.already) == (3, 0, 0, 3)
    assert sorted(QueueItem.objects.values_list("span_id", flat=True)) == sorted(s.pk for s in llm)


def test_a_filter_over_another_projects_spans_adds_none_of_them():
    queue = AnnotationQueueFactory()
    SpanFactory.create_batch(2)

    added = queue_items_add_matching(
        queue=queue, spans=SpanFactory._meta.model.objects.all(), kind="span", user=None
    )

    assert (added.added, added.already) == (0, 0)


def test_matching_spans_add_their_traces_and_sessions_once_each():
    queue = AnnotationQueueFactory()
    session = SessionFactory(project=queue.project)
    trace = TraceFactory(project=queue.project, session=session)
    SpanFactory.create_batch(3, trace=trace)
    SpanFactory(trace__project=queue.project)  # a trace without a session
    spans = queue.project.spans.all()

    traces = queue_items_add_matching(queue=queue, spans=spans, kind="trace", user=None)
    sessions = queue_items_add_matching(queue=queue, spans=spans, kind="session", user=None)

    assert (traces.added, sessions.added) == (2, 1)
    assert QueueItem.objects.filter(session=session).count() == 1


# --- next item ---------------------------------------------------------------------------------------------


def test_next_serves_the_oldest_item_and_serves_it_again_while_the_reservation_lives():
    queue, items = queue_with_items(3)
    reviewer = UserFactory()

    first = queue_item_next(queue=queue, reviewer=reviewer)
    again = queue_item_next(queue=queue, reviewer=reviewer)

    assert first.item == again.item == items[0]
    assert QueueReservation.objects.count() == 1


def test_an_item_whose_slots_are_all_reserved_is_not_served_to_another_reviewer():
    queue, items = queue_with_items(2, reviewers_per_item=1)

    assert served(queue, UserFactory()) == items[0]
    assert served(queue, UserFactory()) == items[1]
    assert served(queue, UserFactory()) is None


def test_with_two_reviewers_per_item_two_reviewers_share_an_item_and_a_third_gets_the_next():
    queue, items = queue_with_items(2, reviewers_per_item=2)

    assert [served(queue, UserFactory()) for _ in range(3)] == [items[0], items[0], items[1]]


def test_a_reviewer_is_never_served_an_item_they_submitted_or_skipped():
    queue, items = reviewed_queue(3, reviewers_per_item=2)
    reviewer = UserFactory()

    submit(items[0], reviewer)
    queue_item_skip(item=items[1], reviewer=reviewer, reason="not English")

    assert served(queue, reviewer) == items[2]


def test_an_expired_reservation_returns_its_item_to_the_pool():
    queue, items = queue_with_items(1, reviewers_per_item=1)
    first, second = UserFactory(), UserFactory()
    served(queue, first)
    assert served(queue, second) is None

    now = timezone.now()
    QueueReservation.objects.update(
        reserved_at=now - timedelta(hours=1), expires_at=now - timedelta(seconds=1)
    )

    assert served(queue, second) == items[0]
    assert served(queue, first) is None


def test_a_released_item_goes_back_to_the_pool_at_once():
    queue, items = queue_with_items(1, reviewers_per_item=1)
    first, second = UserFactory(), UserFactory()
    served(queue, first)

    queue_item_release(item=items[0], reviewer=first)

    assert served(queue, second) == items[0]


def test_only_named_reviewers_and_admins_may_work_on_a_queue_of_named_reviewers():
    named = UserFactory()
    queue, items = queue_with_items(2, assignment="NAMED_REVIEWERS")
    annotation_queue_update(queue=queue, reviewers=[named])

    with pytest.raises(NotAReviewer):
        queue_item_next(queue=queue, reviewer=UserFactory())

    assert served(queue, named) == items[0]
    assert served(queue, UserFactory(role="ADMIN")) == items[1]


def test_a_viewer_may_not_review():
    queue, _items = queue_with_items(1)

    with pytest.raises(NotAReviewer, match="Viewers"):
        queue_item_next(queue=queue, reviewer=UserFactory(role="VIEWER"))


# --- submit, skip ------------------------------------------------------------------------------------------


def test_submit_writes_the_reviewers_own_human_annotation_counts_the_review_and_serves_the_next_item():
    queue, items = reviewed_queue(2, reviewers_per_item=1)
    reviewer = UserFactory()
    served(queue, reviewer)

    submitted = submit(
        items[0], reviewer, [ReviewAnnotation(name="correctness", label="correct", explanation="ok")]
    )

    annotation = SpanAnnotation.objects.get()
    assert (annotation.span, annotation.label, annotation.explanation) == (items[0].span, "correct", "ok")
    assert (annotation.annotator_kind, annotation.identifier, annotation.user) == (
        "HUMAN",
        reviewer_identifier(reviewer.pk),
        reviewer,
    )
    items[0].refresh_from_db()
    assert (items[0].review_count, items[0].completed_at is not None) == (1, True)
    assert submitted.review.reserved_at is not None
    assert submitted.next.item == items[1]
    assert list(QueueReservation.objects.values_list("item", flat=True)) == [items[1].pk]


def test_an_item_is_done_only_with_its_n_reviews():
    _queue, items = reviewed_queue(1, reviewers_per_item=2)

    submit(items[0], UserFactory())
    items[0].refresh_from_db()
    assert items[0].completed_at is None

    submit(items[0], UserFactory())
    items[0].refresh_from_db()
    assert (items[0].review_count, items[0].completed_at is not None) == (2, True)


def test_a_submit_without_a_required_config_is_refused_naming_it_and_writes_nothing():
    _queue, items = reviewed_queue(1)

    with pytest.raises(ValidationError) as refused:
        submit(items[0], UserFactory(), [])

    assert refused.value.message_dict == {"data": ["Required and missing: correctness."]}
    assert not QueueReview.objects.exists()


def test_a_label_the_config_does_not_have_is_refused_naming_the_field():
    _queue, items = reviewed_queue(1)

    with pytest.raises(ValidationError) as refused:
        submit(items[0], UserFactory(), [ReviewAnnotation(name="correctness", label="maybe")])

    assert list(refused.value.message_dict) == ["data[0].label"]
    assert not SpanAnnotation.objects.exists()


def test_an_annotation_that_is_not_one_of_the_queues_configs_is_refused():
    _queue, items = reviewed_queue(1)

    with pytest.raises(ValidationError) as refused:
        submit(items[0], UserFactory(), [CORRECT, ReviewAnnotation(name="tone", label="rude")])

    assert refused.value.message_dict == {
        "data[1].name": ["'tone' is not an annotation config of this queue (its configs: correctness)."]
    }


def test_submitting_twice_or_past_the_n_reviews_is_refused():
    _queue, items = reviewed_queue(1, reviewers_per_item=1)
    first = UserFactory()
    submit(items[0], first)

    with pytest.raises(ReviewRefused, match="reviewed this item already"):
        submit(items[0], first)
    with pytest.raises(ReviewRefused, match="its 1 reviews already"):
        submit(items[0], UserFactory())
    assert QueueReview.objects.count() == 1


def test_a_submit_without_a_reservation_is_refused_when_others_hold_every_free_slot():
    queue, items = reviewed_queue(1, reviewers_per_item=1)
    served(queue, UserFactory())

    with pytest.raises(ReviewRefused, match="reserved by other reviewers"):
        submit(items[0], UserFactory())


def test_a_skip_keeps_its_reason_takes_no_slot_and_serves_the_next_item():
    queue, items = queue_with_items(2, reviewers_per_item=1)
    skipper, other = UserFactory(), UserFactory()
    served(queue, skipper)

    following = queue_item_skip(item=items[0], reviewer=skipper, reason=" not English ")

    assert following.item == items[1]
    assert QueueReview.objects.get().skip_reason == "not English"
    assert served(queue, other) == items[0]


def test_trace_and_session_items_are_annotated_on_the_trace_and_the_session():
    queue = AnnotationQueueFactory(reviewers_per_item=1)
    annotation_queue_update(
        queue=queue, configs=[QueueConfigChoice(AnnotationConfigFactory(name="correctness"))]
    )
    trace = QueueItemFactory(queue=queue, span=None, trace=TraceFactory(project=queue.project))
    session = QueueItemFactory(queue=queue, span=None, session=SessionFactory(project=queue.project))
    reviewer = UserFactory()

    submit(trace, reviewer)
    submit(session, reviewer)

    assert TraceAnnotation.objects.get().trace == trace.trace
    assert SessionAnnotation.objects.get().session == session.session


# --- changing N, states, blind mode ------------------------------------------------------------------------


def test_changing_reviewers_per_item_completes_or_reopens_items():
    queue, items = reviewed_queue(2, reviewers_per_item=2)
    submit(items[0], UserFactory())

    annotation_queue_update(queue=queue, reviewers_per_item=1)
    assert list(QueueItem.objects.filter(completed_at__isnull=False)) == [items[0]]

    annotation_queue_update(queue=queue, reviewers_per_item=3)
    assert not QueueItem.objects.filter(completed_at__isnull=False).exists()


def test_each_item_is_in_the_state_its_reviews_and_reservations_say():
    queue, items = reviewed_queue(5, reviewers_per_item=1)
    submit(items[0], UserFactory())
    queue_item_skip(item=items[2], reviewer=UserFactory())
    QueueReservation.objects.all().delete()  # the next items submit and skip served
    QueueReservationFactory(item=items[1])
    expired = timezone.now() - timedelta(minutes=1)
    QueueReservationFactory(item=items[3], reserved_at=expired - timedelta(minutes=1), expires_at=expired)
    now = timezone.now()

    states = {row["pk"]: item_state(row) for row in queue_item_rows(QueueItem.objects.all(), now=now)}

    assert [states[item.pk] for item in items] == ["done", "in_review", "skipped", "pending", "pending"]
    for state in ItemState.values:
        assert sorted(QueueItem.objects.in_state(state, now=now).values_list("pk", flat=True)) == sorted(
            pk for pk, found in states.items() if found == state
        )
    assert queue_item_counts(queue, now=now) == {"pending": 2, "in_review": 1, "done": 1, "skipped": 1}


def test_in_a_blind_queue_others_labels_are_hidden_from_a_reviewer_until_they_submit():
    queue, items = reviewed_queue(1, reviewers_per_item=2, blind=True)
    reviewer = UserFactory()
    assert labels_hidden_from(item=items[0], reviewer=reviewer)

    submit(items[0], reviewer)

    assert not labels_hidden_from(item=items[0], reviewer=reviewer)
    queue.blind = False
    assert not labels_hidden_from(item=QueueItem(queue=queue), reviewer=UserFactory())


# --- query counts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("items", [3, 30])
def test_next_and_submit_cost_the_same_few_queries_however_many_items_the_queue_holds(
    items, django_assert_num_queries, django_assert_max_num_queries
):
    queue, queued = reviewed_queue(items, reviewers_per_item=2)
    for item in queued[: items // 2]:
        submit(item, UserFactory())
    reviewer = UserFactory()

    # The reservation held, the search, its check under the lock, the reservation; in a savepoint.
    with django_assert_num_queries(6):
        reservation = queue_item_next(queue=queue, reviewer=reviewer)
    item = QueueItem.objects.select_related("queue").get(pk=reservation.item_id)
    # The configs; in a savepoint the lock, the reviewer's review and reservation, N, the annotation upsert
    # (span, configs, and in a savepoint the span's lock, the rows held, the insert, its history), the review,
    # the counter, the reservation; then the six of next. At most: PostgreSQL writes the history with a COPY,
    # which the count does not see.
    with django_assert_max_num_queries(24):
        submit(item, reviewer)
