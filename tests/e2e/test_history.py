"""The History disclosure on the trace page: it follows the reviewer's saves and undos as they happen."""

import contextlib
import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import APIResponse, Page, Route, expect
from playwright.sync_api import Error as PlaywrightError

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


def test_a_change_made_while_the_history_is_still_reloading_shows_once_both_answers_are_in(
    reviewer_page: Page, live_server
):
    """The answer to the reload after the second label (the history as it was before the undo) is held back
    until the undo's own reload has been asked for, as a slow network would: the undo must still show."""
    project = ProjectFactory(name="support")
    AnnotationConfigFactory(name="correctness").projects.add(project)
    span = SpanFactory(trace__project=project, name="llm-call")
    page = reviewer_page
    reloads: list[Route] = []
    held: list[APIResponse] = []

    def hold_the_second_reload(route: Route) -> None:
        reloads.append(route)
        if len(reloads) == 2:
            held.append(route.fetch())
        else:
            route.continue_()

    page.route(re.compile(r"/traces/[0-9a-f]+/\?.*history=1"), hold_the_second_reload)
    page.goto(f"{live_server.url}/traces/{span.trace.trace_id}/?{urlencode({'span': span.span_id})}")
    history = page.locator("details#history")
    history.locator("summary").click()
    label = page.locator("#panel-span form[data-config=correctness] input[value=correct]")
    label.focus()
    page.keyboard.press("1")
    expect(history.locator("li[data-action]")).to_have_count(1)
    page.locator("#panel-span form[data-config=correctness] input[value=incorrect]").focus()
    page.keyboard.press("2")
    expect(page.get_by_role("status")).to_contain_text("Saved correctness = incorrect")
    page.get_by_role("status").get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_contain_text("Undone: correctness is back to correct")
    for _ in range(100):
        if len(reloads) >= 2:
            break
        page.wait_for_timeout(50)
    # Delivered once the undo's reload has been asked for (unless that aborted it: nothing to deliver then).
    with contextlib.suppress(PlaywrightError):
        reloads[1].fulfill(response=held[0])

    expect(history.locator("li[data-action]")).to_have_count(3)
    expect(history.locator("summary")).to_contain_text("(3)")
