"""The Spans table's filter bar in a real browser: the table shows what the form says, and a bad expression
shows its error and no rows."""

import pytest
from playwright.sync_api import Page, expect

from tests.factories import ProjectFactory, SpanAnnotationFactory, SpanFactory, TraceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def mixed_project():
    """One trace: a CHAIN root over an LLM span, a RETRIEVER span and a failing TOOL span."""
    project = ProjectFactory(name="mixed")
    trace = TraceFactory(project=project)
    root = SpanFactory(trace=trace, name="agent", span_kind="CHAIN")
    llm = SpanFactory(trace=trace, parent_id=root.span_id, name="llm-call", span_kind="LLM")
    SpanFactory(trace=trace, parent_id=root.span_id, name="search-docs", span_kind="RETRIEVER")
    SpanFactory(trace=trace, parent_id=root.span_id, name="run-tool", span_kind="TOOL", status_code="ERROR")
    SpanAnnotationFactory(span=llm, name="correctness", label="correct")
    return project


def row_names(page: Page) -> list[str]:
    return sorted(page.locator("#spans-table tbody tr td:nth-child(3)").all_inner_texts())


def test_changing_kind_and_status_shows_exactly_what_the_form_says(reviewer_page: Page, live_server):
    project = mixed_project()
    page = reviewer_page
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    kind = page.get_by_label("Kind", exact=True)

    kind.select_option("LLM")
    expect(page.locator("#spans-table tbody tr")).to_have_count(1)
    kind.select_option("RETRIEVER")
    expect(page.locator("#spans-table tbody tr")).to_contain_text("search-docs")
    assert row_names(page) == ["search-docs"]
    assert page.url.count("span_kind=") == 1

    kind.select_option("")
    expect(page.locator("#spans-table tbody tr")).to_have_count(4)
    page.go_back()
    expect(kind).to_have_value("RETRIEVER")
    expect(page.locator("#spans-table tbody tr")).to_have_count(1)
    page.go_forward()
    expect(kind).to_have_value("")
    expect(page.locator("#spans-table tbody tr")).to_have_count(4)
    page.get_by_label("Status", exact=True).select_option("ERROR")
    expect(page.locator("#spans-table tbody tr")).to_have_count(1)
    assert row_names(page) == ["run-tool"]

    page.reload()
    expect(page.get_by_label("Status", exact=True)).to_have_value("ERROR")
    expect(page.get_by_label("Kind", exact=True)).to_have_value("")
    assert row_names(page) == ["run-tool"]
    for name in ("span_kind", "status_code", "sort", "dir", "size"):
        assert page.url.count(f"{name}=") <= 1, page.url


def filter_by_expression(page: Page, live_server, project, expression: str) -> None:
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.get_by_label("Filter expression").fill(expression)
    page.get_by_label("Filter expression").press("Enter")


def test_an_expression_with_a_syntax_error_shows_its_error_and_no_rows(reviewer_page: Page, live_server):
    filter_by_expression(reviewer_page, live_server, mixed_project(), "span_kind == ")

    expect(reviewer_page.locator("#filter-errors")).to_be_visible()
    expect(reviewer_page.locator("#spans-table tbody tr[data-span-id]")).to_have_count(0)
    expect(reviewer_page.get_by_text("Add to dataset")).to_have_count(0)
    expect(reviewer_page.locator("#all-matching")).to_have_count(0)


def test_a_misspelt_column_is_an_error_that_suggests_the_right_one(reviewer_page: Page, live_server):
    filter_by_expression(reviewer_page, live_server, mixed_project(), "spankind == 'LLM'")

    errors = reviewer_page.locator("#filter-errors")
    expect(errors).to_contain_text("did you mean span_kind?")
    expect(errors).to_contain_text("latency_ms")
    expect(errors).not_to_contain_text("condition")
    expect(reviewer_page.locator("#spans-table tbody tr[data-span-id]")).to_have_count(0)


def test_an_annotation_name_no_span_has_shows_the_names_that_exist(reviewer_page: Page, live_server):
    typo = "annotations['corectness'].label == 'x'"
    filter_by_expression(reviewer_page, live_server, mixed_project(), typo)

    hint = reviewer_page.locator("#filter-hint")
    expect(hint).to_contain_text("No span has an annotation named corectness")
    expect(hint).to_contain_text("Names in this project: correctness")
