"""Document relevance by keyboard on a retriever span: digits on the focused document save its relevance
and move to the next document, and the span's retrieval metrics follow."""

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import DocumentAnnotation, reviewer_identifier
from tests.e2e.axe import assert_no_axe_violations
from tests.factories import (
    AnnotationConfigFactory,
    DocumentAnnotationFactory,
    ProjectFactory,
    retriever_span,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_five_documents_labelled_by_keyboard_in_a_row_store_exactly_those_labels(
    reviewer_page: Page, live_server
):
    span = retriever_span(ProjectFactory(name="rag"), 8)
    # The LLM judge found the first document relevant: precision 1/8, NDCG 1.
    DocumentAnnotationFactory(
        span=span, document_position=0, annotator_kind="LLM", label="relevant", score=1.0
    )
    page = reviewer_page

    page.goto(f"{live_server.url}/traces/{span.trace.trace_id}/?span={span.span_id}")
    metrics = page.locator("#retrieval-metrics")
    expect(metrics.locator("[data-metric=ndcg]")).to_have_text("1.00")
    expect(metrics.locator("[data-metric=precision]")).to_have_text("0.12")
    assert_no_axe_violations(page)
    page.evaluate("window.pageMarker = 'before labelling'")
    page.locator('[data-document="0"]').focus()
    for position, key in enumerate("21211"):
        expect(page.locator(f'[data-document="{position}"]')).to_be_focused()
        page.keyboard.press(key)
        expect(page.locator(f'[data-document="{position + 1}"]')).to_be_focused()
        expect(page.locator(f"#document-relevance-{position} [data-mine]")).to_have_text(
            "irrelevant" if key == "2" else "relevant"
        )

    # Her "irrelevant" outweighs the judge's "relevant" on document 0; relevant: 1, 3 and 4 of 8.
    # DCG = 1/log2(3) + 1/log2(5) + 1/log2(6) = 1.4485, ideal 1 + 1/log2(3) + 1/2 = 2.1309.
    expect(metrics.locator("[data-metric=precision]")).to_have_text("0.38")
    expect(metrics.locator("[data-metric=ndcg]")).to_have_text("0.68")
    expect(page.get_by_role("status")).to_contain_text("Saved relevance = relevant for document #4")
    rita = reviewer_identifier(User.objects.get(username="rita").pk)
    mine = DocumentAnnotation.objects.filter(span=span, identifier=rita).order_by("document_position")
    assert list(mine.values_list("document_position", "label", "score", "annotator_kind")) == [
        (0, "irrelevant", 0.0, "HUMAN"),
        (1, "relevant", 1.0, "HUMAN"),
        (2, "irrelevant", 0.0, "HUMAN"),
        (3, "relevant", 1.0, "HUMAN"),
        (4, "relevant", 1.0, "HUMAN"),
    ]
    assert DocumentAnnotation.objects.filter(span=span).count() == 6
    # Saved through htmx: the page was never reloaded, and the last document labelled is in view.
    assert page.evaluate("window.pageMarker") == "before labelling"
    expect(page.locator('[data-document="4"]')).to_be_in_viewport()


def test_a_digit_with_no_document_focused_still_labels_the_span_panel(reviewer_page: Page, live_server):
    span = retriever_span(ProjectFactory(name="rag"), 2)
    AnnotationConfigFactory(name="correctness").projects.add(span.project)
    page = reviewer_page

    page.goto(f"{live_server.url}/traces/{span.trace.trace_id}/?span={span.span_id}")
    page.keyboard.press("1")

    expect(page.get_by_role("status")).to_contain_text("Saved correctness = correct")
    assert not DocumentAnnotation.objects.exists()
    page.keyboard.press("?")
    expect(page.locator("dialog#key-help")).to_contain_text(
        "On a focused retrieved document: set its relevance"
    )
