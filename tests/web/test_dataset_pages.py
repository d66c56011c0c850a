"""The dataset pages: numbering per dataset, downloads a browser saves, a constant number of queries."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from phoenix_annot.datasets import services
from phoenix_annot.datasets.exports import EXPORT_FORMATS
from phoenix_annot.datasets.models import Dataset
from phoenix_annot.datasets.services import dataset_add_spans
from tests.factories import DatasetFactory, SpanFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "filename"),
    [
        ("hard cases", "hard-cases-v3.csv"),
        ("../../etc/passwd", "etc-passwd-v3.csv"),
        ('say "hi"; rm -rf', "say-hi-rm-rf-v3.csv"),
        ("...", "dataset-v3.csv"),
        ("réponses", "réponses-v3.csv"),
    ],
)
def test_an_export_file_name_keeps_only_what_a_file_system_takes(name: str, filename: str):
    assert EXPORT_FORMATS["csv"].filename(name, 3) == filename


def test_a_name_beyond_ascii_is_sent_with_an_ascii_fallback_and_its_rfc_6266_form(reviewer_client: Client):
    dataset = DatasetFactory(name="réponses")
    dataset_add_spans(dataset=dataset, spans=[SpanFactory()], user=None)

    response = reviewer_client.get(f"/datasets/{dataset.pk}/export/jsonl/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/jsonl"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"r_ponses-v1.jsonl\"; filename*=UTF-8''r%C3%A9ponses-v1.jsonl"
    )


def test_an_export_of_an_older_version_is_that_versions_examples_and_number(reviewer_client: Client):
    dataset = DatasetFactory(name="qa")
    first = dataset_add_spans(dataset=dataset, spans=[SpanFactory()], user=None).version
    dataset_add_spans(dataset=dataset, spans=[SpanFactory()], user=None)

    response = reviewer_client.get(f"/datasets/{dataset.pk}/export/jsonl/?version={first.pk}")

    assert response["Content-Disposition"] == 'attachment; filename="qa-v1.jsonl"'
    assert len(b"".join(response.streaming_content).splitlines()) == 1


@pytest.mark.parametrize("path", ["/datasets/{pk}/export/xlsx/", "/datasets/{empty}/export/csv/"])
def test_an_unknown_export_or_a_dataset_without_versions_is_a_404(reviewer_client: Client, path: str):
    dataset = DatasetFactory()
    dataset_add_spans(dataset=dataset, spans=[SpanFactory()], user=None)

    response = reviewer_client.get(path.format(pk=dataset.pk, empty=DatasetFactory().pk))

    assert response.status_code == 404


@pytest.mark.parametrize("examples", [1, 20])
def test_the_dataset_page_takes_the_same_number_of_queries_whatever_the_examples(
    reviewer_client: Client, django_assert_max_num_queries, examples: int
):
    dataset = DatasetFactory()
    dataset_add_spans(dataset=dataset, spans=SpanFactory.create_batch(examples), user=None)
    dataset_add_spans(dataset=dataset, spans=[SpanFactory()], user=None)

    with django_assert_max_num_queries(7):
        response = reviewer_client.get(f"/datasets/{dataset.pk}/")

    assert f"Example {examples + 1}" in response.content.decode()


def test_the_datasets_list_writes_when_a_dataset_changed_with_its_year_and_zone(reviewer_client: Client):
    dataset = DatasetFactory(name="qa")
    Dataset.objects.filter(pk=dataset.pk).update(updated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))

    html = reviewer_client.get("/datasets/").content.decode()

    assert "2026-01-02 03:04:05 UTC" in html


def test_a_refused_add_to_a_new_dataset_leaves_no_empty_dataset_behind(reviewer_client: Client, monkeypatch):
    monkeypatch.setattr(services, "MAX_SPANS_PER_ADD", 1)
    first = SpanFactory()
    second = SpanFactory(trace=first.trace)

    response = reviewer_client.post(
        "/datasets/add-spans/",
        {"project": first.project.pk, "span": [first.span_id, second.span_id], "new_dataset_name": "fresh"},
        follow=True,
    )

    assert "Add at most 1 spans at a time" in response.content.decode()
    assert not Dataset.objects.filter(name="fresh").exists()
