"""Build OTLP ExportTraceServiceRequests by hand, field by field, for decoder and view tests."""

from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

START_NS = 1_767_268_800_000_000_000  # 2026-01-01T12:00:00Z


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        return AnyValue(kvlist_value=KeyValueList(values=key_values(value)))
    raise TypeError(value)


def key_values(attributes: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=any_value(value)) for key, value in attributes.items()]


def otlp_span(
    *,
    trace_id: int = 1,
    span_id: int = 1,
    parent_id: int | None = None,
    name: str = "span",
    attributes: dict[str, Any] | None = None,
    start_ns: int = START_NS,
    duration_ns: int = 250_000_000,
    status_code: int = 0,
    status_message: str = "",
    events: list[Span.Event] | None = None,
) -> Span:
    return Span(
        trace_id=trace_id.to_bytes(16, "big"),
        span_id=span_id.to_bytes(8, "big"),
        parent_span_id=parent_id.to_bytes(8, "big") if parent_id is not None else b"",
        name=name,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=start_ns + duration_ns,
        attributes=key_values(attributes or {}),
        status=Status(code=status_code, message=status_message),
        events=events or [],
    )


def export_request(*spans: Span, resource: dict[str, Any] | None = None) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=key_values(resource or {})),
                scope_spans=[ScopeSpans(spans=list(spans))],
            )
        ]
    )


def chat_turn(number: int, *, root: dict[str, Any], llm: dict[str, Any] | None = None) -> tuple[Span, Span]:
    """Turn `number` of a conversation, a minute after turn `number - 1`: trace `number`, a CHAIN root
    (span `number * 10`) with the `root` attributes and an LLM child (span `number * 10 + 1`) with the `llm`
    ones."""
    start = START_NS + number * 60_000_000_000
    return (
        otlp_span(
            trace_id=number,
            span_id=number * 10,
            name="turn",
            start_ns=start,
            attributes={"openinference.span.kind": "CHAIN", **root},
        ),
        otlp_span(
            trace_id=number,
            span_id=number * 10 + 1,
            parent_id=number * 10,
            name="llm",
            start_ns=start,
            attributes={"openinference.span.kind": "LLM", **(llm or {})},
        ),
    )
