"""The annotation history: every write path appends exactly the events of what it changed, in its own
transaction, and nothing when it changed nothing or was refused."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from phoenix_annot.annotations import services
from phoenix_annot.annotations.models import (
    AnnotationEvent,
    DocumentAnnotation,
    SpanAnnotation,
    reviewer_identifier,
)
from phoenix_annot.annotations.ownership import NotYours
from phoenix_annot.annotations.services import (
    AnnotationWrite,
    MissingTargets,
    annotation_delete,
    annotation_rows_delete,
    annotation_save,
    annotations_delete,
    document_annotations_upsert,
    document_relevance_set,
    session_annotation_upsert,
    span_annotation_note_add,
    span_annotation_upsert,
    span_annotations_upsert,
    trace_annotation_upsert,
)
from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import spans_ingest
from phoenix_annot.queues.services import (
    QueueConfigChoice,
    ReviewAnnotation,
    annotation_queue_update,
    queue_item_next,
    queue_item_submit,
)
from tests.factories import (
    AnnotationConfigFactory,
    SessionFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceFactory,
    UserFactory,
    retriever_span,
)
from tests.ingest.builders import export_request, otlp_span
from tests.queues.factories import AnnotationQueueFactory, QueueItemFactory

pytestmark = pytest.mark.django_db


def values(label=None, score=None, explanation=None, metadata=None, annotator_kind="HUMAN") -> dict:
    """An annotation's values as an event records them."""
    return {
        "label": label,
        "score": score,
        "explanation": explanation,
        "metadata": metadata or {},
        "annotator_kind": annotator_kind,
    }


def history(**filters) -> list[tuple]:
    """The events in the order they were appended: action, via, who, what and the values."""
    return [
        (
            event.action,
            event.via,
            event.user,
            event.target_kind,
            event.target_key,
            event.name,
            event.before,
            event.after,
        )
        for event in AnnotationEvent.objects.filter(**filters).select_related("user").order_by("id")
    ]


def page_write(span, user, **fields):
    return span_annotation_upsert(
        span=span,
        name="correctness",
        identifier=reviewer_identifier(user.pk),
        annotator_kind="HUMAN",
        source="APP",
        user=user,
        **fields,
    )


def test_a_reviewers_create_update_unchanged_rewrite_and_delete_append_three_events():
    span, alice = SpanFactory(), UserFactory()

    created = page_write(span, alice, label="correct", score=1.0)
    page_write(span, alice, label="incorrect", score=0.0, explanation="Lyon is not the capital")
    page_write(span, alice, label="incorrect", score=0.0, explanation="Lyon is not the capital")
    annotation_delete(annotation=SpanAnnotation.objects.get(), user=alice)

    was = values("incorrect", 0.0, "Lyon is not the capital")
    assert history() == [
        ("create", "page", alice, "span", span.span_id, "correctness", None, values("correct", 1.0)),
        ("update", "page", alice, "span", span.span_id, "correctness", values("correct", 1.0), was),
        ("delete", "page", alice, "span", span.span_id, "correctness", was, None),
    ]
    event = AnnotationEvent.objects.first()
    assert (event.target_pk, event.project_pk, event.annotation_pk) == (span.pk, span.project_id, created.pk)
    assert event.identifier == reviewer_identifier(alice.pk)


def test_trace_and_session_writes_name_their_target():
    trace, session = TraceFactory(), SessionFactory()

    trace_annotation_upsert(
        trace=trace, name="user_feedback", annotator_kind="HUMAN", source="API", label="up"
    )
    session_annotation_upsert(session=session, name="resolved", annotator_kind="LLM", source="API", score=1.0)

    events = AnnotationEvent.objects.order_by("id")
    assert [(e.target_kind, e.target_pk, e.target_key, e.project_pk) for e in events] == [
        ("trace", trace.pk, trace.trace_id, trace.project_id),
        ("session", session.pk, session.session_id, session.project_id),
    ]


def test_a_bulk_write_of_100_appends_one_event_per_new_or_changed_annotation_and_none_for_the_unchanged():
    spans = SpanFactory.create_batch(100)
    first = [
        AnnotationWrite(span.span_id, "correctness", "LLM", label="correct", score=1.0) for span in spans
    ]
    span_annotations_upsert(writes=first[:60], source="API", user=None)
    AnnotationEvent.objects.all().delete()
    # 40 new, 30 changed, 30 as they are.
    second = [
        *first[60:],
        *(
            AnnotationWrite(w.target_id, "correctness", "LLM", label="incorrect", score=0.0)
            for w in first[:30]
        ),
        *first[30:60],
    ]

    span_annotations_upsert(writes=second, source="API", user=None)

    events = list(AnnotationEvent.objects.order_by("target_key"))
    assert [(e.target_key, e.action) for e in events] == sorted(
        [(w.target_id, "create") for w in first[60:]] + [(w.target_id, "update") for w in first[:30]]
    )
    updated = next(e for e in events if e.action == "update")
    assert (updated.before, updated.after) == (
        values("correct", 1.0, annotator_kind="LLM"),
        values("incorrect", 0.0, annotator_kind="LLM"),
    )
    assert {(e.via, e.user_id) for e in events} == {("api", None)}
    stored = dict(SpanAnnotation.objects.values_list("span__span_id", "pk"))
    assert all(e.annotation_pk == stored[e.target_key] for e in events)


def test_a_key_written_twice_in_one_request_appends_its_last_values_once():
    span = SpanFactory()

    span_annotations_upsert(
        writes=[
            AnnotationWrite(span.span_id, "correctness", "LLM", label="correct"),
            AnnotationWrite(span.span_id, "correctness", "LLM", label="incorrect"),
        ],
        source="API",
        user=None,
    )

    assert [(e.action, e.after["label"]) for e in AnnotationEvent.objects.all()] == [("create", "incorrect")]


# Up to 50: SQLite takes at most 999 parameters a statement, and Django splits longer inserts.
@pytest.mark.parametrize("count", [10, 50])
def test_a_bulk_write_reads_the_values_before_in_a_query_per_batch_not_per_annotation(count):
    spans = SpanFactory.create_batch(count)
    writes = [AnnotationWrite(span.span_id, "correctness", "LLM", label="correct") for span in spans]
    span_annotations_upsert(writes=writes[: count // 2], source="API", user=None)

    with CaptureQueriesContext(connection) as queries:
        span_annotations_upsert(
            writes=[AnnotationWrite(w.target_id, "correctness", "LLM", label="incorrect") for w in writes],
            source="API",
            user=None,
        )

    # Spans, configs, then in a savepoint: the spans' lock, the rows before, the upsert, the events (a COPY
    # on PostgreSQL, which the capture does not see).
    assert len(queries) <= 8
    assert AnnotationEvent.objects.filter(action="update").count() == count // 2


def test_a_refused_bulk_write_appends_nothing():
    span, alice, bob = SpanFactory(), UserFactory(), UserFactory()
    span_annotations_upsert(
        writes=[AnnotationWrite(span.span_id, "correctness", "HUMAN", label="correct")],
        source="API",
        user=alice,
    )
    before = AnnotationEvent.objects.count()
    others = SpanFactory.create_batch(3)
    fine = [AnnotationWrite(other.span_id, "correctness", "HUMAN", label="correct") for other in others]

    with pytest.raises(NotYours):
        span_annotations_upsert(
            writes=[*fine, AnnotationWrite(span.span_id, "correctness", "HUMAN", label="no")],
            source="API",
            user=bob,
        )
    with pytest.raises(ValidationError):
        span_annotations_upsert(
            writes=[*fine, AnnotationWrite(span.span_id, "note", "HUMAN", label="x")], source="API", user=None
        )
    with pytest.raises(MissingTargets):
        span_annotations_upsert(
            writes=[*fine, AnnotationWrite("f" * 16, "x", "HUMAN", label="x")], source="API", user=None
        )

    assert AnnotationEvent.objects.count() == before
    assert SpanAnnotation.objects.count() == 1


def test_an_annotation_waiting_for_its_span_appends_its_event_when_the_span_arrives():
    alice = UserFactory()
    span_annotations_upsert(
        writes=[AnnotationWrite("00000000000000aa", "correctness", "CODE", score=0.5)],
        source="API",
        user=alice,
        keep_missing=True,
    )
    assert not AnnotationEvent.objects.exists()

    spans_ingest(records=decode_request(export_request(otlp_span(span_id=0xAA))))

    assert history() == [
        (
            "create",
            "ingest",
            alice,
            "span",
            "00000000000000aa",
            "correctness",
            None,
            values(score=0.5, annotator_kind="CODE"),
        )
    ]


def test_a_note_appends_an_api_event():
    span = SpanFactory()

    note = span_annotation_note_add(span_id=span.span_id, text="check the source", user=None)

    assert history() == [
        ("create", "api", None, "span", span.span_id, "note", None, values(explanation="check the source"))
    ]
    assert AnnotationEvent.objects.get().identifier == note.identifier


def test_a_queue_review_appends_queue_events_under_the_reviewers_name():
    queue, reviewer = AnnotationQueueFactory(), UserFactory()
    item = QueueItemFactory(queue=queue)
    annotation_queue_update(
        queue=queue, configs=[QueueConfigChoice(AnnotationConfigFactory(name="correctness"))]
    )
    queue_item_next(queue=queue, reviewer=reviewer)

    queue_item_submit(
        item=item,
        reviewer=reviewer,
        annotations=[ReviewAnnotation(name="correctness", label="correct")],
        source="APP",
    )

    assert history() == [
        ("create", "queue", reviewer, "span", item.span.span_id, "correctness", None, values("correct"))
    ]


def test_a_bulk_delete_appends_a_bulk_event_for_each_annotation_it_deletes_and_only_those():
    alice, bob = UserFactory(), UserFactory()
    spans = SpanFactory.create_batch(3)
    mine = [
        SpanAnnotationFactory(span=span, user=alice, label="correct", score=1.0, annotator_kind="LLM")
        for span in spans
    ]
    SpanAnnotationFactory(span=spans[0], name="tone", user=bob)

    deleted = annotations_delete(annotations=SpanAnnotation.objects.all(), user=alice)

    assert deleted == 3
    assert [(e.action, e.via, e.user, e.annotation_pk) for e in AnnotationEvent.objects.order_by("id")] == [
        ("delete", "bulk", alice, annotation.pk) for annotation in mine
    ]
    assert AnnotationEvent.objects.first().before == values("correct", 1.0, annotator_kind="LLM")


@pytest.mark.parametrize("count", [4, 5])
def test_a_delete_of_more_rows_than_a_batch_appends_every_event(monkeypatch, count):
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    SpanAnnotationFactory.create_batch(count)

    assert annotation_rows_delete(annotations=SpanAnnotation.objects.all(), user=None, via="admin") == count
    assert AnnotationEvent.objects.filter(action="delete", via="admin").count() == count
    assert not SpanAnnotation.objects.exists()


def test_a_refused_delete_appends_nothing():
    annotation = SpanAnnotationFactory(user=UserFactory())

    with pytest.raises(NotYours):
        annotation_delete(annotation=annotation, user=UserFactory())

    assert not AnnotationEvent.objects.exists()


def test_document_relevance_names_the_document_by_its_span_and_position():
    span, alice = retriever_span(SpanFactory().project, 3), UserFactory()

    document_relevance_set(span=span, document_position=2, label="relevant", user=alice)
    document_annotations_upsert(
        writes=[AnnotationWrite(span.span_id, "relevance", "LLM", score=0.0, document_position=1)],
        source="API",
        user=None,
    )
    annotations_delete(annotations=DocumentAnnotation.objects.filter(document_position=1), user=None)

    assert [
        (e.action, e.via, e.target_kind, e.target_pk, e.document_position)
        for e in AnnotationEvent.objects.order_by("id")
    ] == [
        ("create", "page", "document", span.pk, 2),
        ("create", "api", "document", span.pk, 1),
        ("delete", "bulk", "document", span.pk, 1),
    ]


def test_an_admin_edit_is_an_admin_update_and_a_move_to_another_span_a_delete_and_a_create():
    admin, annotation = UserFactory(role="ADMIN"), SpanAnnotationFactory(label="correct", score=1.0)
    first_span, other_span = annotation.span, SpanFactory()

    annotation.label = "incorrect"
    annotation_save(annotation=annotation, user=admin)
    annotation_save(annotation=annotation, user=admin)
    annotation.span = other_span
    annotation_save(annotation=annotation, user=admin)

    was = values("incorrect", 1.0)
    assert history() == [
        ("update", "admin", admin, "span", first_span.span_id, "correctness", values("correct", 1.0), was),
        ("delete", "admin", admin, "span", first_span.span_id, "correctness", was, None),
        ("create", "admin", admin, "span", other_span.span_id, "correctness", None, was),
    ]


def test_deleting_a_span_keeps_the_history_of_its_annotations():
    span = SpanFactory()
    page_write(span, UserFactory(), label="correct")

    span.delete()

    assert AnnotationEvent.objects.get().target_key == span.span_id
