"""Spans and traces over REST (PHOENIX_COMPAT.md §1.3, §3.4, §3.5)."""

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import Count, F, QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from phoenix_annot.accounts.access import visible_projects
from phoenix_annot.core.globalid import GlobalIDError, from_global_id, to_global_id
from phoenix_annot.core.jsonsafe import storable_json
from phoenix_annot.core.keyset import keyset_after
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.filtering.timeout import FilterTimeout, filter_time_limit
from phoenix_annot.ingest.otlp import SPAN_KIND_ATTRIBUTE, OtlpError, SpanRecord, span_record
from phoenix_annot.ingest.services import spans_ingest
from phoenix_annot.tracing.attributes import flatten_attributes
from phoenix_annot.tracing.models import DEFAULT_PROJECT_NAME, Project, Span, SpanKind, StatusCode, Trace
from phoenix_annot.tracing.services import span_delete

from ..auth import V1Read
from ..errors import PlainError
from ..lookups import project_for, reached
from ..params import (
    LimitField,
    LiteralField,
    NonNegativeNumber,
    PhoenixFilterBackend,
    PhoenixPagination,
    QueryBool,
    QueryDateTime,
    QueryList,
    QueryParams,
)
from ..schema import (
    PROJECT_NOT_FOUND,
    PROJECT_PATH,
    cursor_field,
    errors,
    page_envelope,
    path_param,
    query,
)
from ..span_query import MAX_LIMIT as MAX_QUERY_LIMIT
from ..span_query import SpanQueryError, SpanQueryInput, run_query, spans_in_range, table_json
from ..wire import AwareDateTimeField, iso, page, validated
from .sessions import sessions_named

MAX_SPANS_PER_LOG_REQUEST = 10_000
MAX_PAGE_SIZE = 1000
# With include_spans, a page of traces holds at most this many spans in all: it ends before the first
# trace whose spans would pass it (next_cursor names that trace), and a first trace with more spans
# than this lists only its earliest ones. A 1,000-trace page of big traces was 63 MB and 713 MB of worker.
MAX_SPANS_PER_TRACE_PAGE = 10_000


class SpanContextOut(serializers.Serializer):
    trace_id = serializers.CharField()
    span_id = serializers.CharField()


class SpanOut(serializers.Serializer):
    """Phoenix's Span JSON, written by `span_data`: documented field by field, built without them."""

    id = serializers.CharField(help_text="Span GlobalID")
    name = serializers.CharField(allow_blank=True)
    context = SpanContextOut()
    span_kind = serializers.ChoiceField(choices=SpanKind.values)
    parent_id = serializers.CharField(allow_null=True)
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()
    status_code = serializers.ChoiceField(choices=StatusCode.values)
    status_message = serializers.CharField(allow_blank=True)
    attributes = serializers.DictField(help_text="Flattened to dotted keys; lists of objects get indexes.")
    events = serializers.ListField(child=serializers.DictField())

    def to_representation(self, instance: Span) -> dict[str, Any]:
        return span_data(instance)


def span_data(span: Span) -> dict[str, Any]:
    attributes = flatten_attributes(span.attributes)
    kind = attributes.pop(SPAN_KIND_ATTRIBUTE, None)
    return {
        "id": to_global_id("Span", span.pk),
        "name": span.name,
        "context": {"trace_id": span.otel_trace_id, "span_id": span.span_id},
        "span_kind": kind.upper() if isinstance(kind, str) and kind.upper() in SpanKind.values else "UNKNOWN",
        "parent_id": span.parent_id,
        "start_time": iso(span.start_time),
        "end_time": iso(span.end_time),
        "status_code": span.status_code,
        "status_message": span.status_message,
        "attributes": attributes,
        "events": span.events,
    }


class SpanContextInput(serializers.Serializer):
    trace_id = serializers.RegexField(r"^[0-9a-f]{32}$")
    span_id = serializers.RegexField(r"^[0-9a-f]{16}$")


class SpanEventInput(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    timestamp = AwareDateTimeField()
    attributes = serializers.DictField(required=False, default=dict)


class LogSpanInput(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    context = SpanContextInput()
    span_kind = serializers.CharField(required=False, default="UNKNOWN")
    parent_id = serializers.RegexField(r"^[0-9a-f]{16}$", allow_null=True, required=False, default=None)
    start_time = AwareDateTimeField()
    end_time = AwareDateTimeField()
    status_code = serializers.CharField(required=False, default="UNSET")
    status_message = serializers.CharField(allow_blank=True, required=False, default="")
    attributes = serializers.DictField(required=False, default=dict)
    events = SpanEventInput(many=True, required=False, default=list)


class LogSpansBody(serializers.Serializer):
    data = LogSpanInput(many=True, max_length=MAX_SPANS_PER_LOG_REQUEST)


class SpanPagination(PhoenixPagination):
    type_name, default_limit, max_limit = "Span", 100, MAX_PAGE_SIZE


class SpanListView(ListAPIView):
    """GET lists a project's spans, filtered by SpanFilter as the review page is; POST logs spans given as
    Phoenix Span JSON."""

    queryset = Span.objects.none()  # the model, for the OpenAPI document; get_queryset() is the query
    filter_backends = [PhoenixFilterBackend]
    filterset_class = SpanFilter
    pagination_class = SpanPagination
    serializer_class = SpanOut

    def get_queryset(self) -> QuerySet[Span]:
        project = project_for(self.request, self.kwargs["identifier"])
        return Span.objects.for_project(project).annotate(otel_trace_id=F("trace__trace_id"))

    @extend_schema(
        operation_id="getSpans",
        summary="List a project's spans, newest first",
        description="Phoenix's parameters, and every filter of the review page (SpanFilter).",
        parameters=[PROJECT_PATH],
        responses={
            200: SpanOut(many=True),
            **errors(
                {
                    404: PROJECT_NOT_FOUND,
                    422: "`Invalid span_kind values: [...]`, `Invalid status_code values: [...]`, "
                    "`Invalid attribute '<a>': ...` or `Invalid cursor format: <cursor>`.",
                }
            ),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with time_limited_filter():
            return self.list(request, *args, **kwargs)

    @extend_schema(
        operation_id="createSpans",
        summary="Log spans given as Phoenix Span JSON; all or nothing",
        parameters=[
            path_param("identifier", "A project GlobalID (must exist) or a name (created when missing).")
        ],
        request=inline_serializer("CreateSpansRequestBody", {"data": LogSpanInput(many=True)}),
        responses={
            202: inline_serializer(
                "CreateSpansResponseBody",
                {"total_received": serializers.IntegerField(), "total_queued": serializers.IntegerField()},
            ),
            **errors(
                {
                    400: "A JSON object as text: `error`, `total_received`, `total_queued`, "
                    "`total_duplicates`, `total_invalid`, `duplicate_spans`, `invalid_spans`.",
                    404: "`Project with ID <id> not found`.",
                }
            ),
        },
    )
    def post(self, request: Request, identifier: str) -> Response:
        project = self._project_for_logging(identifier)
        body = validated(LogSpansBody, request.data)
        records, invalid = [], []
        for item in body["data"]:
            try:
                records.append(log_record(item, project_name=project.name))
            except OtlpError as exc:
                invalid.append(
                    {
                        "span_id": item["context"]["span_id"],
                        "trace_id": item["context"]["trace_id"],
                        "error": exc.message,
                    }
                )
        # Stored already, or earlier in this request: a span_id names one span, whatever its trace.
        seen = set(
            Span.objects.filter(span_id__in=[r.span_id for r in records]).values_list("span_id", flat=True)
        )
        duplicates = []
        for record in records:
            if record.span_id in seen:
                duplicates.append({"span_id": record.span_id, "trace_id": record.trace_id})
            seen.add(record.span_id)
        if invalid or duplicates:
            raise PlainError(
                400,
                json.dumps(
                    {
                        "error": "Request contains invalid or duplicate spans",
                        "total_received": len(body["data"]),
                        "total_queued": 0,
                        "total_duplicates": len(duplicates),
                        "total_invalid": len(invalid),
                        "duplicate_spans": duplicates,
                        "invalid_spans": invalid,
                    }
                ),
            )
        spans_ingest(records=records)
        return Response({"total_received": len(records), "total_queued": len(records)}, status=202)

    def _project_for_logging(self, identifier: str) -> Project:
        try:
            from_global_id(identifier, "Project")
        except GlobalIDError:
            # A new name makes a project, as OTLP ingestion does; an existing one is reached as any other.
            if not Project.objects.filter(name=identifier).exists():
                project, _created = Project.objects.get_or_create(name=identifier)
                return project
        return project_for(self.request, identifier)


def log_record(item: dict[str, Any], *, project_name: str) -> SpanRecord:
    # The attributes and events are free JSON: cleaned as OTLP's JSON-string attributes are.
    flat = flatten_attributes(storable_json(item["attributes"]))
    kind = item["span_kind"].upper()
    flat[SPAN_KIND_ATTRIBUTE] = kind if kind in SpanKind.values else SpanKind.UNKNOWN
    status = item["status_code"].upper()
    return span_record(
        project_name=project_name,
        trace_id=item["context"]["trace_id"],
        span_id=item["context"]["span_id"],
        parent_id=item["parent_id"],
        name=item["name"],
        start_time=item["start_time"],
        end_time=item["end_time"],
        status_code=status if status in StatusCode.values else StatusCode.UNSET,
        status_message=item["status_message"],
        flat_attributes=flat,
        events=[storable_json({**event, "timestamp": iso(event["timestamp"])}) for event in item["events"]],
    )


class SpanDetailView(APIView):
    @extend_schema(
        operation_id="deleteSpan",
        summary="Delete one span (its children stay); an emptied trace goes too",
        parameters=[path_param("identifier", "A Span GlobalID or an OpenTelemetry span id.")],
        responses={204: None, **errors({404: "`Span with span_id '<id>' not found`"}, validation=False)},
    )
    def delete(self, request: Request, identifier: str) -> Response:
        try:
            _type, pk = from_global_id(identifier, "Span")
            lookup = {"pk": pk}
        except GlobalIDError:
            lookup = {"span_id": identifier}
        span = reached(request, Span.objects.all(), **lookup)
        if span is None:
            raise PlainError(404, f"Span with span_id '{identifier}' not found")
        span_delete(span=span)
        return Response(status=204)


class TraceSpanOut(serializers.Serializer):
    id = serializers.CharField(help_text="Span GlobalID")
    span_id = serializers.CharField()
    parent_id = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_blank=True)
    span_kind = serializers.ChoiceField(choices=SpanKind.values)
    status_code = serializers.ChoiceField(choices=StatusCode.values)
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()


class TraceOut(serializers.Serializer):
    """`trace_data`."""

    id = serializers.CharField(help_text="Trace GlobalID")
    trace_id = serializers.CharField()
    project_id = serializers.CharField(help_text="Project GlobalID")
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()
    token_count_prompt = serializers.IntegerField()
    token_count_completion = serializers.IntegerField()
    token_count_total = serializers.IntegerField()
    spans = TraceSpanOut(many=True, allow_null=True, help_text="null unless include_spans=true")


def trace_data(trace: Trace, spans: list[Span] | None) -> dict[str, Any]:
    return {
        "id": to_global_id("Trace", trace.pk),
        "trace_id": trace.trace_id,
        "project_id": to_global_id("Project", trace.project_id),
        "start_time": iso(trace.start_time),
        "end_time": iso(trace.end_time),
        "token_count_prompt": trace.llm_token_count_prompt,
        "token_count_completion": trace.llm_token_count_completion,
        "token_count_total": trace.llm_token_count_total,
        "spans": None
        if spans is None
        else [
            {
                "id": to_global_id("Span", span.pk),
                "span_id": span.span_id,
                "parent_id": span.parent_id,
                "name": span.name,
                "span_kind": span.span_kind,
                "status_code": span.status_code,
                "start_time": iso(span.start_time),
                "end_time": iso(span.end_time),
            }
            for span in spans
        ],
    }


class TraceListParams(QueryParams):
    start_time = QueryDateTime(required=False, help_text="Starting at or after this time (naive = UTC).")
    end_time = QueryDateTime(required=False, help_text="Starting before this time (naive = UTC).")
    sort = LiteralField(["start_time", "latency_ms"], default="start_time", help_text="Sort key.")
    order = LiteralField(["asc", "desc"], default="desc", help_text="Sort order.")
    limit = LimitField(default=100, maximum=MAX_PAGE_SIZE)
    cursor = cursor_field("Trace")
    include_spans = QueryBool(
        default=False,
        help_text=f"Include each trace's spans: at most {MAX_SPANS_PER_TRACE_PAGE:,} on a page, which then "
        "ends early (next_cursor goes on from there); a first trace with more lists its earliest ones.",
    )
    error = QueryBool(
        required=False, help_text="true: only traces with an error span; false: only traces without."
    )
    min_latency_ms = NonNegativeNumber(required=False, help_text="Latency at least this.")
    max_latency_ms = NonNegativeNumber(required=False, help_text="Latency at most this.")
    session_identifier = QueryList(
        help_text="Only the traces (turns) of these sessions: each a session.id or a ProjectSession GlobalID."
    )


class TraceListView(APIView):
    @extend_schema(
        operation_id="listProjectTraces",
        summary="List a project's traces",
        parameters=[PROJECT_PATH, TraceListParams],
        responses={
            200: page_envelope("TracesResponseBody", TraceOut(many=True)),
            **errors({404: PROJECT_NOT_FOUND, 422: "`Invalid cursor format: <cursor>` or `Invalid cursor`."}),
        },
    )
    def get(self, request: Request, identifier: str) -> Response:
        project = project_for(request, identifier)
        params = TraceListParams.read(request)
        traces = Trace.objects.for_project(project)
        if start := params.get("start_time"):
            traces = traces.filter(start_time__gte=start)
        if end := params.get("end_time"):
            traces = traces.filter(start_time__lt=end)
        if (error := params.get("error")) is not None:
            traces = traces.filter(error_count__gt=0) if error else traces.filter(error_count=0)
        if (low := params.get("min_latency_ms")) is not None:
            traces = traces.filter(latency_ms__gte=low)
        if (high := params.get("max_latency_ms")) is not None:
            traces = traces.filter(latency_ms__lte=high)
        if sessions := params["session_identifier"]:
            traces = traces.filter(session__in=sessions_named(sessions))
        rows, next_cursor = self._keyset_page(
            request,
            traces,
            sort=params["sort"],
            descending=params["order"] == "desc",
            limit=params["limit"],
        )
        spans_by_trace: dict[int, list[Span]] | None = None
        if params["include_spans"]:
            rows, next_cursor, spans_by_trace = _traces_with_spans(rows, next_cursor)
        return Response(
            page(
                [
                    trace_data(t, None if spans_by_trace is None else spans_by_trace.get(t.pk, []))
                    for t in rows
                ],
                next_cursor,
            )
        )

    def _keyset_page(
        self, request: Request, traces: QuerySet[Trace], *, sort: str, descending: bool, limit: int
    ) -> tuple[list[Trace], str | None]:
        """Order by (sort, id); the cursor is the first trace not returned, so deep pages stay cheap."""
        if cursor := request.query_params.get("cursor"):
            try:
                _type, pk = from_global_id(cursor, "Trace")
            except GlobalIDError:
                raise PlainError(422, f"Invalid cursor format: {cursor}") from None
            anchor = Trace.objects.filter(pk=pk).values_list(sort, flat=True).first()
            if anchor is None:
                raise PlainError(422, "Invalid cursor")
            traces = traces.filter(keyset_after(sort, anchor, pk, descending=descending, inclusive=True))
        prefix = "-" if descending else ""
        rows = list(traces.order_by(f"{prefix}{sort}", f"{prefix}pk")[: limit + 1])
        next_cursor = to_global_id("Trace", rows[limit].pk) if len(rows) > limit else None
        return rows[:limit], next_cursor


def _traces_with_spans(
    rows: list[Trace], next_cursor: str | None
) -> tuple[list[Trace], str | None, dict[int, list[Span]]]:
    """The leading traces whose spans fit MAX_SPANS_PER_TRACE_PAGE, the cursor of the first trace left out,
    and the spans of those kept, read without their attributes and events, which the page does not show."""
    counts = dict(
        Span.objects.filter(trace__in=rows).values("trace").annotate(n=Count("pk")).values_list("trace", "n")
    )
    kept, budget = 0, MAX_SPANS_PER_TRACE_PAGE
    for trace in rows:
        spans = counts.get(trace.pk, 0)
        if kept and spans > budget:
            next_cursor = to_global_id("Trace", trace.pk)
            break
        kept, budget = kept + 1, budget - spans
    rows = rows[:kept]
    spans_by_trace: dict[int, list[Span]] = {trace.pk: [] for trace in rows}
    fields = ("trace", "span_id", "parent_id", "name", "span_kind", "status_code", "start_time", "end_time")
    for span in (
        Span.objects.filter(trace__in=rows)
        .only(*fields)
        .order_by("trace", "start_time", "pk")[:MAX_SPANS_PER_TRACE_PAGE]
    ):
        spans_by_trace[span.trace_id].append(span)
    return rows, next_cursor, spans_by_trace


@contextmanager
def time_limited_filter() -> Iterator[None]:
    """filter_time_limit, its FilterTimeout answered as a 422 with its message."""
    try:
        with filter_time_limit():
            yield
    except FilterTimeout as exc:
        raise PlainError(422, str(exc)) from None


class SpanQueryBody(serializers.Serializer):
    queries = SpanQueryInput(many=True, max_length=20)
    start_time = serializers.DateTimeField(allow_null=True, required=False, default=None)
    end_time = serializers.DateTimeField(allow_null=True, required=False, default=None)
    stop_time = serializers.DateTimeField(allow_null=True, required=False, default=None)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_QUERY_LIMIT, required=False, default=1000)
    root_spans_only = serializers.BooleanField(allow_null=True, required=False, default=None)
    project_name = serializers.CharField(allow_null=True, required=False, default=None)


class SpanQueryView(APIView):
    """POST /v1/spans: the span query of get_spans_dataframe, answered as multipart table JSON."""

    # A POST that only reads: viewers, who may read spans, may query them.
    permission_classes = [V1Read]

    @extend_schema(
        operation_id="querySpans",
        summary="Query spans with Phoenix's filter language (get_spans_dataframe)",
        description="Spans newest first. Each query is answered as one `application/json` part of a "
        "`multipart/mixed` response, a table in pandas' `table` orientation whose column names carry an "
        "ordinal prefix (`0_context.span_id`). An unknown project answers empty tables.",
        parameters=[
            query("project_name", str, "Project name (default: `default`); `project-name` works too."),
            OpenApiParameter("project-name", str, OpenApiParameter.HEADER, description="Project name."),
        ],
        request=SpanQueryBody,
        responses={
            (200, "multipart/mixed"): OpenApiResponse(OpenApiTypes.STR, description="One part per query."),
            **errors({404: "`No queries were given`", 422: "`Invalid query: <reason>`"}),
        },
    )
    def post(self, request: Request) -> HttpResponse:
        body = validated(SpanQueryBody, request.data)
        if not body["queries"]:
            raise PlainError(404, "No queries were given")
        project_name = (
            request.query_params.get("project_name")
            or request.query_params.get("project-name")
            or request.headers.get("project-name")
            or body["project_name"]
            or DEFAULT_PROJECT_NAME
        )
        # A project the caller may not see answers as a missing one: no spans.
        project = visible_projects(request.user).filter(name=project_name).first()
        # By the project's id, not a join on its name: PostgreSQL then walks the (project, -start_time)
        # index and stops after `limit` matches, instead of hash-joining every span of the project first
        # (1,000 of 200,000 spans filtered on an annotation label: 165 ms -> 7 ms in the database).
        spans = spans_in_range(
            Span.objects.filter(project=project) if project else Span.objects.none(),
            start=body["start_time"],
            end=body["end_time"] or body["stop_time"],
            roots=bool(body["root_spans_only"]),
        )
        try:
            with time_limited_filter():
                tables = [run_query(spans, each, limit=body["limit"]) for each in body["queries"]]
        except SpanQueryError as exc:
            raise PlainError(422, f"Invalid query: {exc}") from None
        boundary = secrets.token_hex(16)
        head = f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode()
        parts = b"".join(head + table_json(table) + b"\r\n" for table in tables)
        return HttpResponse(
            parts + f"--{boundary}--\r\n".encode(), content_type=f"multipart/mixed; boundary={boundary}"
        )
