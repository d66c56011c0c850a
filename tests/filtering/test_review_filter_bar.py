"""SpanFilter as the review page's filter bar: one select per choice filter, the page's stricter reading of
expressions, and the annotation names the filters ask about. The API's reading stays Phoenix's."""

import pytest
from django.http import QueryDict

from phoenix_annot.filtering.expression import condition_names, span_condition_q, unknown_column_message
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.tracing.models import Span
from tests.factories import SpanFactory

pytestmark = pytest.mark.django_db


def filterset(query: str) -> SpanFilter:
    return SpanFilter(QueryDict(query), queryset=Span.objects.all())


def test_the_kind_select_shows_the_kind_in_the_query_selected_and_any_when_none():
    html = str(filterset("span_kind=RETRIEVER").form["span_kind"])

    assert '<option value="RETRIEVER" selected>' in html
    assert '<option value="">any</option>' in html
    assert "selected" not in str(filterset("").form["status_code"]).replace('<option value="" selected>', "")


def test_the_kind_select_still_reads_every_repeated_value_as_the_api_does():
    SpanFactory(name="a", span_kind="LLM")
    SpanFactory(name="b", span_kind="TOOL")
    SpanFactory(name="c", span_kind="CHAIN")

    spans = filterset("span_kind=LLM&span_kind=tool")

    assert set(spans.qs.values_list("name", flat=True)) == {"a", "b"}


def test_every_filter_of_the_bar_has_a_label_in_the_reviewers_words():
    form = filterset("").form

    labels = [field.label for field in form.common_fields() + form.more_fields()]

    assert all(labels) and not any("_" in label for label in labels), labels
    assert "Kind" in labels and "Filter expression" in labels


def test_more_filters_are_open_only_when_one_of_them_is_set():
    assert not filterset("span_kind=LLM&condition=").form.more_is_set()
    assert filterset("latency_min=100").form.more_is_set()


def test_a_bare_name_that_is_no_column_is_an_error_suggesting_the_column_on_the_page():
    spans = filterset("condition=spankind == 'LLM'")

    spans.refuse_unknown_columns()

    assert not spans.is_valid()
    [message] = spans.errors["condition"]
    assert "did you mean span_kind?" in message
    assert "latency_ms" in message


def test_the_api_reads_a_bare_unknown_name_as_phoenix_does_an_attribute_that_matches_nothing():
    SpanFactory()
    spans = filterset("condition=spankind == 'LLM'")

    assert spans.is_valid()
    assert not spans.qs.exists()


def test_dotted_names_functions_and_annotations_are_not_unknown_columns():
    names = condition_names(
        "llm.model_name == 'x' and str(latency_ms) == '1' and annotations['q'].label == 'a'"
        " and evals['e'].score > 0 and trace_annotations['t'].score > 0 and not parent_span is None"
    )

    assert names.unknown_columns == ()
    assert set(names.annotation_names) == {"q", "e"}


def test_an_unknown_column_without_a_close_match_still_names_the_known_ones():
    message = unknown_column_message("zzz")

    assert "did you mean" not in message
    assert "span_kind" in message


def test_the_annotation_names_asked_come_from_the_name_boxes_and_the_expression():
    spans = filterset("annotation_name=a&missing_annotation=b&condition=annotations['c'].score > 0")

    assert spans.annotation_names_asked() == {"a", "b", "c"}


def test_a_bad_expression_asks_about_no_annotation_name():
    spans = filterset("condition=annotations['c'].score >")

    assert not spans.is_valid()
    assert spans.annotation_names_asked() == set()


def test_condition_names_takes_only_expressions_the_translator_accepts():
    text = "spankind == 'LLM'"

    span_condition_q(text)

    assert condition_names(text).unknown_columns == ("spankind",)
