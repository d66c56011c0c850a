"""Queue rules: the backfill when a rule is saved, and the items of spans ingested afterwards."""

from hashlib import md5

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import spans_ingest
from phoenix_annot.queues.models import QueueItem
from phoenix_annot.queues.rules import queue_rule_create, queue_rule_delete, queue_rule_update
from phoenix_annot.tracing.models import Span
from tests.factories import (
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceFactory,
    UserFactory,
)
from tests.ingest.builders import export_request, otlp_span
from tests.queues.factories import AnnotationQueueFactory

pytestmark = pytest.mark.django_db

LLM = {"openinference.span.kind": "LLM"}
CHAIN = {"openinference.span.kind": "CHAIN"}


def ingest(*spans, project: str) -> None:
    spans_ingest(records=decode_request(export_request(*spans), project_name=project))


def item_spans(queue) -> set[str]:
    return set(QueueItem.objects.filter(queue=queue).values_list("span__span_id", flat=True))


def in_sample(key: str, percent: int) -> bool:
    """The rule's sample as the docstring of rules.py defines it, computed here in Python."""
    return int(md5(key.encode()).hexdigest()[:4], 16) < round(percent * 65536 / 100)


def test_saving_a_rule_adds_the_stored_spans_its_filter_matches():
    queue = AnnotationQueueFactory()
    llm = SpanFactory(trace__project=queue.project, span_kind="LLM")
    SpanFactory(trace__project=queue.project, span_kind="CHAIN")
    SpanFactory(span_kind="LLM")  # another project's

    saved = queue_rule_create(queue=queue, user=None, filter={"span_kind": ["LLM"]})

    assert item_spans(queue) == {llm.span_id}
    assert (saved.backfill.added, saved.backfill.already) == (1, 0)


def test_spans_ingested_after_a_rule_was_saved_are_added_when_they_match():
    queue = AnnotationQueueFactory(project__name="chat")
    queue_rule_create(queue=queue, user=None, filter={"condition": "span_kind == 'LLM'"})

    ingest(
        otlp_span(trace_id=1, span_id=1, attributes=CHAIN),
        otlp_span(trace_id=1, span_id=2, parent_id=1, attributes=LLM),
        project="chat",
    )

    assert item_spans(queue) == {f"{2:016x}"}


def test_a_trace_rule_adds_the_traces_of_matching_spans_once_each():
    queue = AnnotationQueueFactory(project__name="chat")
    queue_rule_create(queue=queue, user=None, kind="trace", filter={"span_kind": "LLM"})

    ingest(
        otlp_span(trace_id=1, span_id=1, attributes=CHAIN),
        otlp_span(trace_id=1, span_id=2, parent_id=1, attributes=LLM),
        otlp_span(trace_id=1, span_id=3, parent_id=1, attributes=LLM),
        otlp_span(trace_id=2, span_id=4, attributes=CHAIN),
        project="chat",
    )

    assert list(QueueItem.objects.filter(queue=queue).values_list("trace__trace_id", flat=True)) == [
        f"{1:032x}"
    ]


def test_a_session_rule_adds_the_session_of_a_matching_span():
    queue = AnnotationQueueFactory(project__name="chat")
    queue_rule_create(queue=queue, user=None, kind="session", filter={"span_kind": "LLM"})

    ingest(
        otlp_span(trace_id=1, span_id=1, attributes={**LLM, "session.id": "conversation-7"}), project="chat"
    )

    assert list(QueueItem.objects.filter(queue=queue).values_list("session__session_id", flat=True)) == [
        "conversation-7"
    ]


def test_a_disabled_rule_adds_nothing_when_saved_or_at_ingest():
    queue = AnnotationQueueFactory(project__name="chat")
    SpanFactory(trace__project=queue.project)

    saved = queue_rule_create(queue=queue, user=None, filter={}, enabled=False)
    ingest(otlp_span(trace_id=1, span_id=1, attributes=LLM), project="chat")

    assert saved.backfill is None
    assert not QueueItem.objects.filter(queue=queue).exists()


def test_a_rule_of_another_project_adds_nothing():
    queue = AnnotationQueueFactory(project__name="other")
    ProjectFactory(name="chat")
    queue_rule_create(queue=queue, user=None, filter={})

    ingest(otlp_span(trace_id=1, span_id=1, attributes=LLM), project="chat")

    assert not QueueItem.objects.filter(queue=queue).exists()


def test_saving_a_rule_again_adds_nothing_new_and_counts_what_is_there():
    queue = AnnotationQueueFactory()
    spans = SpanFactory.create_batch(3, trace__project=queue.project)
    rule = queue_rule_create(queue=queue, user=None, filter={}).rule

    again = queue_rule_update(rule=rule, filter={})

    assert (again.backfill.added, again.backfill.already) == (0, 3)
    assert item_spans(queue) == {span.span_id for span in spans}


def test_a_span_ingested_twice_is_in_the_queue_once():
    queue = AnnotationQueueFactory(project__name="chat")
    queue_rule_create(queue=queue, user=None, filter={})

    ingest(otlp_span(trace_id=1, span_id=1), project="chat")
    spans_ingest(
        records=decode_request(export_request(otlp_span(trace_id=1, span_id=1)), project_name="chat")
    )

    assert QueueItem.objects.filter(queue=queue).count() == 1


def test_sampling_chooses_by_a_hash_of_the_id_and_the_backfill_and_ingest_agree():
    queue = AnnotationQueueFactory(project__name="chat")
    stored = SpanFactory.create_batch(200, trace__project=queue.project)
    rule = queue_rule_create(queue=queue, user=None, filter={}, sampling_percent=10).rule
    ingest(*(otlp_span(trace_id=1000 + n, span_id=1000 + n) for n in range(200)), project="chat")
    added_first = item_spans(queue)

    queue_rule_update(rule=rule, sampling_percent=10)

    every = [span.span_id for span in stored] + [f"{1000 + n:016x}" for n in range(200)]
    assert added_first == {span_id for span_id in every if in_sample(span_id, 10)}
    assert 20 <= len(added_first) <= 60
    assert item_spans(queue) == added_first


def test_a_trace_sample_takes_all_or_none_of_a_trace():
    queue = AnnotationQueueFactory()
    traces = TraceFactory.create_batch(60, project=queue.project)
    for trace in traces:
        SpanFactory.create_batch(2, trace=trace)

    queue_rule_create(queue=queue, user=None, kind="trace", filter={}, sampling_percent=50)

    added = set(QueueItem.objects.filter(queue=queue).values_list("trace__trace_id", flat=True))
    assert added == {trace.trace_id for trace in traces if in_sample(trace.trace_id, 50)}


def test_a_changed_rule_applies_its_new_filter_to_the_next_ingest():
    queue = AnnotationQueueFactory(project__name="chat")
    rule = queue_rule_create(queue=queue, user=None, filter={"span_kind": "LLM"}).rule
    ingest(otlp_span(trace_id=1, span_id=1, attributes=LLM), project="chat")

    queue_rule_update(rule=rule, filter={"span_kind": "CHAIN"})
    ingest(
        otlp_span(trace_id=2, span_id=2, attributes=LLM),
        otlp_span(trace_id=2, span_id=3, attributes=CHAIN),
        project="chat",
    )

    assert item_spans(queue) == {f"{1:016x}", f"{3:016x}"}


def test_a_feedback_filter_sees_annotations_stored_before_the_rule_was_saved():
    queue = AnnotationQueueFactory()
    wrong = SpanAnnotationFactory(span__trace__project=queue.project, label="incorrect").span
    SpanAnnotationFactory(span__trace__project=queue.project, label="correct")

    queue_rule_create(queue=queue, user=None, filter={"annotation_name": "correctness", "label": "incorrect"})

    assert item_spans(queue) == {wrong.span_id}


def test_a_rule_that_matches_nothing_by_construction_adds_nothing_and_others_still_add():
    queue = AnnotationQueueFactory(project__name="chat")
    SpanAnnotationFactory(span__trace__project=queue.project)
    # Without an author, nothing is "labelled by me": Django compiles no SQL for such a filter.
    nobody = queue_rule_create(
        queue=queue, user=None, filter={"annotation_name": "correctness", "labelled_by": "me"}
    )
    every = AnnotationQueueFactory(project=queue.project)
    queue_rule_create(queue=every, user=None, filter={})

    ingest(otlp_span(trace_id=1, span_id=1), project="chat")

    assert (nobody.backfill.added, nobody.backfill.already) == (0, 0)
    assert not QueueItem.objects.filter(queue=queue).exists()
    assert QueueItem.objects.filter(queue=every).count() == 2


def test_labelled_by_me_means_the_author_of_the_rule():
    queue = AnnotationQueueFactory()
    author = UserFactory()
    mine = SpanAnnotationFactory(span__trace__project=queue.project, user=author).span
    SpanAnnotationFactory(span__trace__project=queue.project)

    queue_rule_create(
        queue=queue, user=author, filter={"annotation_name": "correctness", "labelled_by": "me"}
    )

    assert item_spans(queue) == {mine.span_id}


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"filter": {"span_kind": "LLMM"}}, "filter", "span_kind: Invalid span_kind values: ['LLMM']"),
        ({"filter": {"colour": "red"}}, "filter", "colour: Not a span filter parameter."),
        ({"filter": {"condition": "latncy_ms > 3"}}, "filter", "condition: "),
        ({"filter": {}, "sampling_percent": 0}, "sampling_percent", "greater than or equal to 1"),
        ({"filter": {}, "sampling_percent": 101}, "sampling_percent", "less than or equal to 100"),
        ({"filter": {}, "kind": "dataset"}, "kind", "not a valid choice"),
        ({"filter": ["span_kind"]}, "filter", "An object of span filter parameters."),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field_and_nothing_is_saved(fields, field, words):
    queue = AnnotationQueueFactory()
    SpanFactory(trace__project=queue.project)

    with pytest.raises(ValidationError) as refused:
        queue_rule_create(queue=queue, user=None, **fields)

    assert words in " ".join(refused.value.message_dict[field])
    assert not queue.rules.exists()
    assert not QueueItem.objects.filter(queue=queue).exists()


def test_deleting_a_rule_keeps_its_items_and_stops_adding():
    queue = AnnotationQueueFactory(project__name="chat")
    SpanFactory(trace__project=queue.project)
    rule = queue_rule_create(queue=queue, user=None, filter={}).rule

    queue_rule_delete(rule=rule)
    ingest(otlp_span(trace_id=1, span_id=1), project="chat")

    assert QueueItem.objects.filter(queue=queue).count() == 1


def test_a_rule_that_fails_at_ingest_adds_nothing_and_the_spans_are_stored(caplog):
    queue = AnnotationQueueFactory(project__name="chat")
    rule = queue_rule_create(queue=queue, user=None, filter={}).rule
    # A filter saved by an older version that this one no longer reads.
    type(rule).objects.filter(pk=rule.pk).update(filter={"condition": "span_kind =="})

    ingest(otlp_span(trace_id=1, span_id=1), project="chat")

    assert Span.objects.filter(span_id=f"{1:016x}").exists()
    assert not QueueItem.objects.filter(queue=queue).exists()
    assert f"Queue rules [{rule.pk}] failed" in caplog.text


def ingest_queries(project_name: str, *spans) -> int:
    with CaptureQueriesContext(connection) as queries:
        ingest(*spans, project=project_name)
    return len(queries)


def test_ingest_costs_the_same_queries_for_one_rule_or_three_of_each_kind():
    one, three = ProjectFactory(name="one"), ProjectFactory(name="three")
    queue_rule_create(queue=AnnotationQueueFactory(project=one), user=None, filter={"span_kind": "LLM"})
    queues = AnnotationQueueFactory.create_batch(3, project=three)
    for queue, kind in zip(queues, ["span", "trace", "session"], strict=True):
        queue_rule_create(queue=queue, user=None, kind=kind, filter={"span_kind": "LLM"})

    counts = [
        ingest_queries("one", otlp_span(trace_id=1, span_id=1, attributes={**LLM, "session.id": "s1"})),
        ingest_queries("three", otlp_span(trace_id=2, span_id=2, attributes={**LLM, "session.id": "s2"})),
    ]

    assert counts[0] == counts[1]
    assert [QueueItem.objects.filter(queue=queue).count() for queue in queues] == [1, 1, 1]


def test_a_project_without_rules_pays_one_small_query_at_ingest():
    ProjectFactory(name="chat")

    with CaptureQueriesContext(connection) as queries:
        ingest(otlp_span(trace_id=1, span_id=1), project="chat")

    assert len([q for q in queries if "queues_queue" in q["sql"]]) == 1
