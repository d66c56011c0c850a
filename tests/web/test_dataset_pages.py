"""The dataset pages: numbering per dataset, downloads a browser saves, a constant number of queries."""

import json
from datetime import UTC, datetime

import pytest
from django.test import Client

from phoenix_annot.datasets import services
from phoenix_annot.datasets.exports import EXPORT_FORMATS
from phoenix_annot.datasets.models import Dataset, DatasetSplit, ExampleRevision
from phoenix_annot.datasets.selectors import (
    dataset_latest_version,
    example_revisions_at_version,
    split_names_by_example,
)
from phoenix_annot.datasets.services import dataset_add_spans
from phoenix_annot.datasets.sessions import dataset_add_sessions
from phoenix_annot.web.example_display import chat_of
from tests.factories import DatasetFactory, ProjectFactory, SpanFactory, UserFactory, conversation

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


# --- editing and deleting examples; chat examples as conversations ------------------------------------------


def uploaded(*examples: tuple[dict, dict], name: str = "edits") -> Dataset:
    """A dataset of these (input, output) examples, uploaded as one version."""
    services.dataset_upload(
        action="create",
        name=name,
        description="",
        inputs=[input for input, _ in examples],
        outputs=[output for _, output in examples],
        user=None,
    )
    return Dataset.objects.get(name=name)


def only_example(dataset: Dataset) -> ExampleRevision:
    return example_revisions_at_version(version=dataset_latest_version(dataset=dataset)).get()


CHAT = (
    {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"},
        ]
    },
    {"messages": [{"role": "assistant", "content": "Paris."}]},
)


def edit(client: Client, revision: ExampleRevision, **changes: str):
    values = {
        "input": json.dumps(revision.input),
        "output": json.dumps(revision.output),
        "metadata": json.dumps(revision.metadata),
        "based_on": revision.pk,
        **changes,
    }
    return client.post(
        f"/datasets/{revision.example.dataset_id}/examples/{revision.example_id}/edit/", values
    )


def test_an_edited_example_is_the_next_version_and_the_version_before_still_shows_the_old_output(
    reviewer_client: Client,
):
    dataset = uploaded(({"q": "a"}, {"a": "old answer"}))
    before = only_example(dataset)

    response = edit(reviewer_client, before, output='{"a": "new answer"}', description="fixed", page="1")

    assert response.status_code == 302
    assert response["Location"] == f"/datasets/{dataset.pk}/?page=1#example-{before.example_id}"
    page = reviewer_client.get(response["Location"]).content.decode()
    assert "Example 1 saved in v2." in page
    assert "new answer" in page and "old answer" not in page
    assert "v2 · " in page and " · fixed</option>" in page
    old = reviewer_client.get(f"/datasets/{dataset.pk}/?version={before.version_id}").content.decode()
    assert "old answer" in old and "new answer" not in old


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"output": '{"a": '}, "Output is not valid JSON: Expecting value (line 1, column 7)."),
        ({"metadata": "[1, 2]"}, "Metadata must be a JSON object, not an array."),
        ({"input": "NaN"}, "Input must be a JSON object, not a number."),
        (
            {"input": '{"q": NaN}'},
            "Input contains a NUL character, an unpaired surrogate or a non-finite number",
        ),
    ],
)
def test_an_edit_that_is_not_a_json_object_is_refused_naming_the_field_and_writes_nothing(
    reviewer_client: Client, changes: dict[str, str], message: str
):
    dataset = uploaded(({"q": "a"}, {"a": "1"}))

    response = edit(reviewer_client, only_example(dataset), **changes)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert dataset.versions.count() == 1


def test_an_example_saved_unchanged_makes_no_version_and_says_so(reviewer_client: Client):
    dataset = uploaded(({"q": "a"}, {"a": "1"}))

    response = edit(reviewer_client, only_example(dataset))

    assert (
        "Example 1 is unchanged: no new version."
        in reviewer_client.get(response["Location"]).content.decode()
    )
    assert dataset.versions.count() == 1


def test_an_edit_over_somebody_elses_newer_one_is_a_conflict_and_keeps_theirs(reviewer_client: Client):
    dataset = uploaded(({"q": "a"}, {"a": "1"}))
    read = only_example(dataset)
    edit(reviewer_client, read, output='{"a": "theirs"}')

    response = edit(reviewer_client, read, output='{"a": "mine"}')

    assert response.status_code == 409
    assert "Somebody else changed this example since you opened it" in response.content.decode()
    assert only_example(dataset).output == {"a": "theirs"}


def test_a_deleted_example_is_confirmed_then_gone_from_the_next_version_only(reviewer_client: Client):
    dataset = uploaded(({"q": "keep"}, {}), ({"q": "drop"}, {}))
    first_version = dataset_latest_version(dataset=dataset)
    drop = example_revisions_at_version(version=first_version).get(input={"q": "drop"})
    url = f"/datasets/{dataset.pk}/examples/{drop.example_id}/delete/"

    confirm = reviewer_client.get(url).content.decode()
    response = reviewer_client.post(url, {"based_on": drop.pk, "description": "duplicate"})

    assert "Delete example 2?" in confirm and "Deleting makes v2 of edits without this example" in confirm
    assert "Example 2 deleted in v2." in reviewer_client.get(response["Location"]).content.decode()
    assert [
        r.input for r in example_revisions_at_version(version=dataset_latest_version(dataset=dataset))
    ] == [{"q": "keep"}]
    assert example_revisions_at_version(version=first_version).count() == 2
    assert reviewer_client.get(f"/datasets/{dataset.pk}/examples/{drop.example_id}/edit/").status_code == 404


def test_examples_are_edited_from_the_latest_version_only_and_the_page_says_so(reviewer_client: Client):
    dataset = uploaded(({"q": "a"}, {"a": "1"}))
    first = only_example(dataset)
    edit(reviewer_client, first, output='{"a": "2"}')

    old = reviewer_client.get(f"/datasets/{dataset.pk}/?version={first.version_id}").content.decode()
    latest = reviewer_client.get(f"/datasets/{dataset.pk}/").content.decode()

    edit_link = f"/datasets/{dataset.pk}/examples/{first.example_id}/edit/"
    assert "Examples are edited and deleted in the latest version only" in old and edit_link not in old
    assert edit_link in latest and "edited in the latest version only" not in latest


def test_viewers_see_no_edit_links_and_an_example_of_another_dataset_is_not_found(client: Client):
    dataset = uploaded(({"q": "a"}, {"a": "1"}))
    other = only_example(uploaded(({"q": "b"}, {"a": "2"}), name="other"))
    client.force_login(UserFactory(role="VIEWER"))
    writer = Client()
    writer.force_login(UserFactory())

    page = client.get(f"/datasets/{dataset.pk}/").content.decode()

    assert "/examples/" not in page
    assert writer.get(f"/datasets/{dataset.pk}/examples/{other.example_id}/edit/").status_code == 404


def test_a_chat_example_reads_as_a_conversation_with_its_raw_json_one_click_away(reviewer_client: Client):
    dataset = uploaded(CHAT)

    page = reviewer_client.get(f"/datasets/{dataset.pk}/").content.decode()

    assert page.count('<div class="message role-') == 3
    assert '<div class="message role-assistant"><div class="role">assistant</div>\n<div>Paris.</div>' in page
    assert page.count("<summary>Raw JSON</summary>") == 2
    assert "&quot;role&quot;: &quot;assistant&quot;" in page


def test_a_session_example_reads_as_its_conversation_and_links_to_the_session(reviewer_client: Client):
    session = conversation(ProjectFactory(), [("Hi", "Hello!"), ("Refund?", "Sure.")])
    dataset = DatasetFactory()
    dataset_add_sessions(dataset=dataset, sessions=[session], user=None)

    page = reviewer_client.get(f"/datasets/{dataset.pk}/").content.decode()

    roles = [part.split('"', 1)[0] for part in page.split('<div class="message role-')[1:]]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert f'<a href="/sessions/{session.pk}/">session {session.session_id}</a>' in page


@pytest.mark.parametrize("examples", [1, 20])
def test_the_dataset_page_of_chat_examples_takes_the_same_queries_whatever_their_number(
    reviewer_client: Client, django_assert_max_num_queries, examples: int
):
    dataset = uploaded(*[CHAT] * examples)

    with django_assert_max_num_queries(8):
        response = reviewer_client.get(f"/datasets/{dataset.pk}/")

    assert response.content.decode().count("/edit/") == examples


@pytest.mark.parametrize(
    ("value", "roles", "rest"),
    [
        ({"messages": [{"role": "user", "content": "hi"}], "tools": []}, ["user"], {"tools": []}),
        ({"message": {"role": "assistant", "content": "yo"}}, ["assistant"], {}),
        (
            {"choices": [{"message": {"role": "assistant", "content": "yo"}}], "id": "x"},
            ["assistant"],
            {"id": "x"},
        ),
        ({"role": "assistant", "content": "yo"}, ["assistant"], {}),
        ({"messages": [{"role": "user", "content": "hi"}, "stray"]}, [], None),
        ({"messages": []}, [], None),
        ({"output": "Paris."}, [], None),
    ],
)
def test_an_example_value_is_a_chat_only_when_every_message_has_a_role(value: dict, roles: list[str], rest):
    messages, others = chat_of(value)

    assert [message["role"] for message in messages] == roles
    assert others == (value if rest is None else rest)
