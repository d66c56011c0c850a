"""arize-phoenix-client's session and document-annotation calls against a live server, unchanged."""

import httpx
import pandas as pd
import pytest

from phoenix_annot.annotations.models import DocumentAnnotation, SessionAnnotation
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import spans_ingest
from phoenix_annot.tracing.models import Session, Trace
from tests.compat.conftest import PROJECT
from tests.ingest.builders import chat_turn, export_request, otlp_span

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chats(transactional_db) -> None:
    """Two conversations: `support-1` of three turns, `support-2` of one; each turn a CHAIN root naming
    the session, with the user's question and the assistant's answer, and an LLM child."""
    spans = [
        span
        for number, session_id in enumerate(["support-1"] * 3 + ["support-2"], start=1)
        for span in chat_turn(
            number,
            root={
                "session.id": session_id,
                "input.value": f"question {number}",
                "output.value": f"answer {number}",
                "output.mime_type": "text/plain",
            },
            llm={"llm.token_count.prompt": 20, "llm.token_count.completion": 5},
        )
    ]
    spans_ingest(
        records=decode_request(export_request(*spans, resource={"openinference.project.name": PROJECT}))
    )


def test_sessions_list_pages_through_a_projects_sessions_and_get_reads_one(phoenix, chats):
    listed = phoenix.sessions.list(project_name=PROJECT)
    first_only = phoenix.sessions.list(project_name=PROJECT, limit=1)
    by_gid = phoenix.sessions.list(project_id=to_global_id("Project", Session.objects.first().project_id))
    one = phoenix.sessions.get(session_id="support-1")

    assert [session["session_id"] for session in listed] == ["support-1", "support-2"]
    assert [session["session_id"] for session in first_only] == ["support-1"]
    assert by_gid == listed
    assert len(one["traces"]) == 3
    assert (one["token_count_prompt"], one["token_count_completion"], one["token_count_total"]) == (
        60,
        15,
        75,
    )


def test_get_sessions_dataframe_counts_each_sessions_traces(phoenix, chats):
    frame = phoenix.sessions.get_sessions_dataframe(project_name=PROJECT)

    assert list(frame.columns) == ["id", "session_id", "project_id", "start_time", "end_time", "num_traces"]
    assert dict(zip(frame["session_id"], frame["num_traces"], strict=True)) == {
        "support-1": 3,
        "support-2": 1,
    }


def test_get_session_turns_reads_each_turns_question_and_answer_in_order(phoenix, chats):
    turns = phoenix.sessions.get_session_turns(session_id="support-1")

    assert [(turn["input"]["value"], turn["output"]["value"]) for turn in turns] == [
        ("question 1", "answer 1"),
        ("question 2", "answer 2"),
        ("question 3", "answer 3"),
    ]
    assert turns[0]["output"]["mime_type"] == "text/plain"
    assert [turn["trace_id"] for turn in turns] == list(
        Trace.objects.filter(session__session_id="support-1")
        .order_by("start_time")
        .values_list("trace_id", flat=True)
    )


def test_an_unknown_session_raises_the_clients_http_error(phoenix, chats):
    with pytest.raises(httpx.HTTPStatusError, match="404"):
        phoenix.sessions.get(session_id="nope")


def test_add_session_annotation_upserts_and_returns_the_same_id(phoenix, chats):
    first = phoenix.sessions.add_session_annotation(
        session_id="support-1", annotation_name="resolved", label="yes", score=1, sync=True
    )
    again = phoenix.sessions.add_session_annotation(
        session_id="support-1", annotation_name="resolved", label="no", score=0, sync=True
    )

    stored = SessionAnnotation.objects.get()
    assert first == again == {"id": to_global_id("ProjectSessionAnnotation", stored.pk)}
    assert (stored.label, stored.score) == ("no", 0.0)


def test_log_session_annotations_and_its_dataframe_form_store_every_row(phoenix, chats):
    phoenix.sessions.log_session_annotations(
        session_annotations=[
            {"session_id": "support-1", "name": "tone", "annotator_kind": "LLM", "result": {"label": "calm"}},
        ],
        sync=True,
    )
    frame = pd.DataFrame(
        {"label": ["resolved", "unknown"], "explanation": ["fixed", "user left"]},
        index=["support-1", "support-2"],
    )
    inserted = phoenix.sessions.log_session_annotations_dataframe(
        dataframe=frame, annotation_name="outcome", annotator_kind="HUMAN", sync=True
    )

    assert len(inserted) == 2
    assert sorted(SessionAnnotation.objects.values_list("session__session_id", "name", "label")) == [
        ("support-1", "outcome", "resolved"),
        ("support-1", "tone", "calm"),
        ("support-2", "outcome", "unknown"),
    ]


def test_an_annotation_without_sync_for_a_session_still_to_come_lands_when_it_arrives(phoenix, chats):
    assert (
        phoenix.sessions.add_session_annotation(session_id="later", annotation_name="resolved", label="yes")
        is None
    )

    spans_ingest(
        records=decode_request(
            export_request(otlp_span(trace_id=99, span_id=990, attributes={"session.id": "later"}))
        )
    )

    assert SessionAnnotation.objects.get().session.session_id == "later"


def test_sessions_delete_and_bulk_delete_remove_sessions_with_their_traces(phoenix, chats):
    phoenix.sessions.delete(session_id="support-2")
    phoenix.sessions.bulk_delete(session_ids=["support-1", "unknown"])

    assert not Session.objects.exists()
    assert not Trace.objects.exists()


def test_add_document_annotation_upserts_on_span_position_and_name(phoenix, rag_spans):
    retriever = f"{12:016x}"

    first = phoenix.spans.add_document_annotation(
        span_id=retriever,
        document_position=1,
        annotation_name="relevance",
        label="relevant",
        score=1,
        sync=True,
    )
    again = phoenix.spans.add_document_annotation(
        span_id=retriever,
        document_position=1,
        annotation_name="relevance",
        label="irrelevant",
        score=0,
        sync=True,
    )

    stored = DocumentAnnotation.objects.get()
    assert first == again == {"id": to_global_id("DocumentAnnotation", stored.pk)}
    assert (stored.document_position, stored.label) == (1, "irrelevant")


def test_a_document_position_the_span_lacks_raises_the_clients_http_error(phoenix, rag_spans):
    with pytest.raises(httpx.HTTPStatusError, match="422"):
        phoenix.spans.add_document_annotation(
            span_id=f"{12:016x}",
            document_position=2,
            annotation_name="relevance",
            label="relevant",
            sync=True,
        )

    assert not DocumentAnnotation.objects.exists()


def test_log_document_annotations_and_its_dataframe_form_store_every_row(phoenix, rag_spans):
    retrievers = [f"{n:016x}" for n in (12, 22, 32)]
    phoenix.spans.log_document_annotations(
        document_annotations=[
            {
                "span_id": retrievers[0],
                "document_position": 0,
                "name": "relevance",
                "annotator_kind": "LLM",
                "result": {"label": "relevant", "score": 1.0},
            }
        ],
        sync=True,
    )
    frame = pd.DataFrame(
        {
            "span_id": retrievers[1:],
            "document_position": [1, 0],
            "label": ["irrelevant", "relevant"],
            "score": [0.0, 1.0],
        }
    )
    phoenix.spans.log_document_annotations_dataframe(
        dataframe=frame, annotation_name="relevance", annotator_kind="HUMAN", sync=True
    )

    assert sorted(DocumentAnnotation.objects.values_list("span__span_id", "document_position", "label")) == [
        (retrievers[0], 0, "relevant"),
        (retrievers[1], 1, "irrelevant"),
        (retrievers[2], 0, "relevant"),
    ]


def test_document_annotations_read_back_over_rest_like_span_annotations(phoenix, rag_spans, live_server):
    retriever = f"{12:016x}"
    phoenix.spans.add_document_annotation(
        span_id=retriever, document_position=0, annotation_name="relevance", label="relevant", sync=True
    )

    response = httpx.get(
        f"{live_server.url}/v1/projects/{PROJECT}/document_annotations", params={"span_ids": retriever}
    )

    assert [
        (item["span_id"], item["document_position"], item["result"]["label"])
        for item in response.json()["data"]
    ] == [(retriever, 0, "relevant")]
