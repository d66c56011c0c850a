"""The Spans and Traces tables' server side: chips, the input column, errors that list nothing, freshness."""

import json

import pytest
from django.test import Client

from phoenix_annot.annotations.models import AnnotationConfig
from phoenix_annot.filtering.feedback import FeedbackSummary
from phoenix_annot.web.chips import chip_for
from phoenix_annot.web.templatetags.rows import input_preview
from tests.factories import AnnotationConfigFactory, ProjectFactory, SpanAnnotationFactory, SpanFactory
from tests.filtering.time_limit import TIME_LIMIT_QUERIES

pytestmark = pytest.mark.django_db


def summary(labels: dict[str, int], mean: float | None = None) -> FeedbackSummary:
    return FeedbackSummary(
        name="correctness",
        count=sum(labels.values()) or 1,
        mean_score=mean,
        label_counts=labels,
        annotator_kinds=frozenset({"HUMAN"}),
    )


def test_a_disagreement_shows_every_label_with_its_count_and_filters_on_the_name_only():
    chip = chip_for(summary({"correct": 1, "incorrect": 1}, 0.5), AnnotationConfigFactory())

    assert (chip.text, chip.split, chip.tone) == ("correct 1 · incorrect 1", True, "")
    assert chip.filter_query == "annotation_name=correctness"


def test_a_chip_is_coloured_by_the_mean_score_not_by_the_most_frequent_label():
    config = AnnotationConfigFactory()

    assert chip_for(summary({"correct": 2, "incorrect": 1}, 2 / 3), config).tone == "good"
    assert chip_for(summary({"correct": 1, "incorrect": 2}, 1 / 3), config).tone == "bad"


def test_labels_without_scores_are_coloured_by_the_scores_their_config_gives_them():
    config = AnnotationConfigFactory()

    assert chip_for(summary({"incorrect": 3, "correct": 1}), config).tone == "bad"


def test_a_config_that_minimises_its_score_turns_the_colours_round():
    config = AnnotationConfig(
        name="hallucination",
        type="CATEGORICAL",
        optimization_direction="MINIMIZE",
        values=[{"label": "factual", "score": 0.0}, {"label": "hallucinated", "score": 1.0}],
    )

    assert chip_for(summary({"factual": 1}, 0.0), config).tone == "good"


def test_an_agreement_shows_the_label_and_the_score_in_one_format_and_filters_on_the_label():
    chip = chip_for(summary({"correct": 2}, 1.0), AnnotationConfigFactory())

    assert (chip.text, chip.split, chip.tone) == ("correct · 1.00", False, "good")
    assert chip.filter_query == "annotation_name=correctness&label=correct"


def test_an_llm_input_shows_the_last_thing_the_user_said():
    request = {
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "?"},
            {"role": "user", "content": [{"type": "text", "text": "last"}, {"type": "image_url"}]},
            {"role": "tool", "content": "42"},
        ]
    }
    span = SpanFactory.build(input_value=json.dumps(request), input_mime_type="application/json")

    assert input_preview(span) == "last"


@pytest.mark.parametrize("value", ["plain question", '{"query": "no messages"}', "{not json"])
def test_other_inputs_show_as_they_are(value: str):
    assert input_preview(SpanFactory.build(input_value=value, input_mime_type="")) == value


def test_a_filter_with_an_error_lists_nothing_and_offers_no_add_to_dataset(reviewer_client: Client):
    span = SpanFactory()

    response = reviewer_client.get(f"/projects/{span.project.pk}/", {"condition": "span_kind =="})

    html = response.content.decode()
    assert 'id="filter-errors"' in html
    assert span.name not in html and "Add to dataset" not in html and "all-matching" not in html
    assert "<strong>Filter expression</strong>" in html and "condition" not in html.split("filter-errors")[1]


def test_the_tables_are_never_served_from_a_cache(reviewer_client: Client):
    span = SpanFactory()

    response = reviewer_client.get(f"/projects/{span.project.pk}/traces/")

    assert "no-store" in response["Cache-Control"]


def test_an_annotation_name_nobody_used_costs_one_query_and_lists_the_names_used(
    reviewer_client: Client, django_assert_max_num_queries
):
    project = ProjectFactory()
    SpanAnnotationFactory(span=SpanFactory(trace__project=project), name="helpfulness")
    AnnotationConfigFactory(name="correctness")

    with django_assert_max_num_queries(11 + TIME_LIMIT_QUERIES):
        response = reviewer_client.get(f"/projects/{project.pk}/", {"missing_annotation": "tone"})

    assert response.context["page"].absent_annotation_names == ["tone"]
    assert "Names in this project: helpfulness" in response.content.decode()


def test_kinds_statuses_and_annotator_kinds_in_the_filter_bar_read_as_stored(reviewer_client: Client):
    project = ProjectFactory()

    html = reviewer_client.get(f"/projects/{project.pk}/").content.decode()

    assert '<option value="LLM">LLM</option>' in html
    assert '<option value="RETRIEVER">RETRIEVER</option>' in html
    assert '<option value="ERROR">ERROR</option>' in html
    assert '<option value="HUMAN">HUMAN</option>' in html
    assert ">Llm<" not in html
