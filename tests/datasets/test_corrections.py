"""What datasets take from corrected outputs and gold labels (issues 13 and 14)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from phoenix_annot.annotations.models import GOLD_IDENTIFIER
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.corrections.models import Correction, CorrectionFormat, CorrectionTarget
from phoenix_annot.datasets.exports import jsonl_lines, openai_ft_lines, openai_ft_report, with_gold
from phoenix_annot.datasets.models import Dataset
from phoenix_annot.datasets.selectors import example_revisions_at_version
from phoenix_annot.datasets.services import dataset_add_spans
from phoenix_annot.datasets.sessions import dataset_add_sessions
from tests.corrections.factories import CorrectionFactory, llm_attributes
from tests.factories import (
    DatasetFactory,
    SessionAnnotationFactory,
    SpanAnnotationFactory,
    SpanFactory,
    UserFactory,
    conversation,
)

pytestmark = pytest.mark.django_db

ANSWER = {"messages": [{"role": "assistant", "content": "Lisbon is the capital of Spain."}]}
CORRECTED = {"messages": [{"role": "assistant", "content": "Madrid is the capital of Spain."}]}


def llm_span(**overrides):
    return SpanFactory(span_kind="LLM", attributes=llm_attributes(), **overrides)


def correct(span, text="Madrid is the capital of Spain.", **fields):
    return CorrectionFactory(span=span, format=CorrectionFormat.MESSAGE, output=text, **fields)


def only_revision(version):
    (revision,) = example_revisions_at_version(version=version)
    return revision


def test_a_corrected_llm_span_becomes_an_example_answering_the_correction_with_the_original_kept():
    span = llm_span()
    correction = correct(span, user=UserFactory(username="ana"))

    revision = only_revision(dataset_add_spans(dataset=DatasetFactory(), spans=[span], user=None).version)

    assert revision.output == CORRECTED
    assert revision.metadata["original_output"] == ANSWER
    assert revision.metadata["correction"] | {"updated_at": None} == {
        "id": to_global_id("Correction", correction.pk),
        "gold": False,
        "user_id": to_global_id("User", correction.user_id),
        "username": "ana",
        "email": "ana@example.com",
        "updated_at": None,
    }


def test_a_span_without_a_correction_keeps_its_own_output_and_no_correction_metadata():
    revision = only_revision(
        dataset_add_spans(dataset=DatasetFactory(), spans=[llm_span()], user=None).version
    )

    assert revision.output == ANSWER
    assert "original_output" not in revision.metadata
    assert "correction" not in revision.metadata


def test_the_gold_correction_wins_over_later_ones_and_else_the_latest_wins():
    contested, plain = llm_span(), llm_span()
    earlier = timezone.now() - timedelta(hours=1)
    correct(contested, "Gold.", gold=True)
    correct(contested, "Later, not gold.")
    correct(plain, "Earlier.")
    correct(plain, "Latest.")
    # Written last, but saved earlier than the others (updated_at says when it was last saved).
    oldest = correct(plain, "Oldest.")
    Correction.objects.filter(pk=oldest.pk).update(updated_at=earlier)

    version = dataset_add_spans(dataset=DatasetFactory(), spans=[contested, plain], user=None).version

    answers = {
        revision.example.span_id: revision.output["messages"][0]["content"]
        for revision in example_revisions_at_version(version=version).select_related("example")
    }
    assert answers == {contested.pk: "Gold.", plain.pk: "Latest."}


def test_a_root_span_added_from_the_traces_tab_takes_its_traces_correction():
    root = llm_span()
    SpanFactory(trace=root.trace, parent_id=root.span_id)
    CorrectionFactory(
        target_kind=CorrectionTarget.TRACE,
        span=None,
        trace=root.trace,
        format=CorrectionFormat.MESSAGE,
        output="Madrid is the capital of Spain.",
    )

    revision = only_revision(dataset_add_spans(dataset=DatasetFactory(), spans=[root], user=None).version)

    assert revision.output == CORRECTED


def test_a_plain_text_correction_becomes_the_output_value():
    span = SpanFactory(span_kind="CHAIN", output_value="Paris.")
    CorrectionFactory(span=span, output="Paris, France.")

    revision = only_revision(dataset_add_spans(dataset=DatasetFactory(), spans=[span], user=None).version)

    assert revision.output == {"output": "Paris, France."}
    assert revision.metadata["original_output"] == {"output": "Paris."}


def test_label_from_gold_puts_the_gold_labels_in_the_metadata_and_only_then():
    span = llm_span()
    SpanAnnotationFactory(
        span=span, name="correctness", label="incorrect", score=0.0, identifier=GOLD_IDENTIFIER
    )
    SpanAnnotationFactory(span=span, name="correctness", label="correct", score=1.0, identifier="px-app:x")

    with_labels = only_revision(
        dataset_add_spans(dataset=DatasetFactory(), spans=[span], user=None, from_gold=True).version
    )
    without = only_revision(dataset_add_spans(dataset=DatasetFactory(), spans=[span], user=None).version)

    assert with_labels.metadata["gold"] == {
        "correctness": {"label": "incorrect", "score": 0.0, "explanation": None}
    }
    assert "gold" not in without.metadata


def test_a_session_takes_its_corrected_last_answer_and_its_gold_labels():
    session = conversation(SpanFactory().project, [("Capital of Spain?", "Lisbon.")])
    CorrectionFactory(
        target_kind=CorrectionTarget.SESSION, span=None, session=session, format="message", output="Madrid."
    )
    SessionAnnotationFactory(session=session, name="resolved", label="no", identifier=GOLD_IDENTIFIER)

    version = dataset_add_sessions(
        dataset=DatasetFactory(), sessions=[session], user=None, from_gold=True
    ).version

    revision = only_revision(version)
    assert revision.output == {"messages": [{"role": "assistant", "content": "Madrid."}]}
    assert revision.metadata["original_output"] == {"messages": [{"role": "assistant", "content": "Lisbon."}]}
    assert revision.metadata["gold"]["resolved"]["label"] == "no"


def test_a_session_corrected_after_it_was_added_is_revised_when_added_again():
    session = conversation(SpanFactory().project, [("Capital of Spain?", "Lisbon.")])
    dataset = DatasetFactory()
    dataset_add_sessions(dataset=dataset, sessions=[session], user=None)
    CorrectionFactory(target_kind="session", span=None, session=session, format="message", output="Madrid.")

    again = dataset_add_sessions(dataset=dataset, sessions=[session], user=None)

    assert again.revised == 1
    assert only_revision(again.version).output["messages"][0]["content"] == "Madrid."


def test_corrected_examples_make_valid_openai_fine_tuning_lines():
    spans = [llm_span(), llm_span()]
    correct(spans[0])

    version = dataset_add_spans(dataset=DatasetFactory(), spans=spans, user=None).version

    revisions = example_revisions_at_version(version=version).order_by("example_id")
    lines = [json.loads(line) for line in openai_ft_lines(revisions)]
    assert openai_ft_report(revisions) == (2, 0)
    assert [line["messages"] for line in lines] == [
        [{"role": "user", "content": "What is the capital of Spain?"}, CORRECTED["messages"][0]],
        [{"role": "user", "content": "What is the capital of Spain?"}, ANSWER["messages"][0]],
    ]
    for line in lines:
        assert set(line) == {"messages"}
        assert all(set(message) == {"role", "content"} for message in line["messages"])


def test_the_gold_only_export_keeps_only_examples_with_a_gold_value():
    labelled, unlabelled = llm_span(), llm_span()
    SpanAnnotationFactory(span=labelled, name="correctness", label="correct", identifier=GOLD_IDENTIFIER)

    version = dataset_add_spans(
        dataset=DatasetFactory(), spans=[labelled, unlabelled], user=None, from_gold=True
    ).version

    lines = [
        json.loads(line) for line in jsonl_lines(with_gold(example_revisions_at_version(version=version)))
    ]
    assert [line["metadata"]["gold"]["correctness"]["label"] for line in lines] == ["correct"]


# --- pages ---------------------------------------------------------------------------------------------


@pytest.fixture
def reviewer_client(client):
    client.force_login(UserFactory(username="reviewer"))
    return client


def test_the_selection_bar_adds_rows_labelled_from_gold_when_asked(reviewer_client):
    span = llm_span()
    SpanAnnotationFactory(span=span, name="correctness", label="correct", identifier=GOLD_IDENTIFIER)
    form = {"project": span.project.pk, "span": [span.span_id]}

    reviewer_client.post("/datasets/add-spans/", {**form, "new_dataset_name": "plain"})
    reviewer_client.post("/datasets/add-spans/", {**form, "new_dataset_name": "gold", "from_gold": "1"})

    gold = Dataset.objects.get(name="gold").examples.get().revisions.get().metadata
    plain = Dataset.objects.get(name="plain").examples.get().revisions.get().metadata
    assert gold["gold"]["correctness"]["label"] == "correct"
    assert "gold" not in plain
    assert 'name="from_gold"' in reviewer_client.get(f"/projects/{span.project.pk}/").content.decode()


def test_the_dataset_page_and_its_downloads_keep_only_gold_examples_when_asked(reviewer_client):
    labelled, unlabelled = llm_span(), llm_span()
    SpanAnnotationFactory(span=labelled, name="correctness", label="correct", identifier=GOLD_IDENTIFIER)
    dataset = DatasetFactory()
    dataset_add_spans(dataset=dataset, spans=[labelled, unlabelled], user=None, from_gold=True)

    page = reviewer_client.get(f"/datasets/{dataset.pk}/?gold=only").content.decode()
    everything = b"".join(reviewer_client.get(f"/datasets/{dataset.pk}/export/jsonl/").streaming_content)
    gold = b"".join(reviewer_client.get(f"/datasets/{dataset.pk}/export/jsonl/?gold=only").streaming_content)

    assert len(everything.splitlines()) == 2
    assert [json.loads(line)["metadata"]["gold"] for line in gold.splitlines()] == [
        {"correctness": {"label": "correct", "score": 1.0, "explanation": None}}
    ]
    assert "gold=only" in page
