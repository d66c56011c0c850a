"""Keyboard-first labelling on the trace page: a digit saves a label, `j` moves on, a save can be undone."""

from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.annotations.models import SpanAnnotation, reviewer_identifier
from phoenix_annot.tracing.models import Span
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


def reviewed_project(*config_names: str) -> Span:
    """An LLM span under a CHAIN root, in a project with these categorical configs (correct / incorrect)."""
    project = ProjectFactory(name="support")
    for name in config_names:
        AnnotationConfigFactory(name=name).projects.add(project)
    root = SpanFactory(trace=TraceFactory(project=project), name="answer", span_kind="CHAIN")
    return SpanFactory(trace=root.trace, parent_id=root.span_id, name="llm-call")


def rita_labels(span: Span, name: str, label: str) -> SpanAnnotation:
    """rita's own annotation, as her Annotate panel writes it."""
    rita = UserFactory(username="rita")
    return SpanAnnotationFactory(
        span=span, name=name, label=label, user=rita, identifier=reviewer_identifier(rita.pk), source="APP"
    )


def open_span(page: Page, live_server, span: Span, list_query: str = "") -> None:
    query = {"span": span.span_id, **({"list": list_query} if list_query else {})}
    page.goto(f"{live_server.url}/traces/{span.trace.trace_id}/?{urlencode(query)}")


def expect_focused_config(page: Page, name: str | None) -> None:
    """Wait until the focus is in the annotation form of config `name` (None: in none): focus moves after
    htmx settles, which may come after the text a test waited for."""
    page.wait_for_function(
        "name => (document.activeElement.closest('form[data-config]')?.dataset.config ?? null) === name",
        arg=name,
    )


def test_a_digit_saves_that_label_and_moves_to_the_next_annotation_not_filled(
    reviewer_page: Page, live_server
):
    span = reviewed_project("correctness", "tone", "hallucination")
    rita_labels(span, "tone", "correct")
    page = reviewer_page

    open_span(page, live_server, span)
    expect(page.locator("#annotate-panels")).to_be_visible()
    expect_focused_config(page, "correctness")
    page.keyboard.press("2")

    expect(page.get_by_role("status")).to_contain_text("Saved correctness = incorrect")
    expect(page.get_by_role("status").get_by_role("button", name="Undo")).to_be_visible()
    expect_focused_config(page, "hallucination")
    page.keyboard.press("1")
    expect(page.get_by_role("status")).to_contain_text("Saved hallucination = correct")
    mine = SpanAnnotation.objects.filter(span=span).order_by("name").values_list("name", "label", "score")
    assert list(mine) == [
        ("correctness", "incorrect", 0.0),
        ("hallucination", "correct", 1.0),
        ("tone", "correct", 1.0),
    ]


def test_undo_puts_back_the_label_the_reviewer_had(reviewer_page: Page, live_server):
    span = reviewed_project("correctness")
    rita_labels(span, "correctness", "correct")
    page = reviewer_page

    open_span(page, live_server, span)
    page.locator("#panel-span form[data-config=correctness] input[value=incorrect]").focus()
    page.keyboard.press("2")
    expect(page.get_by_role("status").get_by_role("button", name="Undo")).to_be_visible()
    page.keyboard.press("u")

    expect(page.get_by_role("status")).to_contain_text("Undone: correctness is back to correct")
    assert SpanAnnotation.objects.get(span=span).label == "correct"
    page.get_by_role("radio", name="incorrect").focus()
    page.keyboard.press("2")
    expect(page.get_by_role("status")).to_contain_text("Saved correctness = incorrect")
    page.get_by_role("status").get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_contain_text("Undone: correctness is back to correct")


def test_e_goes_to_the_first_annotation_not_filled_and_escape_leaves_the_panel(
    reviewer_page: Page, live_server
):
    span = reviewed_project("correctness", "tone")
    rita_labels(span, "correctness", "correct")
    page = reviewer_page

    open_span(page, live_server, span)
    page.locator("#span-tree a").first.focus()
    page.keyboard.press("e")
    expect_focused_config(page, "tone")
    page.keyboard.press("Escape")
    expect_focused_config(page, None)
    page.keyboard.press("2")

    assert SpanAnnotation.objects.filter(name="tone").count() == 0


def test_ctrl_enter_saves_a_score_and_an_explanation_and_j_is_typed_in_text(reviewer_page: Page, live_server):
    span = reviewed_project()
    AnnotationConfigFactory(
        name="relevance", type="CONTINUOUS", values=[], lower_bound=0, upper_bound=1
    ).projects.add(span.project)
    other = SpanFactory(trace=TraceFactory(project=span.project), name="other-call")
    page = reviewer_page

    open_span(page, live_server, span, list_query="tab=spans&span_kind=LLM")
    form = page.locator("#panel-span form[data-config=relevance]")
    expect_focused_config(page, "relevance")
    expect(form.locator("textarea[name=explanation]")).to_be_hidden()
    page.keyboard.type("0.5")
    form.get_by_text("Explanation", exact=True).click()
    form.locator("textarea[name=explanation]").fill("half the documents ")
    form.locator("textarea[name=explanation]").press("j")
    page.keyboard.press("Control+Enter")

    expect(page.get_by_role("status")).to_contain_text("Saved relevance = 0.5")
    annotation = SpanAnnotation.objects.get(span=span)
    assert (annotation.score, annotation.explanation) == (0.5, "half the documents j")
    page.keyboard.press("k")
    expect(page.locator("#span-view h2")).to_have_text(other.name)


def test_the_panel_stays_open_across_j_and_stays_closed_once_closed(reviewer_page: Page, live_server):
    first = reviewed_project("correctness")
    second = SpanFactory(trace=TraceFactory(project=first.project), name="next-call")
    page = reviewer_page
    panel = page.locator("#annotate-panels")

    open_span(page, live_server, second, list_query="tab=spans&span_kind=LLM")
    page.keyboard.press("j")
    expect(page.locator("#span-view h2")).to_have_text(first.name)
    expect(panel).to_be_visible()
    expect_focused_config(page, "correctness")
    page.get_by_role("button", name="Annotate").click()
    expect(panel).to_be_hidden()
    page.keyboard.press("k")
    expect(page.locator("#span-view h2")).to_have_text(second.name)
    expect(panel).to_be_hidden()
    page.keyboard.press("e")
    expect(panel).to_be_visible()


def test_question_mark_shows_every_key_of_the_page(reviewer_page: Page, live_server):
    span = reviewed_project("correctness")
    page = reviewer_page

    open_span(page, live_server, span, list_query="tab=spans")
    page.keyboard.press("?")

    dialog = page.get_by_role("dialog", name="Keys")
    expect(dialog).to_be_visible()
    for key in ["?", "j", "k", "e", "1-9", "Ctrl ↵", "u", "Esc"]:
        expect(dialog.locator("dt kbd", has_text=key).first).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
