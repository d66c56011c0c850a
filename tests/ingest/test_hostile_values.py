"""Token counts no column can hold, over OTLP (protobuf and JSON) and Phoenix's span logging route."""

import json

import pytest
from django.test import Client

from phoenix_annot.tracing.models import Span, Trace
from tests.ingest.builders import export_request, otlp_span

pytestmark = pytest.mark.django_db

HUGE = 10**30
INT64_MAX = 2**63 - 1


@pytest.fixture(autouse=True)
def _auth_off(v1_auth_off):
    """These tests are about values, not keys."""


def otlp_json_span(value: dict) -> bytes:
    span = {
        "traceId": "1" * 32,
        "spanId": "2" * 16,
        "name": "llm",
        "startTimeUnixNano": "1767268800000000000",
        "endTimeUnixNano": "1767268801000000000",
        "attributes": [{"key": "llm.token_count.prompt", "value": value}],
    }
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()


@pytest.mark.parametrize(
    "count",
    [str(HUGE), float(HUGE), f"-{HUGE}", INT64_MAX],
    ids=["digits-as-string", "double", "negative-string", "int64-max"],
)
def test_an_otlp_token_count_no_column_can_hold_is_kept_as_text_and_not_counted(count):
    span = otlp_span(attributes={"llm.token_count.prompt": count, "llm.token_count.completion": INT64_MAX})

    response = Client().post(
        "/v1/traces", data=export_request(span).SerializeToString(), content_type="application/x-protobuf"
    )

    assert response.status_code == 200
    stored = Span.objects.get()
    assert stored.llm_token_count_prompt is None
    assert stored.attributes["llm"]["token_count"]["prompt"] == str(count)
    assert Trace.objects.get().llm_token_count_prompt == 0


@pytest.mark.parametrize(
    "value",
    [{"stringValue": str(HUGE)}, {"doubleValue": 1e30}, {"intValue": str(INT64_MAX)}],
    ids=["string", "double", "int64-max"],
)
def test_an_otlp_json_token_count_no_column_can_hold_is_kept_as_text(value):
    response = Client().post("/v1/traces", data=otlp_json_span(value), content_type="application/json")

    assert response.status_code == 200
    assert Span.objects.get().llm_token_count_prompt is None


def test_an_otlp_json_int_value_beyond_64_bits_is_a_422_naming_the_problem():
    response = Client().post(
        "/v1/traces", data=otlp_json_span({"intValue": str(HUGE)}), content_type="application/json"
    )

    assert response.status_code == 422
    assert "ExportTraceServiceRequest" in response.content.decode()
    assert not Span.objects.exists()


@pytest.mark.parametrize(
    "count", [HUGE, -HUGE, INT64_MAX, 1e30], ids=["huge", "negative", "int64-max", "double"]
)
def test_a_logged_token_count_no_column_can_hold_is_kept_as_text_and_not_counted(count):
    span = {
        "name": "llm",
        "context": {"trace_id": "b" * 32, "span_id": "a" * 16},
        "start_time": "2026-01-01T00:00:00+00:00",
        "end_time": "2026-01-01T00:00:01+00:00",
        "attributes": {"llm": {"token_count": {"prompt": count, "completion": INT64_MAX}}},
    }

    response = Client().post("/v1/projects/p/spans", {"data": [span]}, content_type="application/json")

    assert response.status_code == 202
    stored = Span.objects.get()
    assert stored.llm_token_count_prompt is None
    assert stored.attributes["llm"]["token_count"]["prompt"] == str(count)
    assert Trace.objects.get().llm_token_count_total == 0
