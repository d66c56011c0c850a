"""Input and output of spans that describe themselves in OpenTelemetry GenAI terms, filled at decode time."""

import json

from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan

from phoenix_annot.ingest.otlp import SpanRecord, decode_request
from tests.ingest.builders import START_NS, export_request, key_values, otlp_span

GENAI_CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.input.messages": json.dumps(
        [{"role": "user", "parts": [{"type": "text", "content": "Weather?"}]}]
    ),
    "gen_ai.output.messages": json.dumps(
        [{"role": "assistant", "parts": [{"type": "text", "content": "Sunny."}]}]
    ),
}


def decode_one(**kwargs: object) -> SpanRecord:
    [record] = decode_request(export_request(otlp_span(**kwargs)))
    return record


def test_a_genai_chat_span_gets_input_and_output_columns_and_the_matching_openinference_attributes():
    record = decode_one(attributes=GENAI_CHAT)

    assert (record.span_kind, record.output_value, record.output_mime_type) == ("LLM", "Sunny.", "text/plain")
    assert json.loads(record.input_value) == {"messages": [{"role": "user", "content": "Weather?"}]}
    assert record.input_mime_type == "application/json"
    assert record.attributes["input"] == {"value": record.input_value, "mime_type": "application/json"}
    assert record.attributes["output"] == {"value": "Sunny.", "mime_type": "text/plain"}
    # The GenAI attributes are stored as sent.
    assert record.attributes["gen_ai"]["input"]["messages"] == GENAI_CHAT["gen_ai.input.messages"]


def test_openinference_input_and_output_values_win_over_genai_messages():
    record = decode_one(attributes={**GENAI_CHAT, "input.value": "OI input", "output.value": "OI output"})

    assert (record.input_value, record.output_value) == ("OI input", "OI output")
    assert record.attributes["input"] == {"value": "OI input"}


def test_each_value_the_span_lacks_is_filled_on_its_own():
    record = decode_one(attributes={**GENAI_CHAT, "output.value": "OI output"})

    assert json.loads(record.input_value)["messages"][0]["content"] == "Weather?"
    assert record.output_value == "OI output"


def test_message_events_of_older_instrumentations_fill_the_columns():
    events = [
        OtlpSpan.Event(
            name="gen_ai.user.message", time_unix_nano=START_NS, attributes=key_values({"content": "Hi"})
        ),
        OtlpSpan.Event(
            name="gen_ai.choice",
            time_unix_nano=START_NS,
            attributes=key_values({"gen_ai.event.content": json.dumps({"message": {"content": "Hello"}})}),
        ),
    ]

    record = decode_one(attributes={"gen_ai.operation.name": "chat"}, events=events)

    assert json.loads(record.input_value) == {"messages": [{"role": "user", "content": "Hi"}]}
    assert record.output_value == "Hello"


def test_a_scalar_input_attribute_is_kept_and_the_column_still_filled():
    record = decode_one(attributes={**GENAI_CHAT, "input": "a scalar some SDK sends"})

    assert record.attributes["input"] == "a scalar some SDK sends"
    assert json.loads(record.input_value)["messages"][0]["content"] == "Weather?"


def test_spans_without_genai_content_keep_empty_columns():
    record = decode_one(attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})

    assert (record.input_value, record.output_value) == ("", "")
    assert "input" not in record.attributes and "output" not in record.attributes
