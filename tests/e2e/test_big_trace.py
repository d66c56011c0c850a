"""A trace too big to show whole, walked in a real browser: load more of the tree, select, annotate."""

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.annotations.models import SpanAnnotation
from phoenix_annot.web.selectors import traces as trace_selectors
from tests.factories import AnnotationConfigFactory, ProjectFactory, SpanFactory, TraceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reviewer_loads_more_of_a_big_tree_and_annotates_a_span_deep_in_it(
    reviewer_page: Page, live_server, monkeypatch
):
    monkeypatch.setattr(trace_selectors, "TREE_PAGE_SIZE", 5)
    project = ProjectFactory(name="agents")
    AnnotationConfigFactory(name="correctness").projects.add(project)
    spans = [SpanFactory(trace=TraceFactory(project=project), name="step-0", span_kind="CHAIN")]
    for n in range(1, 12):
        spans.append(SpanFactory(trace=spans[0].trace, parent_id=spans[-1].span_id, name=f"step-{n}"))
    deep = spans[11]
    page = reviewer_page
    tree = page.locator("#span-tree")

    page.goto(f"{live_server.url}/traces/{spans[0].trace.trace_id}/")
    expect(tree.locator("a[data-span-id]")).to_have_count(5)
    tree.get_by_text("Show more spans").click()
    expect(tree.locator("a[data-span-id]")).to_have_count(10)
    tree.get_by_text("Show more spans").click()
    expect(tree.locator("a[data-span-id]")).to_have_count(12)
    expect(tree.get_by_text("Show more spans")).to_have_count(0)

    tree.locator(f'a[data-span-id="{deep.span_id}"]').click()
    expect(page.locator("#span-view h2")).to_have_text("step-11")
    expect(tree.locator(f'a[data-span-id="{deep.span_id}"]')).to_have_class("selected")
    expect(tree.get_by_text("Show earlier spans")).to_be_visible()
    page.keyboard.press("e")
    form = page.locator("#panel-span form[data-annotation-form]").first
    form.locator("input[type=radio]").first.focus()
    page.keyboard.press("2")
    page.keyboard.press("Control+Enter")

    expect(page.locator(f"#chips-{deep.pk}")).to_contain_text("correctness: incorrect")
    assert SpanAnnotation.objects.get(span=deep).label == "incorrect"
    assert f"span={deep.span_id}" in page.url
