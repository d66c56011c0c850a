"""POST /v1/traces: OTLP/HTTP, protobuf or JSON, synchronous: a 200 means every span is stored but those its
`partial_success` counts as rejected."""

import logging
import zlib

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from phoenix_annot.accounts.auth import authenticate_v1
from phoenix_annot.core.responses import plain_text_response

from .otlp import OtlpError, RequestLimits, iter_span_records, parse_json, parse_protobuf
from .services import IngestRefused, RejectedSpan, spans_ingest

logger = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# wbits for zlib: gzip framing, zlib framing (what HTTP calls deflate), raw deflate (what some clients send).
DECOMPRESSION_WBITS = {"gzip": (16 + zlib.MAX_WBITS,), "deflate": (zlib.MAX_WBITS, -zlib.MAX_WBITS)}
# Rejected spans named in a partial_success message; the count covers the rest.
MAX_REJECTED_EXAMPLES = 10


@csrf_exempt
@require_POST
def otlp_traces(request: HttpRequest) -> HttpResponse:
    user, failure = authenticate_v1(request, write=True)
    if failure is not None:
        return failure.response()
    try:
        export_request, content_type = _parse(request)
        records = iter_span_records(
            export_request, project_name=request.headers.get("x-project-name", "").strip() or None
        )
        result = spans_ingest(records=records, writer=user or AnonymousUser())
    except OtlpError as exc:
        return plain_text_response(exc.status, exc.message)
    except IngestRefused as exc:
        return plain_text_response(403, str(exc))
    except (OperationalError, InterfaceError):
        # The database is down or restarting: a retryable status lets the exporter try again later.
        logger.exception("database unavailable during OTLP ingest")
        return plain_text_response(503, "Database unavailable; nothing was stored. Retry later.")
    except (DataError, IntegrityError) as exc:
        logger.exception("OTLP spans could not be stored")
        return plain_text_response(422, f"Spans could not be stored; nothing was stored: {exc}")
    except DatabaseError:
        logger.exception("database error during OTLP ingest")
        return plain_text_response(503, "Database error; nothing was stored. Retry later.")
    response = _export_response(result.rejected)
    if content_type == JSON:
        return HttpResponse(json_format.MessageToJson(response, indent=None), content_type=JSON)
    return HttpResponse(response.SerializeToString(), content_type=PROTOBUF)


def _export_response(rejected: tuple[RejectedSpan, ...]) -> ExportTraceServiceResponse:
    """Empty when every span is stored; else `partial_success` counts and names the spans that were not, as
    the OTLP specification asks, so that the exporter logs them and does not retry them."""
    response = ExportTraceServiceResponse()
    if rejected:
        examples = "; ".join(
            f"span_id {span.span_id} of trace {span.trace_id} (stored in trace {span.holding_trace_id})"
            for span in rejected[:MAX_REJECTED_EXAMPLES]
        )
        more = (
            f"; and {len(rejected) - MAX_REJECTED_EXAMPLES} more"
            if len(rejected) > MAX_REJECTED_EXAMPLES
            else ""
        )
        response.partial_success.rejected_spans = len(rejected)
        response.partial_success.error_message = (
            f"{len(rejected)} spans not stored: their span_id belongs to a span of another trace "
            f"(span ids must be unique across traces): {examples}{more}"
        )
    return response


def _parse(request: HttpRequest) -> tuple[ExportTraceServiceRequest, str]:
    content_type = request.content_type
    if content_type not in (PROTOBUF, JSON):
        raise OtlpError(
            415,
            f"Unsupported content type: {request.META.get('CONTENT_TYPE', '')}; send {PROTOBUF} or {JSON}",
        )
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity", *DECOMPRESSION_WBITS):
        raise OtlpError(415, f"Unsupported content encoding: {encoding}; send gzip, deflate or none")
    limit = settings.OTLP_MAX_BODY_BYTES
    body = _read_limited(request, limit)
    if not body:
        # No exporter sends an empty export: an empty body is one the server failed to read (a chunked body
        # under a server that cannot decode it), and a 200 would tell the exporter its spans were stored.
        raise OtlpError(400, "Request body is empty; send an ExportTraceServiceRequest")
    if encoding in DECOMPRESSION_WBITS:
        body = _decompress(body, encoding, limit)
    parse = parse_protobuf if content_type == PROTOBUF else parse_json
    limits = RequestLimits(
        spans=settings.OTLP_MAX_SPANS_PER_REQUEST, attributes=settings.OTLP_MAX_ATTRIBUTES_PER_REQUEST
    )
    parsed = parse(body, limits=limits)
    return parsed, content_type


def _too_large(limit: int) -> OtlpError:
    return OtlpError(
        413, f"Request body is larger than the {limit} byte limit (PHOENIX_ANNOT_OTLP_MAX_BODY_BYTES)"
    )


def _read_limited(request: HttpRequest, limit: int) -> bytes:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise _too_large(limit)
    body = request.read(limit + 1)
    if len(body) > limit:
        raise _too_large(limit)
    return body


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Decompress at most `limit` bytes, so a small gzip bomb cannot take the server's memory."""
    last_error: zlib.error | None = None
    for wbits in DECOMPRESSION_WBITS[encoding]:
        try:
            return _inflate(body, wbits, limit)
        except zlib.error as exc:
            last_error = exc
    raise OtlpError(400, f"Request body is not valid {encoding} data: {last_error}")


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    output = bytearray()
    remaining = body
    # A gzip body may hold several members back to back; each gets its own decompressor.
    while remaining:
        decompressor = zlib.decompressobj(wbits)
        output += decompressor.decompress(remaining, limit + 1 - len(output))
        if len(output) > limit or decompressor.unconsumed_tail:
            raise _too_large(limit)
        if not decompressor.eof:
            raise zlib.error("the compressed data is truncated")
        remaining = decompressor.unused_data
    return bytes(output)
