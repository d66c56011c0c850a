"""Spans, annotations and projects through arize-phoenix-client, asserting the values that come back."""

import pandas as pd
import pytest
from phoenix.client.types.spans import SpanQuery

from phoenix_annot.annotations.models import SpanAnnotation, TraceAnnotation
from tests.compat.conftest import PROJECT

pytestmark = pytest.mark.django_db(transaction=True)


def test_get_spans_pages_through_a_project_with_filters(phoenix, rag_spans):
    spans = phoenix.spans.get_spans(project_identifier=PROJECT, limit=100)
    llm = phoenix.spans.get_spans(project_identifier=PROJECT, span_kind=["LLM"], limit=100)

    assert len(spans) == 9
    assert sorted(s["context"]["span_id"] for s in llm) == rag_spans
    assert llm[0]["attributes"]["llm.model_name"] == "gpt-4o"
    assert llm[0]["span_kind"] == "LLM"


def test_annotations_are_logged_and_read_back_as_a_dataframe(phoenix, rag_spans):
    first = phoenix.spans.add_span_annotation(
        span_id=rag_spans[0],
        annotation_name="correctness",
        label="correct",
        score=1,
        explanation="ok",
        sync=True,
    )
    again = phoenix.spans.add_span_annotation(
        span_id=rag_spans[0], annotation_name="correctness", label="incorrect", score=0, sync=True
    )
    phoenix.spans.log_span_annotations(
        span_annotations=[
            {
                "name": "correctness",
                "span_id": rag_spans[1],
                "annotator_kind": "LLM",
                "result": {"label": "incorrect", "score": 0.0},
            },
            {"name": "tone", "span_id": rag_spans[2], "annotator_kind": "HUMAN", "result": {"label": "fine"}},
        ],
        sync=True,
    )

    frame = phoenix.spans.get_span_annotations_dataframe(span_ids=rag_spans, project_identifier=PROJECT)

    assert first["id"] == again["id"]
    assert sorted(frame["annotation_name"]) == ["correctness", "correctness", "tone"]
    assert frame.loc[rag_spans[0], "result.label"] == "incorrect"
    assert frame.loc[rag_spans[1], "annotator_kind"] == "LLM"


def test_an_annotation_dataframe_is_logged_in_chunks(phoenix, rag_spans):
    frame = pd.DataFrame(
        {
            "span_id": rag_spans,
            "label": ["a", "b", "c"],
            "score": [0.1, 0.2, 0.3],
            "explanation": ["x", "y", "z"],
        }
    )

    phoenix.spans.log_span_annotations_dataframe(
        dataframe=frame, annotation_name="quality", annotator_kind="CODE", sync=True
    )

    stored = dict(SpanAnnotation.objects.filter(name="quality").values_list("span__span_id", "score"))
    assert stored == dict(zip(rag_spans, [0.1, 0.2, 0.3], strict=True))


def test_get_spans_dataframe_filters_by_annotation_label(phoenix, rag_spans):
    phoenix.spans.log_span_annotations(
        span_annotations=[
            {
                "name": "correctness",
                "span_id": rag_spans[0],
                "annotator_kind": "LLM",
                "result": {"label": "correct"},
            },
            {
                "name": "correctness",
                "span_id": rag_spans[1],
                "annotator_kind": "LLM",
                "result": {"label": "incorrect"},
            },
        ],
        sync=True,
    )

    frame = phoenix.spans.get_spans_dataframe(
        query=SpanQuery().where("annotations['correctness'].label == 'correct'"), project_identifier=PROJECT
    )
    everything = phoenix.spans.get_spans_dataframe(project_identifier=PROJECT)

    assert list(frame.index) == [rag_spans[0]]
    assert frame.loc[rag_spans[0], "span_kind"] == "LLM"
    assert frame.loc[rag_spans[0], "attributes.llm.token_count.prompt"] == 10
    assert len(everything) == 9
    assert str(everything["start_time"].dtype).startswith("datetime64")


def test_get_spans_dataframe_selects_and_explodes_retrieved_documents(phoenix, rag_spans):
    selected = phoenix.spans.get_spans_dataframe(
        query=SpanQuery().where("span_kind == 'LLM'").select("input.value", "output.value"),
        project_identifier=PROJECT,
    )
    documents = phoenix.spans.get_spans_dataframe(
        query=SpanQuery().where("span_kind == 'RETRIEVER'").explode("retrieval.documents"),
        project_identifier=PROJECT,
    )
    picked = phoenix.spans.get_spans_dataframe(
        query=SpanQuery().explode("retrieval.documents", text="document.content"), project_identifier=PROJECT
    )

    assert sorted(selected["input.value"]) == ["question 1", "question 2", "question 3"]
    assert len(documents) == 6
    assert sorted(documents["document.score"].unique()) == [0.4, 0.9]
    assert list(documents.index.names) == ["context.span_id", "document_position"]
    assert sorted(picked["text"]) == ["doc 1a", "doc 1b", "doc 2a", "doc 2b", "doc 3a", "doc 3b"]


def test_a_bad_query_is_an_http_error(phoenix, rag_spans):
    with pytest.raises(Exception, match="422"):
        phoenix.spans.get_spans_dataframe(
            query=SpanQuery().where("__import__('os')"), project_identifier=PROJECT
        )


def test_trace_annotations_and_projects(phoenix, rag_spans):
    phoenix.traces.add_trace_annotation(
        trace_id=f"{1:032x}", annotation_name="user_feedback", label="positive", score=1, sync=True
    )
    created = phoenix.projects.create(name="new-project", description="made by the client")
    listed = {p["name"] for p in phoenix.projects.list()}
    fetched = phoenix.projects.get(project_name="new-project")
    phoenix.projects.update(project_id=created["id"], description="changed")
    phoenix.projects.delete(project_name="new-project")

    assert TraceAnnotation.objects.get().label == "positive"
    assert {PROJECT, "new-project"} <= listed
    assert fetched["id"] == created["id"]
    assert "new-project" not in {p["name"] for p in phoenix.projects.list()}
