import pytest
from django.db.models import Q

from phoenix_annot.filtering.expression import FilterExpressionError, span_condition_q
from phoenix_annot.tracing.models import Span
from tests.factories import SpanAnnotationFactory
from tests.filtering.conftest import ALL_SPANS, TRACE_A

pytestmark = pytest.mark.django_db


def matching(condition: str) -> set[str]:
    names = list(Span.objects.filter(span_condition_q(condition)).values_list("name", flat=True))
    assert len(names) == len(set(names)), f"{condition!r} repeated a span: {names}"
    return set(names)


def error_for(condition: str) -> str:
    with pytest.raises(FilterExpressionError) as exc_info:
        span_condition_q(condition)
    return str(exc_info.value)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("span_kind == 'LLM' and annotations['correctness'].label == 'correct'", {"llm-a", "llm-b"}),
        ("span_kind == 'RETRIEVER'", {"retriever"}),
        ("latency_ms > 100", {"root", "llm-a", "retriever"}),
        ("0.5 < latency_ms < 1000 or status_code == 'ERROR'", {"llm-a", "llm-b", "retriever", "orphan"}),
        ("span_kind in ['LLM', 'RETRIEVER']", {"llm-a", "llm-b", "retriever"}),
        ("span_kind == 'LLM' and 'programming' in input.value", {"llm-a"}),
        ("llm.model_name == 'gpt-4o'", {"llm-a"}),
        ("attributes['llm']['model_name'] == 'gpt-4o'", {"llm-a"}),
        ("metadata['topic'] == 'programming'", {"root", "llm-a"}),
        ("llm.token_count.total - llm.token_count.prompt > 1000", {"llm-a"}),
        ("annotations['hallucination'].score > 0.5", {"llm-a"}),
        ("evals['correctness'].label == 'incorrect'", {"llm-b"}),
        ("annotations['correctness']", {"llm-a", "llm-b", "retriever"}),
        ("annotations['correctness'].label is None", {"root", "retriever", "orphan"}),
        (
            "(annotations['tone'].label != \"bad\" or annotations['tone'].label is None)",
            {"llm-a", "llm-b", "retriever", "orphan"},
        ),
        ("trace_annotations['quality'].score >= 0.5", {"root", "llm-a"}),
        ("parent_span is None", {"root", "llm-b", "orphan"}),
        ("start_time > '2024-01-01T00:00:00Z'", ALL_SPANS),
        ("float(attributes['retry_count']) > 1", {"llm-a", "llm-b"}),
    ],
)
def test_every_documented_example_matches_the_spans_phoenix_would_return(spans, condition, expected):
    assert matching(condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("span_id == '00000000000000a2'", {"llm-a"}),
        ("context.span_id == '00000000000000a2'", {"llm-a"}),
        (f"trace_id == '{TRACE_A}'", {"root", "llm-a"}),
        (f"context.trace_id == '{TRACE_A}'", {"root", "llm-a"}),
        ("parent_id == '00000000000000a1'", {"llm-a"}),
        ("parent_id is None", {"root", "llm-b"}),
        ("parent_id is not None", {"llm-a", "retriever", "orphan"}),
        ("name == 'llm-b'", {"llm-b"}),
        ("name > 'o'", {"root", "retriever", "orphan"}),
        ("status_message == 'rate limited'", {"llm-b"}),
        ("input.value == 'pasta'", {"retriever"}),
        ("output.value == 'Practice.'", {"llm-a"}),
        ("latency_ms == 250", {"llm-a"}),
        ("latency_ms != 250", {"root", "llm-b", "retriever", "orphan"}),
        ("latency_ms <= 50", {"llm-b", "orphan"}),
        ("latency_ms >= 500", {"root", "retriever"}),
        ("latency_ms < 5", set()),
        ("llm.token_count.total >= 30", {"llm-a", "llm-b"}),
        ("llm.token_count.prompt < 50", {"llm-b"}),
        ("llm.token_count.total > 1000.5", {"llm-a"}),
        ("llm.token_count.completion == 20", {"llm-b"}),
        ("llm_token_count_total >= 30", set()),  # not a Phoenix name: an attribute no span has
        ("start_time >= '2026-01-01T12:30:00+00:00'", {"llm-b", "retriever", "orphan"}),
        ("start_time > '2026-01-01T13:00:00+01:00'", {"llm-a", "llm-b", "retriever", "orphan"}),
        ("end_time > start_time", ALL_SPANS),
        ("start_time in ['2026-01-01T12:00:00Z']", {"root"}),
    ],
)
def test_each_span_column_has_its_phoenix_name(spans, condition, expected):
    assert matching(condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("span_kind == 'llm'", {"llm-a", "llm-b"}),
        ("status_code == 'error'", {"llm-b"}),
        ("span_kind in ('chain', 'Tool')", {"root", "orphan"}),
        ("span_kind not in ['llm']", {"root", "retriever", "orphan"}),
    ],
)
def test_span_kind_and_status_code_text_is_upper_cased(spans, condition, expected):
    assert matching(condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("'PASTA' in input.value", {"llm-b", "retriever"}),
        ("'pasta' not in input.value", {"root", "llm-a"}),
        ("'water' in output.value", {"llm-b"}),
        ("'LLM' in name", {"llm-a", "llm-b"}),
        ("'GPT' in llm.model_name", {"llm-a", "llm-b"}),
        ("'right' in annotations['correctness'].explanation", {"llm-b"}),
        ("'100%' in input.value", set()),
        ("name == 'LLM-A'", set()),
        ("name in ['LLM-A', 'llm-b']", {"llm-b"}),
    ],
)
def test_text_in_a_field_is_found_ignoring_case_while_equality_is_exact(spans, condition, expected):
    assert matching(condition) == expected


@pytest.mark.parametrize("condition", ["", "   "])
def test_an_empty_filter_matches_every_span_as_in_phoenix(spans, condition):
    assert matching(condition) == ALL_SPANS


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("'' in output.value", {"root", "llm-a", "llm-b"}),
        ("output.value is None", {"retriever", "orphan"}),
        ("input.value == ''", set()),
        ("'' in attributes['output']['value']", {"root", "llm-a", "llm-b"}),
    ],
)
def test_a_span_without_an_input_or_output_has_none_not_empty_text(spans, condition, expected):
    assert matching(condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("cumulative_llm_token_count_total == 1300", {"root", "llm-a"}),
        ("cumulative_token_count.total == 1300", {"root", "llm-a"}),
        ("cumulative_llm_token_count_prompt == 10", {"llm-b"}),
        ("cumulative_token_count.completion == 0", {"retriever", "orphan"}),
        ("cumulative_llm_token_count_completion > 1000 and parent_id is None", {"root"}),
    ],
)
def test_cumulative_token_counts_add_up_the_llm_spans_of_a_subtree(spans, condition, expected):
    assert matching(condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("annotations['correctness'].identifier == 'judge'", {"llm-b"}),
        ("annotations['correctness'].identifier == ''", {"retriever"}),
        ("'PX' in annotations['correctness'].identifier", {"llm-a"}),
    ],
)
def test_annotations_are_told_apart_by_identifier(spans, condition, expected):
    assert matching(condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("name == 'root' or name == 'orphan'", {"root", "orphan"}),
        ("span_kind == 'LLM' and status_code == 'OK'", {"llm-a"}),
        ("not span_kind == 'LLM'", {"root", "retriever", "orphan"}),
        ("not (span_kind == 'LLM' or latency_ms > 400)", {"orphan"}),
        ("span_kind == 'LLM' and (latency_ms < 100 or status_code == 'OK')", {"llm-a", "llm-b"}),
        ("100 < latency_ms <= 500", {"llm-a", "retriever"}),
        ("100 > latency_ms", {"llm-b", "orphan"}),
    ],
)
def test_conditions_combine_with_and_or_not_and_chained_comparisons(spans, condition, expected):
    assert matching(condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("-latency_ms < -400", {"root", "retriever"}),
        ("+latency_ms > 400", {"root", "retriever"}),
        ("latency_ms > -1", ALL_SPANS),
        ("latency_ms * 2 > 900", {"root", "retriever"}),
        ("latency_ms + 1 == 51", {"llm-b"}),
        ("latency_ms - 5 == 0", {"orphan"}),
        ("latency_ms % 100 == 50", {"llm-a", "llm-b"}),
        ("latency_ms / 1000 == 1", {"root"}),
        ("latency_ms > 60 * 4", {"root", "llm-a", "retriever"}),
        ("latency_ms == 10 - 15 % 10", {"orphan"}),
        ("llm.token_count.prompt / llm.token_count.completion > 0.4", {"llm-b"}),
        ("llm.token_count.total - llm.token_count.prompt == llm.token_count.completion", {"llm-a", "llm-b"}),
        ("latency_ms / 0 > 1", set()),
        ("latency_ms % 0 == 0", set()),
        ("-(latency_ms / 0) < 1", set()),
    ],
)
def test_arithmetic_works_on_numbers_and_dividing_by_zero_matches_nothing(spans, condition, expected):
    assert matching(condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("attributes[['llm', 'model_name']] == 'gpt-4o'", {"llm-a"}),
        ("attributes['llm'][['token_count', 'total']] == 30", {"llm-b"}),
        ("attributes['llm']['input_messages'][0]['message']['role'] == 'user'", {"llm-a"}),
        ("attributes['dotted.key'] == 'flat'", {"llm-a"}),
        ("metadata['tier'] == 'free'", {"retriever"}),
        ("metadata.topic == 'cooking'", {"llm-b"}),
        ("llm.token_count.total >= 30", {"llm-a", "llm-b"}),
        ("llm.token_count.total == 30", {"llm-b"}),
        ("llm.model_name > 1", set()),
        ("metadata['flag'] == True", {"llm-a"}),
        ("metadata['flag'] is True", {"llm-a"}),
        ("metadata['flag'] is False", {"llm-b"}),
        ("metadata['flag'] != True", {"llm-b"}),
        ("metadata['flag'] is not True", {"llm-b"}),
        ("metadata['tier'] != 'premium'", {"retriever"}),
        (
            "metadata['tier'] != 'premium' or metadata['tier'] is None",
            {"root", "llm-b", "retriever", "orphan"},
        ),
        ("metadata['tier'] is not None", {"llm-a", "retriever"}),
        ("metadata['topic'] in ['cooking', 'travel']", {"llm-b"}),
        ("attributes['retry_count'] > 1", {"llm-a", "llm-b"}),  # '3' spells a number
        ("attributes['retry_count'] == '3'", {"llm-a"}),
        ("int(attributes['retry_count']) == 3", {"llm-a"}),
        ("str(attributes['retry_count']) in ['2', '3']", {"llm-a", "llm-b"}),
        ("str(metadata['topic']) == 'cooking'", {"llm-b"}),
        ("float(metadata['topic']) > 0", set()),
        ("float(latency_ms) == 5", {"orphan"}),
        ("str(name) == 'root'", {"root"}),
        ("no_such_attribute == 'x'", set()),
        ("llm.model_name == name", set()),
        ("llm.token_count.total == attributes['llm']['token_count']['total']", {"llm-a", "llm-b"}),
        ("attributes['retry_count'] == metadata['tier']", set()),
    ],
)
def test_attribute_values_take_the_type_of_what_they_are_compared_with(spans, condition, expected):
    assert matching(condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("annotations['correctness'].label == 'incorrect' and annotations['correctness'].score > 0.5", set()),
        (
            "annotations['correctness'].label == 'correct' and annotations['correctness'].score > 0.5",
            {"llm-a", "llm-b"},
        ),
        ("annotations['correctness'].label == 'incorrect' and span_kind == 'LLM'", {"llm-b"}),
        ("annotations['correctness'].label in ['correct', 'incorrect']", {"llm-a", "llm-b"}),
        ("annotations['correctness'].label != 'correct'", {"llm-b"}),
        ("not annotations['correctness'].label == 'correct'", {"llm-b"}),
        ("annotations['correctness'].score is not None", {"llm-a", "llm-b", "retriever"}),
        ("annotations['correctness'].score < 0.5", {"llm-b", "retriever"}),
        ("annotations['correctness'].explanation is None", {"root", "llm-a", "llm-b", "retriever", "orphan"}),
        ("not annotations['correctness']", {"root", "orphan"}),
        # `not` reaches each part, so llm-b's incorrect annotation keeps it, as in Phoenix.
        (
            "not (span_kind == 'LLM' and annotations['correctness'].label == 'correct')",
            {"root", "llm-b", "retriever", "orphan"},
        ),
        ("annotations['correctness'] and annotations['tone']", {"llm-a"}),
        ("annotations['tone'] or annotations['hallucination']", {"root", "llm-a"}),
        (
            "annotations['correctness'].label == 'correct' or not annotations['correctness']",
            {"root", "llm-a", "llm-b", "orphan"},
        ),
        ("annotations['no such name'].score > 0", set()),
        ("trace_annotations['quality'].label == 'bad'", {"llm-b", "retriever", "orphan"}),
        ("trace_annotations['quality'] and span_kind == 'LLM'", {"llm-a", "llm-b"}),
        ("annotations['correctness'].score > 0.5 and trace_annotations['quality'].score < 0.5", {"llm-b"}),
    ],
)
def test_annotation_conditions_hold_for_one_annotation_of_the_name(spans, condition, expected):
    assert matching(condition) == expected


def test_a_span_with_several_annotators_is_returned_once(spans):
    for identifier in ("a", "b", "c"):
        SpanAnnotationFactory(
            span=spans["orphan"], name="correctness", label="correct", identifier=identifier
        )

    assert matching("annotations['correctness'].label == 'correct'") == {"llm-a", "llm-b", "orphan"}
    assert Span.objects.filter(span_condition_q("annotations['correctness']")).count() == 4


def test_parent_span_is_not_none_keeps_spans_whose_parent_is_stored(spans):
    assert matching("parent_span is not None") == {"llm-a", "retriever"}
    assert matching("None is not parent_span") == {"llm-a", "retriever"}


def test_sql_inside_a_string_is_only_a_value(spans):
    assert matching('name == "x\'; DROP TABLE tracing_span; --"') == set()
    assert matching("'%' in name or '_' in name") == set()
    assert Span.objects.count() == 5


def test_the_translation_is_a_q_and_surrounding_whitespace_is_ignored(spans):
    condition = span_condition_q("  \n span_kind == 'TOOL'  \n")

    assert isinstance(condition, Q)
    assert list(Span.objects.filter(condition).values_list("name", flat=True)) == ["orphan"]


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("name == 1", "`name` is text, so it cannot be compared with 1"),
        ("annotations['q'].label < 1", "is text, so it cannot be compared with 1"),
        ("annotations['q'].score == 'high'", "is a number, so it cannot be compared with 'high'"),
        ("name in [1]", "is text, so it cannot be compared with `[1]`"),
        ("annotations['q'].label * 2 > 1", "annotation values cannot be used in arithmetic"),
        ("latency_ms == '0.5'", "`latency_ms` is a number, so it cannot be compared with '0.5'"),
        ("name == True", "cannot be compared with True"),
        ("latency_ms > None", "cannot be ordered against None"),
        ("metadata['flag'] > True", "compare it with == or !="),
        ("start_time > '2024-01-01'", "has no timezone"),
        ("start_time > '2024-01-01T00:00:00'", "has no timezone"),
        ("start_time > 'yesterday'", "is not an ISO 8601 time"),
        ("start_time > 5", "cannot be compared with 5"),
        ("start_time > latency_ms", "is a time and `latency_ms` is a number"),
        ("metadata['since'] > start_time", "cannot be compared with the time"),
        ("'x' in latency_ms", "cannot be compared with 'x'"),
        ("'2026' in start_time", "cannot be compared with '2026'"),
        ("1 in name", "Only text can be searched"),
        ("name in 'abc'", "`in` needs a list"),
        ("latency_ms in []", "The list after `in` is empty"),
        ("name in ['a', 1]", "mixes types"),
        ("name in ['a', None]", "may only hold strings"),
        ("name in [['a']]", "may only hold strings"),
        ("name in [name]", "may only hold strings"),
        ("name == ['a']", "can only follow `in`"),
        ("name is 'a'", "`is` compares with None, True or False"),
        ("name is latency_ms", "`is` compares with None, True or False"),
        ("annotations['q'].scor > 1", "Did you mean .score?"),
        ("annotations['q'].value == 1", "annotations have .label, .score, .explanation and .identifier"),
        ("annotations['q'].score.label == 1", "has no fields of its own"),
        ("annotations['q']['k'] == 1", "an annotation takes one name"),
        ("annotations[''].label == 'a'", "non-empty string"),
        ("annotations['q'] == 1", "not the annotation itself"),
        ("annotations['q'].score > latency_ms", "Compare annotation values with constants"),
        ("annotations.q == 1", "write annotations['name'].label"),
        ("annotations == 1", "cannot be used on its own"),
        ("attributes == 1", "write attributes['key']"),
        ("events == 1", "cannot be filtered on"),
        ("parent_span.name == 'x'", "parent_span.<field> is not supported"),
        ("parent_span", "is not a condition"),
        ("latency_ms", "is not a condition"),
        ("'x'", "is not a condition"),
        ("True", "is not a condition"),
        ("attributes['x']", "is not a condition"),
        ("1 == 1", "one side of a comparison must be a span field"),
        ("1 < 2 < latency_ms", "one side of a comparison must be a span field"),
        ("retrieval.documents[0] == 1", "only attributes[...], metadata[...]"),
        ("llm.token_count.total == '30'", "is a number, so it cannot be compared with '30'"),
        ("(latency_ms > 1) == True", "is a condition; it cannot be used as a value"),
        ("name + 'x' == 'ax'", "arithmetic (+ - * / %) needs numbers"),
        ("start_time - 1 > 0", "arithmetic (+ - * / %) needs numbers"),
        ("-name == 'x'", "arithmetic (+ - * / %) needs numbers"),
        ("latency_ms > 1 / 0", "divides by zero"),
        ("latency_ms > 1 % 0", "divides by zero"),
        ("latency_ms > 1e308 * 10", "is too large"),
        ("float(name) > 1", "converts attribute values only"),
        ("float('1.5') > latency_ms", "converts attribute values only"),
        ("str(latency_ms) == '5'", "converts attribute values only"),
        ("attributes[0] == 1", "the first key must be a string"),
        ("name ==", "Invalid syntax"),
    ],
)
def test_a_mistake_is_refused_with_a_message_that_explains_it(condition, message):
    assert message in error_for(condition)


def test_filter_expression_errors_are_value_errors():
    assert issubclass(FilterExpressionError, ValueError)
