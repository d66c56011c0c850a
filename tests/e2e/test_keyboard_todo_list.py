"""Issue 11's done-when flow: 20 spans of a filtered to-do list labelled with two keys each (digit, `j`)."""

import random

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.annotations.models import SpanAnnotation, reviewer_identifier
from phoenix_annot.tracing.models import Project, Span
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

TO_DO = 20
LABELS = {"1": "correct", "2": "incorrect"}


def support_traces() -> tuple[Project, list[Span]]:
    """Traces of a CHAIN root, a RETRIEVER and an LLM call; some calls already judged by an LLM. Latencies
    are shuffled against start times, so the list's latency order is not its time order. Returns the
    project and the LLM calls nobody has judged yet."""
    shuffled = random.Random(11).sample(range(TO_DO + 4), TO_DO + 4)
    project = ProjectFactory(name="support")
    AnnotationConfigFactory(name="correctness").projects.add(project)
    calls = []
    for n, latency in enumerate(shuffled):
        root = SpanFactory(trace=TraceFactory(project=project), name=f"answer-{n}", span_kind="CHAIN")
        SpanFactory(trace=root.trace, parent_id=root.span_id, name=f"search-{n}", span_kind="RETRIEVER")
        calls.append(
            SpanFactory(trace=root.trace, parent_id=root.span_id, name=f"call-{n}", latency_ms=latency * 10.0)
        )
    for judged in calls[:4]:
        SpanAnnotationFactory(span=judged, annotator_kind="LLM", identifier="judge")
    return project, sorted(calls[4:], key=lambda span: (span.latency_ms, span.pk))


def test_a_reviewer_labels_20_spans_of_a_filtered_to_do_list_with_two_keys_each(
    reviewer_page: Page, live_server
):
    project, to_do = support_traces()
    page = reviewer_page
    selected = page.locator("#span-view h2")
    status = page.get_by_role("status")

    page.goto(
        f"{live_server.url}/projects/{project.pk}/"
        "?span_kind=LLM&missing_annotation=correctness&sort=latency_ms&dir=asc"
    )
    page.get_by_role("link", name=to_do[0].name, exact=True).click()
    expected = {}
    for n, span in enumerate(to_do):
        expect(selected).to_have_text(span.name)
        page.wait_for_function("document.activeElement.closest('form[data-config=correctness]') !== null")
        digit = "2" if n % 3 == 0 else "1"
        page.keyboard.press(digit)
        expect(status).to_contain_text(f"Saved correctness = {LABELS[digit]}")
        page.keyboard.press("j")
        expected[span.pk] = LABELS[digit]

    expect(status).to_contain_text("End of the list")
    rita = UserFactory(username="rita")
    labelled = SpanAnnotation.objects.filter(identifier=reviewer_identifier(rita.pk))
    assert dict(labelled.values_list("span", "label")) == expected
    assert SpanAnnotation.objects.count() == TO_DO + 4
