"""Differential test of the span filter language: the same expressions against Arize Phoenix and us.

What it does, for each database asked for (``--database sqlite``, ``postgres`` or ``both``):

1. Builds the seed once, in memory, with the real OpenTelemetry SDK (fixed ids and times): four traces of
   every span kind and status, nested LLM spans (so cumulative token counts differ from a span's own), an
   orphan, input/output values present, empty, absent and non-ASCII, metadata and attributes holding
   numbers, numbers written as strings, booleans, lists and nested mappings; then span and trace
   annotations of several names with labels, scores, explanations and identifiers, some missing.
2. For each server in turn (Phoenix as ``bench/vs_phoenix.py`` installs and starts it, then phoenix-annot
   under gunicorn): sends the spans with the real OTLP/HTTP exporter, waits until all are listed, posts the
   annotations with ``?sync=true``, then sends every expression of the corpus (``corpus()``, about two
   thousand: every column, operator, literal type and combination of PHOENIX_COMPAT.md §5) as the
   ``condition`` of ``POST /v1/spans`` and keeps the names of the spans answered, or "error" for a 4xx/5xx.
3. Prints the expressions on which the two servers differ, by class, and with ``--write`` stores Phoenix's
   answers in ``tests/filtering/phoenix_answers.json`` with the seed (the OTLP request as JSON and the
   annotation bodies), so ``tests/filtering/test_phoenix_parity.py`` checks them without Phoenix. Decisions
   to differ from Phoenix are kept in that file under "exceptions" (expression -> expected and reason) and
   survive a rewrite.

Run from the project root with the project's virtualenv::

    .venv/bin/python bench/filter_vs_phoenix.py --database sqlite
    .venv/bin/python bench/filter_vs_phoenix.py --database both --write \
        --postgres-server postgres://postgres@127.0.0.1:55471

``--phoenix-only`` records Phoenix's answers without starting phoenix-annot; ``--reuse-phoenix`` compares
phoenix-annot with the answers of the last run (kept in bench/results/) instead of starting Phoenix. Where
Phoenix on SQLite and on PostgreSQL differ (they do on 62 expressions: SQLite reads true as 1, renders lists
without spaces, truncates before %), both answers are recorded and each backend is held to its own, but
for the recorded exceptions.

The first run installs Phoenix as bench/vs_phoenix.py does. Exit status 0 when phoenix-annot gives
Phoenix's answer (or the recorded exception) for every expression; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import vs_phoenix
from google.protobuf import json_format
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags

from phoenix_annot.demo.traces import MemorySpanExporter, SeededIdGenerator

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = ROOT / "tests" / "filtering" / "phoenix_answers.json"
PROJECT = "filter-parity"
ID_SEED = 20_261_206
BASE_NS = 1_767_268_800 * 10**9  # 2026-01-01T12:00:00Z
MS = 1_000_000
MISSING_PARENT = 0x0BADC0FFEE0DDF00D
ERROR = "error"

# --- seed -------------------------------------------------------------------------------------------------

Node = dict[str, Any]

METADATA_AGENT = {
    "user": "ana",
    "tier": "premium",
    "retries": 2,
    "ratio": 0.75,
    "score": "0.75",
    "beta": True,
    "tags": ["a", "b"],
    "nested": {"level": 1, "name": "x"},
    "city": "Zürich",
}
METADATA_GUARD = {
    "tier": "free",
    "retries": "3",
    "ratio": "0.5",
    "count": "10",
    "flag": "true",
    "beta": False,
    "neg": -1,
    "label": "12abc",
    "empty": "",
    "tags": ["b", "c"],
}

TRACES: list[Node] = [
    {
        "name": "agent",
        "kind": "AGENT",
        "start": 0,
        "ms": 2000,
        "attributes": {
            "input.value": "Plan a trip to Zürich",
            "output.value": "Booked: Zürich, 3 nights",
            "metadata": json.dumps(METADATA_AGENT),
            "session.id": "session-1",
            "user.id": "ana",
            "tag.tags": ["travel", "europe"],
        },
        "children": [
            {
                "name": "planner",
                "kind": "CHAIN",
                "start": 10,
                "ms": 900,
                "attributes": {"input.value": "Where to?", "output.value": "Zürich"},
                "children": [
                    {
                        "name": "llm-plan",
                        "kind": "LLM",
                        "start": 20,
                        "ms": 400,
                        "attributes": {
                            "llm.model_name": "gpt-4o",
                            "llm.provider": "openai",
                            "llm.token_count.prompt": 100,
                            "llm.token_count.completion": 20,
                            "llm.token_count.total": 120,
                            "llm.input_messages.0.message.role": "user",
                            "llm.input_messages.0.message.content": "Where should I go?",
                            "llm.invocation_parameters": json.dumps({"temperature": 0.2}),
                            "input.value": "Where should I go?",
                            "output.value": "Try ZÜRICH in spring.",
                        },
                    },
                    {
                        "name": "llm-refine",
                        "kind": "LLM",
                        "start": 450,
                        "ms": 300,
                        "attributes": {
                            "llm.model_name": "claude-3-5-sonnet",
                            "llm.token_count.prompt": 5,
                            "llm.token_count.completion": 7,
                            # Not the sum of the two: tells which one a "total" reads.
                            "llm.token_count.total": 99,
                            "input.value": "Refine: Zürich",
                            "output.value": "ÉCOLE Straße naïve 日本語 100%_done",
                        },
                    },
                ],
            },
            {
                "name": "search",
                "kind": "TOOL",
                "start": 950,
                "ms": 120,
                "attributes": {
                    "tool.name": "search",
                    "tool.parameters": json.dumps({"q": "hotels", "limit": 5}),
                    "input.value": '{"q": "hotels"}',
                    "input.mime_type": "application/json",
                    "output.value": "",
                },
            },
            {
                "name": "retriever",
                "kind": "RETRIEVER",
                "start": 1100,
                "ms": 50.5,
                "attributes": {
                    "input.value": "hotels in zurich",
                    "retrieval.documents.0.document.content": "Hotel Baur au Lac",
                    "retrieval.documents.0.document.score": 0.9,
                    "retrieval.documents.1.document.content": "Hotel Storchen",
                    "retrieval.documents.1.document.score": 0.4,
                },
            },
        ],
    },
    {
        "name": "chat",
        "kind": "CHAIN",
        "status": "UNSET",
        "start": 3_600_000,
        "ms": 1500,
        "attributes": {"input.value": "Hello", "session.id": "session-2"},
        "children": [
            {
                "name": "llm-chat",
                "kind": "LLM",
                "status": "ERROR",
                "message": "rate limited",
                "start": 3_600_100,
                "ms": 250,
                "attributes": {
                    "llm.model_name": "gpt-4o-mini",
                    "llm.token_count.prompt": 10,
                    "llm.token_count.completion": 3,
                    # Every span reports its total: phoenix-annot fills a missing one in at ingest.
                    "llm.token_count.total": 13,
                    "input.value": "Hello",
                },
            },
            {
                "name": "guard",
                "kind": "GUARDRAIL",
                "start": 3_600_400,
                "ms": 30,
                "attributes": {
                    "metadata": json.dumps(METADATA_GUARD),
                    "input.value": "hello",
                    "output.value": "pass",
                },
            },
            {
                "name": "embed",
                "kind": "EMBEDDING",
                "start": 3_600_500,
                "ms": 75,
                "attributes": {
                    "embedding.model_name": "text-embedding-3-small",
                    "embedding.embeddings.0.embedding.text": "Hello",
                },
            },
        ],
    },
    {
        "name": "orphan-llm",
        "kind": "LLM",
        "parent": MISSING_PARENT,
        "start": 7_200_000,
        "ms": 800,
        "attributes": {
            "llm.model_name": "gpt-4o",
            "llm.token_count.prompt": 1000,
            "llm.token_count.completion": 500,
            "llm.token_count.total": 1500,
            "input.value": "Summarise the report",
            "output.value": "The report says ...",
        },
        "children": [
            {
                "name": "rerank",
                "kind": "RERANKER",
                "start": 7_200_100,
                "ms": 60,
                "attributes": {
                    "reranker.model_name": "cross-encoder",
                    "reranker.top_k": 2,
                    "llm.token_count.prompt": 40,
                    "llm.token_count.completion": 0,
                    "llm.token_count.total": 40,
                },
            },
        ],
    },
    {
        "name": "judge",
        "kind": "EVALUATOR",
        "start": 10_800_000,
        "ms": 5,
        "attributes": {
            "retry_count": "3",
            "ratio": 0.5,
            "big": 1e20,
            "flag": True,
            "flag_text": "false",
            "zero": 0,
            "one": 1,
            "list_num": [1, 2, 3],
            "list_str": ["x", "Y", "zürich"],
            "list_bool": [True, False],
            "mixed": "12abc",
            "spaced": " 42 ",
            "negative": "-7.5",
            "exp": "1e3",
            "input.value": "ÅNGSTRÖM",
            "output.value": "ß",
        },
        "children": [
            {
                "name": "prompt",
                "kind": "PROMPT",
                "start": 10_800_001,
                "ms": 1,
                "attributes": {"llm.prompt_template.template": "Say {x}", "input.value": ""},
            },
            {"name": "unknown", "kind": None, "status": "OK", "start": 10_800_002, "ms": 2, "attributes": {}},
        ],
    },
]

SPAN_ANNOTATIONS: list[dict[str, Any]] = [
    {"span": "llm-plan", "name": "correctness", "label": "correct", "score": 1.0, "explanation": "Fine"},
    {"span": "llm-plan", "name": "hallucination", "score": 0.1, "kind": "LLM"},
    {"span": "llm-plan", "name": "tone", "label": "friendly"},
    {"span": "llm-refine", "name": "correctness", "label": "incorrect", "score": 0.0},
    {
        "span": "llm-refine",
        "name": "correctness",
        "label": "correct",
        "score": 0.9,
        "identifier": "judge-2",
        "explanation": "Looks right to me",
        "kind": "LLM",
    },
    {
        "span": "llm-chat",
        "name": "correctness",
        "label": "incorrect",
        "score": 0.0,
        "identifier": "judge",
        "kind": "LLM",
    },
    {
        "span": "llm-chat",
        "name": "hallucination",
        "label": "yes",
        "score": 0.9,
        "explanation": "Made up a city: ZÜRICH",
        "kind": "CODE",
    },
    {"span": "retriever", "name": "relevance", "score": 0.7, "explanation": "Üblich"},
    {"span": "agent", "name": "tone", "label": "bad", "identifier": "human-1"},
    {"span": "orphan-llm", "name": "correctness", "score": 0.5, "identifier": "human-1"},
    {"span": "guard", "name": "user feedback", "label": "👍", "score": 1.0},
    {"span": "judge", "name": "hallucination", "label": "no", "explanation": "checked"},
]
TRACE_ANNOTATIONS: list[dict[str, Any]] = [
    {"trace_of": "agent", "name": "quality", "label": "good", "score": 0.8},
    {"trace_of": "chat", "name": "quality", "label": "bad", "score": 0.2},
    {"trace_of": "chat", "name": "quality", "label": "good", "identifier": "second", "score": 0.6},
    {"trace_of": "judge", "name": "resolved", "label": "yes"},
]


def build_spans() -> list[ReadableSpan]:
    """The seed's spans, finished by the SDK with fixed ids and times."""
    exporter = MemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"openinference.project.name": PROJECT, "service.name": "filter-parity"}),
        id_generator=SeededIdGenerator(ID_SEED),
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("filter-parity")
    for root in TRACES:
        context = None
        if "parent" in root:
            parent = SpanContext(
                trace_id=provider.id_generator.generate_trace_id(),
                span_id=root["parent"],
                is_remote=True,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
            context = trace.set_span_in_context(NonRecordingSpan(parent))
        _emit(tracer, root, context)
    provider.shutdown()
    return exporter.spans


def _emit(tracer: trace.Tracer, node: Node, context: Any) -> None:
    attributes = dict(node["attributes"])
    if node["kind"] is not None:
        attributes["openinference.span.kind"] = node["kind"]
    start = BASE_NS + int(node["start"] * MS)
    span = tracer.start_span(node["name"], context=context, attributes=attributes, start_time=start)
    status = node.get("status", "OK")
    if status != "UNSET":
        span.set_status(Status(StatusCode[status], node.get("message")))
    child_context = trace.set_span_in_context(span)
    for child in node.get("children", ()):
        _emit(tracer, child, child_context)
    span.end(end_time=start + int(node["ms"] * MS))


def seed(spans: list[ReadableSpan]) -> dict[str, Any]:
    """The seed as data: the OTLP request, the annotation bodies, and span id -> name."""
    span_ids = {span.name: f"{span.context.span_id:016x}" for span in spans}
    trace_ids = {span.name: f"{span.context.trace_id:032x}" for span in spans}

    def result(row: dict[str, Any]) -> dict[str, Any]:
        return {key: row[key] for key in ("label", "score", "explanation") if key in row}

    return {
        "otlp": json_format.MessageToDict(encode_spans(spans)),
        "span_annotations": [
            {
                "span_id": span_ids[row["span"]],
                "name": row["name"],
                "annotator_kind": row.get("kind", "HUMAN"),
                "result": result(row),
                "identifier": row.get("identifier", ""),
            }
            for row in SPAN_ANNOTATIONS
        ],
        "trace_annotations": [
            {
                "trace_id": trace_ids[row["trace_of"]],
                "name": row["name"],
                "annotator_kind": "HUMAN",
                "result": result(row),
                "identifier": row.get("identifier", ""),
            }
            for row in TRACE_ANNOTATIONS
        ],
        "span_names": {span_id: name for name, span_id in span_ids.items()},
    }


# --- corpus -----------------------------------------------------------------------------------------------

STRING_COLUMNS = {
    "span_id": None,
    "context.span_id": None,
    "trace_id": None,
    "context.trace_id": None,
    "parent_id": None,
    "name": ["agent", "llm-plan", "nope", "LLM-PLAN", "m"],
    "span_kind": ["LLM", "llm", "Chain", "RETRIEVER", "unknown", "BOGUS"],
    "status_code": ["OK", "error", "UNSET", "ok"],
    "status_message": ["rate limited", "", "RATE"],
}
NUMBER_COLUMNS = [
    "latency_ms",
    "cumulative_llm_token_count_prompt",
    "cumulative_llm_token_count_completion",
    "cumulative_llm_token_count_total",
    "cumulative_token_count.prompt",
    "cumulative_token_count.completion",
    "cumulative_token_count.total",
    "llm_token_count_prompt",
    "llm_token_count_total",
]
NUMBERS = ["0", "10", "50.5", "120", "132", "1540", "1e3"]
ORDER_OPS = ["==", "!=", "<", "<=", ">", ">="]
JSON_OPS = ["==", "!=", "<=", ">"]  # < and >= add nothing the other two do not show for JSON values
TIMES = [
    "'2026-01-01T12:00:00Z'",
    "'2026-01-01T12:00:00.020000+00:00'",
    "'2026-01-01T13:00:00+01:00'",
    "'2026-01-01T14:30:00Z'",
    "'2026-01-01T12:00:00'",
    "'yesterday'",
]
# Paths into attributes, written every way the language allows.
JSON_PATHS = [
    "llm.model_name",
    "llm.token_count.total",
    "llm.token_count.prompt",
    "input.value",
    "output.value",
    "session.id",
    "tag.tags",
    "reranker.top_k",
    "no.such.attribute",
    "attributes['llm']['model_name']",
    "attributes['llm.model_name']",
    "attributes['retry_count']",
    "attributes['ratio']",
    "attributes['big']",
    "attributes['flag']",
    "attributes['flag_text']",
    "attributes['zero']",
    "attributes['list_num']",
    "attributes['list_str']",
    "attributes['list_bool']",
    "attributes['mixed']",
    "attributes['spaced']",
    "attributes['negative']",
    "attributes['exp']",
    "attributes['tool']['parameters']['limit']",
    "attributes['retrieval']['documents'][0]['document']['score']",
    "attributes['llm']['invocation_parameters']",
    "metadata['user']",
    "metadata['tier']",
    "metadata['retries']",
    "metadata['ratio']",
    "metadata['score']",
    "metadata['flag']",
    "metadata['beta']",
    "metadata['neg']",
    "metadata['label']",
    "metadata['empty']",
    "metadata['tags']",
    "metadata['nested']",
    "metadata['nested']['level']",
    "metadata['city']",
    "metadata['missing']",
]
JSON_LITERALS = [
    "0",
    "1",
    "3",
    "0.5",
    "120",
    "1e20",
    "'3'",
    "'0.5'",
    "'premium'",
    "'gpt-4o'",
    "'true'",
    "''",
    "True",
    "False",
    "None",
    "'Zürich'",
]
SUBSTRING_TARGETS = [
    "name",
    "status_message",
    "span_id",
    "input.value",
    "output.value",
    "llm.model_name",
    "attributes['list_str']",
    "attributes['list_num']",
    "metadata['tags']",
    "tag.tags",
    "metadata['nested']",
    "metadata['retries']",
    "attributes['ratio']",
    "attributes['llm']",
    "metadata['user']",
    "metadata['city']",
    "no.such.attribute",
]
NEEDLES = [
    "''",
    "'a'",
    "'ZÜRICH'",
    "'zürich'",
    "'Zurich'",
    "'école'",
    "'STRASSE'",
    "'straße'",
    "'日本'",
    "'NAÏVE'",
    "'ångström'",
    "'ß'",
    "'ss'",
    "'%'",
    "'_'",
    "'100%_'",
    "'x'",
    "'y'",
    "'llm'",
    "'GPT'",
    "'3'",
    "'0.5'",
    "'europe'",
    "'level'",
    "'\"a\"'",
]
ANNOTATION_NAMES = ["correctness", "hallucination", "tone", "relevance", "user feedback", "missing"]
ANNOTATION_LITERALS = {
    "label": ["'correct'", "'incorrect'", "'bad'", "'yes'", "'👍'", "''", "'CORRECT'"],
    "score": ["0", "0.5", "0.9", "1", "0.1"],
    "explanation": ["'Fine'", "'Looks right to me'", "'checked'", "''"],
    "identifier": ["''", "'judge'", "'judge-2'", "'human-1'", "'JUDGE'"],
}
ANNOTATION_SUBSTRINGS = {
    "label": ["'correct'", "'CORRECT'", "'👍'", "''"],
    "explanation": ["'right'", "'zürich'", "'üblich'", "''"],
    "identifier": ["'judge'", "'HUMAN'", "''"],
}
INVALID = [
    "",
    "name ==",
    "name.startswith('a')",
    "len(name) > 3",
    "name == 1",
    "latency_ms == 'abc'",
    "latency_ms > '100'",
    "annotations['correctness'].score == 'high'",
    "annotations['correctness'].label < 1",
    "annotations['correctness'].foo == 1",
    "annotations['correctness']['x'] == 1",
    "annotations['correctness'].score.label == 1",
    "annotations['correctness'].label * 2 > 1",
    "name in [1]",
    "span_kind",
    "'LLM'",
    "latency_ms ** 2 > 1",
    "latency_ms // 2 > 1",
    "latency_ms & 1",
    "parent_span.name == 'agent'",
    "parent_span == 'x'",
    "attributes",
    "metadata",
    "__import__('os')",
    "lambda: 1",
    "[x for x in name]",
    "name == f'{name}'",
    "events == 1",
    "annotations['']",
    "start_time > 5",
]


def corpus() -> list[str]:
    """Every expression to compare, in a fixed order, without repeats."""
    expressions: list[str] = []
    expressions += _string_columns()
    expressions += _number_columns()
    expressions += _times()
    expressions += _json_paths()
    expressions += _substrings()
    expressions += _annotations()
    expressions += _structure()
    expressions += INVALID
    expressions += _combinations(expressions)
    return list(dict.fromkeys(expressions))


def _string_columns() -> list[str]:
    ids = corpus_ids()
    out = []
    for column, literals in STRING_COLUMNS.items():
        values = literals or ids.get(column.removeprefix("context."), [])
        for value in values:
            quoted = repr(value)
            out += [f"{column} {op} {quoted}" for op in ORDER_OPS]
            out.append(f"{quoted} == {column}")
        out += [f"{column} is None", f"{column} is not None", f"{column} == None", f"{column} != None"]
        sample = [repr(v) for v in values[:2]]
        out += [f"{column} in [{', '.join(sample)}]", f"{column} not in ({', '.join(sample)},)"]
        out += [f"{column} == 1", f"{column} == True", f"{column} in ['a', 1]"]
    return out


def corpus_ids() -> dict[str, list[str]]:
    """A few real ids (and one that matches nothing) to compare id columns with."""
    spans = {span.name: span for span in build_spans()}
    span_ids = [f"{spans[name].context.span_id:016x}" for name in ("agent", "llm-plan", "orphan-llm")]
    trace_ids = [f"{spans[name].context.trace_id:032x}" for name in ("agent", "judge")]
    parent = spans["orphan-llm"].parent
    assert parent is not None
    return {
        "span_id": [*span_ids, "0" * 16],
        "trace_id": [*trace_ids, "f" * 32],
        "parent_id": [span_ids[0], f"{parent.span_id:016x}", "0" * 16],
    }


def _number_columns() -> list[str]:
    out = []
    for column in NUMBER_COLUMNS:
        out += [f"{column} {op} {number}" for op in ORDER_OPS for number in NUMBERS]
        out += [f"{number} < {column}" for number in ("10", "100")]
        out += [f"10 < {column} < 1000", f"{column} in [120, 132, 1540]", f"{column} not in [0]"]
        out += [f"{column} is None", f"{column} is not None", f"{column} > '100'", f"{column} == 'x'"]
        out += [f"{column} == True", f"{column} + 1 > 100", f"{column} * 2 >= 240", f"{column} % 7 == 1"]
        out += [f"{column} / 0 > 1", f"{column} - llm.token_count.prompt > 10"]
    return out


def _times() -> list[str]:
    out = []
    for column in ("start_time", "end_time"):
        out += [f"{column} {op} {time}" for op in ORDER_OPS for time in TIMES]
        out += [f"{column} is None", f"{column} is not None", f"{column} > end_time"]
    out += ["end_time > start_time", "start_time >= start_time", "'2026-01-01T13:00:00Z' < start_time"]
    return out


def _json_paths() -> list[str]:
    out = []
    for path in JSON_PATHS:
        for literal in JSON_LITERALS:
            ops = ["==", "!="] if literal in ("True", "False", "None") else JSON_OPS
            out += [f"{path} {op} {literal}" for op in ops]
        out += [f"{path} is None", f"{path} is not None", f"{path} is True", f"{path} is False"]
        out += [f"{path} in [1, 2, 3]", f"{path} in ['3', 'x', 'premium']", f"{path} not in ['x']"]
        out += [f"{path} in [True]", f"float({path}) > 1", f"int({path}) == 3", f"str({path}) == '3'"]
        out += [f"str({path}) == 'True'", f"str({path}) == 'true'", f"float({path}) == 0.75"]
        out += [f"{path} + 1 > 3", f"{path} * 1 == 3", f"3 == {path}", f"'3' == {path}"]
    out += [
        "llm.token_count.total - llm.token_count.prompt > 10",
        "llm.token_count.total > llm.token_count.prompt",
        "attributes['ratio'] < metadata['ratio']",
        "metadata['retries'] > attributes['ratio']",
        "latency_ms > llm.token_count.total",
        "llm.model_name == name",
        "float(metadata['retries']) == float(attributes['retry_count'])",
    ]
    return out


def _substrings() -> list[str]:
    out = []
    for target in SUBSTRING_TARGETS:
        out += [f"{needle} in {target}" for needle in NEEDLES]
        out += [f"{needle} not in {target}" for needle in NEEDLES[:4]]
    out += ["'LLM' in span_kind", "'llm' in span_kind", "'err' in status_code", "'x' in ['x', 'y']"]
    out += ["1 in attributes['list_num']", "True in attributes['list_bool']", "name in name"]
    return out


def _annotations() -> list[str]:
    out = []
    for root in ("annotations", "evals", "trace_annotations"):
        names = ANNOTATION_NAMES if root != "trace_annotations" else ["quality", "resolved", "missing"]
        for name in names:
            ref = f"{root}[{name!r}]"
            out += [ref, f"not {ref}"]
            for field, literals in ANNOTATION_LITERALS.items():
                if root == "evals" and field == "identifier":
                    continue
                for literal in literals:
                    ops = ORDER_OPS if field == "score" else ["==", "!="]
                    out += [f"{ref}.{field} {op} {literal}" for op in ops]
                out += [f"{ref}.{field} is None", f"{ref}.{field} is not None"]
                out += [f"not {ref}.{field} is None", f"{ref}.{field} in [{', '.join(literals[:2])}]"]
            for field, needles in ANNOTATION_SUBSTRINGS.items():
                out += [f"{needle} in {ref}.{field}" for needle in needles]
            out += [
                f"{ref}.label == 'correct' and {ref}.score > 0.5",
                f"{ref}.label == 'correct' or {ref}.score < 0.5",
                f"not ({ref}.label == 'correct')",
                f"{ref}.label != 'bad' or {ref}.label is None",
                f"{ref}.identifier == '' and {ref}.label == 'incorrect'",
                f"{ref}.identifier != '' and {ref}.score > 0",
                f"0.2 < {ref}.score < 1",
            ]
    return out


def _structure() -> list[str]:
    return [
        "parent_span is None",
        "parent_span is not None",
        "parent_span == None",
        "parent_span != None",
        "None is parent_span",
        "parent_id is None",
        "parent_id is not None",
        "not parent_span is None",
        "span_kind == 'LLM' and parent_span is None",
        "span_kind == 'LLM' and annotations['correctness'].label == 'correct'",
        "0.5 < latency_ms < 1000 or status_code == 'ERROR'",
        "span_kind in ['LLM', 'RETRIEVER']",
        "span_kind == 'LLM' and 'zürich' in input.value",
        "llm.token_count.total - llm.token_count.prompt > 1000",
        "(annotations['tone'].label != 'bad' or annotations['tone'].label is None)",
        "trace_annotations['quality'].score >= 0.5",
        "start_time > '2024-01-01T00:00:00Z'",
        "float(attributes['retry_count']) > 1",
        "not (span_kind == 'LLM' or span_kind == 'CHAIN')",
        "not not span_kind == 'LLM'",
        "latency_ms > 100 and latency_ms < 1000 and span_kind != 'AGENT'",
        "-latency_ms < -100",
        "+latency_ms > 100",
        "latency_ms > 2 * 50",
        "latency_ms > 200 / 2",
        "latency_ms > 10 % 3",
        "latency_ms > -(-100)",
    ]


def _combinations(pool: list[str]) -> list[str]:
    """Pairs and triples of valid-looking leaves joined by and / or / not, from a fixed seed."""
    rng = random.Random(ID_SEED)
    leaves = [expression for expression in pool if " and " not in expression and " or " not in expression]
    out = []
    for _ in range(400):
        a, b = rng.sample(leaves, 2)
        connector = rng.choice(["and", "or"])
        out.append(f"({a}) {connector} ({b})")
        if rng.random() < 0.3:
            out.append(f"not (({a}) {connector} ({b}))")
    for _ in range(100):
        a, b, c = rng.sample(leaves, 3)
        out.append(f"({a}) and (({b}) or not ({c}))")
    return out


def expression_class(expression: str) -> str:
    """A rough class for the summary: the first name-like thing of the expression."""
    for marker in ("trace_annotations", "annotations", "evals", "cumulative", "metadata", "attributes"):
        if marker in expression:
            return marker
    if " in " in expression:
        return "substring / membership"
    return expression.split()[0] if expression.split() else "(empty)"


# --- servers ----------------------------------------------------------------------------------------------


def load(base_url: str, spans: list[ReadableSpan], data: dict[str, Any]) -> None:
    """Send the seed to a server through the OTLP exporter and /v1, and wait until all of it is stored."""
    result = OTLPSpanExporter(endpoint=f"{base_url}/v1/traces", timeout=60).export(spans)
    if result.name != "SUCCESS":
        raise RuntimeError(f"export to {base_url} failed: {result}")
    with httpx.Client(base_url=base_url, timeout=60) as http:
        deadline = time.monotonic() + 60
        while len(listed(http)) < len(spans):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base_url} did not list all {len(spans)} spans")
            time.sleep(0.3)
        for route, rows in (
            ("/v1/span_annotations", data["span_annotations"]),
            ("/v1/trace_annotations", data["trace_annotations"]),
        ):
            response = http.post(route, params={"sync": "true"}, json={"data": rows})
            response.raise_for_status()


def listed(http: httpx.Client) -> list[str]:
    # Not GET /v1/projects/{p}/spans: Phoenix on PostgreSQL answers that with a 500 once an attribute holds
    # 1e20 (its JSON decoder refuses integers beyond 64 bits); the span query reads no attributes here.
    response = query(http, None)
    return _span_ids(response) if response.status_code == 200 else []


def answer(http: httpx.Client, expression: str, names: dict[str, str]) -> list[str] | str:
    response = query(http, expression)
    if response.status_code >= 400:
        return ERROR
    return sorted(names[span_id] for span_id in _span_ids(response))


def query(http: httpx.Client, condition: str | None) -> httpx.Response:
    span_query: dict[str, Any] = {"select": {"name": {"key": "name"}}}
    if condition is not None:
        span_query["filter"] = {"condition": condition}
    return http.post(
        "/v1/spans",
        params={"project_name": PROJECT},
        headers={"Accept": "application/json"},
        json={"queries": [span_query], "limit": 1000},
    )


def _span_ids(response: httpx.Response) -> list[str]:
    """The index column of the first table of a multipart /v1/spans answer (none when it is empty)."""
    content_type = response.headers.get("content-type", "")
    if not content_type.startswith("multipart/"):
        return []
    boundary = content_type.split("boundary=", 1)[1].strip('"')
    for part in response.content.split(f"--{boundary}".encode()):
        head, _, body = part.partition(b"\r\n\r\n")
        if b"application/json" in head:
            table = json.loads(body)
            key = table["schema"]["primaryKey"][0]
            return [row[key] for row in table["data"]]
    return []


def run_corpus(
    server: AbstractContextManager[vs_phoenix.Target],
    spans: list[ReadableSpan],
    data: dict[str, Any],
    expressions: list[str],
) -> dict[str, list[str] | str]:
    with server as target:
        print(f"  {target.name} at {target.base_url}: loading the seed …", flush=True)
        load(target.base_url, spans, data)
        started = time.perf_counter()
        with httpx.Client(base_url=target.base_url, timeout=60) as http:
            answers = {expression: answer(http, expression, data["span_names"]) for expression in expressions}
        print(f"    {len(expressions)} expressions in {time.perf_counter() - started:.0f} s", flush=True)
        return answers


# --- comparison and report --------------------------------------------------------------------------------


def differences(
    expected: dict[str, Any], actual: dict[str, Any], exceptions: dict[str, Any], database: str
) -> dict[str, tuple[Any, Any]]:
    """Expression -> (expected, actual) where they differ, expected being the recorded exception if any."""
    out = {}
    for expression, theirs in expected.items():
        want = exceptions[expression]["expected"] if expression in exceptions else theirs
        if isinstance(want, dict):  # an exception recorded per backend
            want = want[database]
        if actual[expression] != want:
            out[expression] = (want, actual[expression])
    return out


def report(title: str, diffs: dict[str, tuple[Any, Any]], limit: int) -> None:
    print(f"\n{title}: {len(diffs)} differences")
    by_class = Counter(expression_class(expression) for expression in diffs)
    for name, count in by_class.most_common():
        print(f"  {count:5}  {name}")
    for expression, (want, got) in list(diffs.items())[:limit]:
        print(f"  {expression}\n      expected {want}\n      got      {got}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument(
        "--postgres-server",
        default=vs_phoenix.POSTGRES_SERVER,
        help="a PostgreSQL server both get a fresh database on (URL without the database name)",
    )
    parser.add_argument("--phoenix-version", default="20.26.1")
    parser.add_argument("--phoenix-venv", type=Path, default=vs_phoenix.RESULTS / "phoenix-venv")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--reuse-phoenix", action="store_true", help="Phoenix's answers from the last run, not a new one"
    )
    parser.add_argument("--phoenix-only", action="store_true", help="record Phoenix's answers only")
    parser.add_argument("--write", action="store_true", help=f"store Phoenix's answers in {ANSWERS}")
    parser.add_argument("--show", type=int, default=40, help="differences to print in full")
    args = parser.parse_args(argv)
    python = vs_phoenix.phoenix_python(args.phoenix_venv, args.phoenix_version)
    spans = build_spans()
    data = seed(spans)
    expressions = corpus()
    print(f"{len(spans)} spans, {len(expressions)} expressions", flush=True)
    recorded = json.loads(ANSWERS.read_text()) if ANSWERS.exists() else {}
    exceptions = recorded.get("exceptions", {})
    databases = ("sqlite", "postgres") if args.database == "both" else (args.database,)
    phoenix_answers: dict[str, dict[str, Any]] = {}
    ok = True
    for database in databases:
        print(f"{database}:", flush=True)
        saved = vs_phoenix.RESULTS / f"filter-vs-phoenix-{database}.json"
        if args.reuse_phoenix:
            theirs = json.loads(saved.read_text())
        else:
            phoenix = vs_phoenix.phoenix(database, python, postgres_server=args.postgres_server)
            theirs = run_corpus(phoenix, spans, data, expressions)
            saved.write_text(json.dumps(theirs, indent=1, ensure_ascii=False))
        phoenix_answers[database] = theirs
        if args.phoenix_only:
            continue
        ours = vs_phoenix.ours(database, args.workers, postgres_server=args.postgres_server)
        mine = run_corpus(ours, spans, data, expressions)
        diffs = differences(theirs, mine, exceptions, database)
        ok = ok and not diffs
        report(f"{database}: phoenix-annot vs Phoenix", diffs, args.show)
    if len(phoenix_answers) == 2:
        report(
            "Phoenix on SQLite vs Phoenix on PostgreSQL",
            differences(phoenix_answers["sqlite"], phoenix_answers["postgres"], {}, "postgres"),
            args.show,
        )
    if args.write:
        write_answers(data, expressions, phoenix_answers, exceptions)
    return 0 if ok else 1


def write_answers(
    data: dict[str, Any],
    expressions: list[str],
    phoenix_answers: dict[str, dict[str, Any]],
    exceptions: dict[str, Any],
) -> None:
    """Phoenix's answers per expression; where its two backends differ, both, keyed by backend."""
    answers: dict[str, Any] = {}
    for expression in expressions:
        per_backend = {database: result[expression] for database, result in phoenix_answers.items()}
        values = list(per_backend.values())
        answers[expression] = values[0] if all(value == values[0] for value in values) else per_backend
    document = {
        "phoenix_version": "20.26.1",
        "about": (
            "Written by bench/filter_vs_phoenix.py --write: Phoenix's answer (span names, sorted, or"
            " 'error') to each filter expression on the seed below; a dict keyed by backend where"
            " Phoenix on SQLite and on PostgreSQL differ. 'exceptions' are answers we choose to differ"
            " on, with the reason; they survive a rewrite."
        ),
        "exceptions": exceptions,
        "answers": answers,
        "seed": data,
    }
    ANSWERS.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    print(f"\nwrote {ANSWERS.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
