"""The History disclosure on the trace page: it follows the reviewer's saves and undos as they happen."""

from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.annotations.models import AnnotationEvent
from tests.factories import AnnotationConfigFactory, ProjectFactory, SpanFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_labels_and_an_undo_show_as_three_events_newest_first(reviewer_page: Page, live_server):
    project = ProjectFactory(name="support")
    AnnotationConfigFactory(name="correctness").projects.add(project)
    span = SpanFactory(trace__project=project, name="llm-call")
    page = reviewer_page
    page.goto(f"{live_server.url}/traces/{span.trace.trace_id}/?{urlencode({'span': span.span_id})}")
    history = page.locator("details#history")
    history.locator("summary").click()
    expect(history).to_contain_text("No annotation has been written here yet.")

    page.locator("#panel-span form[data-config=correctness] input[value=correct]").focus()
    page.keyboard.press("1")
    expect(page.get_by_role("status")).to_contain_text("Saved correctness = correct")
    page.locator("#panel-span form[data-config=correctness] input[value=incorrect]").focus()
    page.keyboard.press("2")
    expect(page.get_by_role("status")).to_contain_text("Saved correctness = incorrect")
    page.get_by_role("status").get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_contain_text("Undone: correctness is back to correct")

    events = history.locator("li[data-action]")
    expect(events).to_have_count(3)
    expect(history.locator("summary")).to_contain_text("(3)")
    expect(history).to_have_attribute("open", "")
    expect(events.nth(0)).to_contain_text("correctness on the span changed by rita via page")
    expect(events.nth(0)).to_contain_text("incorrect → correct")
    expect(events.nth(1)).to_contain_text("correct → incorrect")
    expect(events.nth(2)).to_contain_text("correctness on the span created by rita via page")
    assert list(AnnotationEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "create",
        "update",
        "update",
    ]
