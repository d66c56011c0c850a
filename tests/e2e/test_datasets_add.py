"""Adding rows to a dataset from the Spans table says how many examples were new and how many were there."""

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.datasets.models import Dataset
from phoenix_annot.datasets.services import dataset_add_spans
from phoenix_annot.tracing.models import Project, Span
from tests.factories import DatasetFactory, ProjectFactory, SpanFactory

pytestmark = pytest.mark.django_db(transaction=True)


def add_all_llm_spans(page: Page, url: str, *, project: Project, dataset: Dataset) -> None:
    page.goto(f"{url}/projects/{project.pk}/?span_kind=LLM")
    page.locator(".row-select").first.check()
    page.check("#all-matching")
    page.select_option("select[name=dataset]", label=dataset.name)
    page.click("#add-to-dataset")


def test_re_adding_the_same_rows_says_none_were_new_and_adds_nothing(reviewer_page: Page, live_server):
    project = ProjectFactory(name="support")
    SpanFactory(trace__project=project, span_kind="CHAIN")
    llm_spans = SpanFactory.create_batch(2, trace__project=project, span_kind="LLM")
    dataset = DatasetFactory(name="hard cases")
    dataset_add_spans(dataset=dataset, spans=llm_spans, user=None)

    add_all_llm_spans(reviewer_page, live_server.url, project=project, dataset=dataset)

    expect(reviewer_page.get_by_text("0 new examples, 2 already in the dataset")).to_be_visible()
    assert dataset.versions.count() == 1
    assert dataset.examples.count() == 2


def test_adding_rows_some_already_there_counts_both(reviewer_page: Page, live_server):
    project = ProjectFactory(name="support")
    first, _second, _third = SpanFactory.create_batch(3, trace__project=project, span_kind="LLM")
    dataset = DatasetFactory(name="hard cases")
    dataset_add_spans(dataset=dataset, spans=[first], user=None)

    add_all_llm_spans(reviewer_page, live_server.url, project=project, dataset=dataset)

    expect(reviewer_page.get_by_text("2 new examples, 1 already in the dataset")).to_be_visible()
    assert dataset.examples.count() == Span.objects.count() == 3
