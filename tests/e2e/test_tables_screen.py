"""What the Spans and Traces tables show at 1440x900, their chips, their keys, Back after Add to dataset,
and axe-core's WCAG 2 A/AA rules on them, in a real browser."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.tracing.models import Project
from tests.e2e.axe import assert_no_axe_violations
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

LAPTOP = {"width": 1440, "height": 900}


def chat_request(n: int) -> str:
    return json.dumps(
        {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You are a support assistant. Answer briefly."},
                {"role": "user", "content": f"first question {n}"},
                {"role": "assistant", "content": "Which plan are you on?"},
                {"role": "user", "content": [{"type": "text", "text": f"the last question {n}"}]},
            ],
        }
    )


def busy_project(rows: int = 30) -> Project:
    """LLM chat spans, each labelled by an LLM judge and by a human who disagrees on every third."""
    project = ProjectFactory(name="busy")
    AnnotationConfigFactory(name="correctness").projects.add(project)
    for n in range(rows):
        span = SpanFactory(
            trace=TraceFactory(project=project),
            name=f"chat-{n}",
            input_value=chat_request(n),
            input_mime_type="application/json",
            output_value="You can change the plan under Settings, Billing; it takes effect at once.",
            latency_ms=1234.6,
            llm_token_count_total=1500,
        )
        human = "incorrect" if n % 3 == 0 else "correct"
        SpanAnnotationFactory(span=span, label="correct", annotator_kind="LLM", identifier="judge")
        SpanAnnotationFactory(span=span, label=human, score=1.0 if human == "correct" else 0.0)
        SpanAnnotationFactory(span=span, name="helpfulness", label="helpful", score=0.8, annotator_kind="LLM")
    return project


def open_table(page: Page, live_server, project: Project, query: str = "") -> Page:
    page.set_viewport_size(LAPTOP)
    page.goto(f"{live_server.url}/projects/{project.pk}/{query}")
    return page


def test_at_1440_by_900_ten_rows_and_the_whole_feedback_column_show_without_scrolling(
    reviewer_page: Page, live_server
):
    page = open_table(reviewer_page, live_server, busy_project())

    visible = page.evaluate(
        """() => [...document.querySelectorAll('#spans-table tbody tr[data-span-id]')]
                 .filter(row => row.getBoundingClientRect().bottom <= window.innerHeight).length"""
    )
    assert visible >= 10
    feedback = page.locator("#spans-table th", has_text="Feedback").bounding_box()
    assert feedback["x"] + feedback["width"] <= LAPTOP["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= LAPTOP["width"]
    expect(page.locator("#selection")).to_be_hidden()
    expect(page.get_by_label("Latency at least (ms)")).to_be_hidden()


def test_more_filters_open_by_themselves_when_one_of_them_is_set(reviewer_page: Page, live_server):
    page = open_table(reviewer_page, live_server, busy_project(2), "?latency_min=1000")

    expect(page.get_by_label("Latency at least (ms)")).to_have_value("1000")
    expect(page.locator("#spans-table tbody tr")).to_have_count(2)


def test_a_row_shows_the_last_user_message_a_dated_start_and_separated_thousands(
    reviewer_page: Page, live_server
):
    page = open_table(reviewer_page, live_server, busy_project(2))
    row = page.locator("#spans-table tbody tr", has_text="chat-1")

    expect(row.locator("td").nth(3)).to_have_text("the last question 1")
    expect(row.locator("td").nth(5)).to_have_text(re.compile(r"^20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC$"))
    expect(row.locator("td").nth(6)).to_have_text("1,235 ms")
    expect(row.locator("td").nth(7)).to_have_text("1,500")


def test_a_chip_shows_a_disagreement_as_a_split_coloured_by_the_mean_score(reviewer_page: Page, live_server):
    project = busy_project(4)
    page = open_table(reviewer_page, live_server, project, "?annotation_name=correctness&label=incorrect")

    rows = page.locator("#spans-table tbody tr")
    expect(rows).to_have_count(2)
    split = rows.first.locator(".chip", has_text="correctness")
    expect(split).to_contain_text("correctness: correct 1 · incorrect 1")
    expect(split).not_to_have_class(re.compile(r"\b(good|bad)\b"))
    open_table(page, live_server, project)
    agreed = page.locator("#spans-table tbody tr", has_text="chat-1").locator(".chip", has_text="correctness")
    expect(agreed).to_contain_text("correctness: correct · 1.00")
    expect(agreed).to_have_class(re.compile(r"\bgood\b"))


def test_j_and_k_move_a_highlight_over_the_rows_and_enter_opens_it(reviewer_page: Page, live_server):
    page = open_table(reviewer_page, live_server, busy_project(3), "?sort=latency_ms&dir=asc")
    rows = page.locator("#spans-table tbody tr[data-span-id]")
    second = rows.nth(1).get_attribute("data-span-id")

    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bcurrent\b"))
    expect(page.locator("#spans-table tr.current")).to_have_count(1)
    page.get_by_label("Filter expression").press("j")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bcurrent\b"))
    expect(page.get_by_label("Filter expression")).to_have_value("j")
    page.get_by_label("Filter expression").fill("")
    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.press("?")
    expect(page.get_by_role("dialog")).to_contain_text("Highlight the next row")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"/traces/[0-9a-f]{{32}}/\?span={second}&"))


def test_back_after_add_to_dataset_shows_no_stale_selection_and_the_new_dataset(
    reviewer_page: Page, live_server
):
    project = busy_project(3)
    page = open_table(reviewer_page, live_server, project)
    page.locator(".row-select").nth(0).check()
    page.locator(".row-select").nth(1).check()
    expect(page.locator("#selection-count")).to_have_text("2 selected")
    page.get_by_placeholder("New dataset name").fill("tricky")
    page.click("#add-to-dataset")
    expect(page.locator("#examples-table tbody tr")).to_have_count(2)

    page.go_back()

    expect(page.locator("#spans-table")).to_be_visible()
    expect(page.locator(".row-select:checked")).to_have_count(0)
    expect(page.locator("#all-matching")).not_to_be_checked()
    expect(page.locator("#selection")).to_be_hidden()
    page.locator(".row-select").nth(0).check()
    expect(page.locator("#selection-count")).to_have_text("1 selected")
    page.select_option("select[name=dataset]", label="tricky")
    page.click("#add-to-dataset")
    expect(page.get_by_text("0 new examples, 1 already in the dataset")).to_be_visible()


@pytest.mark.parametrize("tab", ["", "traces/"])
def test_the_tables_break_no_wcag_rule_with_filters_open_and_rows_selected(
    reviewer_page: Page, live_server, tab: str
):
    page = open_table(reviewer_page, live_server, busy_project(5), f"{tab}?latency_min=1")
    assert_no_axe_violations(page)
    page.locator(".row-select").first.check()
    expect(page.locator("#selection")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_label("Filter expression").fill("spankind == 'LLM'")
    page.get_by_label("Filter expression").press("Enter")
    expect(page.locator("#filter-errors")).to_be_visible()
    assert_no_axe_violations(page)
