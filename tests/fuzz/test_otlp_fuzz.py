"""Hostile OTLP bodies: whatever arrives, the answer is a 2xx or a 4xx with a message, never a 500."""

import gzip
import random

import pytest
from django.test import Client
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue, KeyValueList

from phoenix_annot.tracing.models import Span
from tests.ingest.builders import export_request, otlp_span

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("v1_auth_off")]
PROTOBUF = "application/x-protobuf"
SEEDS = range(40)


def post(body: bytes, **headers: str):
    return Client().post("/v1/traces", data=body, content_type=PROTOBUF, **headers)


def assert_clean_answer(response) -> None:
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert response.content, "a refusal says why"


def valid_body(rng: random.Random) -> bytes:
    spans = [
        otlp_span(
            trace_id=rng.randrange(1, 2**64),
            span_id=rng.randrange(1, 2**63),
            attributes={"openinference.span.kind": "LLM", "input.value": "x" * rng.randrange(0, 200)},
        )
        for _ in range(rng.randrange(1, 5))
    ]
    return export_request(*spans).SerializeToString()


@pytest.mark.parametrize("seed", SEEDS)
def test_a_mutated_protobuf_gets_a_clean_answer(seed: int):
    rng = random.Random(seed)
    body = bytearray(valid_body(rng))
    for _ in range(rng.randrange(1, 8)):
        body[rng.randrange(len(body))] = rng.randrange(256)

    assert_clean_answer(post(bytes(body)))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_bytes_get_a_clean_answer_plain_and_gzipped(seed: int):
    rng = random.Random(seed)
    junk = rng.randbytes(rng.randrange(0, 2048))

    assert_clean_answer(post(junk))
    assert_clean_answer(post(gzip.compress(junk), HTTP_CONTENT_ENCODING="gzip"))


def test_a_deeply_nested_kvlist_is_stored_not_crashed():
    # Deeper than this, protobuf itself refuses to build or parse the message (a 422 here).
    value = AnyValue(string_value="leaf")
    for _ in range(25):
        value = AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="k", value=value)]))
    request = export_request(otlp_span())
    request.resource_spans[0].scope_spans[0].spans[0].attributes.append(KeyValue(key="deep", value=value))

    response = post(request.SerializeToString())

    assert response.status_code == 200
    assert Span.objects.get().attributes["deep"]["k"]["k"]["k"]


def test_invalid_utf8_in_a_string_field_is_refused_with_a_message():
    body = export_request(otlp_span(name="NAME")).SerializeToString().replace(b"NAME", b"\xff\xfe\xfd\xfc")

    response = post(body)

    assert response.status_code == 422
    assert not Span.objects.exists()


def test_a_huge_attribute_value_is_stored_whole():
    huge = "x" * (5 * 1024 * 1024)

    response = post(export_request(otlp_span(attributes={"input.value": huge})).SerializeToString())

    assert response.status_code == 200
    assert len(Span.objects.get().input_value) == len(huge)


def length_delimited(field: int, payload: bytes) -> bytes:
    """One protobuf field of wire type 2, encoded by hand so nothing refuses to build it."""

    def varint(number: int) -> bytes:
        out = bytearray()
        while True:
            byte, number = number & 0x7F, number >> 7
            out.append(byte | (0x80 if number else 0))
            if not number:
                return bytes(out)

    return varint(field << 3 | 2) + varint(len(payload)) + payload


def test_nesting_deeper_than_protobuf_allows_is_a_422_not_a_crash():
    value = length_delimited(1, b"leaf")  # AnyValue.string_value
    for _ in range(300):
        key_value = length_delimited(1, b"k") + length_delimited(2, value)  # KeyValue.key, .value
        value = length_delimited(6, length_delimited(1, key_value))  # AnyValue.kvlist_value.values
    span = otlp_span().SerializeToString() + length_delimited(
        9, length_delimited(1, b"deep") + length_delimited(2, value)
    )
    body = length_delimited(1, length_delimited(2, length_delimited(2, span)))  # request > resource > scope

    response = post(body)

    assert response.status_code == 422
    assert "invalid ExportTraceServiceRequest" in response.content.decode()
    assert not Span.objects.exists()
