"""More of arize-phoenix-client against a live server: annotation reads, notes, traces, logging and deleting
spans, and the raw curl call of Phoenix's annotation docs."""

from datetime import UTC, datetime

import httpx
import pytest
from phoenix.client.exceptions import SpanCreationError

from phoenix_annot.accounts.services import api_key_create
from phoenix_annot.annotations.models import SpanAnnotation
from phoenix_annot.api.errors import MISSING_KEY
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.tracing.models import Span, Trace
from tests.compat.conftest import PROJECT
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_get_span_annotations_returns_dicts_and_leaves_notes_out(phoenix, rag_spans):
    phoenix.spans.add_span_annotation(
        span_id=rag_spans[0], annotation_name="correctness", label="correct", score=1, sync=True
    )
    phoenix.spans.add_span_note(span_id=rag_spans[0], note="check the citation")

    annotations = phoenix.spans.get_span_annotations(span_ids=rag_spans, project_identifier=PROJECT)
    with_notes = phoenix.spans.get_span_annotations(
        span_ids=rag_spans[:1], project_identifier=PROJECT, exclude_annotation_names=[]
    )

    assert [(a["span_id"], a["name"], a["result"]["label"]) for a in annotations] == [
        (rag_spans[0], "correctness", "correct")
    ]
    assert annotations[0]["created_at"].endswith("+00:00")
    assert {a["name"] for a in with_notes} == {"correctness", "note"}


def test_get_span_annotations_of_spans_elsewhere_is_an_http_error(phoenix, rag_spans):
    with pytest.raises(httpx.HTTPStatusError, match="404"):
        phoenix.spans.get_span_annotations(span_ids=["00000000000000ff"], project_identifier=PROJECT)


def test_add_span_note_appends_a_note_each_call(phoenix, rag_spans):
    first = phoenix.spans.add_span_note(span_id=rag_spans[1], note="first")
    second = phoenix.spans.add_span_note(span_id=rag_spans[1], note="second")

    notes = SpanAnnotation.objects.filter(name="note").order_by("pk")
    assert first["id"] != second["id"]
    assert [n.explanation for n in notes] == ["first", "second"]
    assert all(n.identifier.startswith("px-span-note:") for n in notes)


def test_get_traces_pages_sorts_and_includes_spans(phoenix, rag_spans):
    traces = phoenix.traces.get_traces(project_identifier=PROJECT, include_spans=True, limit=2)
    by_latency = phoenix.traces.get_traces(project_identifier=PROJECT, sort="latency_ms", order="asc")
    errors = phoenix.traces.get_traces(project_identifier=PROJECT, error=True)

    assert len(traces) == 2
    assert {len(t["spans"]) for t in traces} == {3}
    assert len(by_latency) == 3
    assert errors == []


def test_log_spans_stores_them_and_refuses_duplicates_whole(phoenix, rag_spans):
    span = {
        "name": "logged",
        "context": {"trace_id": "d" * 32, "span_id": "d" * 16},
        "span_kind": "LLM",
        "start_time": datetime(2026, 2, 1, tzinfo=UTC).isoformat(),
        "end_time": datetime(2026, 2, 1, 0, 0, 1, tzinfo=UTC).isoformat(),
        "status_code": "OK",
        "attributes": {"input.value": "hello", "llm.model_name": "gpt-4o"},
    }

    created = phoenix.spans.log_spans(project_identifier="logged-project", spans=[span])
    with pytest.raises(SpanCreationError) as refused:
        phoenix.spans.log_spans(
            project_identifier="logged-project",
            spans=[span, {**span, "context": {**span["context"], "span_id": "e" * 16}}],
        )

    assert created == {"total_received": 1, "total_queued": 1}
    stored = Span.objects.get(span_id="d" * 16)
    assert (stored.project.name, stored.span_kind, stored.input_value) == ("logged-project", "LLM", "hello")
    assert "duplicate" in str(refused.value).lower()
    assert not Span.objects.filter(span_id="e" * 16).exists()


def test_spans_delete_removes_one_span_by_either_id(phoenix, rag_spans):
    root = Span.objects.get(span_id=f"{10:016x}")

    phoenix.spans.delete(span_identifier=rag_spans[0])
    phoenix.spans.delete(span_identifier=f"{12:016x}")
    phoenix.spans.delete(span_identifier=to_global_id("Span", root.pk))

    assert not Span.objects.filter(trace__trace_id=f"{1:032x}").exists()
    assert not Trace.objects.filter(trace_id=f"{1:032x}").exists()
    with pytest.raises(httpx.HTTPStatusError, match="404"):
        phoenix.spans.delete(span_identifier=rag_spans[0])


DOCS_BODY = """{
  "data": [
    {
      "span_id": "%s",
      "name": "correctness",
      "annotator_kind": "HUMAN",
      "result": {
        "label": "correct",
        "score": 1
      },
      "metadata": {}
    }
  ]
}"""


def docs_curl(url: str, **headers: str) -> httpx.Response:
    """curl -X POST '<url>/v1/span_annotations?sync=false' -H 'accept: application/json'
    -H 'Content-Type: application/json' -H '<credential header>' -d '<DOCS_BODY>'"""
    return httpx.post(
        f"{url}/v1/span_annotations?sync=false",
        headers={"accept": "application/json", "Content-Type": "application/json", **headers},
        content=DOCS_BODY % f"{11:016x}",
    )


@pytest.mark.parametrize("header", ["Authorization", "api-key"])
def test_the_curl_call_of_phoenixs_annotation_docs_stores_the_annotation(
    live_server, rag_spans, settings, header
):
    settings.V1_AUTH_REQUIRED = True
    _key, raw = api_key_create(user=UserFactory(role="ANNOTATOR"), name="docs")

    response = docs_curl(live_server.url, **{header: f"Bearer {raw}" if header == "Authorization" else raw})
    anonymous = docs_curl(live_server.url)

    assert (response.status_code, response.json()) == (200, {"data": []})
    stored = SpanAnnotation.objects.get()
    assert (stored.span.span_id, stored.label, stored.score, stored.user.role) == (
        rag_spans[0],
        "correct",
        1.0,
        "ANNOTATOR",
    )
    assert anonymous.status_code == 401


def test_an_api_key_header_spelled_with_an_underscore_never_reaches_django(live_server, rag_spans, settings):
    # Django's server (and gunicorn, and nginx, by default) drop header names with "_": the legacy
    # `api_key: <key>` of older Phoenix docs arrives as no credential at all. `api-key` works.
    settings.V1_AUTH_REQUIRED = True
    _key, raw = api_key_create(user=UserFactory(role="ANNOTATOR"), name="docs")

    response = docs_curl(live_server.url, api_key=raw)

    assert (response.status_code, response.text) == (401, MISSING_KEY)
