"""One OTLP request's cost is bounded: a cap on its spans, and batches that keep the promise that a 200
stores every span and an error stores none."""

import json

import pytest
from django.test import Client

from phoenix_annot.core.batching import BATCH_SIZE
from phoenix_annot.tracing.models import Span, Trace
from tests.ingest.builders import export_request, otlp_span

pytestmark = pytest.mark.django_db
PROTOBUF = "application/x-protobuf"
LIMIT_MESSAGE = (
    "Request holds 6 spans, more than the 5 span limit (PHOENIX_ANNOT_OTLP_MAX_SPANS_PER_REQUEST); "
    "nothing was stored: send smaller batches"
)


@pytest.fixture(autouse=True)
def _five_spans_allowed(v1_auth_off, settings):
    settings.OTLP_MAX_SPANS_PER_REQUEST = 5


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
