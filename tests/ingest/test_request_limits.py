"""One OTLP request's cost is bounded: a cap on its spans, and batches that keep the promise that a 200
stores every span and an error stores none."""

import json

import pytest
from django.test import Client
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan

from phoenix_annot.core.batching import BATCH_SIZE
from phoenix_annot.tracing.models import Span, Trace
from tests.ingest.builders import START_NS, export_request, key_values, otlp_span

pytestmark = pytest.mark.django_db
PROTOBUF = "application/x-protobuf"
LIMIT_MESSAGE = (
    "Request holds 6 spans, more than the limit of 5 (PHOENIX_ANNOT_OTLP_MAX_SPANS_PER_REQUEST); "
    "nothing was stored: send smaller batches"
)
ATTRIBUTE_LIMIT_MESSAGE = (
    "Request holds 21 attributes, more than the limit of 20 (PHOENIX_ANNOT_OTLP_MAX_ATTRIBUTES_PER_REQUEST); "
    "nothing was stored: send smaller batches"
)


@pytest.fixture(autouse=True)
def _five_spans_and_twenty_attributes_allowed(v1_auth_off, settings):
    settings.OTLP_MAX_SPANS_PER_REQUEST = 5
    settings.OTLP_MAX_ATTRIBUTES_PER_REQUEST = 20


def spans(count: int) -> list:
    return [otlp_span(trace_id=1 + i // 4, span_id=1 + i) for i in range(count)]


def post_protobuf(*items):
    return Client().post("/v1/traces", data=export_request(*items).SerializeToString(), content_type=PROTOBUF)


def json_body(count: int) -> str:
    span = {"name": "s", "startTimeUnixNano": "1767268800000000000", "endTimeUnixNano": "1767268800000000001"}
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "scopeSpans": [
                        {
                            "spans": [
                                {**span, "traceId": "1" * 32, "spanId": f"{i + 1:016x}"} for i in range(count)
                            ]
                        }
                    ]
                }
            ]
        }
    )


def test_a_protobuf_request_with_more_spans_than_the_limit_is_a_413_naming_it_and_stores_nothing():
    response = post_protobuf(*spans(6))

    assert (response.status_code, response.content.decode()) == (413, LIMIT_MESSAGE)
    assert not Span.objects.exists()


def test_a_json_request_with_more_spans_than_the_limit_is_a_413_naming_it_and_stores_nothing():
    response = Client().post("/v1/traces", data=json_body(6), content_type="application/json")

    assert (response.status_code, response.content.decode()) == (413, LIMIT_MESSAGE)
    assert not Span.objects.exists()


def test_spans_over_several_resources_count_together():
    first, second = export_request(*spans(3)), export_request(*spans(6)[3:])
    first.resource_spans.extend(second.resource_spans)

    response = Client().post("/v1/traces", data=first.SerializeToString(), content_type=PROTOBUF)

    assert response.status_code == 413


def test_a_request_at_the_limit_is_stored_whole():
    response = post_protobuf(*spans(5))

    assert response.status_code == 200
    assert Span.objects.count() == 5


def test_a_protobuf_request_with_more_attributes_than_the_limit_is_a_413_naming_it_and_stores_nothing():
    event = OtlpSpan.Event(name="e", time_unix_nano=START_NS, attributes=key_values({"a": 1}))
    crowded = otlp_span(attributes={f"k{i}": i for i in range(20)}, events=[event])

    response = post_protobuf(crowded)

    assert (response.status_code, response.content.decode()) == (413, ATTRIBUTE_LIMIT_MESSAGE)
    assert not Span.objects.exists()


def test_a_json_request_with_more_attributes_than_the_limit_is_a_413_naming_it_and_stores_nothing():
    body = json.loads(json_body(2))
    first, second = body["resourceSpans"][0]["scopeSpans"][0]["spans"]
    first["attributes"] = [{"key": f"k{i}", "value": {"intValue": str(i)}} for i in range(20)]
    second["events"] = [{"name": "e", "timeUnixNano": "1", "attributes": [{"key": "a", "value": {}}]}]

    response = Client().post("/v1/traces", data=json.dumps(body), content_type="application/json")

    assert (response.status_code, response.content.decode()) == (413, ATTRIBUTE_LIMIT_MESSAGE)
    assert not Span.objects.exists()


def test_a_request_at_the_attribute_limit_is_stored():
    response = post_protobuf(otlp_span(attributes={f"k{i}": i for i in range(20)}))

    assert response.status_code == 200
    assert len(Span.objects.get().attributes) == 20


def test_a_request_of_several_batches_is_stored_whole_with_its_traces_rolled_up(settings):
    settings.OTLP_MAX_SPANS_PER_REQUEST = 10_000
    count = 2 * BATCH_SIZE + 3

    response = post_protobuf(*spans(count))

    assert response.status_code == 200
    assert Span.objects.count() == count
    assert Trace.objects.count() == -(-count // 4)
    assert sorted(Trace.objects.values_list("span_count", flat=True).distinct()) == [3, 4]


def test_a_bad_span_in_a_later_batch_stores_nothing_of_the_batches_before_it(settings):
    settings.OTLP_MAX_SPANS_PER_REQUEST = 10_000
    good = spans(BATCH_SIZE + 1)
    bad = otlp_span(trace_id=9999, span_id=99999)
    bad.span_id = b"\x00" * 8

    response = post_protobuf(*good, bad)

    assert response.status_code == 400
    assert "invalid span_id" in response.content.decode()
    assert not Span.objects.exists()
    assert not Trace.objects.exists()
