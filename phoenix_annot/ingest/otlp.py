"""Pure OTLP decoding: request bytes -> SpanRecords. No ORM here, so it is cheap to test and to reuse.

Follows Phoenix's rules (PHOENIX_COMPAT.md §1.2): lowercase hex ids, attributes unflattened by dot
segments, JSON-string attributes parsed, OpenInference span kind upper-cased, OTLP status names.
"""

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan

from phoenix_annot.core.jsonsafe import clean_text, finite_or_text, storable_json
from phoenix_annot.core.numbers import ascii_int
from phoenix_annot.tracing import openinference
from phoenix_annot.tracing.models import DEFAULT_PROJECT_NAME, SpanKind, StatusCode, session_id_from_attribute

PROJECT_NAME_ATTRIBUTE = "openinference.project.name"
SPAN_KIND_ATTRIBUTE = "openinference.span.kind"
PROJECT_NAME_MAX_LENGTH = 255
# Attributes that instrumentations send as JSON text; stored parsed, as Phoenix does.
JSON_STRING_ATTRIBUTES = frozenset({"metadata", "llm.prompt_template.variables", "tool.parameters"})
JSON_STRING_ATTRIBUTE_SUFFIX = "document.metadata"
TOKEN_COUNT_ATTRIBUTES = ("llm.token_count.prompt", "llm.token_count.completion", "llm.token_count.total")
# The largest token count stored in the count columns: far beyond any real call, and small enough that a
# trace's roll-ups and the cumulative filters, sums over its spans, cannot overflow a 64-bit column.
MAX_TOKEN_COUNT = 2**31 - 1
# The largest llm.cost.total added up, for the same reason; NaN and Infinity fail the comparison too.
MAX_COST = 1e12
# OpenTelemetry GenAI semantic conventions -> OpenInference; attributes the span already has win.
GEN_AI_ATTRIBUTES = {
    "gen_ai.request.model": "llm.model_name",
    "gen_ai.response.model": "llm.model_name",
    "gen_ai.system": "llm.system",
    "gen_ai.provider.name": "llm.provider",
    "gen_ai.usage.input_tokens": "llm.token_count.prompt",
    "gen_ai.usage.output_tokens": "llm.token_count.completion",
    "gen_ai.conversation.id": "session.id",
}
GEN_AI_OPERATION_KINDS = {
    "chat": SpanKind.LLM,
    "text_completion": SpanKind.LLM,
    "generate_content": SpanKind.LLM,
    "embeddings": SpanKind.EMBEDDING,
    "execute_tool": SpanKind.TOOL,
    "invoke_agent": SpanKind.AGENT,
    "create_agent": SpanKind.AGENT,
}
SPAN_KINDS = frozenset(SpanKind.values)
ANY_VALUE_FIELDS = AnyValue.DESCRIPTOR.oneofs_by_name["value"].fields
ANY_VALUE_FIELD_NAMES = tuple(field.name for field in ANY_VALUE_FIELDS)
# AnyValue's JSON names and field names, both of which the protobuf JSON mapping reads, -> field name.
ANY_VALUE_JSON_FIELDS = {
    **{field.json_name: field.name for field in ANY_VALUE_FIELDS},
    **{field.name: field.name for field in ANY_VALUE_FIELDS},
}
# The JSON type of each AnyValue field that is not a number (bytes are base64 text).
JSON_SCALAR_TYPES = {"string_value": str, "bool_value": bool, "bytes_value": str}
STATUS_CODES = {0: StatusCode.UNSET, 1: StatusCode.OK, 2: StatusCode.ERROR}
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIME_TYPE_MAX_LENGTH = 100
MODEL_NAME_MAX_LENGTH = 255


@dataclass(frozen=True)
class RequestLimits:
    """What one request may hold; past either a 413, checked before any span is decoded."""

    spans: int
    attributes: int

    def check_spans(self, count: int) -> None:
        _check_limit(count, self.spans, "spans", "PHOENIX_ANNOT_OTLP_MAX_SPANS_PER_REQUEST")

    def check_attributes(self, count: int) -> None:
        _check_limit(count, self.attributes, "attributes", "PHOENIX_ANNOT_OTLP_MAX_ATTRIBUTES_PER_REQUEST")


def _check_limit(count: int, limit: int, what: str, setting: str) -> None:
    if count > limit:
        raise OtlpError(
            413,
            f"Request holds {count} {what}, more than the limit of {limit} ({setting}); "
            "nothing was stored: send smaller batches",
        )


class OtlpError(Exception):
    """A request we refuse; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class SpanRecord:
    project_name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    span_kind: str
    start_time: datetime
    end_time: datetime
    status_code: str
    status_message: str
    attributes: dict[str, Any]
    events: list[dict[str, Any]]
    input_value: str
    input_mime_type: str
    output_value: str
    output_mime_type: str
    llm_model_name: str
    llm_token_count_prompt: int | None
    llm_token_count_completion: int | None
    llm_token_count_total: int | None
    llm_cost_total: float | None = None
    session_id: str | None = None

    @property
    def latency_ms(self) -> float:
        return (self.end_time - self.start_time) / timedelta(milliseconds=1)


def parse_protobuf(body: bytes, *, limits: RequestLimits) -> ExportTraceServiceRequest:
    """The request, refused with a 413 when it holds more spans or attributes than `limits` allow."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise OtlpError(422, f"Request body is invalid ExportTraceServiceRequest: {exc}") from exc
    spans = [
        span for resource in request.resource_spans for scope in resource.scope_spans for span in scope.spans
    ]
    limits.check_spans(len(spans))
    limits.check_attributes(
        sum(len(span.attributes) + sum(len(event.attributes) for event in span.events) for span in spans)
    )
    return request


def parse_json(body: bytes, *, limits: RequestLimits) -> ExportTraceServiceRequest:
    """OTLP/JSON: the protobuf JSON mapping, except that trace and span ids are hex, not base64.

    Spans and attributes are counted before the (slow) mapping runs, so too many are refused at the cost of
    json.loads.
    """
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise OtlpError(400, f"Request body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise OtlpError(422, "Request body is invalid ExportTraceServiceRequest: expected a JSON object")
    spans = [
        span
        for resource_spans in _json_list(document, "resourceSpans", "resource_spans")
        for scope_spans in _json_list(resource_spans, "scopeSpans", "scope_spans")
        for span in _json_list(scope_spans, "spans")
    ]
    limits.check_spans(len(spans))
    limits.check_attributes(
        sum(
            len(_json_list(span, "attributes"))
            + sum(len(_json_list(event, "attributes")) for event in _json_list(span, "events"))
            for span in spans
        )
    )
    attributes = []
    for span in spans:
        _hex_ids_to_base64(span)
        for link in _json_list(span, "links"):
            _hex_ids_to_base64(link, span_name=_json_span_name(span))
        attributes.append(_pop_json_attributes(span))
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
        parsed = [
            span
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]
        for span, (span_attributes, event_attributes) in zip(parsed, attributes, strict=True):
            span.attributes.extend(_json_key_values(span_attributes))
            for event, items in zip(span.events, event_attributes, strict=True):
                event.attributes.extend(_json_key_values(items))
    except (
        json_format.ParseError,
        ValueError,
        TypeError,
        OverflowError,
        RecursionError,
        binascii.Error,
    ) as exc:
        raise OtlpError(422, f"Request body is invalid ExportTraceServiceRequest: {exc}") from exc
    return request


def _pop_json_attributes(span: Any) -> tuple[list[Any], list[list[Any]]]:
    """The attribute lists of a JSON span and of its events, taken out of it: the protobuf JSON mapping
    spends some 50 µs on each attribute, _json_key_values a tenth of that."""
    events = _json_list(span, "events")
    lists = [node.pop("attributes") if _json_list(node, "attributes") else [] for node in [span, *events]]
    return lists[0], lists[1:]


def _json_key_values(items: list[Any]) -> list[KeyValue]:
    key_values = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError(f"an attribute must be a JSON object, not {item!r:.40}")
        key = item.get("key", "")
        if not isinstance(key, str):
            raise ValueError(f"an attribute key must be a string, not {key!r:.40}")
        try:
            key_values.append(KeyValue(key=key, value=_json_any_value(item.get("value"))))
        except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
            raise ValueError(f"attribute {key[:64]!r}: {exc}") from exc
    return key_values


def _json_any_value(node: Any) -> AnyValue:
    """An AnyValue from its JSON mapping (camelCase or field names), as json_format reads it."""
    if node is None:
        return AnyValue()
    if not isinstance(node, dict):
        raise ValueError(f"a value must be a JSON object, not {node!r:.40}")
    present = [name for name in node if name in ANY_VALUE_JSON_FIELDS]
    if len(present) > 1:
        raise ValueError(f"a value holds one of {', '.join(ANY_VALUE_FIELD_NAMES)}, not several")
    raw = node[present[0]] if present else None
    if raw is None:
        return AnyValue()
    field = ANY_VALUE_JSON_FIELDS[present[0]]
    if field in ("array_value", "kvlist_value"):
        values = raw.get("values", []) if isinstance(raw, dict) else None
        if not isinstance(values, list):
            raise ValueError(f"{present[0]} must be an object with a values list")
        if field == "array_value":
            return AnyValue(array_value=ArrayValue(values=[_json_any_value(value) for value in values]))
        return AnyValue(kvlist_value=KeyValueList(values=_json_key_values(values)))
    return AnyValue(**{field: _json_scalar(field, raw)})


def _json_scalar(field: str, raw: Any) -> Any:
    expected = JSON_SCALAR_TYPES.get(field)
    if expected is not None:
        if not isinstance(raw, expected):
            raise ValueError(f"{field} must be a {expected.__name__}, not {raw!r:.40}")
        return base64.b64decode(raw, validate=True) if field == "bytes_value" else raw
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ValueError(f"{field} must be a number, not {raw!r:.40}")
    if field == "double_value":
        return float(raw)
    number = int(raw) if isinstance(raw, str) else raw
    if isinstance(number, float) and not number.is_integer():
        raise ValueError(f"int_value must be a whole number, not {raw!r:.40}")
    return int(number)


def decode_request(
    request: ExportTraceServiceRequest, *, project_name: str | None = None
) -> list[SpanRecord]:
    """Every span of the request; `project_name` (the x-project-name header) beats resource attributes."""
    return list(iter_span_records(request, project_name=project_name))


def iter_span_records(
    request: ExportTraceServiceRequest, *, project_name: str | None = None
) -> Iterator[SpanRecord]:
    """decode_request one span at a time, for a caller that stores them in batches as they come."""
    for resource_spans in request.resource_spans:
        resource_project = _resource_project_name(resource_spans.resource.attributes)
        target_project = _checked_project_name(project_name or resource_project or DEFAULT_PROJECT_NAME)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield decode_span(span, project_name=target_project)


def decode_span(span: OtlpSpan, *, project_name: str) -> SpanRecord:
    # Some SDKs send eight zero bytes rather than nothing for a root span.
    has_parent = any(span.parent_span_id)
    start_time = _timestamp(span.start_time_unix_nano)
    return span_record(
        project_name=project_name,
        trace_id=_hex_id(span, "trace_id", span.trace_id, 16),
        span_id=_hex_id(span, "span_id", span.span_id, 8),
        parent_id=_hex_id(span, "parent_span_id", span.parent_span_id, 8) if has_parent else None,
        name=clean_text(span.name),
        start_time=start_time,
        end_time=_timestamp(span.end_time_unix_nano),
        status_code=STATUS_CODES.get(span.status.code, StatusCode.UNSET),
        status_message=clean_text(span.status.message),
        flat_attributes={clean_text(kv.key): any_value(kv.value) for kv in span.attributes},
        events=[_event(event) for event in span.events],
    )


def span_record(
    *,
    project_name: str,
    trace_id: str,
    span_id: str,
    parent_id: str | None,
    name: str,
    start_time: datetime,
    end_time: datetime,
    status_code: str,
    status_message: str,
    flat_attributes: dict[str, Any],
    events: list[dict[str, Any]],
) -> SpanRecord:
    """A record from already-decoded parts; attributes are flat dotted keys, normalised here."""
    flat = flat_attributes
    _normalise_flat_attributes(flat)
    input_value, input_mime_type = _value_and_mime_type(flat, "input")
    output_value, output_mime_type = _value_and_mime_type(flat, "output")
    attributes = unflatten(flat)
    genai_input, genai_output = openinference.fill_genai_values(attributes, events)
    if genai_input:
        input_value, input_mime_type = genai_input
    if genai_output:
        output_value, output_mime_type = genai_output
    model_name = flat.get("llm.model_name")
    return SpanRecord(
        project_name=project_name,
        trace_id=trace_id,
        span_id=span_id,
        parent_id=parent_id,
        name=name,
        span_kind=_span_kind(flat.get(SPAN_KIND_ATTRIBUTE)),
        start_time=start_time,
        end_time=max(end_time, start_time),
        status_code=status_code,
        status_message=status_message,
        attributes=attributes,
        events=events,
        input_value=input_value,
        input_mime_type=input_mime_type[:MIME_TYPE_MAX_LENGTH],
        output_value=output_value,
        output_mime_type=output_mime_type[:MIME_TYPE_MAX_LENGTH],
        llm_model_name=model_name[:MODEL_NAME_MAX_LENGTH] if isinstance(model_name, str) else "",
        llm_token_count_prompt=_counted(flat.get("llm.token_count.prompt")),
        llm_token_count_completion=_counted(flat.get("llm.token_count.completion")),
        llm_token_count_total=_counted(flat.get("llm.token_count.total")),
        llm_cost_total=_cost(flat.get("llm.cost.total")),
        session_id=session_id_from_attribute(flat.get("session.id")),
    )


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return clean_text(value.string_value)
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return finite_or_text(value.double_value)
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {clean_text(kv.key): any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """{"llm.input_messages.0.message.role": "user"} -> {"llm": {"input_messages": [{"message": {...}}]}}.

    A key that runs into a scalar stored at one of its prefixes is kept whole, dotted, beside that scalar,
    so no attribute is ever dropped.
    """
    root: dict[str, Any] = {}
    # Mappings that received a numeric segment, with where they hang: only these may become lists.
    numbered: dict[int, tuple[dict[str, Any], str]] = {}
    for key in sorted(flat):
        parts = key.split(".")
        parent: dict[str, Any] = {"": root}
        node, node_key = root, ""
        for index, part in enumerate(parts):
            if ascii_int(part) is not None:
                numbered[id(node)] = (parent, node_key)
            if index == len(parts) - 1:
                node[part] = flat[key]
                break
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                node[".".join(parts[index:])] = flat[key]
                break
            parent, node, node_key = node, child, part
    for parent, key in numbered.values():
        parent[key] = _as_list(parent[key])
    return root


def _as_list(node: dict[str, Any]) -> dict[str, Any] | list[Any]:
    """Keys 0..n-1 make a list; any other set of keys stays a mapping, so no index is invented."""
    positions = [str(index) for index in range(len(node))]
    if set(node) == set(positions):
        return [node[position] for position in positions]
    return node


def _normalise_flat_attributes(flat: dict[str, Any]) -> None:
    for source, target in GEN_AI_ATTRIBUTES.items():
        if source in flat:
            flat.setdefault(target, flat[source])
    operation = flat.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation in GEN_AI_OPERATION_KINDS:
        flat.setdefault(SPAN_KIND_ATTRIBUTE, GEN_AI_OPERATION_KINDS[operation].value)
    for key, value in flat.items():
        if isinstance(value, str) and (
            key in JSON_STRING_ATTRIBUTES or key.endswith(JSON_STRING_ATTRIBUTE_SUFFIX)
        ):
            flat[key] = _parsed_json_or_text(value)
    for key in TOKEN_COUNT_ATTRIBUTES:
        if key in flat:
            count = _as_int(flat[key])
            if count is None:
                del flat[key]
            elif abs(count) > MAX_TOKEN_COUNT:
                # Kept as the exporter sent it, as text, so nothing is lost and nothing adds it up.
                flat[key] = str(flat[key])
            else:
                flat[key] = count
    parts = [flat[key] for key in TOKEN_COUNT_ATTRIBUTES[:2] if key in flat]
    if "llm.token_count.total" not in flat and parts and all(isinstance(part, int) for part in parts):
        flat["llm.token_count.total"] = sum(parts)


def _value_and_mime_type(flat: dict[str, Any], prefix: str) -> tuple[str, str]:
    value = flat.get(f"{prefix}.value")
    mime_type = flat.get(f"{prefix}.mime_type")
    mime_type = mime_type if isinstance(mime_type, str) else ""
    if value is None:
        return "", mime_type
    if not isinstance(value, str):
        value = json.dumps(value)
        mime_type = "application/json"
        flat[f"{prefix}.value"] = value
        flat[f"{prefix}.mime_type"] = mime_type
    return value, mime_type


def _span_kind(value: Any) -> str:
    if isinstance(value, str) and value.upper() in SPAN_KINDS:
        return value.upper()
    return SpanKind.UNKNOWN


def _event(event: OtlpSpan.Event) -> dict[str, Any]:
    return {
        "name": clean_text(event.name),
        "timestamp": _timestamp(event.time_unix_nano).isoformat(),
        "attributes": {clean_text(kv.key): any_value(kv.value) for kv in event.attributes},
    }


def _resource_project_name(attributes: Iterable[KeyValue]) -> str | None:
    for kv in attributes:
        if kv.key == PROJECT_NAME_ATTRIBUTE and kv.value.WhichOneof("value") == "string_value":
            return kv.value.string_value.strip() or None
    return None


def _checked_project_name(name: str) -> str:
    if len(name) > PROJECT_NAME_MAX_LENGTH:
        raise OtlpError(
            400, f"Project name is longer than {PROJECT_NAME_MAX_LENGTH} characters: {name[:40]}…"
        )
    return clean_text(name)


def _hex_id(span: OtlpSpan, field: str, raw: bytes, size: int) -> str:
    if len(raw) != size or not any(raw):
        raise OtlpError(
            400,
            f"Span {span.name!r} (span_id {span.span_id.hex() or '<empty>'}) has an invalid {field}: "
            f"expected {size} bytes, not all zero, got {len(raw)} bytes",
        )
    return raw.hex()


def _timestamp(unix_nano: int) -> datetime:
    return UNIX_EPOCH + timedelta(microseconds=unix_nano // 1000)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        number = ascii_int(text.removeprefix("-"))
        return None if number is None else -number if text.startswith("-") else number
    return None


def _counted(value: Any) -> int | None:
    """A normalised token count: an int, or None for one kept as text or never sent."""
    return value if isinstance(value, int) else None


def _cost(value: Any) -> float | None:
    """A cost to add up: a number, not a bool, within MAX_COST (so no sum of costs can overflow)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if abs(value) <= MAX_COST else None


def _parsed_json_or_text(text: str) -> Any:
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return storable_json(parsed)


def _json_list(node: Any, *keys: str) -> list[Any]:
    if not isinstance(node, dict):
        return []
    for key in keys:
        value = node.get(key)
        if isinstance(value, list):
            return value
    return []


def _json_span_name(span: dict[str, Any]) -> str:
    name = span.get("name")
    return name if isinstance(name, str) else ""


def _hex_ids_to_base64(node: Any, *, span_name: str | None = None) -> None:
    if not isinstance(node, dict):
        return
    name = span_name if span_name is not None else _json_span_name(node)
    for camel, snake in (("traceId", "trace_id"), ("spanId", "span_id"), ("parentSpanId", "parent_span_id")):
        for key in (camel, snake):
            value = node.get(key)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                raise OtlpError(400, f"Span {name!r} has an invalid {snake}: expected a hex string")
            try:
                node[key] = base64.b64encode(binascii.unhexlify(value)).decode()
            except (binascii.Error, ValueError) as exc:
                raise OtlpError(
                    400, f"Span {name!r} has an invalid {snake} {value[:64]!r}: expected hex"
                ) from exc
