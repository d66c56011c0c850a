import pytest

from phoenix_annot.filtering.feedback import (
    FeedbackRollup,
    FeedbackSummary,
    feedback_rollups,
    feedback_summaries_for_spans,
)
from phoenix_annot.tracing.models import Span
from tests.factories import SpanAnnotationFactory, SpanFactory

pytestmark = pytest.mark.django_db


def summaries_by_name(spans) -> dict[str, list[FeedbackSummary]]:
    summaries = feedback_summaries_for_spans(span.pk for span in spans.values())
    return {name: summaries[span.pk] for name, span in spans.items()}


def test_each_span_gets_one_summary_per_annotation_name(spans):
    summaries = summaries_by_name(spans)

    assert summaries["llm-a"] == [
        FeedbackSummary("correctness", 1, 1.0, {"correct": 1}, frozenset({"HUMAN"})),
        FeedbackSummary("hallucination", 1, 0.9, {}, frozenset({"LLM"})),
        FeedbackSummary("tone", 1, None, {"fine": 1}, frozenset({"HUMAN"})),
    ]
    assert summaries["llm-b"] == [
        FeedbackSummary("correctness", 2, 0.5, {"correct": 1, "incorrect": 1}, frozenset({"HUMAN", "LLM"}))
    ]
    assert summaries["retriever"] == [FeedbackSummary("correctness", 1, 0.4, {}, frozenset({"CODE"}))]
    assert summaries["orphan"] == []


def test_a_summary_counts_labels_most_frequent_first_and_tells_human_from_machine_feedback():
    span = SpanFactory()
    for identifier, label, kind in [("a", "bad", "HUMAN"), ("b", "good", "HUMAN"), ("c", "good", "LLM")]:
        SpanAnnotationFactory(
            span=span, name="tone", label=label, score=None, identifier=identifier, annotator_kind=kind
        )
    SpanAnnotationFactory(
        span=span, name="tone", label=None, score=None, identifier="d", annotator_kind="CODE"
    )

    [summary] = feedback_summaries_for_spans([span.pk])[span.pk]

    assert (summary.count, summary.mean_score) == (4, None)
    assert list(summary.label_counts.items()) == [("good", 2), ("bad", 1)]
    assert summary.has_human and summary.has_machine


def test_human_only_feedback_has_no_machine_kind():
    annotation = SpanAnnotationFactory(annotator_kind="HUMAN")

    [summary] = feedback_summaries_for_spans([annotation.span.pk])[annotation.span.pk]

    assert summary.has_human and not summary.has_machine


def test_notes_are_left_out_of_summaries_and_roll_ups(spans):
    SpanAnnotationFactory(span=spans["orphan"], name="note", label=None, score=None, explanation="odd")

    assert feedback_summaries_for_spans([spans["orphan"].pk]) == {spans["orphan"].pk: []}
    assert "note" not in {rollup.name for rollup in feedback_rollups(Span.objects.all())}


def test_summaries_take_one_query_however_many_spans_and_annotations(spans, django_assert_num_queries):
    for index in range(30):
        span = SpanFactory(trace=spans["root"].trace)
        for identifier in ("a", "b", "c"):
            SpanAnnotationFactory(
                span=span, name=f"name-{index % 4}", identifier=identifier, score=index / 30
            )
    span_pks = list(Span.objects.values_list("pk", flat=True))

    with django_assert_num_queries(1):
        summaries = feedback_summaries_for_spans(span_pks)

    assert len(summaries) == 35
    assert sum(len(span_summaries) for span_summaries in summaries.values()) == 30 + 6


def test_a_span_weighs_the_same_in_a_roll_up_however_many_annotators_it_has():
    span_a, span_b = SpanFactory(), SpanFactory()
    SpanAnnotationFactory(span=span_a, name="correctness", label="correct", score=1.0, identifier="x")
    SpanAnnotationFactory(span=span_a, name="correctness", label="incorrect", score=0.0, identifier="y")
    SpanAnnotationFactory(span=span_b, name="correctness", label="correct", score=1.0)

    [rollup] = feedback_rollups(Span.objects.all())

    assert rollup.mean_score == pytest.approx(0.75)
    assert rollup.label_fractions == pytest.approx({"correct": 0.75, "incorrect": 0.25})
    assert (rollup.annotation_count, rollup.span_count) == (3, 2)


def test_roll_ups_cover_every_annotation_name_of_the_spans(spans):
    rollups = feedback_rollups(Span.objects.all())

    assert [rollup.name for rollup in rollups] == ["correctness", "hallucination", "tone"]
    correctness, hallucination, tone = rollups
    # llm-a 1.0 (correct); llm-b 0.0 (incorrect) and 1.0 (correct); the retriever 0.4 without a label.
    assert correctness.mean_score == pytest.approx((1.0 + 0.5 + 0.4) / 3)
    assert correctness.label_fractions == pytest.approx({"correct": 1.5 / 3, "incorrect": 0.5 / 3})
    assert (correctness.annotation_count, correctness.span_count) == (4, 3)
    assert hallucination == FeedbackRollup("hallucination", 1, 1, pytest.approx(0.9), {})
    assert tone == FeedbackRollup("tone", 2, 2, None, {"bad": 0.5, "fine": 0.5})


def test_roll_ups_cover_only_the_spans_of_the_filter(spans):
    correctness, hallucination, tone = feedback_rollups(
        Span.objects.filter(span_kind="LLM").order_by("-start_time")
    )

    assert (hallucination.name, tone.name, tone.label_fractions) == ("hallucination", "tone", {"fine": 1.0})
    assert correctness.mean_score == pytest.approx(0.75)
    assert correctness.label_fractions == pytest.approx({"correct": 0.75, "incorrect": 0.25})
    assert feedback_rollups(Span.objects.filter(span_kind="TOOL")) == []


def test_annotations_without_label_or_score_are_left_out_of_roll_ups():
    span_a, span_b = SpanFactory(), SpanFactory()
    SpanAnnotationFactory(span=span_a, name="q", label="good", score=None, identifier="x")
    SpanAnnotationFactory(span=span_a, name="q", label=None, score=None, explanation="hmm", identifier="y")
    SpanAnnotationFactory(span=span_b, name="q", label=None, score=None, explanation="hmm")

    [rollup] = feedback_rollups(Span.objects.all())

    assert rollup == FeedbackRollup("q", 1, 1, None, {"good": 1.0})


def test_label_fractions_are_shares_of_every_span_with_the_annotation_even_a_score_only_one():
    span_a, span_b = SpanFactory(), SpanFactory()
    SpanAnnotationFactory(span=span_a, name="q", label="good", score=None)
    SpanAnnotationFactory(span=span_b, name="q", label=None, score=0.5)

    [rollup] = feedback_rollups(Span.objects.all())

    assert rollup == FeedbackRollup("q", 2, 2, 0.5, {"good": 0.5})


def test_roll_ups_take_one_query_however_many_spans_and_annotations(spans, django_assert_num_queries):
    for index in range(40):
        span = SpanFactory(trace=spans["root"].trace)
        for identifier in ("a", "b"):
            SpanAnnotationFactory(
                span=span, name=f"name-{index % 5}", label=f"label-{index % 3}", identifier=identifier
            )

    with django_assert_num_queries(1):
        rollups = feedback_rollups(Span.objects.filter(project=spans["root"].project))

    assert len(rollups) == 3 + 5
