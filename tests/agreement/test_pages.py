"""The Agreement page and the disagreements as a reviewer sees them."""

import pytest
from django.urls import reverse

from tests.agreement.test_selectors import krippendorff_spans
from tests.factories import AnnotationConfigFactory, ProjectFactory, SpanFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer_client(client):
    client.force_login(UserFactory(username="viewer"))
    return client


def test_the_page_shows_each_figure_with_its_items_and_interval_and_the_reviewer_matrix(reviewer_client):
    project = ProjectFactory()
    krippendorff_spans(project)

    page = reviewer_client.get(reverse("web:agreement", args=[project.pk]), {"annotation": "correctness"})

    text = page.content.decode()
    assert page.status_code == 200
    assert (
        '<tr data-figure="alpha"><th scope="row">Krippendorff\'s \u03b1 (nominal)</th>'
        '<td class="num">0.743</td><td class="num">11</td>' in text
    )
    assert text.count('<th scope="row">a</th>') == 1
    assert "8 items" in text


def test_the_spans_tab_links_to_the_agreement_page_with_its_filter(reviewer_client):
    project = ProjectFactory()
    SpanFactory(project=project)

    page = reviewer_client.get(reverse("web:spans", args=[project.pk]), {"span_kind": "LLM"})

    assert f'href="{reverse("web:agreement", args=[project.pk])}?span_kind=LLM"' in page.content.decode()


def test_the_disagreements_link_to_each_trace_and_to_the_spans_tab_filtered_to_them(reviewer_client):
    project = ProjectFactory()
    spans, _ = krippendorff_spans(project)

    page = reviewer_client.get(
        reverse("web:disagreements", args=[project.pk]),
        {"annotation": "correctness", "name_contains": "unit"},
    )

    text = page.content.decode()
    unit6 = spans[5]
    assert f"{reverse('web:trace', args=[unit6.trace.trace_id])}?span={unit6.span_id}" in text
    spans_link = f"{reverse('web:spans', args=[project.pk])}?name_contains=unit&amp;disagreement=correctness"
    assert spans_link in text
    assert "1 of 4 say 4" in text


def test_a_freeform_name_says_it_is_not_rated(reviewer_client):
    project = ProjectFactory()
    AnnotationConfigFactory(name="comment", type="FREEFORM", values=[])

    page = reviewer_client.get(reverse("web:agreement", args=[project.pk]), {"annotation": "comment"})

    assert "free text is not rated" in page.content.decode()
