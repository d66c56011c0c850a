import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from phoenix_annot.annotations.models import reviewer_identifier
from phoenix_annot.filtering.spans import SpanFilter, chip_filter_params
from phoenix_annot.tracing.models import Span
from tests.factories import SpanAnnotationFactory, UserFactory
from tests.filtering.conftest import ALL_SPANS, TRACE_A, TRACE_B

pytestmark = pytest.mark.django_db


def filterset(data: dict, user=None) -> SpanFilter:
    request = RequestFactory().get("/spans", data)
    request.user = user or AnonymousUser()
    return SpanFilter(request.GET, queryset=Span.objects.all(), request=request)


def filtered(data: dict, user=None) -> set[str]:
    spans = filterset(data, user)
    assert spans.is_valid(), spans.errors
    names = list(spans.qs.values_list("name", flat=True))
    assert len(names) == len(set(names)), f"{data} repeated a span: {names}"
    return set(names)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, ALL_SPANS),
        ({"span_kind": ["LLM", "TOOL"]}, {"llm-a", "llm-b", "orphan"}),
        ({"span_kind": "RETRIEVER"}, {"retriever"}),
        ({"status_code": ["ERROR", "UNSET"]}, {"llm-b", "orphan"}),
        ({"name_contains": "LLM"}, {"llm-a", "llm-b"}),
        ({"q": "PASTA"}, {"llm-b", "retriever"}),
        ({"q": "water"}, {"llm-b"}),
        ({"start_time_after": "2026-01-01T12:30:00Z"}, {"llm-b", "retriever", "orphan"}),
        ({"start_time_before": "2026-01-01T12:00:00Z"}, {"root"}),
        (
            {"start_time_after": "2026-01-01T12:00:00Z", "start_time_before": "2026-01-01T12:00:01Z"},
            {"root", "llm-a"},
        ),
        ({"start_time_after": "2026-01-01T13:00"}, {"llm-b", "retriever", "orphan"}),
        ({"latency_min": "250"}, {"root", "llm-a", "retriever"}),
        ({"latency_max": "50"}, {"llm-b", "orphan"}),
        ({"latency_min": "10", "latency_max": "500"}, {"llm-a", "llm-b", "retriever"}),
        ({"root": "true"}, {"root", "llm-b"}),
        ({"root": "false"}, {"llm-a", "retriever", "orphan"}),
        ({"trace_id": TRACE_B}, {"llm-b", "retriever", "orphan"}),
        ({"condition": "span_kind == 'LLM' and latency_ms < 100"}, {"llm-b"}),
        ({"condition": "annotations['correctness'].label is None"}, {"root", "retriever", "orphan"}),
        (
            {"condition": "span_kind == 'LLM'", "status_code": "OK", "annotation_name": "correctness"},
            {"llm-a"},
        ),
    ],
)
def test_each_span_filter_narrows_the_spans(spans, data, expected):
    assert filtered(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"annotation_name": "correctness"}, {"llm-a", "llm-b", "retriever"}),
        ({"annotation_name": "no such name"}, set()),
        ({"annotation_name": "correctness", "label": "incorrect"}, {"llm-b"}),
        ({"annotation_name": "correctness", "label": "correct"}, {"llm-a", "llm-b"}),
        ({"annotation_name": "correctness", "score_min": "0.5"}, {"llm-a", "llm-b"}),
        ({"annotation_name": "correctness", "score_max": "0.5"}, {"llm-b", "retriever"}),
        ({"annotation_name": "correctness", "score_min": "0.3", "score_max": "0.5"}, {"retriever"}),
        ({"annotation_name": "correctness", "annotator_kind": "CODE"}, {"retriever"}),
        ({"annotator_kind": "LLM"}, {"llm-a", "llm-b"}),
        ({"annotator_kind": "HUMAN"}, {"root", "llm-a", "llm-b"}),
    ],
)
def test_feedback_filters_find_spans_by_their_annotations(spans, data, expected):
    assert filtered(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"annotation_name": "correctness", "label": "incorrect", "annotator_kind": "HUMAN"}, {"llm-b"}),
        ({"annotation_name": "correctness", "label": "incorrect", "annotator_kind": "LLM"}, set()),
        ({"annotation_name": "correctness", "label": "incorrect", "score_min": "0.5"}, set()),
        ({"annotation_name": "correctness", "label": "correct", "score_max": "0.5"}, set()),
        ({"annotation_name": "correctness", "annotator_kind": "LLM", "score_max": "0.5"}, set()),
    ],
)
def test_feedback_filters_on_one_name_must_hold_for_the_same_annotation(spans, data, expected):
    assert filtered(data) == expected


def test_label_not_keeps_spans_without_the_annotation_like_phoenixs_exclude_action(spans):
    assert filtered({"annotation_name": "tone", "label_not": "bad"}) == ALL_SPANS - {"root"}
    # llm-b is kept: one of its correctness annotations (the LLM's) is not "incorrect".
    assert filtered({"annotation_name": "correctness", "label_not": "incorrect"}) == ALL_SPANS


def test_label_not_with_another_feedback_filter_needs_an_annotation_meeting_it(spans):
    data = {"annotation_name": "correctness", "label_not": "incorrect", "annotator_kind": "HUMAN"}

    assert filtered(data) == {"llm-a"}


def test_a_span_with_several_annotators_appears_once(spans):
    for identifier in ("px-app:1", "px-app:2", "px-app:3"):
        SpanAnnotationFactory(
            span=spans["orphan"], name="correctness", label="correct", identifier=identifier
        )

    result = filterset({"annotation_name": "correctness", "label": "correct"})

    assert sorted(result.qs.values_list("name", flat=True)) == ["llm-a", "llm-b", "orphan"]
    assert result.qs.count() == 3


def test_missing_annotation_lists_the_spans_nobody_annotated_with_that_name(spans):
    assert filtered({"missing_annotation": "correctness"}) == {"root", "orphan"}
    assert filtered({"missing_annotation": "tone"}) == {"llm-b", "retriever", "orphan"}
    assert filtered({"missing_annotation": "tone", "span_kind": "LLM"}) == {"llm-b"}


def test_notes_do_not_count_as_annotations_of_any_name(spans):
    SpanAnnotationFactory(
        span=spans["orphan"], name="note", label=None, score=None, explanation="look at this"
    )

    assert filtered({"annotator_kind": "HUMAN"}) == {"root", "llm-a", "llm-b"}


@pytest.fixture
def alice(spans):
    """Alice labelled llm-a through the API and the retriever through the Annotate panel; Bob llm-b."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    SpanAnnotationFactory(span=spans["llm-a"], name="helpful", label="yes", user=alice, identifier="script")
    SpanAnnotationFactory(
        span=spans["retriever"], name="helpful", label="no", identifier=reviewer_identifier(alice.pk)
    )
    SpanAnnotationFactory(span=spans["llm-b"], name="helpful", label="yes", user=bob, identifier="px-app:bob")
    return alice


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"labelled_by": "me"}, {"llm-a", "retriever"}),
        ({"labelled_by": "me", "annotation_name": "helpful", "label": "yes"}, {"llm-a"}),
        ({"labelled_by": "me", "annotation_name": "correctness"}, set()),
        ({"labelled_by": "not_me"}, {"root", "llm-b", "orphan"}),
        ({"labelled_by": "not_me", "annotation_name": "helpful"}, {"root", "llm-b", "orphan"}),
        ({"labelled_by": "not_me", "annotation_name": "helpful", "label": "yes"}, ALL_SPANS - {"llm-a"}),
    ],
)
def test_labelled_by_me_matches_the_users_annotations_from_the_api_and_the_annotate_panel(
    alice, data, expected
):
    assert filtered(data, user=alice) == expected


@pytest.mark.parametrize(("labelled_by", "expected"), [("me", set()), ("not_me", ALL_SPANS)])
def test_an_anonymous_requester_has_labelled_nothing(alice, labelled_by, expected):
    assert filtered({"labelled_by": labelled_by}) == expected
    assert set(SpanFilter({"labelled_by": labelled_by}).qs.values_list("name", flat=True)) == expected


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"label": "correct"}, "label"),
        ({"label_not": "correct"}, "label_not"),
        ({"score_min": "0.5"}, "score_min"),
        ({"score_max": "0.5"}, "score_max"),
        ({"span_kind": "banana"}, "span_kind"),
        ({"attribute": "nocolon"}, "attribute"),
        ({"start_time": "yesterday"}, "start_time"),
        ({"status_code": "FINE"}, "status_code"),
        ({"annotator_kind": "ROBOT"}, "annotator_kind"),
        ({"labelled_by": "someone"}, "labelled_by"),
        ({"latency_min": "fast"}, "latency_min"),
        ({"score_min": "NaN", "annotation_name": "q"}, "score_min"),
        ({"start_time_after": "yesterday"}, "start_time_after"),
    ],
)
def test_invalid_filter_values_become_form_errors(spans, data, field):
    result = filterset(data)

    assert not result.is_valid()
    assert result.errors[field]


def test_an_invalid_condition_is_a_form_error_on_the_condition_field(spans):
    result = filterset({"condition": "name == 1", "span_kind": "LLM"})

    assert not result.is_valid()
    assert result.errors["condition"] == ["`name` is text, so it cannot be compared with 1."]
    # The rest of the filters still apply; the view decides what to show beside the error.
    assert set(result.qs.values_list("name", flat=True)) == {"llm-a", "llm-b"}


def test_an_empty_condition_is_no_filter(spans):
    assert filtered({"condition": "  "}) == ALL_SPANS


def test_the_filter_bar_form_has_a_field_per_filter():
    form = SpanFilter().form

    assert list(form.fields) == [
        "start_time",
        "end_time",
        "trace_id",
        "span_id",
        "parent_id",
        "name",
        "span_kind",
        "status_code",
        "attribute",
        "name_contains",
        "q",
        "start_time_after",
        "start_time_before",
        "latency_min",
        "latency_max",
        "root",
        "annotation_name",
        "label",
        "label_not",
        "score_min",
        "score_max",
        "annotator_kind",
        "labelled_by",
        "missing_annotation",
        "retrieval_hit",
        "ndcg_below",
        "disagreement",
        "condition",
    ]


def test_the_filtered_spans_are_read_in_one_query(spans, alice, django_assert_num_queries):
    data = {
        "span_kind": "LLM",
        "annotation_name": "correctness",
        "label": "correct",
        "annotator_kind": "HUMAN",
        "labelled_by": "not_me",
        "missing_annotation": "tone",
        "condition": "trace_annotations['quality'].score < 0.5 and 'pasta' in input.value",
    }
    result = filterset(data, user=alice)

    with django_assert_num_queries(1):
        names = list(result.qs.values_list("name", flat=True))

    assert names == ["llm-b"]


@pytest.mark.parametrize(
    ("chip", "params", "expected"),
    [
        (
            {"name": "correctness", "label": "incorrect"},
            {"annotation_name": "correctness", "label": "incorrect"},
            {"llm-b"},
        ),
        (
            {"name": "correctness", "score": 0.4},
            {"annotation_name": "correctness", "score_min": "0.4", "score_max": "0.4"},
            {"retriever"},
        ),
        ({"name": "tone"}, {"annotation_name": "tone"}, {"root", "llm-a"}),
    ],
)
def test_a_feedback_chip_links_to_the_spans_it_counts(spans, chip, params, expected):
    assert chip_filter_params(**chip) == params
    assert filtered(params) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"start_time": "2026-01-01T12:30:00"}, {"llm-b", "retriever", "orphan"}),
        ({"end_time": "2026-01-01T12:30:00Z"}, {"root", "llm-a"}),
        ({"trace_id": [TRACE_A, TRACE_B]}, ALL_SPANS),
        ({"span_id": ["00000000000000a1", "00000000000000c1"]}, {"root", "orphan"}),
        ({"span_id": "00000000000000a1,00000000000000c1"}, set()),
        ({"parent_id": "null"}, {"root", "llm-b"}),
        ({"parent_id": "00000000000000a1"}, {"llm-a"}),
        ({"name": ["llm-a", "orphan"]}, {"llm-a", "orphan"}),
        ({"name": "llm"}, set()),
        ({"span_kind": ["retriever", "Tool"]}, {"retriever", "orphan"}),
        ({"status_code": "error"}, {"llm-b"}),
        ({"attribute": "metadata.topic:cooking"}, {"llm-b"}),
        ({"attribute": ["metadata.topic:programming", "metadata.tier:premium"]}, {"llm-a"}),
        ({"attribute": "retry_count:2"}, {"llm-b"}),
        ({"attribute": "metadata.flag:true"}, {"llm-a"}),
    ],
)
def test_phoenixs_span_list_parameters_filter_the_page_too(spans, data, expected):
    assert filtered(data) == expected
