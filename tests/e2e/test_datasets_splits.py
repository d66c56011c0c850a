"""Splits in the browser: rows added to a split, the counts per split, a random train/test split, and the
download of one split."""

import json

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.datasets.models import Dataset
from tests.e2e.axe import assert_no_axe_violations
from tests.factories import DatasetFactory, ProjectFactory, SpanFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_rows_added_to_a_split_are_counted_split_at_random_and_one_split_downloads(
    reviewer_page: Page, live_server
):
    project = ProjectFactory(name="support")
    SpanFactory.create_batch(10, trace__project=project, span_kind="LLM")
    DatasetFactory(name="tickets")
    page = reviewer_page

    page.goto(f"{live_server.url}/projects/{project.pk}/?span_kind=LLM")
    page.locator(".row-select").first.check()
    page.check("#all-matching")
    page.select_option("select[name=dataset]", label="tickets")
    page.select_option("#add-split", "test")
    page.click("#add-to-dataset")

    expect(
        page.get_by_text("tickets: 10 new examples, 0 already in the dataset. All in split “test”.")
    ).to_be_visible()
    splits = page.locator("#splits")
    expect(splits.locator("[data-split=test]")).to_have_text("test 10")

    page.fill("input[name=train_percent]", "80")
    page.fill("input[name=seed]", "7")
    page.get_by_role("button", name="Split v1 randomly into train/test").click()

    expect(page.get_by_text("v1 split at random with seed 7: 8 in train, 2 in test.")).to_be_visible()
    expect(splits.locator("[data-split=train]")).to_have_text("train 8")
    expect(splits.locator("[data-split=test]")).to_have_text("test 2")

    splits.locator("[data-split=test]").click()
    expect(page.locator("#examples-table tbody tr")).to_have_count(2)
    assert_no_axe_violations(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="JSONL", exact=True).click()

    download = download_info.value
    assert download.suggested_filename == "tickets-v1-test.jsonl"
    lines = [json.loads(line) for line in download.path().read_text(encoding="utf-8").splitlines()]
    assert [line["splits"] for line in lines] == [["test"], ["test"]]
    assert Dataset.objects.get(name="tickets").examples.count() == 10
