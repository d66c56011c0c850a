"""Peak gunicorn worker memory and time for the heaviest OTLP requests the limits allow, and for the attack's.

What it does, for each case below: a fresh database (SQLite temp file, or PostgreSQL with ``--postgres``),
``migrate``, then gunicorn with ONE sync worker (auth off; the limits of this run in its environment), one
small export to warm the code paths, then the case's ``POST /v1/traces``. It reports the worker's resident
memory before the request (VmRSS) and its peak (VmHWM from /proc/<pid>/status) after it, the status, the
time, how many spans were stored (all or none: ingest is one transaction), and whether the worker is still
the same process.

The cases, at the limits (``--max-spans``, ``--max-attributes``, ``--max-body-bytes``; the settings'
defaults unless given):

- ``text``: the most spans allowed, each an LLM span whose input and output values fill the body limit
  (the realistic shape);
- ``short-attributes``: the most spans allowed, each with its share of the attribute limit as one-digit
  integer attributes under numbered keys (``m.0``, ``m.1``...), the last padded with text to fill the body
  limit: the most Python objects the limits allow, and the most work for the attribute nesting;
- the same two shapes as OTLP/JSON, and ``short-attributes`` gzipped (what exporters send);
- ``too-many-attributes``: the body limit filled with short attributes, past the attribute limit: a 413,
  whose cost is parsing the protobuf (the most objects per byte of any request);
- ``attack``: the attack's request, tiny spans filling the body limit (about 300,000 at 20 MiB): a 413;
- ``attack-json``: the same as OTLP/JSON: a 413.

Run from the project root with the project's virtualenv::

    .venv/bin/python bench/otlp_memory.py
    .venv/bin/python bench/otlp_memory.py --postgres postgres://postgres@127.0.0.1:5432/bench_otlp
    .venv/bin/python bench/otlp_memory.py --only text attack

Targets: every peak under 300 MiB and every request under 20 s (gunicorn kills a worker after 30 s), the
worker alive. Exit status 1 when a case
misses them, answers an unexpected status, or stores other than all or none of its spans. Results are
printed and written as JSON to ``bench/results/``. Never run two benchmarks at once (2 cores).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phoenix_annot.settings")

from api import RESULTS, worker_peak
from django.conf import settings
from ingest import BenchDatabase
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

TARGET_MIB = 300
# Two thirds of gunicorn's default worker timeout (30 s), on a loaded 2-core machine.
TARGET_SECONDS = 20
START_NS = 1_767_268_800_000_000_000
SPANS_PER_TRACE = 4
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# Attributes of a span, given how many (or how large) they should be.
Shape = Callable[[int], list[tuple[str, Any]]]


@dataclass(frozen=True)
class Limits:
    spans: int
    attributes: int
    body_bytes: int

    def env(self) -> dict[str, str]:
        return {
            "PHOENIX_ANNOT_OTLP_MAX_SPANS_PER_REQUEST": str(self.spans),
            "PHOENIX_ANNOT_OTLP_MAX_ATTRIBUTES_PER_REQUEST": str(self.attributes),
            "PHOENIX_ANNOT_OTLP_MAX_BODY_BYTES": str(self.body_bytes),
        }


@dataclass(frozen=True)
class Export:
    name: str
    content_type: str
    body: bytes
    spans: int
    expected_status: int
    gzipped: bool = False


@dataclass(frozen=True)
class Result:
    case: str
    spans: int
    body_bytes: int
    status: int
    seconds: float
    rss_before_mib: float
    peak_mib: float
    stored_spans: int
    worker_survived: bool
    message: str

    def row(self) -> str:
        return (
            f"{self.case:24} {self.spans:7} {self.body_bytes / 2**20:9.2f} {self.status:6} "
            f"{self.seconds:6.1f} {self.rss_before_mib:7.1f} {self.peak_mib:7.1f} {self.stored_spans:6}  "
            f"{'alive' if self.worker_survived else 'REPLACED'} {self.message}"
        )


# --- bodies ---------------------------------------------------------------------------------------------


def span_fields(index: int) -> dict[str, Any]:
    """Ids and times of span `index`: SPANS_PER_TRACE spans a trace, the first of each its root."""
    root = index - index % SPANS_PER_TRACE
    return {
        "trace_id": (index // SPANS_PER_TRACE + 1).to_bytes(16, "big"),
        "span_id": (index + 1).to_bytes(8, "big"),
        "parent_span_id": b"" if index == root else (root + 1).to_bytes(8, "big"),
        "name": f"span {index}",
        "start_time_unix_nano": START_NS + index,
        "end_time_unix_nano": START_NS + index + 1_000_000,
    }


def protobuf_body(spans: Iterable[Span]) -> bytes:
    scope = ScopeSpans(spans=list(spans))
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[scope])]).SerializeToString()


def json_body(spans: Iterable[dict[str, Any]]) -> bytes:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]}).encode()


def json_span(index: int, attributes: list[dict[str, Any]]) -> dict[str, Any]:
    fields = span_fields(index)
    return {
        "traceId": fields["trace_id"].hex(),
        "spanId": fields["span_id"].hex(),
        **({"parentSpanId": fields["parent_span_id"].hex()} if fields["parent_span_id"] else {}),
        "name": fields["name"],
        "startTimeUnixNano": str(fields["start_time_unix_nano"]),
        "endTimeUnixNano": str(fields["end_time_unix_nano"]),
        "attributes": attributes,
    }


def text_attributes(value_bytes: int) -> list[tuple[str, Any]]:
    half = "x" * (value_bytes // 2)
    return [
        ("openinference.span.kind", "LLM"),
        ("llm.model_name", "gpt-4o-mini"),
        ("llm.token_count.prompt", 120),
        ("llm.token_count.completion", 30),
        ("input.value", half),
        ("output.value", half),
    ]


def short_attributes(count: int) -> list[tuple[str, Any]]:
    return [(f"m.{i}", i % 10) for i in range(count)]


def most_attributes(limits: Limits) -> Shape:
    """As many short attributes as the attribute limit allows each span, the last one padded with text."""
    count = limits.attributes // limits.spans
    return lambda n: [*short_attributes(count - 1), ("pad", "x" * n)]


def protobuf_spans(attributes: list[tuple[str, Any]], count: int) -> bytes:
    values = [KeyValue(key=key, value=any_value(value)) for key, value in attributes]
    return protobuf_body(Span(**span_fields(i), attributes=values) for i in range(count))


def json_spans(attributes: list[tuple[str, Any]], count: int) -> bytes:
    values = [{"key": key, "value": json_value(value)} for key, value in attributes]
    return json_body(json_span(i, values) for i in range(count))


def filling(limits: Limits, shape: Shape, encode: Callable[..., bytes]) -> list[tuple[str, Any]]:
    """The attributes of `shape(n)` for the largest n with which the most spans allowed fit the body limit."""
    sample = max(1, limits.spans // 100)

    def size(n: int) -> float:
        return len(encode(shape(n), sample)) / sample * limits.spans

    empty, step = size(0), (size(1000) - size(0)) / 1000
    n = int((limits.body_bytes - empty) / step)
    while n > 0 and len(encode(shape(n), limits.spans)) > limits.body_bytes:
        n = int(n * 0.99)
    return shape(n)


def export(name: str, limits: Limits, shape: Shape, *, as_json: bool, expected_status: int = 200) -> Export:
    encode = json_spans if as_json else protobuf_spans
    body = encode(filling(limits, shape, encode), limits.spans)
    return Export(name, JSON if as_json else PROTOBUF, body, limits.spans, expected_status)


def any_value(value: Any) -> AnyValue:
    return AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)


def json_value(value: Any) -> dict[str, str]:
    return {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}


def most_spans(encode: Callable[[int], bytes], limits: Limits) -> tuple[int, bytes]:
    """The most spans `encode(n)` fits in the body limit, and their body."""
    sample = 1000
    count = int(limits.body_bytes / (len(encode(sample)) / sample))
    while len(body := encode(count)) > limits.body_bytes:
        count = int(count * 0.99)
    return count, body


def attack(limits: Limits) -> Export:
    """Tiny spans, as many as fit the body limit: the attack sent 400,000 in 20 MB."""
    count, body = most_spans(lambda n: protobuf_body(Span(**span_fields(i)) for i in range(n)), limits)
    return Export("attack", PROTOBUF, body, count, 413)


def attack_json(limits: Limits) -> Export:
    count, body = most_spans(lambda n: json_body(json_span(i, []) for i in range(n)), limits)
    return Export("attack-json", JSON, body, count, 413)


def gzipped(export: Export) -> Export:
    return Export(
        f"{export.name}-gzip",
        export.content_type,
        gzip.compress(export.body, compresslevel=1),
        export.spans,
        export.expected_status,
        gzipped=True,
    )


def cases(limits: Limits) -> list[Callable[[], Export]]:
    return [
        lambda: export("text", limits, text_attributes, as_json=False),
        lambda: export("short-attributes", limits, most_attributes(limits), as_json=False),
        lambda: gzipped(export("short-attributes", limits, most_attributes(limits), as_json=False)),
        lambda: export("text-json", limits, text_attributes, as_json=True),
        lambda: export("short-attributes-json", limits, most_attributes(limits), as_json=True),
        lambda: export("too-many-attributes", limits, short_attributes, as_json=False, expected_status=413),
        lambda: attack(limits),
        lambda: attack_json(limits),
    ]


# --- running ----------------------------------------------------------------------------------------------


def run_case(export: Export, database: BenchDatabase, limits: Limits) -> Result:
    headers = {
        "Content-Type": export.content_type,
        **({"Content-Encoding": "gzip"} if export.gzipped else {}),
    }
    warm_up = protobuf_body([Span(**span_fields(10**7))])
    database.create()
    try:
        measured = worker_peak(
            database.url,
            limits.env(),
            warm=lambda client: client.post(
                "/v1/traces", content=warm_up, headers={"Content-Type": PROTOBUF}
            ).raise_for_status(),
            send=lambda client: client.post("/v1/traces", content=export.body, headers=headers),
        )
        stored = database.counts()["spans"] - 1  # less the warm-up's
    finally:
        database.drop()
    response = measured.response
    return Result(
        case=export.name,
        spans=export.spans,
        body_bytes=len(export.body),
        status=response.status_code,
        seconds=measured.seconds,
        rss_before_mib=measured.rss_before_mib,
        peak_mib=measured.peak_mib,
        stored_spans=stored,
        worker_survived=measured.worker_survived,
        message=response.text[:120] if response.status_code != 200 else "",
    )


def missed(export: Export, result: Result) -> bool:
    all_or_none = result.stored_spans == (export.spans if result.status == 200 else 0)
    return (
        result.peak_mib >= TARGET_MIB
        or result.seconds >= TARGET_SECONDS
        or result.status != export.expected_status
        or not result.worker_survived
        or not all_or_none
    )


def report(database: BenchDatabase, limits: Limits, results: list[tuple[Export, Result]]) -> int:
    """Writes the results to bench/results/ and says which cases missed; the exit status."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"otlp_memory_{database.kind}_{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    rows = [asdict(result) for _, result in results]
    document = {"database": database.kind, "limits": asdict(limits), "results": rows}
    path.write_text(json.dumps(document, indent=2))
    print(f"written to {path}")
    failed = [result.case for export, result in results if missed(export, result)]
    if failed:
        print(f"missed a target or answered an unexpected status: {', '.join(failed)}")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", help="a PostgreSQL URL whose database name starts with bench_")
    parser.add_argument("--max-spans", type=int, default=settings.OTLP_MAX_SPANS_PER_REQUEST)
    parser.add_argument("--max-attributes", type=int, default=settings.OTLP_MAX_ATTRIBUTES_PER_REQUEST)
    parser.add_argument("--max-body-bytes", type=int, default=settings.OTLP_MAX_BODY_BYTES)
    parser.add_argument("--only", nargs="*", help="run only these cases (by name)")
    args = parser.parse_args()
    limits = Limits(args.max_spans, args.max_attributes, args.max_body_bytes)
    database = BenchDatabase("postgres", args.postgres) if args.postgres else BenchDatabase("sqlite", "")
    print(f"limits: {limits}; targets: peak < {TARGET_MIB} MiB, < {TARGET_SECONDS} s")
    print(f"{'case':24} {'spans':>7} {'body MiB':>9} {'status':>6} {'s':>6} {'before':>7} {'peak':>7} stored")
    exports = (make() for make in cases(limits))
    results = []
    for export in exports:
        if not args.only or export.name in args.only:
            results.append((export, run_case(export, database, limits)))
            print(results[-1][1].row(), flush=True)
    return report(database, limits, results)


if __name__ == "__main__":
    sys.exit(main())
