import tracemalloc

import pytest
from django.core.exceptions import ValidationError

from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.datasets import services
from phoenix_annot.datasets.models import (
    Dataset,
    DatasetExample,
    DatasetSplit,
    DatasetVersion,
    ExampleRevision,
)
from phoenix_annot.datasets.selectors import dataset_latest_version, example_revisions_at_version
from phoenix_annot.datasets.services import (
    DuplicateDatasetName,
    SpansAdded,
    content_hash,
    dataset_add_spans,
    dataset_create,
    dataset_delete,
    dataset_upload,
)
from phoenix_annot.tracing.models import Span
from tests.factories import DatasetFactory, SpanAnnotationFactory, SpanFactory, UserFactory

pytestmark = pytest.mark.django_db


def upload(name: str = "qa", action: str = "update", **values):
    values.setdefault("inputs", [{"q": "a"}, {"q": "b"}])
    return dataset_upload(
        action=action, name=name, description=values.pop("description", None), user=None, **values
    )


def live(dataset: Dataset) -> list[tuple[dict, dict, dict]]:
    revisions = example_revisions_at_version(version=dataset_latest_version(dataset=dataset))
    return [(r.input, r.output, r.metadata) for r in revisions]


def kinds(version: DatasetVersion) -> list[tuple[int, str]]:
    return sorted(version.revisions.values_list("example_id", "revision_kind"))


def llm_span(**overrides) -> Span:
    attributes = {
        "openinference": {"span": {"kind": "LLM"}},
        "llm": {
            "input_messages": [{"message": {"role": "user", "content": "Hi"}}],
            "output_messages": [{"message": {"role": "assistant", "content": "Hello"}}],
        },
    }
    return SpanFactory(span_kind="LLM", attributes=attributes, **overrides)


# --- dataset_add_spans ---------------------------------------------------------------------------------


def test_adding_spans_makes_one_version_with_one_linked_example_per_span():
    dataset = DatasetFactory()
    reviewer = UserFactory()
    llm = llm_span()
    chain = SpanFactory(span_kind="CHAIN", input_value="question", output_value="answer")
    SpanAnnotationFactory(span=chain, name="correctness", label="correct", score=1.0)

    version = dataset_add_spans(dataset=dataset, spans=[llm, chain], user=reviewer).version

    assert version.user == reviewer
    assert DatasetVersion.objects.filter(dataset=dataset).count() == 1
    revisions = list(example_revisions_at_version(version=version))
    assert [r.span_hex for r in revisions] == [llm.span_id, chain.span_id]
    assert {r.revision_kind for r in revisions} == {"CREATE"}
    assert (revisions[0].input, revisions[0].output) == (
        {"messages": [{"role": "user", "content": "Hi"}]},
        {"messages": [{"role": "assistant", "content": "Hello"}]},
    )
    assert (revisions[1].input, revisions[1].output) == ({"input": "question"}, {"output": "answer"})
    assert revisions[1].metadata["annotations"]["correctness"][0]["label"] == "correct"


def test_notes_are_left_out_of_the_annotation_snapshot():
    span = SpanFactory(span_kind="CHAIN")
    SpanAnnotationFactory(span=span, name="note", label=None, score=None, explanation="looks off")

    version = dataset_add_spans(dataset=DatasetFactory(), spans=[span], user=None).version

    assert version.revisions.get().metadata["annotations"] == {}


def test_re_adding_spans_already_in_the_dataset_makes_no_version_and_says_they_were_there():
    dataset = DatasetFactory()
    spans = [SpanFactory(), SpanFactory()]
    dataset_add_spans(dataset=dataset, spans=spans, user=None)

    again = dataset_add_spans(dataset=dataset, spans=spans, user=None)

    assert again == SpansAdded(version=None, added=0, already=2)
    assert dataset.versions.count() == 1
    assert dataset.examples.count() == 2


def test_adding_a_mix_of_old_and_new_spans_adds_only_the_new_ones():
    dataset = DatasetFactory()
    old, new = SpanFactory(), SpanFactory()
    dataset_add_spans(dataset=dataset, spans=[old], user=None)

    added = dataset_add_spans(dataset=dataset, spans=[old, new, new], user=None)

    assert (added.added, added.already) == (1, 1)
    version = added.version
    assert list(version.revisions.values_list("example__span__span_id", flat=True)) == [new.span_id]
    assert len(live(dataset)) == 2


def test_a_span_whose_example_was_deleted_comes_back_as_the_same_example():
    span = SpanFactory(input_value="kept question")
    dataset = DatasetFactory(name="curated")
    dataset_add_spans(dataset=dataset, spans=[span], user=None)
    example = dataset.examples.get()
    upload(name="curated", inputs=[{"other": "example"}])  # update: the span's example is deleted

    added = dataset_add_spans(dataset=dataset, spans=[span], user=None)

    assert (added.added, added.already) == (1, 0)
    assert kinds(added.version) == [(example.pk, "CREATE")]
    assert dataset.examples.filter(span=span).get() == example
    assert sorted(row[0].get("input", "") for row in live(dataset)) == ["", "kept question"]


def test_spans_can_be_given_as_a_filtered_queryset():
    dataset = DatasetFactory()
    wanted = SpanFactory(span_kind="RETRIEVER")
    SpanFactory(span_kind="CHAIN")

    dataset_add_spans(dataset=dataset, spans=Span.objects.filter(span_kind="RETRIEVER"), user=None)

    assert list(dataset.examples.values_list("span", flat=True)) == [wanted.pk]


def test_adding_too_many_spans_at_once_is_refused_before_writing(monkeypatch):
    monkeypatch.setattr(services, "MAX_SPANS_PER_ADD", 2)
    SpanFactory.create_batch(3)
    dataset = DatasetFactory()

    with pytest.raises(ValidationError, match="at most 2 spans"):
        dataset_add_spans(dataset=dataset, spans=Span.objects.all(), user=None)

    assert not dataset.versions.exists()


@pytest.mark.parametrize("count", [3, 30])
def test_adding_spans_takes_the_same_number_of_queries_however_many_spans(
    count, django_assert_max_num_queries
):
    dataset = DatasetFactory()
    previous = SpanFactory()
    dataset_add_spans(dataset=dataset, spans=[previous], user=None)
    spans = [llm_span() for _ in range(count)]
    for span in spans:
        SpanAnnotationFactory(span=span, user=UserFactory())
    spans = Span.objects.filter(pk__in=[s.pk for s in [previous, *spans]])

    # One of them reads the spans' corrected outputs.
    with django_assert_max_num_queries(13):
        dataset_add_spans(dataset=dataset, spans=spans, user=None)

    assert len(live(dataset)) == count + 1


# --- dataset_create / dataset_delete -------------------------------------------------------------------


def test_a_dataset_name_is_unique():
    dataset_create(name="golden")

    with pytest.raises(DuplicateDatasetName) as error:
        dataset_create(name="golden")

    assert error.value.messages == ['A dataset named "golden" already exists.']


@pytest.mark.parametrize("name", ["", "   ", "x" * 256])
def test_a_dataset_needs_a_reasonable_name(name):
    with pytest.raises(ValidationError):
        dataset_create(name=name)


def test_deleting_a_dataset_removes_its_history_but_not_its_spans():
    span = SpanFactory()
    dataset = DatasetFactory()
    dataset_add_spans(dataset=dataset, spans=[span], user=None)

    dataset_delete(dataset=dataset)

    assert not DatasetVersion.objects.exists()
    assert not DatasetExample.objects.exists()
    assert not ExampleRevision.objects.exists()
    assert Span.objects.filter(pk=span.pk).exists()


# --- dataset_upload: actions ---------------------------------------------------------------------------


def test_uploading_creates_the_dataset_and_one_version_of_examples():
    user = UserFactory()
    result = dataset_upload(
        action="create",
        name="qa",
        description="Questions",
        inputs=[{"q": "a"}, {"q": "b"}],
        outputs=[{"a": 1}, {"a": 2}],
        metadata=[{"m": True}, {}],
        user=user,
    )

    assert (result.created, result.updated, result.deleted) == (2, 0, 0)
    assert (result.dataset.name, result.dataset.description, result.dataset.user) == ("qa", "Questions", user)
    assert result.version.user == user
    assert live(result.dataset) == [({"q": "a"}, {"a": 1}, {"m": True}), ({"q": "b"}, {"a": 2}, {})]


def test_create_refuses_a_name_that_exists_and_writes_nothing():
    upload(action="create")

    with pytest.raises(DuplicateDatasetName) as error:
        upload(action="create", inputs=[{"q": "c"}])

    assert error.value.messages == ['A dataset named "qa" already exists.']
    assert DatasetVersion.objects.count() == 1


def test_updating_with_identical_content_makes_no_version_and_answers_the_latest():
    first = upload()

    again = upload(inputs=[{"q": "b"}, {"q": "a"}])

    assert again.version == first.version
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)
    assert DatasetVersion.objects.count() == 1


def test_content_matching_ignores_key_order_but_not_list_order():
    upload(inputs=[{"a": 1, "b": [1, 2]}])

    same = upload(inputs=[{"b": [1, 2], "a": 1}])
    different = upload(inputs=[{"b": [2, 1], "a": 1}])

    assert (same.created, same.deleted) == (0, 0)
    assert (different.created, different.deleted) == (1, 1)


@pytest.mark.parametrize(
    ("stored", "same"),
    [(1.0, 1), (1e16, 10**16), (1.2345678901234567e25, 12345678901234566000000000), (10**400, 10**400)],
)
def test_content_hashes_compare_numbers_by_value(stored, same):
    assert content_hash({"v": stored}, {}, {}) == content_hash({"v": same}, {}, {})


def test_content_hashes_tell_booleans_from_numbers():
    assert content_hash({"v": True}, {}, {}) != content_hash({"v": 1}, {}, {})


def test_large_floats_stay_matched_after_the_database_rewrites_them():
    first = upload(inputs=[{"big": 1.2345678901234567e25, "ratio": 0.1}])

    again = upload(inputs=[{"big": 1.2345678901234567e25, "ratio": 0.1}])

    assert again.version == first.version


def test_update_deletes_the_previous_examples_nothing_matched():
    first = upload(inputs=[{"q": "a"}, {"q": "b"}], example_ids=["a", "b"])
    a, b = first.dataset.examples.order_by("pk")

    second = upload(inputs=[{"q": "A"}, {"q": "c"}], example_ids=["a", "c"])

    assert (second.created, second.updated, second.deleted) == (1, 1, 1)
    c = first.dataset.examples.get(external_id="c")
    assert kinds(second.version) == [(a.pk, "PATCH"), (b.pk, "DELETE"), (c.pk, "CREATE")]
    assert live(first.dataset) == [({"q": "A"}, {}, {}), ({"q": "c"}, {}, {})]


def test_append_adds_and_patches_but_never_deletes():
    first = upload(inputs=[{"q": "a"}, {"q": "b"}], example_ids=["a", "b"])

    appended = upload(action="append", inputs=[{"q": "A"}, {"q": "c"}], example_ids=["a", "c"])

    assert (appended.created, appended.updated, appended.deleted) == (1, 1, 0)
    assert live(first.dataset) == [({"q": "A"}, {}, {}), ({"q": "b"}, {}, {}), ({"q": "c"}, {}, {})]


def test_append_of_content_already_there_makes_no_version():
    first = upload()

    appended = upload(action="append", inputs=[{"q": "a"}])

    assert appended.version == first.version


def test_an_identical_example_uploaded_twice_without_ids_is_matched_once_and_added_once():
    upload(inputs=[{"q": "a"}])

    result = upload(inputs=[{"q": "a"}, {"q": "a"}])

    assert (result.created, result.updated, result.deleted) == (1, 0, 0)


def test_an_example_with_an_unknown_id_is_new_even_when_its_content_matches():
    upload(inputs=[{"q": "a"}])

    result = upload(inputs=[{"q": "a"}], example_ids=["fresh-id"])

    assert (result.created, result.deleted) == (1, 1)


def test_an_example_named_by_its_node_id_is_patched():
    first = upload(inputs=[{"q": "a"}])
    example = first.dataset.examples.get()

    result = upload(inputs=[{"q": "patched"}], example_ids=[to_global_id("DatasetExample", example.pk)])

    assert kinds(result.version) == [(example.pk, "PATCH")]
    assert example.__class__.objects.get(pk=example.pk).external_id is None


def test_a_node_id_of_an_example_not_in_the_dataset_is_refused_and_nothing_is_written():
    other = upload(name="other", inputs=[{"q": "x"}]).dataset.examples.get()

    with pytest.raises(ValidationError, match="No examples found in this dataset with the following IDs: "):
        upload(name="new", inputs=[{"q": "a"}], example_ids=[to_global_id("DatasetExample", other.pk)])

    assert not Dataset.objects.filter(name="new").exists()


def test_two_ids_naming_the_same_example_are_refused():
    first = upload(inputs=[{"q": "a"}], example_ids=["a"])
    node_id = to_global_id("DatasetExample", first.dataset.examples.get().pk)

    with pytest.raises(ValidationError, match="same example"):
        upload(inputs=[{"q": "1"}, {"q": "2"}], example_ids=["a", node_id])


def test_a_deleted_example_uploaded_again_with_its_id_comes_back_as_itself():
    first = upload(inputs=[{"q": "a"}], example_ids=["keep"])
    example = first.dataset.examples.get()
    upload(inputs=[{"q": "other"}])

    revived = upload(action="append", inputs=[{"q": "a"}], example_ids=["keep"])

    assert kinds(revived.version) == [(example.pk, "CREATE")]
    assert first.dataset.examples.count() == 2


def test_an_id_matched_example_does_not_also_absorb_an_id_less_duplicate_of_its_content():
    upload(inputs=[{"q": "a"}], example_ids=["x"])

    # The id-less copy must not grab example "x" by content before "x" is matched by id.
    result = upload(inputs=[{"q": "a"}, {"q": "changed"}], example_ids=[None, "x"])

    assert (result.created, result.updated, result.deleted) == (1, 1, 0)


@pytest.mark.parametrize("action", ["UPDATE", "Append", None, ""])
def test_actions_are_case_insensitive_and_default_to_create(action):
    assert (
        dataset_upload(action=action, name="qa", description=None, inputs=[{"q": 1}], user=None).created == 1
    )


def test_an_unknown_action_is_refused_in_phoenix_words():
    with pytest.raises(ValidationError) as error:
        upload(action="merge")

    assert error.value.messages == ["Invalid dateset action: merge"]


# --- dataset_upload: spans -----------------------------------------------------------------------------


def test_span_ids_link_examples_to_their_spans_and_unknown_ones_stay_unlinked():
    span = SpanFactory()

    result = upload(
        inputs=[{"q": "a"}, {"q": "b"}, {"q": "c"}], span_ids=[span.span_id, "ffffffffffffffff", None]
    )

    assert [r.span_pk for r in example_revisions_at_version(version=result.version)] == [span.pk, None, None]


def test_a_span_already_linked_to_a_live_example_is_not_linked_twice():
    span = SpanFactory()
    upload(inputs=[{"q": "a"}], span_ids=[span.span_id])

    result = upload(action="append", inputs=[{"q": "b"}], span_ids=[span.span_id])

    assert [r.span_pk for r in example_revisions_at_version(version=result.version)] == [span.pk, None]


def test_an_edited_example_from_a_span_takes_the_span_over_from_the_example_it_replaces():
    span = SpanFactory()
    upload(inputs=[{"q": "a"}], span_ids=[span.span_id])

    result = upload(inputs=[{"q": "edited"}], span_ids=[span.span_id])

    assert (result.created, result.deleted) == (1, 1)
    assert [(r.input, r.span_pk) for r in example_revisions_at_version(version=result.version)] == [
        ({"q": "edited"}, span.pk)
    ]


# --- dataset_upload: validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"name": ""}, "Dataset name is required"),
        ({"name": None}, "Dataset name is required"),
        ({"inputs": []}, "input is required"),
        ({"inputs": [{"q": 1}, "text"]}, "Input should be a list containing only dictionary objects"),
        (
            {"outputs": [{}]},
            "outputs should be a list of same length as input containing only dictionary objects",
        ),
        ({"metadata": [{}, []]}, "metadata should be a list of same length as input"),
        ({"span_ids": ["a", 1]}, "span_ids should be a list of same length as input containing only strings"),
        ({"example_ids": ["a", "a"]}, "example_ids must be unique; repeated: a"),
        ({"example_ids": ["a", "x" * 256]}, "example_ids are at most 255 characters long"),
        ({"splits": [["train"]]}, "splits must have same length as inputs (1 != 2)"),
        ({"splits": "train"}, "splits must be a list"),
        ({"splits": ["train", 5]}, "Split value must be a string, list of strings, or None, got int"),
        ({"splits": [["train", 5], None]}, "Split value must be a string or None, got int"),
        ({"splits": [{"a": 1}, None]}, "Split value must be a string, list of strings, or None, got dict"),
        ({"splits": ["x" * 256, None]}, "Split names are at most 255 characters"),
        ({"description": 5}, "description should be a string"),
        ({"inputs": [{"q": "a\x00b"}, {}]}, "Example 0 contains a NUL character"),
        ({"outputs": [{}, {"a": "\ud800"}]}, "Example 1 contains a NUL character, an unpaired surrogate"),
        ({"metadata": [{}, {"x": float("nan")}]}, "non-finite number"),
    ],
)
def test_bad_uploads_are_refused_with_a_message_naming_the_problem(values, message):
    with pytest.raises(ValidationError) as error:
        upload(**values)

    assert message in error.value.messages[0]
    assert not Dataset.objects.exists()


def test_splits_that_are_all_empty_put_the_examples_in_no_split():
    assert upload(splits=[None, []]).created == 2
    assert not DatasetSplit.objects.exists()


@pytest.mark.parametrize("count", [5, 50])
def test_uploading_takes_the_same_number_of_queries_however_many_examples(
    count, django_assert_max_num_queries
):
    upload(inputs=[{"n": n} for n in range(count)], example_ids=[str(n) for n in range(count)])
    span_ids = [SpanFactory().span_id for _ in range(count)]
    inputs = [{"n": n + 1, "edited": True} for n in range(count)]

    with django_assert_max_num_queries(14):
        result = upload(inputs=inputs, example_ids=[str(n) for n in range(1, count + 1)], span_ids=span_ids)

    assert (result.created, result.updated, result.deleted) == (1, count - 1, 1)


def test_an_update_reads_the_previous_versions_content_a_chunk_at_a_time():
    previous = [{"text": f"{n} " + "x" * 5000} for n in range(2000)]
    upload(name="big", inputs=previous)

    tracemalloc.start()
    try:
        upload(name="big", inputs=[{"text": "new"}])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert len(live(Dataset.objects.get(name="big"))) == 1
    # All of it held at once was 2.3 times its 10 MB of text; a chunk at a time, about half of it.
    assert peak < 5_000 * 2000


def test_an_upload_writes_its_revisions_a_batch_at_a_time():
    count = 5000
    upload(name="many", inputs=[{"old": n} for n in range(count)])
    inputs = [{"n": n} for n in range(count)]

    tracemalloc.start()
    try:
        upload(name="many", inputs=inputs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert DatasetExample.objects.count() == 2 * count
    # Every delete and create revision built at once came to about 2 KB an example; a batch at a time, 1.1.
    assert peak < 1500 * count


# --- editing one example -----------------------------------------------------------------------------------


def one_example(**content) -> tuple[Dataset, ExampleRevision]:
    """A dataset of one uploaded example, and that example's revision."""
    upload(
        "edited",
        inputs=[content.get("input", {"q": "a"})],
        outputs=[content.get("output", {"a": "1"})],
        metadata=[content.get("metadata", {"source": "upload"})],
    )
    dataset = Dataset.objects.get(name="edited")
    return dataset, example_revisions_at_version(version=dataset_latest_version(dataset=dataset)).get()


def patch(revision: ExampleRevision, **changes):
    values = {"input": revision.input, "output": revision.output, "metadata": revision.metadata} | changes
    return services.dataset_example_patch(example=revision.example, user=None, **values)


def test_an_edited_example_is_a_new_version_with_one_patch_revision_and_the_old_version_keeps_it():
    dataset, before = one_example()
    editor = UserFactory()

    version = services.dataset_example_patch(
        example=before.example,
        input={"q": "a"},
        output={"a": "one"},
        metadata={"source": "upload", "checked": True},
        user=editor,
        description="spell the answer out",
        based_on=before.pk,
    )

    assert (version.user, version.description) == (editor, "spell the answer out")
    assert dataset_latest_version(dataset=dataset) == version
    assert list(version.revisions.values_list("example_id", "revision_kind")) == [
        (before.example_id, "PATCH")
    ]
    assert live(dataset) == [({"q": "a"}, {"a": "one"}, {"source": "upload", "checked": True})]
    old = example_revisions_at_version(version=before.version).get()
    assert (old.output, old.metadata) == ({"a": "1"}, {"source": "upload"})


def test_saving_an_example_unchanged_makes_no_version_whatever_its_key_order():
    dataset, before = one_example(output={"a": "1", "b": 2})

    assert patch(before, output={"b": 2.0, "a": "1"}) is None
    assert dataset.versions.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("input", ["q", "a"], "Input must be a JSON object, not an array."),
        ("output", "the answer", "Output must be a JSON object, not a string."),
        ("output", None, "Output must be a JSON object, not null."),
        ("metadata", 3, "Metadata must be a JSON object, not a number."),
        (
            "output",
            {"a": float("nan")},
            "Output contains a NUL character, an unpaired surrogate or a non-finite",
        ),
        ("input", {"q": "a\x00"}, "Input contains a NUL character"),
    ],
)
def test_an_example_edit_that_is_not_a_storable_json_object_is_refused_by_field_and_writes_nothing(
    field: str, value, message: str
):
    dataset, before = one_example()

    with pytest.raises(ValidationError) as refused:
        patch(before, **{field: value})

    assert list(refused.value.message_dict) == [field]
    assert refused.value.message_dict[field][0].startswith(message)
    assert dataset.versions.count() == 1
    assert ExampleRevision.objects.count() == 1


def test_an_edit_over_somebody_elses_newer_edit_is_refused_and_writes_nothing():
    dataset, read = one_example()
    patch(read, output={"a": "theirs"})

    with pytest.raises(services.StaleExample, match="Somebody else changed this example"):
        services.dataset_example_patch(
            example=read.example,
            input={"q": "a"},
            output={"a": "mine"},
            metadata={},
            user=None,
            based_on=read.pk,
        )

    assert dataset.versions.count() == 2
    assert live(dataset)[0][1] == {"a": "theirs"}


def test_an_edit_that_fails_while_writing_leaves_no_version_behind(monkeypatch: pytest.MonkeyPatch):
    dataset, before = one_example()

    def broken_save(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ExampleRevision, "save", broken_save)
    with pytest.raises(RuntimeError):
        patch(before, output={"a": "one"})

    assert dataset.versions.count() == 1


def test_a_deleted_example_is_gone_from_a_new_version_and_stays_in_the_old_one():
    dataset, before = one_example()

    version = services.dataset_example_delete(example=before.example, user=None, description="duplicate")

    assert version.description == "duplicate"
    assert list(version.revisions.values_list("revision_kind", flat=True)) == ["DELETE"]
    assert live(dataset) == []
    assert example_revisions_at_version(version=before.version).count() == 1


@pytest.mark.parametrize("again", ["patch", "delete"])
def test_a_deleted_example_can_be_neither_edited_nor_deleted_again(again: str):
    dataset, before = one_example()
    services.dataset_example_delete(example=before.example, user=None)

    with pytest.raises(services.StaleExample, match="has been deleted"):
        if again == "patch":
            patch(before, output={"a": "one"})
        else:
            services.dataset_example_delete(example=before.example, user=None)

    assert dataset.versions.count() == 2
