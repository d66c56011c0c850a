"""A reviewer filters the Spans tab, selects every matching row, labels them in one action after the
confirmation's counts, sees the labels in the table, and undoes it: every row is back as it was."""

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import SpanAnnotation, reviewer_identifier
from tests.factories import AnnotationConfigFactory, ProjectFactory, SpanAnnotationFactory, SpanFactory

from .axe import assert_no_axe_violations

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reviewer_labels_thirty_matching_spans_at_once_and_undoes_it(reviewer_page: Page, live_server):
    page = reviewer_page
    rita = User.objects.get(username="rita")
    project = ProjectFactory(name="support")
    AnnotationConfigFactory().projects.add(project)
    llm = SpanFactory.create_batch(30, trace__project=project, span_kind="LLM")
    chain = SpanFactory.create_batch(5, trace__project=project, span_kind="CHAIN")
    labelled = llm[:3]
    for span in labelled:
        SpanAnnotationFactory(
            span=span,
            label="correct",
            score=1.0,
            explanation="checked by hand",
            identifier=reviewer_identifier(rita.pk),
            user=rita,
            source="APP",
        )
    before = set(SpanAnnotation.objects.values_list("span_id", "label", "explanation"))

    page.goto(f"{live_server.url}/projects/{project.pk}/?span_kind=LLM&size=50")
    page.locator(".row-select").first.check()
    page.check("#all-matching")
    page.click("#bulk-label-open")
    dialog = page.locator("dialog#bulk-label")
    expect(dialog).to_be_visible()
    dialog.locator("#bulk-label-value").select_option("incorrect")
    dialog.locator("#bulk-explanation").fill("wrong product")
    dialog.locator("#bulk-preview").click()
    expect(dialog.locator("#bulk-summary")).to_contain_text("30 spans selected; 3 already have a value")
    expect(dialog.locator("#bulk-created")).to_have_text("27 new")
    expect(dialog.locator("#bulk-replaced")).to_contain_text("3 replaced: values of rita (3)")
    assert_no_axe_violations(page)
    dialog.locator("#bulk-label-apply").click()

    expect(page.locator("#bulk-done")).to_contain_text(
        "correctness = incorrect on 30 spans (27 new, 3 replaced)"
    )
    for span in [llm[0], llm[10], llm[29]]:
        expect(page.locator(f'tr[data-span-id="{span.span_id}"] .feedback')).to_contain_text("incorrect")
    assert SpanAnnotation.objects.filter(label="incorrect", explanation="wrong product").count() == 30
    assert not SpanAnnotation.objects.filter(span__in=chain).exists()

    assert_no_axe_violations(page)
    page.click("#bulk-undo")

    expect(
        page.get_by_text("Undone: correctness on 30 spans is back as it was (27 removed, 3 restored).")
    ).to_be_visible()
    expect(page.locator(f'tr[data-span-id="{llm[0].span_id}"] .feedback')).to_contain_text("correct")
    expect(page.locator(f'tr[data-span-id="{llm[0].span_id}"] .feedback')).not_to_contain_text("incorrect")
    for span in [llm[10], llm[29]]:
        expect(page.locator(f'tr[data-span-id="{span.span_id}"] .feedback')).to_have_text("—")
    assert set(SpanAnnotation.objects.values_list("span_id", "label", "explanation")) == before
