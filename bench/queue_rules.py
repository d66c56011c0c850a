"""Queue rules benchmark (issue 13): OTLP ingest with and without 3 enabled rules on the project.

What it does, in order:

1. Creates the PostgreSQL database (its name must start with ``bench_``; dropped first, and at the end unless
   ``--keep``) and runs ``manage.py migrate``; then, in process, stores ``--stored`` spans in the project
   (RAG-shaped traces of 4 spans: CHAIN root, RETRIEVER, LLM, TOOL; 1 trace in 20 with an LLM error) and
   makes three queues, each with one rule, saved through the rules service (their backfills are timed):

   - every span, sampled at 10 % (the sample hashes each span id);
   - the traces whose LLM span failed (``condition``: ``status_code == 'ERROR'``, kind trace);
   - slow LLM spans (``span_kind=LLM``, ``latency_min=1500``: about a third of them).

2. Ingests fresh requests of ``--spans-per-request`` spans as ``POST /v1/traces`` does after reading the
   body: ``decode_request`` of the protobuf message, then ``spans_ingest``, each request timed. Three
   conditions take turns, round after round, in a rotating order so that none always runs first:

   - ``hook off``: ingestion without the call into the rules (patched out in this process): the baseline;
   - ``no enabled rule``: the rules disabled, so ingestion pays one query that finds none;
   - ``3 rules``: the three rules enabled, adding the items of the spans they match.

3. Prints each condition's median and 90th percentile per request, spans per second, the overhead against
   the baseline; and, with the rules on, the time each request spent in them against the rest of that same
   request (median), which the machine's load changes far less than medians of separate requests. Then
   checks that the rules added what they should: every span of the sample, every failed trace, every slow
   LLM span of the requests ingested with the rules on, and nothing else.

Target (issue 13): 3 enabled rules slow ingest by less than 10 % (median per request).

Run from the project root with the project's virtualenv, as a module::

    .venv/bin/python -m bench.queue_rules --postgres-url postgres://postgres@127.0.0.1:5432/bench_queue_rules
    .venv/bin/python -m bench.queue_rules --stored 5000 --rounds 3   # a quick look

Exit status 1 when a check fails; 0 otherwise, whether the target is met or not.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from hashlib import md5
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from bench.api import migrated_database, summary

PROJECT = "rules-bench"
TARGET_PERCENT = 10
SAMPLE_PERCENT = 10
SLOW_MS = 1500
START_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
CONDITIONS = ("hook off", "no enabled rule", "3 rules")


def attribute(key: str, value: str | int) -> KeyValue:
    any_value = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    return KeyValue(key=key, value=any_value)


def trace_spans(rng: random.Random, number: int) -> list[Span]:
    """One RAG-shaped trace: a CHAIN root, then a RETRIEVER, an LLM (1 in 20 failing) and a TOOL span."""
    trace_id = rng.getrandbits(128).to_bytes(16, "big")
    root_id = rng.getrandbits(64).to_bytes(8, "big")
    start = START_NS + number * 2_000_000_000
    failed = rng.random() < 0.05

    def span(name: str, kind: str, *, parent: bytes | None, ms: int, extra: list[KeyValue]) -> Span:
        return Span(
            trace_id=trace_id,
            span_id=root_id if parent is None else rng.getrandbits(64).to_bytes(8, "big"),
            parent_span_id=parent or b"",
            name=name,
            start_time_unix_nano=start,
            end_time_unix_nano=start + ms * 1_000_000,
            attributes=[attribute("openinference.span.kind", kind), *extra],
            status=Status(code=2 if failed and kind == "LLM" else 0),
        )

    question = attribute("input.value", f"Where is my parcel number {number}?")
    return [
        span("answer", "CHAIN", parent=None, ms=2600, extra=[question]),
        span("retrieve", "RETRIEVER", parent=root_id, ms=120, extra=[question]),
        span(
            "ChatCompletion",
            "LLM",
            parent=root_id,
            ms=rng.randint(400, 2400),
            extra=[attribute("llm.model_name", "gpt-4o-mini"), attribute("llm.token_count.prompt", 420)],
        ),
        span("lookup_order", "TOOL", parent=root_id, ms=80, extra=[]),
    ]


def requests_of(rng: random.Random, *, count: int, spans: int, first_trace: int) -> Iterator[bytes]:
    """`count` serialized export requests of `spans` spans each (whole traces of 4)."""
    number = first_trace
    for _ in range(count):
        made: list[Span] = []
        while len(made) < spans:
            made.extend(trace_spans(rng, number))
            number += 1
        yield ExportTraceServiceRequest(
            resource_spans=[
                ResourceSpans(
                    resource=Resource(attributes=[attribute("openinference.project.name", PROJECT)]),
                    scope_spans=[ScopeSpans(spans=made)],
                )
            ]
        ).SerializeToString()


def run(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.db import connection

    from phoenix_annot.ingest import services as ingest_services
    from phoenix_annot.ingest.otlp import decode_request
    from phoenix_annot.queues.models import AnnotationQueue, QueueItem, QueueRule
    from phoenix_annot.queues.rules import queue_rule_create
    from phoenix_annot.tracing.models import Project
    from phoenix_annot.tracing.models import Span as StoredSpan

    hook = ingest_services.queue_rules_apply
    hook_seconds: list[float] = []

    def timed_hook(**kwargs: Any) -> None:
        started = time.perf_counter()
        hook(**kwargs)
        hook_seconds.append(time.perf_counter() - started)

    rng = random.Random(13)
    per_request = args.spans_per_request
    traces_per_request = -(-per_request // 4)

    def ingest(body: bytes) -> float:
        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        started = time.perf_counter()
        ingest_services.spans_ingest(records=decode_request(message))
        return time.perf_counter() - started

    started = time.perf_counter()
    stored_requests = -(-args.stored // per_request)
    for body in requests_of(rng, count=stored_requests, spans=per_request, first_trace=0):
        ingest(body)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"stored {StoredSpan.objects.count():,} spans in {time.perf_counter() - started:.0f} s")

    project = Project.objects.get(name=PROJECT)
    rules = {
        "sample": ("span", {}, SAMPLE_PERCENT),
        "failed traces": ("trace", {"condition": "status_code == 'ERROR'"}, None),
        "slow LLM spans": ("span", {"span_kind": "LLM", "latency_min": str(SLOW_MS)}, None),
    }
    backfills = {}
    for name, (kind, span_filter, percent) in rules.items():
        queue = AnnotationQueue.objects.create(project=project, name=name)
        began = time.perf_counter()
        saved = queue_rule_create(
            queue=queue, user=None, kind=kind, filter=span_filter, sampling_percent=percent
        )
        backfills[name] = {
            "added": saved.backfill.added,
            "ms": round((time.perf_counter() - began) * 1000, 1),
        }
    print(f"backfills: {json.dumps(backfills)}")

    times: dict[str, list[float]] = {condition: [] for condition in CONDITIONS}
    ingested_with_rules: list[bytes] = []
    rules_share: list[float] = []
    first_trace = stored_requests * traces_per_request
    for round_number in range(args.rounds):
        order = CONDITIONS[round_number % 3 :] + CONDITIONS[: round_number % 3]
        for condition in order:
            ingest_services.queue_rules_apply = (
                (lambda **kwargs: None) if condition == "hook off" else timed_hook
            )
            QueueRule.objects.update(enabled=condition == "3 rules")
            for body in requests_of(rng, count=args.requests, spans=per_request, first_trace=first_trace):
                hook_seconds.clear()
                times[condition].append(ingest(body))
                if condition == "3 rules":
                    ingested_with_rules.append(body)
                    # The same request's time in the rules and without them: machine load cancels out.
                    rules_share.append(sum(hook_seconds) / (times[condition][-1] - sum(hook_seconds)))
            first_trace += args.requests * traces_per_request
    ingest_services.queue_rules_apply = hook

    results: dict[str, Any] = {"backfills": backfills}
    base = statistics.median(times["hook off"])
    for condition in CONDITIONS:
        stats = summary(times[condition])
        stats["spans_per_s"] = round(per_request / statistics.median(times[condition]))
        stats["overhead_percent"] = round((statistics.median(times[condition]) / base - 1) * 100, 1)
        results[condition] = stats
    results["3 rules"]["in_request_overhead_percent"] = round(statistics.median(rules_share) * 100, 1)
    print(json.dumps(results, indent=2))

    problems = check_items(ingested_with_rules, QueueItem, project)
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    overhead = results["3 rules"]["overhead_percent"]
    paired = results["3 rules"]["in_request_overhead_percent"]
    print(
        f"target: 3 enabled rules slow ingest by < {TARGET_PERCENT} %: {overhead} % (medians per request), "
        f"{paired} % (the rules' time in each request against the rest of it, median)"
    )
    return 1 if problems else 0


def check_items(bodies: list[bytes], queue_item_model: Any, project: Any) -> list[str]:
    """What the rules added from the requests ingested with them on is exactly what they match."""
    expected: dict[str, set[str]] = {"sample": set(), "failed traces": set(), "slow LLM spans": set()}
    new_span_ids: set[str] = set()
    new_trace_ids: set[str] = set()
    for body in bodies:
        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        for span in message.resource_spans[0].scope_spans[0].spans:
            span_id, trace_id = span.span_id.hex(), span.trace_id.hex()
            new_span_ids.add(span_id)
            new_trace_ids.add(trace_id)
            if int(md5(span_id.encode()).hexdigest()[:4], 16) < round(SAMPLE_PERCENT * 65536 / 100):
                expected["sample"].add(span_id)
            if span.status.code == 2:
                expected["failed traces"].add(trace_id)
            latency_ms = (span.end_time_unix_nano - span.start_time_unix_nano) / 1_000_000
            if span.attributes[0].value.string_value == "LLM" and latency_ms >= SLOW_MS:
                expected["slow LLM spans"].add(span_id)
    problems = []
    for name, ids in expected.items():
        items = queue_item_model.objects.filter(queue__project=project, queue__name=name)
        if name == "failed traces":
            found = set(items.values_list("trace__trace_id", flat=True)) & new_trace_ids
        else:
            found = set(items.values_list("span__span_id", flat=True)) & new_span_ids
        if found != ids:
            problems.append(f"{name}: {len(found)} items for {len(ids)} matching, {len(found ^ ids)} differ")
        else:
            print(f"{name}: {len(ids)} items from the {len(new_span_ids):,} spans ingested with the rules on")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/bench_queue_rules")
    parser.add_argument("--stored", type=int, default=50_000, help="Spans in the project before the rules.")
    parser.add_argument("--spans-per-request", type=int, default=512)
    parser.add_argument("--requests", type=int, default=5, help="Requests per condition and round.")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = parser.parse_args(argv)
    with migrated_database(args.postgres_url, keep=args.keep) as env:
        os.environ.update(env)
        return run(args)


if __name__ == "__main__":
    sys.exit(main())
