"""End-to-end OTLP ingest benchmark: the real OpenTelemetry SDK + OTLP/HTTP exporter -> gunicorn -> database.

What it does, in order:

1. Client-only run: the same traffic through TracerProviders whose exporter only encodes (and gzips)
   each batch, no HTTP. This is what the clients cost on their own.
2. A fresh database (SQLite: a temp file; PostgreSQL: database ``bench_ingest``, created and dropped here),
   ``manage.py migrate``, then ONE gunicorn worker process serving ``phoenix_annot.wsgi:application`` on
   127.0.0.1 with ``PHOENIX_ANNOT_V1_AUTH_REQUIRED=false``: a sync worker, or with ``--threads T`` a
   gthread worker whose T threads let concurrent requests overlap their database waits.
3. End-to-end run: ``--clients N`` exporter processes (1 by default) start together, each with its own
   ``TracerProvider`` and ``BatchSpanProcessor(OTLPSpanExporter(.../v1/traces), max_export_batch_size=512)``,
   sending 1/N of the spans: RAG-shaped traces of 3-5 spans (CHAIN -> RETRIEVER, LLM, sometimes TOOL)
   created with explicit timestamps, seeded per client so the clients' trace and span ids are disjoint.
   The run is timed from the first span created to the last ``force_flush()`` returning. Ingest is
   synchronous, so at that point every span must be in the database: the script counts rows and exits 1
   on a mismatch.
4. Server-side figures: every HTTP round trip is timed (a ``requests.Session`` subclass handed to the
   exporter), gunicorn's own request time is read from its access log (``%(D)s``), and the worker's
   CPU time and memory come from ``/proc/<worker pid>``: VmRSS after 25/50/75/100% of the spans,
   VmHWM (peak) at the end.

Run from the project root with the project's virtualenv::

    .venv/bin/python bench/ingest.py --database sqlite
    .venv/bin/python bench/ingest.py --database postgres --clients 2 --threads 4
    .venv/bin/python bench/ingest.py --database postgres --spans 50000 --no-gzip \\
        --postgres-url postgres://postgres:postgres@localhost:5432/bench_ingest

How to read it: a BatchSpanProcessor exports one batch at a time from one thread (encode, gzip, POST,
wait), so with one client "end to end" = client encode/gzip + server time, in series. "server (HTTP)" =
spans / time with at least one request in flight is the server's own rate and the figure to hold against
the targets (3,000 spans/s SQLite, 5,000 PostgreSQL, one server process); with one client that time is
the sum of the round trips. "server (gunicorn)" = spans / sum of gunicorn's request times: the same
without the transfer while requests do not overlap, a cost per request-second when they do. On a 2-core
machine the clients and PostgreSQL compete with the worker for CPU, so also look at "spans per
CPU-second" and the load average printed at the end. ``bench/profile_ingest.py`` says where the time
goes inside a request.

Results are also written as JSON to ``bench/results/`` (gitignored) unless ``--no-json``.
Exit status: 0 when every span sent is stored, 1 otherwise (targets missed do not fail the run).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import math
import multiprocessing
import os
import queue
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status, StatusCode

from phoenix_annot.demo.traces import SeededIdGenerator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
DEFAULT_POSTGRES_URL = "postgres://postgres:postgres@localhost:5432/bench_ingest"
PROJECT_NAME = "bench-ingest"
# Spans per second with one server process, from the issue.
TARGETS = {"sqlite": 3_000, "postgres": 5_000}
BATCH_SIZE = 512
RSS_CHECKPOINTS = (0.25, 0.50, 0.75, 1.00)
START_TIMEOUT_S = 60.0
BASE_TIME_NS = 1_750_000_000 * 10**9  # a fixed date, so runs are reproducible
MS = 1_000_000
CLIENT_SEED_STRIDE = 1000  # client i uses seed + 1000 * i (and seed + 1, + 2 of that) for its traffic and ids


# --- traffic ---------------------------------------------------------------------------------------


class TextPool:
    """Cheap, unique-ish English-looking text: slices of one big random corpus.

    Slicing keeps the client's cost for text near zero while the bytes still compress like prose,
    not like one repeated string.
    """

    def __init__(self, rng: random.Random, size: int = 1_500_000) -> None:
        syllables = ["ka", "lo", "mi", "re", "tan", "su", "vel", "or", "ing", "de", "pra", "ex", "ul", "sto"]
        words = ["".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(3000)]
        words += ["the", "a", "of", "to", "and", "in", "is", "for", "that", "with"] * 60
        parts: list[str] = []
        length = 0
        while length < size:
            sentence = " ".join(rng.choices(words, k=rng.randint(6, 18))).capitalize() + ". "
            parts.append(sentence)
            length += len(sentence)
        self.corpus = "".join(parts)
        self.rng = rng

    def text(self, length: int) -> str:
        start = self.rng.randrange(0, len(self.corpus) - length)
        return self.corpus[start : start + length]


MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet-20241022", "llama-3.1-70b-instruct")
TOOLS = ("web_search", "calculator", "sql_query", "get_weather")


@dataclass
class Traffic:
    traces: int = 0
    spans: int = 0
    errors: int = 0


def trace_sizes(total_spans: int, rng: random.Random) -> Iterator[int]:
    """Sizes 3-5 (weights 5:3:2) summing exactly to `total_spans`."""
    remaining = total_spans
    while remaining > 0:
        size = rng.choices((3, 4, 5), weights=(5, 3, 2))[0]
        if remaining <= 5:
            size = remaining
        elif remaining - size < 3:
            size = remaining - 3
        remaining -= size
        yield size


def emit_traces(
    tracer: trace.Tracer,
    *,
    total_spans: int,
    seed: int,
    on_first_span: Callable[[], None],
    after_trace: Callable[[Traffic], None] = lambda traffic: None,
) -> Traffic:
    """Create RAG-shaped traces with explicit timestamps until `total_spans` have ended.

    Nothing sleeps here: `after_trace` (called with the running totals) may, to pace the traffic.
    """
    rng = random.Random(seed)
    pool = TextPool(random.Random(seed + 1))
    traffic = Traffic()
    clock = BASE_TIME_NS
    first = True
    for size in trace_sizes(total_spans, rng):
        if first:
            on_first_span()
            first = False
        traffic.errors += _emit_trace(tracer, rng, pool, size=size, start=clock, number=traffic.traces)
        traffic.traces += 1
        traffic.spans += size
        clock += rng.randint(200, 3000) * MS
        after_trace(traffic)
    return traffic


def _emit_trace(
    tracer: trace.Tracer, rng: random.Random, pool: TextPool, *, size: int, start: int, number: int
) -> int:
    question = f"Question {number}: {pool.text(rng.randint(80, 200))}?"
    answer = pool.text(rng.randint(300, 600))
    t = start
    root = tracer.start_span(
        "rag_pipeline",
        start_time=t,
        attributes={
            "openinference.span.kind": "CHAIN",
            "input.value": question,
            "input.mime_type": "text/plain",
            "output.value": answer,
            "output.mime_type": "text/plain",
            "session.id": f"session-{number // 5}",
            "user.id": f"user-{number % 97}",
            "metadata": json.dumps({"env": "bench", "version": "1.4.2", "request_id": f"req-{number}"}),
            "tag.tags": ["bench", "rag"],
        },
    )
    ctx = trace.set_span_in_context(root)
    t += rng.randint(1, 5) * MS

    # RETRIEVER: three documents of ~300 characters.
    retrieval: dict[str, Any] = {
        "openinference.span.kind": "RETRIEVER",
        "input.value": question,
        "input.mime_type": "text/plain",
    }
    for i in range(3):
        prefix = f"retrieval.documents.{i}.document"
        retrieval[f"{prefix}.id"] = f"doc-{rng.randrange(1_000_000)}"
        retrieval[f"{prefix}.content"] = pool.text(rng.randint(260, 340))
        retrieval[f"{prefix}.score"] = round(rng.uniform(0.5, 0.99), 4)
        source = f"kb/article-{rng.randrange(5000)}.md"
        retrieval[f"{prefix}.metadata"] = json.dumps({"source": source, "page": i + 1})
    t = _child(tracer, ctx, "retrieve", retrieval, t, rng.randint(20, 120) * MS)

    errors = 0
    kinds = {3: ("LLM",), 4: ("TOOL", "LLM"), 5: ("LLM", "TOOL", "LLM")}[size]
    for kind in kinds:
        if kind == "TOOL":
            tool = rng.choice(TOOLS)
            args = json.dumps({"query": pool.text(rng.randint(30, 90)), "limit": rng.randint(1, 10)})
            attrs = {
                "openinference.span.kind": "TOOL",
                "tool.name": tool,
                "tool.description": f"{tool}: {pool.text(80)}",
                "tool.parameters": args,
                "input.value": args,
                "input.mime_type": "application/json",
                "output.value": pool.text(rng.randint(150, 400)),
                "output.mime_type": "text/plain",
            }
            t = _child(tracer, ctx, tool, attrs, t, rng.randint(50, 500) * MS)
        else:
            failed = rng.random() < 0.02
            errors += failed
            t = _llm(tracer, ctx, rng, pool, question, answer, t, failed=failed)
    root.end(end_time=t + rng.randint(1, 5) * MS)
    return errors


def _child(
    tracer: trace.Tracer, ctx: Any, name: str, attributes: dict[str, Any], start: int, duration: int
) -> int:
    span = tracer.start_span(name, context=ctx, start_time=start, attributes=attributes)
    span.set_status(Status(StatusCode.OK))
    span.end(end_time=start + duration)
    return start + duration + MS


def _llm(
    tracer: trace.Tracer,
    ctx: Any,
    rng: random.Random,
    pool: TextPool,
    question: str,
    answer: str,
    start: int,
    *,
    failed: bool,
) -> int:
    system = "You are a helpful assistant. Answer from the context only. " + pool.text(rng.randint(100, 200))
    user = f"Context:\n{pool.text(rng.randint(300, 600))}\n\n{question}"
    prompt_tokens, completion_tokens = rng.randint(300, 1500), rng.randint(50, 400)
    params = {"temperature": round(rng.uniform(0, 1), 2), "max_tokens": 1024, "top_p": 1.0, "stream": False}
    attrs: dict[str, Any] = {
        "openinference.span.kind": "LLM",
        "llm.model_name": rng.choice(MODELS),
        "llm.provider": "openai",
        "llm.system": "openai",
        "llm.invocation_parameters": json.dumps(params),
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": system,
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": user,
        "input.value": question,
        "input.mime_type": "text/plain",
        "llm.token_count.prompt": prompt_tokens,
    }
    if not failed:
        attrs |= {
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": answer,
            "output.value": answer,
            "output.mime_type": "text/plain",
            "llm.token_count.completion": completion_tokens,
            "llm.token_count.total": prompt_tokens + completion_tokens,
        }
    duration = rng.randint(300, 4000) * MS
    span = tracer.start_span("ChatCompletion", context=ctx, start_time=start, attributes=attrs)
    if failed:
        span.add_event(
            "exception",
            {"exception.type": "RateLimitError", "exception.message": "Rate limit reached for requests"},
            timestamp=start + duration,
        )
        span.set_status(Status(StatusCode.ERROR, "RateLimitError: Rate limit reached for requests"))
    else:
        span.set_status(Status(StatusCode.OK))
    span.end(end_time=start + duration)
    return start + duration + MS


def make_provider(
    exporter: SpanExporter, *, total_spans: int, schedule_delay_ms: float, seed: int
) -> TracerProvider:
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": "bench-ingest", "openinference.project.name": PROJECT_NAME}
        ),
        # Reproducible ids; clients with different seeds send disjoint ids.
        id_generator=SeededIdGenerator(seed + 2),
    )
    # The queue holds the whole run: the generator outpaces any server, and a full queue drops spans
    # (a real app would drop them too, but then a throughput figure would mean nothing).
    processor = BatchSpanProcessor(
        exporter,
        max_queue_size=max(2048, total_spans + BATCH_SIZE),
        schedule_delay_millis=schedule_delay_ms,
        max_export_batch_size=BATCH_SIZE,
    )
    provider.add_span_processor(processor)
    return provider


# --- exporters -------------------------------------------------------------------------------------


def compress(data: bytes, use_gzip: bool) -> bytes:
    """Exactly what the OTLP/HTTP client does before sending."""
    return gzip.compress(data) if use_gzip else data


class EncodeOnlyExporter(SpanExporter):
    """The exporter's client-side work (protobuf encode + gzip) without the HTTP request."""

    def __init__(self, *, use_gzip: bool) -> None:
        self.use_gzip = use_gzip
        self.batches = 0
        self.raw_bytes = 0
        self.wire_bytes = 0
        self.encode_seconds = 0.0
        self.compress_seconds = 0.0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        started = time.perf_counter()
        raw = encode_spans(spans).SerializeToString()
        encoded = time.perf_counter()
        wire = compress(raw, self.use_gzip)
        self.encode_seconds += encoded - started
        self.compress_seconds += time.perf_counter() - encoded
        self.batches += 1
        self.raw_bytes += len(raw)
        self.wire_bytes += len(wire)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@dataclass
class RequestTiming:
    start: float  # time.monotonic(): one clock for every process on the machine
    seconds: float
    status: int | None
    wire_bytes: int


class TimedSession(requests.Session):
    """Times each HTTP round trip of the exporter (the server's work plus loopback transfer)."""

    def __init__(self) -> None:
        super().__init__()
        self.timings: list[RequestTiming] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        size = len(kwargs.get("data") or b"")
        started = time.monotonic()
        status = None
        try:
            response = super().request(method, url, *args, **kwargs)
            status = response.status_code
            return response
        finally:
            self.timings.append(RequestTiming(started, time.monotonic() - started, status, size))


class MeasuredExporter(OTLPSpanExporter):
    """The real OTLP/HTTP exporter, timed per batch; calls `after_batch(spans)` after each batch."""

    def __init__(self, *, after_batch: Callable[[int], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.after_batch = after_batch
        self.batches = 0
        self.failed_batches = 0
        self.export_seconds = 0.0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        started = time.perf_counter()
        result = super().export(spans)
        self.export_seconds += time.perf_counter() - started
        self.batches += 1
        self.failed_batches += result is not SpanExportResult.SUCCESS
        self.after_batch(len(spans))
        return result


# --- client processes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientJob:
    index: int
    spans: int
    seed: int
    use_gzip: bool
    schedule_delay_ms: float
    url: str | None = None  # None: encode only, no HTTP
    total_spans: int = 0  # all clients' spans, for the RSS checkpoints
    worker_pid: int | None = None


@dataclass
class RssSample:
    checkpoint: str
    batches: int
    spans_exported: int
    rss_kib: int


@dataclass
class ClientResult:
    index: int
    spans: int
    traces: int
    error_spans: int
    first_span: float  # time.monotonic()
    flushed: float
    batches: int
    failed_batches: int = 0
    export_seconds: float = 0.0
    encode_seconds: float = 0.0
    compress_seconds: float = 0.0
    raw_bytes: int = 0
    wire_bytes: int = 0
    requests: list[RequestTiming] = field(default_factory=list)
    rss_samples: list[RssSample] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class WarningCounter(logging.Handler):
    """Keeps OpenTelemetry warnings and errors (dropped spans, failed exports) so none go unnoticed."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def client_main(job: ClientJob, start: Any, progress: Any, results: Any) -> None:
    """One exporter process: its own provider and exporter, its share of the traffic, one result."""
    logging.basicConfig(
        level=logging.WARNING, format=f"client {job.index}: %(levelname)s %(name)s: %(message)s"
    )
    warnings = WarningCounter()
    logging.getLogger("opentelemetry").addHandler(warnings)
    rss_samples: list[RssSample] = []

    def after_batch(spans: int) -> None:
        # `progress` = [spans exported, batches] over all clients; whoever crosses a checkpoint samples it.
        with progress.get_lock():
            before = progress[0]
            progress[0] += spans
            progress[1] += 1
            exported, batches = progress[0], progress[1]
        for checkpoint in RSS_CHECKPOINTS:
            if before < checkpoint * job.total_spans <= exported:
                rss = proc_status(job.worker_pid)["VmRSS"]  # type: ignore[arg-type]
                rss_samples.append(RssSample(f"{checkpoint:.0%}", batches, exported, rss))

    exporter: EncodeOnlyExporter | MeasuredExporter
    session = TimedSession()
    if job.url is None:
        exporter = EncodeOnlyExporter(use_gzip=job.use_gzip)
    else:
        exporter = MeasuredExporter(
            after_batch=after_batch,
            endpoint=job.url,
            compression=Compression.Gzip if job.use_gzip else Compression.NoCompression,
            timeout=300,
            session=session,
        )
    provider = make_provider(
        exporter, total_spans=job.spans, schedule_delay_ms=job.schedule_delay_ms, seed=job.seed
    )
    first_span: list[float] = []

    def on_first_span() -> None:
        start.wait(timeout=START_TIMEOUT_S)  # every client is ready: go together
        first_span.append(time.monotonic())

    traffic = emit_traces(
        provider.get_tracer("bench.ingest"), total_spans=job.spans, seed=job.seed, on_first_span=on_first_span
    )
    provider.force_flush(timeout_millis=3_600_000)
    flushed = time.monotonic()
    provider.shutdown()
    result = ClientResult(
        index=job.index,
        spans=traffic.spans,
        traces=traffic.traces,
        error_spans=traffic.errors,
        first_span=first_span[0],
        flushed=flushed,
        batches=exporter.batches,
        rss_samples=rss_samples,
        warnings=warnings.messages,
    )
    if isinstance(exporter, EncodeOnlyExporter):
        result.encode_seconds, result.compress_seconds = exporter.encode_seconds, exporter.compress_seconds
        result.raw_bytes, result.wire_bytes = exporter.raw_bytes, exporter.wire_bytes
    else:
        result.failed_batches, result.export_seconds = exporter.failed_batches, exporter.export_seconds
        result.requests = session.timings
        result.wire_bytes = sum(r.wire_bytes for r in session.timings)
    results.put(result)


def client_jobs(args: argparse.Namespace, **kwargs: Any) -> list[ClientJob]:
    """The spans split evenly over the clients, each with its own seed."""
    share, extra = divmod(args.spans, args.clients)
    return [
        ClientJob(
            index=i,
            spans=share + (i < extra),
            seed=args.seed + CLIENT_SEED_STRIDE * i,
            use_gzip=args.gzip,
            schedule_delay_ms=args.schedule_delay_ms,
            total_spans=args.spans,
            **kwargs,
        )
        for i in range(args.clients)
    ]


def run_clients(jobs: Sequence[ClientJob]) -> list[ClientResult]:
    """Each job in its own process; they build their traffic generators, then start together."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(jobs) + 1)
    progress = context.Array("q", 2)
    results = context.Queue()
    processes = [
        context.Process(target=client_main, args=(job, start, progress, results), daemon=True) for job in jobs
    ]
    for process in processes:
        process.start()
    try:
        start.wait(timeout=START_TIMEOUT_S)
        collected: list[ClientResult] = []
        while len(collected) < len(jobs):
            try:
                collected.append(results.get(timeout=1))
            except queue.Empty:
                if any(process.exitcode not in (None, 0) for process in processes):
                    raise RuntimeError("a client process failed (its traceback is above)") from None
        return sorted(collected, key=lambda result: result.index)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()


@dataclass
class Clients:
    """All clients' results together."""

    results: list[ClientResult]

    def total(self, name: str) -> Any:
        return sum(getattr(result, name) for result in self.results)

    @property
    def spans(self) -> int:
        return int(self.total("spans"))

    @property
    def seconds(self) -> float:
        """From the first span any client created to the last client's flush."""
        return max(r.flushed for r in self.results) - min(r.first_span for r in self.results)

    @property
    def requests(self) -> list[RequestTiming]:
        return [request for result in self.results for request in result.requests]

    @property
    def rss_samples(self) -> list[RssSample]:
        return sorted((s for r in self.results for s in r.rss_samples), key=lambda s: s.spans_exported)

    @property
    def warnings(self) -> list[str]:
        return [message for result in self.results for message in result.warnings]


def busy_seconds(requests: Sequence[RequestTiming]) -> float:
    """Wall time with at least one request in flight (the union of the round trips)."""
    busy, covered_until = 0.0, -math.inf
    for request in sorted(requests, key=lambda r: r.start):
        end = request.start + request.seconds
        if end > covered_until:
            busy += end - max(request.start, covered_until)
            covered_until = end
    return busy


# --- database --------------------------------------------------------------------------------------


class BenchDatabase:
    """A fresh database for one run; `url` goes to DATABASE_URL."""

    def __init__(self, kind: str, postgres_url: str) -> None:
        self.kind = kind
        self.postgres_url = postgres_url
        self.tempdir: Path | None = None
        self.url = ""

    def create(self) -> None:
        if self.kind == "sqlite":
            self.tempdir = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
            self.url = f"sqlite:///{self.tempdir / 'db.sqlite3'}"
            return
        name = self._postgres_name()
        self._postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._postgres_admin(f'CREATE DATABASE "{name}"')
        self.url = self.postgres_url

    def drop(self) -> None:
        if self.kind == "sqlite":
            if self.tempdir is not None:
                shutil.rmtree(self.tempdir, ignore_errors=True)
            return
        if self.url:
            self._postgres_admin(f'DROP DATABASE IF EXISTS "{self._postgres_name()}" WITH (FORCE)')

    def counts(self) -> dict[str, int]:
        """Spans, traces and the traces' span_count roll-up total, read straight from the tables."""
        queries = {
            "spans": "SELECT COUNT(*) FROM tracing_span",
            "traces": "SELECT COUNT(*) FROM tracing_trace",
            "rollup_span_count": "SELECT COALESCE(SUM(span_count), 0) FROM tracing_trace",
            "error_spans": "SELECT COUNT(*) FROM tracing_span WHERE status_code = 'ERROR'",
        }
        if self.kind == "sqlite":
            assert self.tempdir is not None
            with sqlite3.connect(self.tempdir / "db.sqlite3") as conn:
                return {key: int(conn.execute(sql).fetchone()[0]) for key, sql in queries.items()}
        import psycopg

        with psycopg.connect(self.url) as conn:
            return {key: int(conn.execute(sql).fetchone()[0]) for key, sql in queries.items()}  # type: ignore[index]

    def _postgres_name(self) -> str:
        name = urlsplit(self.postgres_url).path.lstrip("/")
        # This script drops the database it uses: refuse anything that is not clearly a bench database.
        if not name.startswith("bench_") or not name.replace("_", "").isalnum():
            raise SystemExit(f"refusing to create/drop database {name!r}: its name must start with 'bench_'")
        return name

    def _postgres_admin(self, statement: str) -> None:
        import psycopg

        parts = urlsplit(self.postgres_url)
        admin_url = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, parts.fragment))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]


def run_manage(args: Sequence[str], env: dict[str, str]) -> None:
    completed = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")


# --- server ----------------------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM in KiB from /proc/<pid>/status."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of all the process's threads."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """gunicorn with ONE worker process (sync, or gthread with `threads` threads) on 127.0.0.1:`port`."""

    def __init__(self, *, env: dict[str, str], port: int, threads: int, logdir: Path) -> None:
        self.env = env
        self.port = port
        self.threads = threads
        self.access_log = logdir / "access.log"
        self.error_log = logdir / "error.log"
        self.output_log = logdir / "output.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.worker_pid = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/traces"

    def start(self) -> None:
        worker = ["--worker-class", "sync"]
        if self.threads > 1:
            worker = ["--worker-class", "gthread", "--threads", str(self.threads)]
        command = [
            *(sys.executable, "-m", "gunicorn", "phoenix_annot.wsgi:application"),
            *("--bind", f"127.0.0.1:{self.port}", "--workers", "1", *worker, "--timeout", "300"),
            # %(D)s: request time in microseconds, as gunicorn measured it.
            *("--access-logfile", str(self.access_log), "--access-logformat", "%(s)s %(D)s"),
            *("--error-logfile", str(self.error_log), "--log-level", "warning"),
        ]
        # Python warnings and tracebacks go to the worker's stderr, not to gunicorn's error log.
        with open(self.output_log, "wb") as output:
            # Its own session: Ctrl-C reaches this script only, which then stops gunicorn in `finally`.
            self.process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._answers_empty_export():
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"gunicorn did not answer within {START_TIMEOUT_S:.0f} s:\n{self.log_tail()}"
                )
            time.sleep(0.1)
        with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as children:
            (self.worker_pid,) = map(int, children.read().split())

    def _answers_empty_export(self) -> bool:
        # A request with one resource and no spans (an empty one is zero bytes, which the server refuses):
        # the 200 proves the worker loaded Django and that auth is off, without storing anything.
        body = ExportTraceServiceRequest(resource_spans=[ResourceSpans()]).SerializeToString()
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/x-protobuf"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status == 200
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"warm-up export answered {exc.code}: {exc.read()[:500]!r}") from exc
        except OSError:  # not listening yet
            return False

    def memory_kib(self) -> dict[str, int]:
        return proc_status(self.worker_pid)

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.worker_pid)

    def request_log(self) -> list[tuple[int, int]]:
        """(status, microseconds) of every request gunicorn logged but the first (the warm-up)."""
        rows = [line.split() for line in self.access_log.read_text().splitlines()]
        return [(int(status), int(micros)) for status, micros in rows[1:]]

    def log_tail(self, lines: int = 40) -> str:
        text = [path.read_text() for path in (self.error_log, self.output_log) if path.exists()]
        return "\n".join("\n".join(text).splitlines()[-lines:]) or "(gunicorn logged nothing)"

    def stop(self) -> None:
        """SIGTERM to the master, which stops its worker (gunicorn's graceful shutdown)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            if self.worker_pid:  # a killed master leaves its worker behind
                with suppress(ProcessLookupError):
                    os.kill(self.worker_pid, signal.SIGKILL)


# --- report ----------------------------------------------------------------------------------------


@dataclass
class ServerFigures:
    rss_baseline_kib: int
    peak_rss_kib: int  # VmHWM
    cpu_seconds: float
    request_log: list[tuple[int, int]]  # gunicorn's (status, microseconds) per request


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def rate(spans: int, seconds: float) -> float:
    return spans / seconds if seconds > 0 else math.inf


def verdict(value: float, target: int) -> str:
    return "PASS" if value >= target else "MISS"


def build_report(
    args: argparse.Namespace,
    client_only: Clients,
    e2e: Clients,
    server: ServerFigures,
    counts: dict[str, int],
    migrate_s: float,
) -> tuple[str, dict[str, Any], bool]:
    target = TARGETS[args.database]
    spans, traces, error_spans = e2e.spans, int(e2e.total("traces")), int(e2e.total("error_spans"))
    failed_batches = int(e2e.total("failed_batches"))
    requests = e2e.requests
    http_sum = sum(r.seconds for r in requests)
    http_busy = busy_seconds(requests)
    gunicorn_seconds = sum(micros for _, micros in server.request_log) / 1e6
    statuses: dict[str, int] = {}
    for status, _ in server.request_log:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    export_seconds = e2e.total("export_seconds")
    per_request_ms = sorted(r.seconds * 1000 for r in requests) or [0.0]
    wire = sum(r.wire_bytes for r in requests)
    e2e_rate = rate(spans, e2e.seconds)
    http_rate = rate(spans, http_busy)
    gunicorn_rate = rate(spans, gunicorn_seconds)
    cpu_rate = rate(spans, server.cpu_seconds)
    client_rate = rate(client_only.spans, client_only.seconds)
    stored_ok = (
        counts["spans"] == spans
        and counts["traces"] == traces
        and counts["rollup_span_count"] == spans
        and counts["error_spans"] == error_spans
        and failed_batches == 0
    )
    compression = "gzip" if args.gzip else "none"
    worker = f"gthread worker x {args.threads} threads" if args.threads > 1 else "sync worker"
    load = os.getloadavg()
    rss = ", ".join(f"{s.checkpoint} {mib(s.rss_kib)}" for s in e2e.rss_samples)
    ok_requests = sum(r.status == 200 for r in requests)
    lines = [
        f"OTLP/HTTP ingest end to end: {args.database}, compression {compression}, "
        f"{args.clients} exporter process(es) -> 1 gunicorn {worker}, batches of {BATCH_SIZE}",
        f"  stored / sent       spans {counts['spans']:,} / {spans:,}, traces {counts['traces']:,} / "
        f"{traces:,}, ERROR spans {counts['error_spans']} / {error_spans}, "
        f"trace roll-up span_count total {counts['rollup_span_count']:,}",
        f"  requests            {len(requests)} ({ok_requests} OK; gunicorn statuses {statuses}); "
        f"{wire / max(len(requests), 1) / 1024:.0f} KiB each on the wire "
        f"({client_only.total('raw_bytes') / max(client_only.total('batches'), 1) / 1024:.0f} KiB "
        f"protobuf), {wire / max(spans, 1):.0f} B/span",
        f"  elapsed             {e2e.seconds:.2f} s (first span created -> last force_flush returned)",
        f"  end to end          {e2e_rate:8,.0f} spans/s   target >= {target:,}: {verdict(e2e_rate, target)}",
        f"  server (HTTP)       {http_rate:8,.0f} spans/s   target >= {target:,}: "
        f"{verdict(http_rate, target)}"
        f"   ({http_busy:.2f} s with a request in flight; sum of round trips {http_sum:.2f} s, "
        f"{http_sum / http_busy if http_busy else 0:.2f} in flight on average; per request p50 "
        f"{statistics.median(per_request_ms):.0f} ms, max {per_request_ms[-1]:.0f} ms)",
        f"  server (gunicorn)   {gunicorn_rate:8,.0f} spans/s   (sum of %(D)s request times "
        f"{gunicorn_seconds:.2f} s"
        + ("; overlapping requests each count in full)" if args.clients > 1 else ")"),
        f"  server worker CPU   {cpu_rate:8,.0f} spans per CPU-second ({server.cpu_seconds:.2f} s user+sys)",
        f"  client only         {client_rate:8,.0f} spans/s   ({client_only.seconds:.2f} s, {args.clients} "
        f"process(es): generate + BatchSpanProcessor + encode + {compression}, no HTTP; export threads: "
        f"encode {client_only.total('encode_seconds'):.2f} s, {compression} "
        f"{client_only.total('compress_seconds'):.2f} s)",
        f"  client in this run  {export_seconds - http_sum:.2f} s encode + compress "
        f"(sum of export() {export_seconds:.2f} s - sum of HTTP {http_sum:.2f} s)",
        f"  worker RSS          baseline {mib(server.rss_baseline_kib)}; after {rss}; "
        f"peak (VmHWM) {mib(server.peak_rss_kib)}",
        f"  migrate             {migrate_s:.1f} s; load average at the end "
        f"{', '.join(f'{x:.1f}' for x in load)} on {os.cpu_count()} CPUs",
    ]
    warnings = e2e.warnings
    if warnings:
        lines.append(f"  OpenTelemetry warnings: {len(warnings)}, first: {warnings[0]}")
    if not stored_ok:
        lines += [
            "",
            "!" * 100,
            f"!!! MISMATCH: sent {spans} spans / {traces} traces / {error_spans} ERROR spans, "
            f"stored {counts}; failed export batches: {failed_batches}",
            "!" * 100,
        ]
    data = {
        "database": args.database,
        "gzip": args.gzip,
        "clients": args.clients,
        "threads": args.threads,
        "batch_size": BATCH_SIZE,
        "spans_sent": spans,
        "traces_sent": traces,
        "stored": counts,
        "stored_ok": stored_ok,
        "elapsed_s": e2e.seconds,
        "end_to_end_spans_per_s": e2e_rate,
        "server_http_spans_per_s": http_rate,
        "server_http_busy_s": http_busy,
        "server_http_sum_s": http_sum,
        "server_gunicorn_spans_per_s": gunicorn_rate,
        "server_cpu_s": server.cpu_seconds,
        "server_spans_per_cpu_s": cpu_rate,
        "target_spans_per_s": target,
        "client_only": {
            "spans_per_s": client_rate,
            "seconds": client_only.seconds,
            "encode_s": client_only.total("encode_seconds"),
            "compress_s": client_only.total("compress_seconds"),
            "raw_bytes": client_only.total("raw_bytes"),
            "wire_bytes": client_only.total("wire_bytes"),
        },
        "per_client": [
            {
                "spans": r.spans,
                "seconds": r.flushed - r.first_span,
                "batches": r.batches,
                "failed_batches": r.failed_batches,
            }
            for r in e2e.results
        ],
        "requests_ms": [r.seconds * 1000 for r in requests],
        "gunicorn_request_ms": [micros / 1000 for _, micros in server.request_log],
        "gunicorn_statuses": statuses,
        "wire_bytes": wire,
        "rss_baseline_kib": server.rss_baseline_kib,
        "rss_samples": [asdict(s) for s in e2e.rss_samples],
        "peak_rss_kib": server.peak_rss_kib,
        "warnings": warnings[:20],
        "migrate_s": migrate_s,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average": load,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return "\n".join(lines), data, stored_ok


# --- main ------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--spans", type=int, default=20_000, help="spans to send, all clients (default 20000)"
    )
    parser.add_argument("--clients", type=int, default=1, help="exporter processes sending concurrently")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads of the one gunicorn worker (> 1: gthread worker)"
    )
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument(
        "--gzip", action=argparse.BooleanOptionalAction, default=True, help="gzip request bodies"
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="database to create, use and drop (name must start with bench_)",
    )
    parser.add_argument(
        "--schedule-delay-ms", type=float, default=50.0, help="BatchSpanProcessor schedule delay"
    )
    parser.add_argument(
        "--seed", type=int, default=1234, help=f"client i uses seed + {CLIENT_SEED_STRIDE} * i"
    )
    parser.add_argument(
        "--no-json", dest="json", action="store_false", help="do not write bench/results/*.json"
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or args.threads < 1:
        parser.error("--clients and --threads must be at least 1")
    if args.spans < 3 * args.clients:
        parser.error("--spans must be at least 3 (one trace) per client")
    return args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    print(f"client-only run: {args.spans:,} spans, {args.clients} process(es) …", flush=True)
    client_only = Clients(run_clients(client_jobs(args)))

    database = BenchDatabase(args.database, args.postgres_url)
    logdir = Path(tempfile.mkdtemp(prefix="bench_ingest_logs_"))
    server: Server | None = None
    try:
        database.create()
        env = {
            **os.environ,
            "DATABASE_URL": database.url,
            "DJANGO_SETTINGS_MODULE": "phoenix_annot.settings",
            "PHOENIX_ANNOT_V1_AUTH_REQUIRED": "false",
            "DJANGO_DEBUG": "false",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        print(f"migrating a fresh {args.database} database …", flush=True)
        started = time.perf_counter()
        run_manage(["migrate", "--noinput", "-v", "0"], env)
        migrate_s = time.perf_counter() - started

        server = Server(env=env, port=args.port or free_port(), threads=args.threads, logdir=logdir)
        server.start()
        print(
            f"gunicorn worker {server.worker_pid}; sending {args.spans:,} spans to {server.url} …", flush=True
        )
        rss_baseline = server.memory_kib()["VmRSS"]
        cpu_before = server.cpu_seconds()
        e2e = Clients(run_clients(client_jobs(args, url=server.url, worker_pid=server.worker_pid)))
        figures = ServerFigures(
            rss_baseline_kib=rss_baseline,
            peak_rss_kib=server.memory_kib()["VmHWM"],
            cpu_seconds=server.cpu_seconds() - cpu_before,
            request_log=server.request_log(),
        )
        if any(status != 200 for status, _ in figures.request_log):
            print(server.log_tail(), file=sys.stderr)
        server.stop()
        report, data, stored_ok = build_report(args, client_only, e2e, figures, database.counts(), migrate_s)
        print()
        print(report)
        if args.json:
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            path = RESULTS_DIR / f"ingest-{args.database}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
            path.write_text(json.dumps(data, indent=2))
            print(f"  results             {path.relative_to(PROJECT_ROOT)}")
        return 0 if stored_ok else 1
    finally:
        if server is not None:
            server.stop()
        database.drop()
        shutil.rmtree(logdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
