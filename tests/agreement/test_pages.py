"""The Agreement page and the disagreements as a reviewer sees them."""

import pytest
from django.urls import reverse

from phoenix_annot.datasets.services import dataset_add_spans
from tests.agreement.test_selectors import krippendorff_spans
from tests.factories import AnnotationConfigFactory, DatasetFactory, ProjectFactory, SpanFactory, UserFactory
from tests.queues.factories import AnnotationQueueFactory, QueueItemFactory

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


def test_the_page_rates_a_queues_items_or_a_dataset_version_chosen_in_within_and_its_forms_carry_it(
    reviewer_client,
):
    project = ProjectFactory()
    spans, _ = krippendorff_spans(project)
    queue = AnnotationQueueFactory(project=project, name="triage")
    for span in spans[5:7]:
        QueueItemFactory(queue=queue, span=span)
    version = dataset_add_spans(dataset=DatasetFactory(name="golden"), spans=spans[:3], user=None).version
    url = reverse("web:agreement", args=[project.pk])

    queued = reviewer_client.get(url, {"annotation": "correctness", "within": f"queue:{queue.pk}"})
    examples = reviewer_client.get(url, {"annotation": "correctness", "within": f"version:{version.pk}"})
    disagreements = reviewer_client.get(
        reverse("web:disagreements", args=[project.pk]),
        {"annotation": "correctness", "within": f"queue:{queue.pk}"},
    )

    assert (queued.context["page"].report.rated_items, examples.context["page"].report.rated_items) == (2, 3)
    text = queued.content.decode()
    assert f'<option value="queue:{queue.pk}" selected>Queue: triage</option>' in text
    assert f'<option value="version:{version.pk}">Dataset: golden (latest version)</option>' in text
    assert "within the queue triage." in text
    listed = disagreements.content.decode()
    assert f'<input type="hidden" name="within" value="queue:{queue.pk}">' in listed
    assert disagreements.context["page"].total == 1
    # The Spans tab cannot narrow to a queue, so it is not offered as the list of these disagreements.
    assert "disagreement=correctness" not in listed


def test_a_queue_of_another_project_or_a_bad_within_rates_nothing_and_says_why(reviewer_client):
    project = ProjectFactory()
    krippendorff_spans(project)
    foreign = AnnotationQueueFactory()
    url = reverse("web:agreement", args=[project.pk])

    pages = [
        reviewer_client.get(url, {"annotation": "correctness", "within": within})
        for within in (f"queue:{foreign.pk}", "version:999999", "banana")
    ]

    assert [page.context["page"].report for page in pages] == [None, None, None]
    assert [page.context["page"].choice.within_error for page in pages] == [
        f"No queue {foreign.pk} in this project.",
        "No dataset version 999999.",
        "'banana' is neither queue:<id> nor version:<id>.",
    ]
    assert 'id="within-error"' in pages[0].content.decode()


def test_within_offers_the_latest_versions_of_the_datasets_changed_last_by_name(reviewer_client, monkeypatch):
    monkeypatch.setattr("phoenix_annot.agreement.within.DATASETS_OFFERED", 2)
    project = ProjectFactory()
    span = SpanFactory(project=project)
    for name in ("old", "zeta", "alpha"):
        dataset_add_spans(dataset=DatasetFactory(name=name), spans=[span], user=None)

    page = reviewer_client.get(reverse("web:agreement", args=[project.pk]), {"annotation": "correctness"})

    assert [label for _, label in page.context["page"].choice.within_choices] == [
        "Dataset: alpha (latest version)",
        "Dataset: zeta (latest version)",
    ]
