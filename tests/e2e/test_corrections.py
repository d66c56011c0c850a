"""A reviewer corrects a model's answer on the trace page by keyboard, adds the span to a dataset, and the
fine-tuning export teaches the corrected answer."""

import json

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.corrections.models import Correction
from tests.corrections.factories import llm_attributes
from tests.factories import ProjectFactory, SpanFactory

pytestmark = pytest.mark.django_db(transaction=True)

WRONG = "Lisbon is the capital of Spain."
RIGHT = "Madrid is the capital of Spain."


def test_a_corrected_llm_answer_is_what_the_fine_tuning_export_of_its_dataset_teaches(
    reviewer_page: Page, live_server
):
    project = ProjectFactory(name="support")
    span = SpanFactory(trace__project=project, span_kind="LLM", attributes=llm_attributes(WRONG))
    page = reviewer_page

    page.goto(f"{live_server.url}/traces/{span.trace.trace_id}/?span={span.span_id}")
    page.keyboard.press("c")
    editor = page.locator("#correction-span textarea")
    expect(editor).to_be_focused()
    expect(editor).to_have_value(WRONG)
    editor.fill(RIGHT)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#correction-span .correction-state")).to_have_text("Saved.")
    page.locator("#history summary").click()
    expect(page.locator("#correction-history li")).to_contain_text("created by rita via page")
    assert Correction.objects.get().output == RIGHT

    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.locator(".row-select").first.check()
    page.fill("input[name=new_dataset_name]", "corrected answers")
    page.click("#add-to-dataset")
    expect(page.get_by_text("1 new example")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="OpenAI fine-tuning JSONL").click()

    with open(download.value.path(), encoding="utf-8") as exported:
        (line,) = exported.read().splitlines()
    assert json.loads(line) == {
        "messages": [
            {"role": "user", "content": "What is the capital of Spain?"},
            {"role": "assistant", "content": RIGHT},
        ]
    }
