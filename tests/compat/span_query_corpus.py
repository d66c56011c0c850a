"""The span-query corpus shared by bench/span_query_vs_phoenix.py (which records real Phoenix's answers) and
tests/compat/test_span_query_vs_phoenix.py (which checks ours against the recording).

The spans are made by the OpenTelemetry SDK and sent by its OTLP/HTTP exporter, with fixed ids and times,
so both servers store the same spans. The queries are the client's own `SpanQuery` objects.
"""

import json
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Status, StatusCode
from phoenix.client.types.spans import SpanQuery

PROJECT = "span-query"
START_NS = 1_767_268_800_000_000_000  # 2026-01-01T12:00:00Z
MS = 1_000_000


class CountingIdGenerator(IdGenerator):
    """Ids 1, 2, 3 … so both servers, and anyone reading the fixture, see the same short ids."""

    def __init__(self) -> None:
        self._span, self._trace = 0, 0

    def generate_span_id(self) -> int:
        self._span += 1
        return self._span

    def generate_trace_id(self) -> int:
        self._trace += 1
        return self._trace


def _documents(*documents: dict[str, Any]) -> dict[str, Any]:
    return {
        f"retrieval.documents.{i}.document.{field}": value
        for i, document in enumerate(documents)
        for field, value in document.items()
    }


def _messages(key: str, *messages: dict[str, Any]) -> dict[str, Any]:
    return {
        f"llm.{key}.{i}.message.{field}": value
        for i, message in enumerate(messages)
        for field, value in message.items()
    }


# (trace, name, attributes, status); each trace is a CHAIN root with the rest as its children.
TRACES: list[list[tuple[str, dict[str, Any], StatusCode]]] = [
    [
        ("rag", {"openinference.span.kind": "CHAIN", "input.value": "What is Phoenix?"}, StatusCode.OK),
        (
            "retrieve",
            {
                "openinference.span.kind": "RETRIEVER",
                "input.value": "What is Phoenix?",
                "tag.tags": ["rag", "docs"],
                **_documents(
                    {"id": "d1", "content": "Phoenix is an observability tool.", "score": 0.9},
                    {"id": "d2", "content": "It stores traces.", "score": 0.75},
                    {"id": "d3", "content": "It runs evals."},
                ),
            },
            StatusCode.OK,
        ),
        (
            "ChatCompletion",
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o",
                "llm.token_count.prompt": 12,
                "llm.token_count.completion": 5,
                **_messages(
                    "input_messages",
                    {"role": "system", "content": "Answer briefly."},
                    {"role": "user", "content": "What is Phoenix?"},
                ),
                **_messages("output_messages", {"role": "assistant", "content": "An observability tool."}),
                "output.value": "An observability tool.",
            },
            StatusCode.OK,
        ),
    ],
    [
        ("rag", {"openinference.span.kind": "CHAIN", "input.value": "Café?"}, StatusCode.OK),
        (
            "retrieve",
            {
                "openinference.span.kind": "RETRIEVER",
                "tag.tags": ["rag"],
                **_documents(
                    {"id": "d4", "content": "Un café naïf ☕", "score": 0.5},
                    {"id": "d5", "score": 0.25},
                ),
            },
            StatusCode.OK,
        ),
        (
            "ChatCompletion",
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o-mini",
                **_messages("input_messages", {"role": "user", "content": "Café?"}),
                **_messages(
                    "output_messages",
                    {"role": "assistant", "content": "Oui."},
                    {"role": "assistant", "content": "Un café."},
                ),
            },
            StatusCode.OK,
        ),
        (
            "lookup",
            {"openinference.span.kind": "TOOL", "tool.name": "lookup", "input.value": '{"q": "café"}'},
            StatusCode.OK,
        ),
    ],
    [
        ("rag", {"openinference.span.kind": "CHAIN", "input.value": "Nothing found?"}, StatusCode.OK),
        ("retrieve", {"openinference.span.kind": "RETRIEVER", "input.value": "Nothing"}, StatusCode.OK),
        (
            "ChatCompletion",
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o",
                **_messages("input_messages", {"role": "user", "content": "Nothing found?"}),
            },
            StatusCode.ERROR,
        ),
    ],
]

SPAN_COUNT = sum(len(spans) for spans in TRACES)


def send_corpus(base_url: str) -> None:
    """Send the corpus spans to `base_url`/v1/traces through the SDK's OTLP/HTTP (protobuf) exporter."""
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": "span-query-corpus", "openinference.project.name": PROJECT}
        ),
        id_generator=CountingIdGenerator(),
    )
    # One batch, one request, sent at shutdown.
    exporter = OTLPSpanExporter(endpoint=f"{base_url}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
    tracer = provider.get_tracer("span-query-corpus")
    start = START_NS
    for spans in TRACES:
        (root_name, root_attributes, _), *children = spans
        root = tracer.start_span(root_name, start_time=start, attributes=root_attributes)
        context = trace.set_span_in_context(root)
        for name, attributes, status in children:
            start += 10 * MS
            child = tracer.start_span(name, context=context, start_time=start, attributes=attributes)
            child.set_status(Status(status))
            child.end(end_time=start + 5 * MS)
        root.set_status(Status(StatusCode.OK))
        root.end(end_time=start + 10 * MS)
        start += 1000 * MS
    provider.shutdown()


def _separated(query: SpanQuery, separator: str) -> SpanQuery:
    # The client's SpanQuery has no `with_concat_separator`; its Concatenation carries the separator.
    assert query._concat is not None
    return replace(query, _concat=replace(query._concat, separator=separator))


DOCUMENTS = "retrieval.documents"
RETRIEVERS = "span_kind == 'RETRIEVER'"
LLMS = "span_kind == 'LLM'"
NOTHING = "name == 'no such span'"

QUERIES: dict[str, Callable[[], SpanQuery]] = {
    # concat: one row per span holding the list, the picked field's values joined
    "select name, concat documents as reference": lambda: (
        SpanQuery().select("name").concat(DOCUMENTS, reference="document.content")
    ),
    "filter, concat documents as reference (Phoenix's docs)": lambda: (
        SpanQuery().where(RETRIEVERS).concat(DOCUMENTS, reference="document.content")
    ),
    "concat documents as reference alone": lambda: SpanQuery().concat(
        DOCUMENTS, reference="document.content"
    ),
    "concat two fields of the documents": lambda: SpanQuery().concat(
        DOCUMENTS, reference="document.content", ids="document.id"
    ),
    "concat a field some documents lack": lambda: SpanQuery().concat(DOCUMENTS, score="document.score"),
    "concat with a separator": lambda: _separated(
        SpanQuery().select("name").concat(DOCUMENTS, reference="document.content"), " | "
    ),
    "concat with an empty separator": lambda: _separated(
        SpanQuery().concat(DOCUMENTS, ids="document.id"), ""
    ),
    "concat input messages' contents": lambda: (
        SpanQuery().where(LLMS).concat("llm.input_messages", text="message.content")
    ),
    "concat output messages with a separator": lambda: _separated(
        SpanQuery().concat("llm.output_messages", text="message.content"), "\n"
    ),
    "concat a list of strings without fields": lambda: SpanQuery().concat("tag.tags"),
    "concat documents without fields": lambda: SpanQuery().where(RETRIEVERS).concat(DOCUMENTS),
    "concat where nothing matches": lambda: (
        SpanQuery().where(NOTHING).concat(DOCUMENTS, reference="document.content")
    ),
    "concat renamed": lambda: (
        SpanQuery().concat(DOCUMENTS, reference="document.content").rename(reference="context")
    ),
    # explode: one row per item, indexed by span and position
    "explode documents": lambda: SpanQuery().where(RETRIEVERS).explode(DOCUMENTS),
    "explode documents picking fields": lambda: SpanQuery().explode(
        DOCUMENTS, content="document.content", score="document.score"
    ),
    "explode input messages": lambda: SpanQuery().explode("llm.input_messages"),
    "explode input messages picking fields": lambda: SpanQuery().explode(
        "llm.input_messages", role="message.role", content="message.content"
    ),
    "explode output messages with a filter": lambda: (
        SpanQuery()
        .where("llm.model_name == 'gpt-4o-mini'")
        .explode("llm.output_messages", content="message.content")
    ),
    "select name, explode input messages": lambda: (
        SpanQuery().select("name").explode("llm.input_messages", role="message.role")
    ),
    "explode documents and concat their contents": lambda: (
        SpanQuery().explode(DOCUMENTS, id="document.id").concat(DOCUMENTS, reference="document.content")
    ),
    "explode input messages and concat the documents": lambda: (
        SpanQuery()
        .explode("llm.input_messages", role="message.role")
        .concat(DOCUMENTS, reference="document.content")
    ),
    "explode renamed": lambda: (
        SpanQuery().explode("llm.input_messages", role="message.role").rename(role="speaker")
    ),
    "explode where nothing matches": lambda: SpanQuery().where(NOTHING).explode(DOCUMENTS, id="document.id"),
    "explode what is not a list": lambda: SpanQuery().explode("input.value"),
    # with_index
    "select indexed by trace id": lambda: SpanQuery().select("name", "span_kind").with_index("trace_id"),
    "select indexed by context.trace_id": lambda: SpanQuery().select("name").with_index("context.trace_id"),
    "filter indexed by trace id": lambda: SpanQuery().where(LLMS).with_index("trace_id"),
    "concat indexed by trace id": lambda: (
        SpanQuery().concat(DOCUMENTS, reference="document.content").with_index("trace_id")
    ),
    "explode, then index by trace id": lambda: (
        SpanQuery().explode(DOCUMENTS, id="document.id").with_index("trace_id")
    ),
    "index by trace id, then explode": lambda: (
        SpanQuery().with_index("trace_id").explode("llm.input_messages", role="message.role")
    ),
    "select indexed by name": lambda: SpanQuery().select("span_kind").with_index("name"),
    # select and rename
    "select attributes and columns": lambda: (
        SpanQuery()
        .where(LLMS)
        .select("name", "span_kind", "llm.model_name", "llm.token_count.prompt", "output.value")
    ),
    "select the span and trace ids": lambda: SpanQuery().select("span_id", "trace_id", "context.span_id"),
    "select times and status": lambda: SpanQuery().select(
        "start_time", "end_time", "status_code", "parent_id"
    ),
    "select a whole list": lambda: SpanQuery().where(LLMS).select("llm.output_messages"),
    "select renamed": lambda: (
        SpanQuery().select("name", "input.value").rename(name="span", **{"input.value": "q"})
    ),
    "select where nothing matches": lambda: SpanQuery().where(NOTHING).select("name"),
}


def _plain(value: Any) -> Any:
    """A frame cell as JSON: missing (None, NaN, NaT) is null, timestamps are ISO text, numpy is Python."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "tolist") and not isinstance(value, pd.Timestamp):
        return _plain(value.tolist())
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.astimezone(UTC).isoformat()
    return value


def describe_frame(frame: pd.DataFrame) -> dict[str, Any]:
    """What a user of `get_spans_dataframe` sees: index and column names, dtypes, and the rows.

    Rows are sorted: Phoenix gives a selection no ORDER BY, so its row order is not part of the contract.
    """
    index = frame.index.to_frame(index=False)
    rows = [
        [_plain(cell) for cell in (*keys, *values)]
        for keys, values in zip(index.itertuples(index=False), frame.itertuples(index=False), strict=True)
    ]
    return {
        "index": list(frame.index.names),
        "index_dtypes": [str(dtype) for dtype in index.dtypes],
        "columns": list(frame.columns),
        "dtypes": [str(dtype) for dtype in frame.dtypes],
        "rows": sorted(rows, key=repr),
    }


def describe_table(body: dict[str, Any]) -> dict[str, Any]:
    """The raw table JSON of one POST /v1/spans part: its schema and its sorted rows.

    A field's `extDtype` is left out: it names the pandas dtype of the server's own pandas version. So are
    null cells: pandas reads a null and a missing cell alike, and phoenix-annot leaves them out.
    """
    rows = ({name: value for name, value in row.items() if value is not None} for row in body["data"])
    return {
        "fields": [{k: v for k, v in field.items() if k != "extDtype"} for field in body["schema"]["fields"]],
        "primaryKey": body["schema"]["primaryKey"],
        "rows": sorted(rows, key=lambda row: json.dumps(row, sort_keys=True)),
    }
