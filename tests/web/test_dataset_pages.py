"""The dataset pages: numbering per dataset, downloads a browser saves, a constant number of queries."""

import json
from datetime import UTC, datetime

import pytest
from django.test import Client

from phoenix_annot.datasets import services
from phoenix_annot.datasets.exports import EXPORT_FORMATS
from phoenix_annot.datasets.models import Dataset, DatasetSplit
from phoenix_annot.datasets.selectors import split_names_by_example
from phoenix_annot.datasets.services import dataset_add_spans
from tests.factories import DatasetFactory, SpanFactory, UserFactory

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
    dataset_add_spans(
        dataset=dataset, spans=SpanFactory.create_batch(examples), user=None, split_name="train"
    )
    dataset_add_spans(dataset=dataset, spans=[SpanFactory()], user=None, split_name="test")
    test = DatasetSplit.objects.get(name="test")

    with django_assert_max_num_queries(8):
        response = reviewer_client.get(f"/datasets/{dataset.pk}/")
    with django_assert_max_num_queries(8):
        in_test = reviewer_client.get(f"/datasets/{dataset.pk}/?split={test.pk}")

    assert f"Example {examples + 1}" in response.content.decode()
    assert f"Example {examples + 1}" in in_test.content.decode()
    assert "Example 1<" not in in_test.content.decode()


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


# --- splits --------------------------------------------------------------------------------------------


def splits_of(dataset: Dataset) -> list[list[str]]:
    names = split_names_by_example(dataset.examples.order_by("pk").values_list("pk", flat=True))
    return [names.get(pk, []) for pk in dataset.examples.order_by("pk").values_list("pk", flat=True)]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [({"split": "train"}, ["train"]), ({"split": "train", "new_split_name": " gold "}, ["gold"]), ({}, [])],
)
def test_rows_added_to_a_dataset_go_in_the_split_chosen_or_named(reviewer_client: Client, choice, expected):
    span = SpanFactory()

    response = reviewer_client.post(
        "/datasets/add-spans/",
        {"project": span.project.pk, "span": [span.span_id], "new_dataset_name": "split", **choice},
        follow=True,
    )

    assert splits_of(Dataset.objects.get(name="split")) == [expected]
    assert ("All in split" in response.content.decode()) == bool(expected)


def test_the_dataset_page_splits_a_version_at_random_and_counts_each_split(reviewer_client: Client):
    dataset = DatasetFactory()
    added = dataset_add_spans(dataset=dataset, spans=SpanFactory.create_batch(10), user=None)

    response = reviewer_client.post(
        f"/datasets/{dataset.pk}/split/",
        {"version": added.version.pk, "train_percent": 70, "seed": 42},
        follow=True,
    )

    page = response.content.decode()
    assert "v1 split at random with seed 42: 7 in train, 3 in test." in page
    assert sorted(map(tuple, splits_of(dataset))) == [("test",)] * 3 + [("train",)] * 7
    assert 'data-split="test">test <span class="muted">3</span>' in page
    assert 'data-split="train">train <span class="muted">7</span>' in page


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"train_percent": 100, "seed": 1}, "Train %: Ensure this value is less than or equal to 99."),
        ({"train_percent": 50}, "Seed: This field is required."),
    ],
)
def test_a_random_split_with_a_bad_ratio_or_no_seed_is_refused_naming_the_field(
    reviewer_client: Client, values, message
):
    dataset = DatasetFactory()
    added = dataset_add_spans(dataset=dataset, spans=SpanFactory.create_batch(2), user=None)

    response = reviewer_client.post(
        f"/datasets/{dataset.pk}/split/", {"version": added.version.pk, **values}, follow=True
    )

    assert message in response.content.decode()
    assert not DatasetSplit.objects.exists()


def test_viewers_cannot_split_a_dataset(client: Client):
    dataset = DatasetFactory()
    added = dataset_add_spans(dataset=dataset, spans=[SpanFactory()], user=None)
    client.force_login(UserFactory(role="VIEWER"))

    response = client.post(
        f"/datasets/{dataset.pk}/split/", {"version": added.version.pk, "train_percent": 50, "seed": 1}
    )

    assert response.status_code == 403
    assert not DatasetSplit.objects.exists()


def test_an_export_of_one_split_holds_its_examples_and_says_so_in_its_name(reviewer_client: Client):
    dataset = DatasetFactory(name="qa")
    dataset_add_spans(
        dataset=dataset, spans=[SpanFactory(input_value="in train")], user=None, split_name="train"
    )
    dataset_add_spans(dataset=dataset, spans=[SpanFactory(input_value="not")], user=None)
    train = DatasetSplit.objects.get(name="train")

    response = reviewer_client.get(f"/datasets/{dataset.pk}/export/jsonl/?split={train.pk}")

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert response["Content-Disposition"] == 'attachment; filename="qa-v2-train.jsonl"'
    assert [(json.loads(line)["input"], json.loads(line)["splits"]) for line in lines] == [
        ({"input": "in train"}, ["train"])
    ]
    assert reviewer_client.get(f"/datasets/{dataset.pk}/export/jsonl/?split=999").status_code == 404
