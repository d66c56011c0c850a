"""The official arize-phoenix-client drives the dataset routes against a live server."""

import pandas as pd
import pytest

from tests.factories import SpanFactory

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = [
    {"input": {"question": "2+2?"}, "output": {"answer": "4"}, "metadata": {"topic": "math"}},
    {"input": {"question": "Capital of France?"}, "output": {"answer": "Paris"}, "metadata": {}},
]


def contents(dataset) -> list[tuple[dict, dict, dict]]:
    return [(example["input"], example["output"], example["metadata"]) for example in dataset.examples]


def test_create_dataset_with_examples_round_trips_inputs_outputs_and_metadata(phoenix):
    dataset = phoenix.datasets.create_dataset(name="qa", examples=EXAMPLES, dataset_description="questions")

    assert (dataset.name, dataset.description, len(dataset)) == ("qa", "questions", 2)
    assert contents(dataset) == [
        ({"question": "2+2?"}, {"answer": "4"}, {"topic": "math"}),
        ({"question": "Capital of France?"}, {"answer": "Paris"}, {}),
    ]
    assert dataset.created_at is not None and dataset.created_at.tzinfo is not None


def test_create_dataset_from_a_dataframe_uploads_a_gzipped_csv_with_its_keys(phoenix):
    frame = pd.DataFrame(
        {
            "question": ["What is AI?", "Explain ML"],
            "answer": ["Artificial intelligence", "Machine learning"],
            "score": [0.9, 0.5],
        }
    )

    dataset = phoenix.datasets.create_dataset(
        name="from-frame",
        dataframe=frame,
        input_keys=["question"],
        output_keys=["answer"],
        metadata_keys=["score"],
    )

    # CSV cells arrive as text, as on Phoenix; the description defaults to the uploaded file's name.
    assert contents(dataset) == [
        ({"question": "What is AI?"}, {"answer": "Artificial intelligence"}, {"score": "0.9"}),
        ({"question": "Explain ML"}, {"answer": "Machine learning"}, {"score": "0.5"}),
    ]
    assert dataset.description == "dataframe.csv"


def test_create_dataset_from_the_same_dataframe_twice_is_idempotent(phoenix):
    frame = pd.DataFrame({"question": ["What is AI?"], "answer": ["Artificial intelligence"]})

    first = phoenix.datasets.create_dataset(
        name="frame-twice", dataframe=frame
    )  # keys inferred by the client
    second = phoenix.datasets.create_dataset(name="frame-twice", dataframe=frame)

    assert second.version_id == first.version_id
    assert contents(second) == [({"question": "What is AI?"}, {"answer": "Artificial intelligence"}, {})]


def test_a_dataframe_with_a_span_id_column_links_examples_to_their_spans(phoenix):
    span = SpanFactory()
    frame = pd.DataFrame({"input": ["hi"], "output": ["hello"], "context.span_id": [span.span_id]})

    dataset = phoenix.datasets.create_dataset(
        name="linked",
        dataframe=frame,
        input_keys=["input"],
        output_keys=["output"],
        span_id_key="context.span_id",
    )

    assert dataset.examples[0]["source"]["span_id"] == span.span_id


def test_create_dataset_twice_with_the_same_content_is_idempotent(phoenix):
    first = phoenix.datasets.create_dataset(name="twice", examples=EXAMPLES)
    second = phoenix.datasets.create_dataset(name="twice", examples=EXAMPLES)

    assert second.id == first.id
    assert second.version_id == first.version_id
    assert [e["id"] for e in second.examples] == [e["id"] for e in first.examples]
    assert len(phoenix.datasets.get_dataset_versions(dataset="twice")) == 1


def test_create_dataset_again_with_changed_content_converges_on_it(phoenix):
    phoenix.datasets.create_dataset(name="converge", examples=EXAMPLES)

    changed = phoenix.datasets.create_dataset(name="converge", examples=[EXAMPLES[0]])

    assert contents(changed) == [({"question": "2+2?"}, {"answer": "4"}, {"topic": "math"})]
    assert len(phoenix.datasets.get_dataset_versions(dataset="converge")) == 2


def test_add_examples_to_dataset_appends_a_version_and_keeps_the_old_examples(phoenix):
    created = phoenix.datasets.create_dataset(name="grow", examples=[EXAMPLES[0]])

    grown = phoenix.datasets.add_examples_to_dataset(
        dataset=created.id,
        inputs=[{"question": "Who wrote Hamlet?"}],
        outputs=[{"answer": "Shakespeare"}],
    )

    assert grown.version_id != created.version_id
    assert [e["input"]["question"] for e in grown.examples] == ["2+2?", "Who wrote Hamlet?"]


def test_get_dataset_by_name_or_id_and_at_an_older_version(phoenix):
    created = phoenix.datasets.create_dataset(name="pinned", examples=[EXAMPLES[0]])
    phoenix.datasets.add_examples_to_dataset(dataset="pinned", examples=[EXAMPLES[1]])

    by_name = phoenix.datasets.get_dataset(dataset="pinned")
    by_id = phoenix.datasets.get_dataset(dataset=created.id)
    pinned = phoenix.datasets.get_dataset(dataset=created.id, version_id=created.version_id)

    assert len(by_name) == len(by_id) == 2
    assert by_name.version_id == by_id.version_id != created.version_id
    assert pinned.version_id == created.version_id
    assert contents(pinned) == [({"question": "2+2?"}, {"answer": "4"}, {"topic": "math"})]


def test_get_dataset_versions_lists_newest_first_with_parsed_times(phoenix):
    created = phoenix.datasets.create_dataset(name="versions", examples=[EXAMPLES[0]])
    appended = phoenix.datasets.add_examples_to_dataset(dataset="versions", examples=[EXAMPLES[1]])

    versions = phoenix.datasets.get_dataset_versions(dataset=created.id)

    assert [v["version_id"] for v in versions] == [appended.version_id, created.version_id]
    assert versions[0]["created_at"] >= versions[1]["created_at"]


def test_examples_keep_their_own_ids_through_the_client(phoenix):
    dataset = phoenix.datasets.create_dataset(
        name="with-ids",
        examples=[{**EXAMPLES[0], "id": "q-1"}, {**EXAMPLES[1], "id": "q-2"}],
    )
    patched = phoenix.datasets.add_examples_to_dataset(
        dataset="with-ids",
        examples=[{"input": {"question": "2+2?"}, "output": {"answer": "four"}, "id": "q-1"}],
    )

    assert [e["id"] for e in dataset.examples] == ["q-1", "q-2"]
    assert [(e["id"], e["output"]) for e in patched.examples] == [
        ("q-1", {"answer": "four"}),
        ("q-2", {"answer": "Paris"}),
    ]


def test_datasets_list_pages_through_every_dataset(phoenix):
    for n in range(3):
        phoenix.datasets.create_dataset(name=f"listed-{n}", examples=[EXAMPLES[0]])

    assert [d["name"] for d in phoenix.datasets.list()] == ["listed-2", "listed-1", "listed-0"]


def test_a_dataframe_with_a_split_key_makes_splits_that_get_dataset_filters_by(phoenix):
    frame = pd.DataFrame(
        {
            "question": ["What is AI?", "Explain ML", "Define NLP"],
            "answer": ["Artificial intelligence", "Machine learning", "Language"],
            "split": ["train", "test", '["train", "test"]'],
        }
    )

    created = phoenix.datasets.create_dataset(
        name="split-frame",
        dataframe=frame,
        input_keys=["question"],
        output_keys=["answer"],
        split_key="split",
    )
    train = phoenix.datasets.get_dataset(dataset="split-frame", splits=["train"])

    assert len(created) == 3
    assert [example["input"]["question"] for example in train.examples] == ["What is AI?", "Define NLP"]
    assert train._filtered_split_names == ["train"]


def test_examples_carrying_splits_are_filtered_by_split_through_the_client(phoenix):
    examples = [
        {**EXAMPLES[0], "splits": "train"},
        {**EXAMPLES[1], "splits": ["train", "test"]},
        {"input": {"question": "Unsplit?"}, "output": {}, "metadata": {}, "splits": None},
    ]

    phoenix.datasets.create_dataset(name="split-examples", examples=examples)
    test = phoenix.datasets.get_dataset(dataset="split-examples", splits=["test"])
    both = phoenix.datasets.get_dataset(dataset="split-examples", splits=["test", "train"])

    assert [example["input"]["question"] for example in test.examples] == ["Capital of France?"]
    assert (len(both), both._filtered_split_names) == (2, ["test", "train"])


def test_get_dataset_with_an_unknown_split_fails_as_on_phoenix(phoenix):
    phoenix.datasets.create_dataset(name="no-splits", examples=EXAMPLES)

    with pytest.raises(Exception, match="404"):
        phoenix.datasets.get_dataset(dataset="no-splits", splits=["nope"])
