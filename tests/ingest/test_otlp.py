import base64
import json
from datetime import UTC, datetime

import pytest
from google.protobuf import json_format
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from phoenix_annot.ingest.otlp import (
    OtlpError,
    RequestLimits,
    decode_request,
    parse_json,
    parse_protobuf,
    unflatten,
)
from tests.ingest.builders import START_NS, export_request, key_values, otlp_span

LIMITS = RequestLimits(spans=10, attributes=100)


def decode_one(span: Span, **resource: str):
    (record,) = decode_request(export_request(span, resource=resource))
    return record


def test_ids_become_lowercase_hex_and_an_empty_parent_becomes_none():
    record = decode_one(otlp_span(trace_id=0xABCDEF, span_id=0xBEEF, parent_id=None))

    assert record.trace_id == f"{0xABCDEF:032x}"
    assert record.span_id == "000000000000beef"
    assert record.parent_id is None


def test_a_parent_id_is_kept_as_hex_and_all_zero_parent_bytes_mean_a_root():
    child = decode_one(otlp_span(span_id=2, parent_id=0xFF))
    zero_parent = otlp_span(span_id=3)
    zero_parent.parent_span_id = bytes(8)

    assert child.parent_id == "00000000000000ff"
    assert decode_one(zero_parent).parent_id is None


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("trace_id", b"\x01" * 15, "invalid trace_id: expected 16 bytes, not all zero, got 15 bytes"),
        ("trace_id", bytes(16), "invalid trace_id"),
        ("span_id", b"\x01" * 9, "invalid span_id: expected 8 bytes, not all zero, got 9 bytes"),
        (
            "parent_span_id",
            b"\x01" * 3,
            "invalid parent_span_id: expected 8 bytes, not all zero, got 3 bytes",
        ),
    ],
)
def test_an_id_of_the_wrong_length_is_refused_with_a_400_naming_the_span(field, value, expected):
    span = otlp_span(name="retrieve docs")
    setattr(span, field, value)

    with pytest.raises(OtlpError) as error:
        decode_one(span)

    assert error.value.status == 400
    assert "'retrieve docs'" in error.value.message
    assert expected in error.value.message


def test_dotted_attributes_are_nested_and_numbered_segments_become_lists():
    record = decode_one(
        otlp_span(
            attributes={
                "llm.input_messages.0.message.role": "system",
                "llm.input_messages.0.message.content": "Be brief.",
                "llm.input_messages.1.message.role": "user",
                "llm.model_name": "gpt-4o",
            }
        )
    )

    assert record.attributes["llm"] == {
        "input_messages": [
            {"message": {"role": "system", "content": "Be brief."}},
            {"message": {"role": "user"}},
        ],
        "model_name": "gpt-4o",
    }
    assert record.llm_model_name == "gpt-4o"


def test_numbered_segments_with_a_gap_stay_a_mapping_so_no_index_is_invented():
    assert unflatten({"a.0": "x", "a.2": "z"}) == {"a": {"0": "x", "2": "z"}}


def test_nested_numbered_segments_become_nested_lists():
    flat = {"m.0.c.0.t": "a", "m.0.c.1.t": "b", "m.1.c.0.t": "c", "m.1.role": "user", "top.0": 5}

    assert unflatten(flat) == {
        "m": [{"c": [{"t": "a"}, {"t": "b"}]}, {"c": [{"t": "c"}], "role": "user"}],
        "top": [5],
    }


def test_a_mapping_mixing_numbered_and_named_keys_stays_a_mapping():
    assert unflatten({"a.0": "x", "a.name": "y"}) == {"a": {"0": "x", "name": "y"}}


@pytest.mark.parametrize("key", ["²", "1" * 5000, "01"])
def test_a_key_that_is_not_a_plain_position_is_a_key_not_a_list_index(key):
    assert unflatten({"a.0": "x", f"a.{key}": "y"}) == {"a": {"0": "x", key: "y"}}


def test_a_key_that_runs_into_a_scalar_prefix_is_kept_instead_of_dropped():
    assert unflatten({"tag": "x", "tag.extra.deep": 1}) == {"tag": "x", "tag.extra.deep": 1}


def test_array_kvlist_bytes_double_and_bool_values_are_decoded():
    record = decode_one(
        otlp_span(
            attributes={
                "tag.tags": ["a", "b"],
                "custom": {"nested": {"deep": 1}},
                "blob": b"\x00\x01",
                "ratio": 0.5,
                "flag": True,
                "bad_float": float("nan"),
            }
        )
    )

    assert record.attributes["tag"] == {"tags": ["a", "b"]}
    assert record.attributes["custom"] == {"nested": {"deep": 1}}
    assert record.attributes["blob"] == "AAE="
    assert record.attributes["ratio"] == 0.5
    assert record.attributes["flag"] is True
    assert record.attributes["bad_float"] == "nan"


def test_json_string_attributes_are_parsed_and_other_strings_are_not():
    record = decode_one(
        otlp_span(
            attributes={
                "metadata": '{"topic": "billing", "tier": 2}',
                "llm.prompt_template.variables": '{"question": "hi"}',
                "tool.parameters": '{"city": "Paris"}',
                "retrieval.documents.0.document.metadata": '{"source": "faq.md"}',
                "retrieval.documents.0.document.content": '{"not": "parsed"}',
                "input.value": '{"stays": "text"}',
            }
        )
    )

    assert record.attributes["metadata"] == {"topic": "billing", "tier": 2}
    assert record.attributes["llm"]["prompt_template"]["variables"] == {"question": "hi"}
    assert record.attributes["tool"]["parameters"] == {"city": "Paris"}
    document = record.attributes["retrieval"]["documents"][0]["document"]
    assert document["metadata"] == {"source": "faq.md"}
    assert document["content"] == '{"not": "parsed"}'
    assert record.input_value == '{"stays": "text"}'


def test_a_json_string_attribute_that_is_not_json_is_kept_as_text():
    record = decode_one(otlp_span(attributes={"metadata": "{broken"}))

    assert record.attributes["metadata"] == "{broken"


def test_nul_characters_are_removed_because_postgresql_cannot_store_them():
    record = decode_one(
        otlp_span(name="a\x00b", attributes={"input.value": "x\x00y", "metadata": '{"k": "v\\u0000"}'})
    )

    assert record.name == "ab"
    assert record.input_value == "xy"
    assert record.attributes["metadata"] == {"k": "v"}


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("LLM", "LLM"), ("llm", "LLM"), ("Retriever", "RETRIEVER"), ("banana", "UNKNOWN"), (None, "UNKNOWN")],
)
def test_the_openinference_span_kind_is_upper_cased_and_unknown_kinds_become_unknown(sent, stored):
    attributes = {} if sent is None else {"openinference.span.kind": sent}

    assert decode_one(otlp_span(attributes=attributes)).span_kind == stored


def test_a_non_string_span_kind_is_unknown():
    assert decode_one(otlp_span(attributes={"openinference.span.kind": 3})).span_kind == "UNKNOWN"


@pytest.mark.parametrize(("code", "name"), [(0, "UNSET"), (1, "OK"), (2, "ERROR"), (7, "UNSET")])
def test_otlp_status_codes_map_to_status_names_and_keep_the_message(code, name):
    record = decode_one(otlp_span(status_code=code, status_message="rate limited"))

    assert record.status_code == name
    assert record.status_message == "rate limited"


def test_times_are_utc_with_microsecond_precision_and_latency_is_derived():
    record = decode_one(otlp_span(start_ns=START_NS + 1_234_567, duration_ns=1_500_000_000))

    assert record.start_time == datetime(2026, 1, 1, 12, 0, 0, 1234, tzinfo=UTC)
    assert record.latency_ms == 1500.0


def test_an_end_before_the_start_is_clamped_to_the_start():
    record = decode_one(otlp_span(duration_ns=-5_000))

    assert record.end_time == record.start_time
    assert record.latency_ms == 0


def test_exception_events_keep_their_attributes_and_timestamp():
    event = Span.Event(
        name="exception",
        time_unix_nano=START_NS,
        attributes=key_values({"exception.type": "TimeoutError", "exception.message": "tool timed out"}),
    )

    record = decode_one(otlp_span(events=[event], status_code=2))

    assert record.events == [
        {
            "name": "exception",
            "timestamp": "2026-01-01T12:00:00+00:00",
            "attributes": {"exception.type": "TimeoutError", "exception.message": "tool timed out"},
        }
    ]


def test_token_counts_are_integers_and_a_missing_total_is_the_sum():
    record = decode_one(
        otlp_span(attributes={"llm.token_count.prompt": 120, "llm.token_count.completion": "30"})
    )

    assert record.llm_token_count_prompt == 120
    assert record.llm_token_count_completion == 30
    assert record.llm_token_count_total == 150
    assert record.attributes["llm"]["token_count"] == {"prompt": 120, "completion": 30, "total": 150}


@pytest.mark.parametrize("count", ["many", "²", "--5", "9" * 5000])
def test_a_token_count_that_is_not_a_number_is_dropped(count):
    record = decode_one(otlp_span(attributes={"llm.token_count.prompt": count}))

    assert record.llm_token_count_prompt is None
    assert "llm" not in record.attributes


def test_opentelemetry_gen_ai_attributes_fill_in_openinference_ones_without_overriding_them():
    record = decode_one(
        otlp_span(
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "claude-sonnet",
                "gen_ai.usage.input_tokens": 10,
                "gen_ai.usage.output_tokens": 5,
                "llm.token_count.prompt": 11,
            }
        )
    )

    assert record.span_kind == "LLM"
    assert record.llm_model_name == "claude-sonnet"
    assert record.llm_token_count_prompt == 11
    assert record.llm_token_count_completion == 5


def test_a_structured_input_value_is_serialised_as_json_with_a_json_mime_type():
    record = decode_one(otlp_span(attributes={"input.value": {"question": "hi"}, "output.value": "answer"}))

    assert json.loads(record.input_value) == {"question": "hi"}
    assert record.input_mime_type == "application/json"
    assert record.output_value == "answer"
    assert record.attributes["input"]["mime_type"] == "application/json"


def test_the_project_header_beats_the_resource_attribute_which_beats_default():
    request = export_request(otlp_span(), resource={"openinference.project.name": "from-resource"})

    assert decode_request(request, project_name="from-header")[0].project_name == "from-header"
    assert decode_request(request)[0].project_name == "from-resource"
    assert decode_request(export_request(otlp_span()))[0].project_name == "default"
    assert (
        decode_request(export_request(otlp_span(), resource={"openinference.project.name": "  "}))[
            0
        ].project_name
        == "default"
    )


def test_a_project_name_over_255_characters_is_refused():
    with pytest.raises(OtlpError) as error:
        decode_request(export_request(otlp_span()), project_name="p" * 256)

    assert error.value.status == 400
    assert "Project name is longer than 255" in error.value.message


def test_undecodable_protobuf_is_a_422():
    with pytest.raises(OtlpError) as error:
        parse_protobuf(b"\xff\xff\xff\xff", limits=LIMITS)

    assert error.value.status == 422
    assert "Request body is invalid ExportTraceServiceRequest" in error.value.message


def test_otlp_json_with_hex_ids_decodes_like_protobuf():
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "openinference.project.name", "value": {"stringValue": "json-app"}}
                    ]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "parentSpanId": "eee19b7ec3c1b173",
                                "name": "llm call",
                                "kind": 3,
                                "startTimeUnixNano": "1767268800000000000",
                                "endTimeUnixNano": 1767268801000000000,
                                "attributes": [
                                    {"key": "openinference.span.kind", "value": {"stringValue": "LLM"}},
                                    {"key": "llm.token_count.prompt", "value": {"intValue": "42"}},
                                ],
                                "status": {"code": 2, "message": "boom"},
                                "someFutureField": True,
                            }
                        ]
                    }
                ],
            }
        ]
    }

    (record,) = decode_request(parse_json(json.dumps(body).encode(), limits=LIMITS))

    assert record.project_name == "json-app"
    assert record.trace_id == "5b8efff798038103d269b633813fc60c"
    assert record.span_id == "eee19b7ec3c1b174"
    assert record.parent_id == "eee19b7ec3c1b173"
    assert record.span_kind == "LLM"
    assert record.llm_token_count_prompt == 42
    assert record.status_code == "ERROR"
    assert record.latency_ms == 1000.0


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "Request body is not valid JSON"),
        (b"[1, 2]", 422, "expected a JSON object"),
        (b'{"resourceSpans": "nope"}', 422, "Request body is invalid ExportTraceServiceRequest"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "s", "spanId": "zz"}]}]}]}',
            400,
            "Span 's' has an invalid span_id 'zz': expected hex",
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "s", "traceId": 5}]}]}]}',
            400,
            "Span 's' has an invalid trace_id: expected a hex string",
        ),
    ],
)
def test_bad_otlp_json_is_refused_with_a_message(body, status, message):
    with pytest.raises(OtlpError) as error:
        parse_json(body, limits=LIMITS)

    assert error.value.status == status
    assert message in error.value.message


def test_otlp_json_with_a_wrong_length_hex_id_is_a_400_naming_the_span():
    span = {"name": "s", "traceId": "abcd", "spanId": "eee19b7ec3c1b174"}
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()

    with pytest.raises(OtlpError) as error:
        decode_request(parse_json(body, limits=LIMITS))

    assert error.value.status == 400
    assert "Span 's' (span_id eee19b7ec3c1b174) has an invalid trace_id" in error.value.message


EVERY_KIND_OF_VALUE = {
    "text": "hello",
    "flag": True,
    "count": 7,
    "ratio": 0.5,
    "nan": float("nan"),
    "infinite": float("-inf"),
    "blob": b"\x00\x01",
    "list": [1, "two", [3.0, False]],
    "mapping": {"inner": {"deep": "x"}, "n": 1},
    "metadata": '{"topic": "weather"}',
}


def as_otlp_json(request) -> bytes:
    """The request in OTLP/JSON, as exporters write it: the protobuf JSON mapping with hex ids."""
    document = json_format.MessageToDict(request)
    for resource in document["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for field in ("traceId", "spanId", "parentSpanId"):
                    if field in span:
                        span[field] = base64.b64decode(span[field]).hex()
    return json.dumps(document).encode()


def test_otlp_json_attributes_of_every_kind_decode_as_their_protobuf_does():
    event = Span.Event(name="e", time_unix_nano=START_NS, attributes=key_values(EVERY_KIND_OF_VALUE))
    request = export_request(
        otlp_span(attributes=EVERY_KIND_OF_VALUE, events=[event]),
        resource={"openinference.project.name": "p"},
    )

    from_json = decode_request(parse_json(as_otlp_json(request), limits=LIMITS))

    assert from_json == decode_request(request)


def test_otlp_json_attribute_values_by_field_name_and_numbers_as_numbers_are_read():
    span = {
        "name": "s",
        "traceId": "1" * 32,
        "spanId": "2" * 16,
        "attributes": [
            {"key": "a", "value": {"int_value": 5}},
            {"key": "b", "value": {"doubleValue": 2}},
            {"key": "c", "value": {"intValue": 3.0}},
            {"key": "d", "value": {"stringValue": None}},
        ],
    }
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()

    (record,) = decode_request(parse_json(body, limits=LIMITS))

    assert record.attributes == {"a": 5, "b": 2.0, "c": 3, "d": None}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"intValue": "many"}, "attribute 'k': invalid literal for int()"),
        ({"intValue": str(2**64)}, "attribute 'k': "),
        ({"doubleValue": 10**400}, "attribute 'k': "),
        ({"stringValue": 5}, "attribute 'k': string_value must be a str, not 5"),
        ({"boolValue": "yes"}, "attribute 'k': bool_value must be a bool"),
        ({"bytesValue": "not base64!"}, "attribute 'k': "),
        ({"stringValue": "a", "intValue": "1"}, "attribute 'k': a value holds one of"),
        ({"arrayValue": [1]}, "attribute 'k': arrayValue must be an object with a values list"),
        ("plain", "attribute 'k': a value must be a JSON object"),
    ],
)
def test_a_bad_otlp_json_attribute_value_is_a_422_naming_the_attribute(value, message):
    span = {
        "name": "s",
        "traceId": "1" * 32,
        "spanId": "2" * 16,
        "attributes": [{"key": "k", "value": value}],
    }
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()

    with pytest.raises(OtlpError) as error:
        parse_json(body, limits=LIMITS)

    assert error.value.status == 422
    assert message in error.value.message
