"""Editing a dataset's examples in the browser: an edit is the next version and the version before keeps the
old output; a chat example reads as a conversation; the pages pass axe-core."""

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.datasets.models import Dataset
from phoenix_annot.datasets.services import dataset_upload
from tests.e2e.axe import assert_no_axe_violations

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_edited_output_is_the_next_version_the_old_one_keeps_it_and_a_chat_reads_as_a_conversation(
    reviewer_page: Page, live_server
):
    dataset_upload(
        action="create",
        name="support answers",
        description="",
        inputs=[
            {"question": "Where is my parcel?"},
            {"messages": [{"role": "user", "content": "Can I get a refund?"}]},
        ],
        outputs=[
            {"answer": "It left yesterday."},
            {"messages": [{"role": "assistant", "content": "Yes, within 30 days."}]},
        ],
        user=None,
    )
    dataset = Dataset.objects.get(name="support answers")
    page = reviewer_page

    page.goto(f"{live_server.url}/datasets/{dataset.pk}/")
    chat = page.locator("#examples-table tbody tr").nth(1)
    expect(chat.locator(".message.role-user")).to_have_text("user\nCan I get a refund?")
    expect(chat.locator(".message.role-assistant")).to_contain_text("Yes, within 30 days.")
    raw = chat.locator("details.raw").first
    expect(raw.locator("pre")).to_be_hidden()
    raw.locator("summary").click()
    expect(raw.locator("pre")).to_contain_text('"role": "user"')
    assert_no_axe_violations(page)

    first = page.locator("#examples-table tbody tr").first
    first.get_by_role("link", name="Edit example 1").click()
    expect(page.get_by_role("heading", name="Edit example 1")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_label("Output").fill('{"answer": "It arrives tomorrow."}')
    page.get_by_label("Version description").fill("newer tracking")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Example 1 saved in v2.")).to_be_visible()
    expect(page.get_by_label("Version")).to_have_value(str(dataset.versions.order_by("-pk").first().pk))
    expect(page.locator("#examples-table tbody tr").first).to_contain_text("It arrives tomorrow.")
    expect(page.locator("#examples-table tbody tr").first).to_contain_text("edited")

    page.get_by_label("Version").select_option(label=page.locator("option").nth(1).inner_text())
    expect(page.locator("#edit-latest-only")).to_contain_text("Examples are edited and deleted in the latest")
    first = page.locator("#examples-table tbody tr").first
    expect(first).to_contain_text("It left yesterday.")
    expect(first).not_to_contain_text("It arrives tomorrow.")
    expect(first.get_by_role("link", name="Edit example 1")).to_have_count(0)
    assert_no_axe_violations(page)


def test_an_example_is_deleted_after_a_confirmation_that_shows_it_as_a_conversation(
    reviewer_page: Page, live_server
):
    dataset_upload(
        action="create",
        name="chats",
        description="",
        inputs=[{"q": "keep"}, {"messages": [{"role": "user", "content": "Delete me?"}]}],
        user=None,
    )
    dataset = Dataset.objects.get(name="chats")
    page = reviewer_page

    page.goto(f"{live_server.url}/datasets/{dataset.pk}/")
    page.get_by_role("link", name="Delete example 2").click()
    expect(page.get_by_role("heading", name="Delete example 2?")).to_be_visible()
    expect(page.locator(".message.role-user")).to_contain_text("Delete me?")
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Delete example 2").click()

    expect(page.get_by_text("Example 2 deleted in v2.")).to_be_visible()
    expect(page.locator("#examples-table tbody tr")).to_have_count(1)
    expect(page.locator("#examples-table")).not_to_contain_text("Delete me?")
