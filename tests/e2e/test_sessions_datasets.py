"""Sessions into a dataset in Chromium: tick three sessions on the Sessions tab, add them to a new dataset,
and download the OpenAI fine-tuning export, one training conversation per session."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.datasets.models import Dataset
from tests.e2e.axe import assert_no_axe_violations
from tests.factories import ProjectFactory, SessionAnnotationFactory, conversation

pytestmark = pytest.mark.django_db(transaction=True)

CHATS = [
    [("How do I reset my password?", "Use the link on the login page.")],
    [("Can I export my data?", "Yes, as CSV from Settings."), ("And as JSON?", "Not yet; CSV only.")],
    [("Is there an API rate limit?", "100 requests a minute."), ("Per key?", "Per key, yes.")],
    [("Left out", "of the dataset")],
]


def test_three_sessions_ticked_on_the_tab_become_three_fine_tuning_conversations(
    reviewer_page: Page, live_server, tmp_path: Path
):
    project = ProjectFactory(name="support")
    sessions = [conversation(project, turns, minute=n) for n, turns in enumerate(CHATS)]
    SessionAnnotationFactory(session=sessions[1], name="outcome", label="resolved", score=1.0)
    page = reviewer_page

    page.goto(f"{live_server.url}/projects/{project.pk}/sessions/")
    # Newest first: the session left out is the first row.
    for session in sessions[:3]:
        page.get_by_label(f"Select session {session.session_id}").check()
    expect(page.locator("#selection-count")).to_have_text("3 selected")
    assert_no_axe_violations(page)
    page.get_by_label("New dataset name").fill("support chats")
    page.locator("#add-to-dataset").click()

    expect(
        page.get_by_text("support chats: 3 new examples, 0 revised, 0 already in the dataset")
    ).to_be_visible()
    dataset = Dataset.objects.get(name="support chats")
    with page.expect_download() as download:
        page.get_by_role("link", name="OpenAI fine-tuning JSONL", exact=True).click()

    assert download.value.suggested_filename == "support-chats-v1-openai-fine-tuning.jsonl"
    target = tmp_path / "export.jsonl"
    download.value.save_as(target)
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    conversations = sorted(
        [(message["role"], message["content"]) for message in row["messages"]] for row in rows
    )
    expected = sorted(
        [part for question, answer in turns for part in (("user", question), ("assistant", answer))]
        for turns in CHATS[:3]
    )
    assert conversations == expected
    assert all(set(row) == {"messages"} for row in rows)
    assert dataset.examples.count() == 3
