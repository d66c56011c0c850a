"""The dataset page: versions and examples numbered per dataset, and exports a browser saves as files."""

import re

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.datasets.models import Dataset
from phoenix_annot.datasets.services import dataset_add_spans
from tests.factories import DatasetFactory, SpanFactory

pytestmark = pytest.mark.django_db(transaction=True)

EXPORTS = {
    "CSV": ("text/csv; charset=utf-8", "-v2.csv"),
    "JSONL": ("application/jsonl", "-v2.jsonl"),
    "OpenAI fine-tuning JSONL": ("application/jsonl", "-v2-openai-fine-tuning.jsonl"),
    "OpenAI evals JSONL": ("application/jsonl", "-v2-openai-evals.jsonl"),
}


def dataset_with_two_versions(name: str) -> Dataset:
    # Another dataset's versions and examples first, so database ids and per-dataset numbers differ.
    dataset_add_spans(dataset=DatasetFactory(), spans=SpanFactory.create_batch(2), user=None)
    dataset = DatasetFactory(name=name)
    dataset_add_spans(dataset=dataset, spans=[SpanFactory()], user=None)
    dataset_add_spans(dataset=dataset, spans=[SpanFactory()], user=None)
    return dataset


def test_versions_and_examples_are_numbered_within_the_dataset(reviewer_page: Page, live_server):
    dataset = dataset_with_two_versions("hard cases")

    reviewer_page.goto(f"{live_server.url}/datasets/{dataset.pk}/")

    versions = reviewer_page.get_by_label("Version")
    expect(versions.locator("option")).to_have_text([re.compile(r"^v2 · "), re.compile(r"^v1 · ")])
    first_cells = reviewer_page.locator("#examples-table tbody td:first-child")
    expect(first_cells).to_contain_text(["Example 1", "Example 2"])
    versions.select_option(index=1)
    expect(first_cells).to_contain_text(["Example 1"])


@pytest.mark.parametrize("export", sorted(EXPORTS))
def test_each_export_downloads_as_a_file_named_after_the_dataset_and_version(
    reviewer_page: Page, live_server, export: str
):
    dataset = dataset_with_two_versions("hard cases")
    content_type, ending = EXPORTS[export]
    reviewer_page.goto(f"{live_server.url}/datasets/{dataset.pk}/")
    link = reviewer_page.get_by_role("link", name=export, exact=True)

    with reviewer_page.expect_download() as download:
        link.click()

    assert download.value.suggested_filename == f"hard-cases{ending}"
    response = reviewer_page.request.get(live_server.url + link.get_attribute("href"))
    assert response.headers["content-type"] == content_type
    assert response.headers["content-disposition"] == f'attachment; filename="hard-cases{ending}"'


def test_a_name_outside_ascii_is_kept_in_the_saved_file_name(reviewer_page: Page, live_server):
    dataset = dataset_with_two_versions("données / été")
    reviewer_page.goto(f"{live_server.url}/datasets/{dataset.pk}/")

    with reviewer_page.expect_download() as download:
        reviewer_page.get_by_role("link", name="CSV", exact=True).click()

    assert download.value.suggested_filename == "données-été-v2.csv"
