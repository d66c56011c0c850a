"""A span_id names a span on its own across the API: one already held by another trace is never stored
twice, and the sender is told, never answered with a silent 200."""

import json

import pytest
from django.test import Client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from phoenix_annot.tracing.models import Span, Trace
from tests.ingest.builders import export_request, otlp_span

pytestmark = pytest.mark.django_db
PROTOBUF = "application/x-protobuf"


@pytest.fixture(autouse=True)
def _auth_off(v1_auth_off):
    """These tests are about ids, not keys."""


def post_protobuf(*spans) -> ExportTraceServiceResponse:
    response = Client().post(
        "/v1/traces", data=export_request(*spans).SerializeToString(), content_type=PROTOBUF
    )
    assert response.status_code == 200
    return ExportTraceServiceResponse.FromString(response.content)


def stored_spans() -> set[tuple[int, int]]:
    return {(int(t, 16), int(s, 16)) for t, s in Span.objects.values_list("trace__trace_id", "span_id")}


def test_a_span_whose_id_another_trace_holds_is_rejected_in_partial_success_and_the_rest_stored():
    post_protobuf(otlp_span(trace_id=1, span_id=5))

    answer = post_protobuf(otlp_span(trace_id=2, span_id=5), otlp_span(trace_id=2, span_id=6))

    assert answer.partial_success.rejected_spans == 1
    assert answer.partial_success.error_message == (
        "1 spans not stored: their span_id belongs to a span of another trace (span ids must be unique "
        f"across traces): span_id {5:016x} of trace {2:032x} (stored in trace {1:032x})"
    )
    assert stored_spans() == {(1, 5), (2, 6)}
    assert Trace.objects.get(trace_id=f"{2:032x}").span_count == 1


def test_the_partial_success_of_an_otlp_json_request_is_answered_in_json():
    post_protobuf(otlp_span(trace_id=1, span_id=5))
    span = {
        "traceId": "2".zfill(32),
        "spanId": "5".zfill(16),
        "name": "clash",
        "startTimeUnixNano": "1767268800000000000",
        "endTimeUnixNano": "1767268801000000000",
    }
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}

    response = Client().post("/v1/traces", data=json.dumps(body), content_type="application/json")

    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 1
    assert partial["errorMessage"].startswith("1 spans not stored")


def test_of_two_spans_sharing_an_id_across_traces_in_one_request_the_first_is_stored():
    answer = post_protobuf(otlp_span(trace_id=1, span_id=5, name="first"), otlp_span(trace_id=2, span_id=5))

    assert answer.partial_success.rejected_spans == 1
    assert stored_spans() == {(1, 5)}
    assert Span.objects.get().name == "first"


def test_a_request_whose_every_span_is_rejected_leaves_no_empty_trace_behind():
    post_protobuf(otlp_span(trace_id=1, span_id=5))

    answer = post_protobuf(otlp_span(trace_id=2, span_id=5))

    assert answer.partial_success.rejected_spans == 1
    assert list(Trace.objects.values_list("trace_id", flat=True)) == [f"{1:032x}"]


def test_a_resent_span_of_the_same_trace_is_not_a_rejection():
    post_protobuf(otlp_span(trace_id=1, span_id=5))

    answer = post_protobuf(otlp_span(trace_id=1, span_id=5), otlp_span(trace_id=1, span_id=5))

    assert answer == ExportTraceServiceResponse()
    assert stored_spans() == {(1, 5)}


def logged(trace_id: str, span_id: str) -> dict:
    return {
        "name": "logged",
        "context": {"trace_id": trace_id, "span_id": span_id},
        "start_time": "2026-01-01T00:00:00+00:00",
        "end_time": "2026-01-01T00:00:01+00:00",
    }


def test_logging_two_spans_sharing_an_id_across_traces_refuses_the_request_as_a_duplicate():
    body = {"data": [logged("b" * 32, "a" * 16), logged("c" * 32, "a" * 16)]}

    response = Client().post("/v1/projects/p/spans", body, content_type="application/json")

    assert response.status_code == 400
    assert json.loads(response.content)["duplicate_spans"] == [{"span_id": "a" * 16, "trace_id": "c" * 32}]
    assert not Span.objects.exists()
