"""Side by side: the same black-box workload against phoenix-annot and the real Arize Phoenix, in one run.

What it does, for each database asked for (``--database sqlite``, ``postgres`` or ``both``):

1. phoenix-annot: a fresh database (SQLite temp file, or PostgreSQL ``bench_vs_ours``), ``migrate``, then
   gunicorn with ``--workers`` (2, one per core) sync workers on 127.0.0.1, auth off like Phoenix's default.
2. Arize Phoenix: ``pip install arize-phoenix[pg]==--phoenix-version`` into its own virtualenv
   (``--phoenix-venv``, created on first use and reused after), then ``phoenix serve`` on 127.0.0.1 with
   ``PHOENIX_WORKING_DIR`` in a temp dir, ``PHOENIX_TELEMETRY_ENABLED=false``,
   ``PHOENIX_ALLOW_EXTERNAL_RESOURCES=false`` and, for PostgreSQL, ``PHOENIX_SQL_DATABASE_URL`` pointing
   at a fresh ``bench_vs_phoenix``. One server runs at a time; both get the same traffic:

   a. Ingest: ``--spans`` spans in RAG-shaped traces of 3-5 spans (``bench/ingest.py``'s generator, fixed
      seed), sent by the real OpenTelemetry SDK + OTLP/HTTP exporter (gzip, batches of 512). Timed from
      the first span created until ``GET /v1/projects/{p}/spans`` (paged, 1,000 a page) lists them all:
      Phoenix ingests asynchronously, so the listing is polled every ``--poll`` seconds.
   b. Annotation writes: ``--annotations`` ``correctness`` annotations (half ``correct``) in batches of
      100 with ``POST /v1/span_annotations?sync=true``; then as many ``helpfulness`` annotations one per
      request. One client, sequential requests.
   c. Reads, ``--runs`` times each after a warm-up, p50 and p90: the client's ``get_spans_dataframe`` with
      ``annotations['correctness'].label == 'correct'``; the client's ``get_span_annotations`` for 500
      annotated span ids; one page of 100 spans (``GET /v1/projects/{p}/spans?limit=100``).

3. Prints, per database, a table of both servers' figures and the ratio (ours vs Phoenix, > 1 = we are
   better), with the issue's targets, and writes JSON to ``bench/results/``.

Run from the project root with the project's virtualenv (PostgreSQL on localhost:5432 for ``postgres``)::

    .venv/bin/python bench/vs_phoenix.py                       # SQLite, 6,000 spans
    .venv/bin/python bench/vs_phoenix.py --database both
    .venv/bin/python bench/vs_phoenix.py --spans 2000 --annotations 500 --runs 5   # a quick look
    # the reads of issue 9 only (annotations written in untimed batches), 1,200 rows for the query:
    .venv/bin/python bench/vs_phoenix.py --only-reads --annotations 2400 --query-limit 2000
    # phoenix-annot under gthread workers instead of sync ones:
    .venv/bin/python bench/vs_phoenix.py --gunicorn-option=--worker-class=gthread \\
        --gunicorn-option=--threads=4

``bench/profile_reads.py`` breaks the two reads down (client, HTTP, gunicorn, view, SQL, plans).

The first run downloads Phoenix (about 400 MB installed). Exit status 0 when every span and annotation
sent is stored by both servers; 1 otherwise (targets missed do not fail the run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from api import django_env, gunicorn, summary, timed, wait_until_up
from ingest import (
    PROJECT_NAME,
    BenchDatabase,
    MeasuredExporter,
    emit_traces,
    free_port,
    make_provider,
    run_manage,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from phoenix.client import Client
from phoenix.client.types.spans import SpanQuery

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
POSTGRES_SERVER = "postgres://postgres:postgres@localhost:5432"
QUERY = "annotations['correctness'].label == 'correct'"
BATCH = 100
READ_IDS = 500
PAGE = 1000  # the largest page both servers give
SEED = 20_260_127
STALL_S = 60.0
# ours / Phoenix for rates, Phoenix / ours for times: "at least this many times better".
TARGETS = {
    "ingest_spans_per_s": 20.0,
    "annotations_batched_per_s": 8.0,
    "annotations_single_per_s": 1.0,
    "filtered_query_ms": 5.0,
    "annotations_500_ids_ms": 2.0,
    "spans_page_100_ms": 1.0,
}
HIGHER_IS_BETTER = {"ingest_spans_per_s", "annotations_batched_per_s", "annotations_single_per_s"}


# --- servers ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    base_url: str


@contextmanager
def ours(
    database: str, workers: int, options: tuple[str, ...] = (), postgres_server: str = POSTGRES_SERVER
) -> Iterator[Target]:
    db = BenchDatabase(database, f"{postgres_server}/bench_vs_ours")
    db.create()
    try:
        run_manage(["migrate", "--noinput", "-v", "0"], django_env(db.url))
        with gunicorn(db.url, workers, options=options) as server:
            yield Target("phoenix-annot", server.base_url)
    finally:
        db.drop()


def phoenix_python(venv: Path, version: str) -> Path:
    python = venv / "bin" / "python"
    marker = venv / f".installed-{version}"
    if not marker.exists():
        print(f"installing arize-phoenix[pg]=={version} into {venv} (first run only) …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        with open(venv / "install.log", "w") as log:
            subprocess.run(
                [str(python), "-m", "pip", "install", f"arize-phoenix[pg]=={version}"],
                check=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        marker.touch()
    return python


@contextmanager
def phoenix(database: str, python: Path, postgres_server: str = POSTGRES_SERVER) -> Iterator[Target]:
    workdir = Path(tempfile.mkdtemp(prefix="bench_vs_phoenix_"))
    port = free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(workdir),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    }
    # On SQLite Phoenix keeps its database in PHOENIX_WORKING_DIR; PostgreSQL needs one made for it.
    db = BenchDatabase("postgres", f"{postgres_server}/bench_vs_phoenix") if database == "postgres" else None
    if db is not None:
        db.create()
        env["PHOENIX_SQL_DATABASE_URL"] = db.url.replace("postgres://", "postgresql://", 1)
    log_path = workdir / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - open for the server's whole life
    server = subprocess.Popen(
        [str(python.parent / "phoenix"), "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(
            base_url,
            server,
            timeout=180,
            describe=lambda: f"Phoenix did not start:\n{log_path.read_text()[-3000:]}",
        )
        yield Target(f"Phoenix {version_of(base_url)}", base_url)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if db is not None:
            db.drop()


def version_of(base_url: str) -> str:
    response = httpx.get(f"{base_url}/arize_phoenix_version")
    return response.text.strip() if response.status_code == 200 else "?"


# --- workload ---------------------------------------------------------------------------------------------


def listed_span_ids(http: httpx.Client) -> list[str]:
    ids: list[str] = []
    params: dict[str, Any] = {"limit": PAGE}
    while True:
        response = http.get(f"/v1/projects/{PROJECT_NAME}/spans", params=params)
        if response.status_code == 404:  # the project appears with its first stored span
            return ids
        response.raise_for_status()
        body = response.json()
        ids.extend(span["context"]["span_id"] for span in body["data"])
        if not body.get("next_cursor"):
            return ids
        params["cursor"] = body["next_cursor"]


def measure_ingest(
    target: Target, http: httpx.Client, spans: int, poll: float
) -> tuple[dict[str, Any], list[str]]:
    exporter = MeasuredExporter(
        after_batch=lambda spans: None,
        endpoint=f"{target.base_url}/v1/traces",
        compression=Compression.Gzip,
        timeout=120,
    )
    provider = make_provider(exporter, total_spans=spans, schedule_delay_ms=50, seed=SEED)
    first_span: list[float] = []
    traffic = emit_traces(
        provider.get_tracer("bench"),
        total_spans=spans,
        seed=SEED,
        on_first_span=lambda: first_span.append(time.perf_counter()),
    )
    provider.force_flush(timeout_millis=600_000)
    flushed = time.perf_counter() - first_span[0]
    polls, seen, progressed = 0, -1, time.monotonic()
    # Phoenix may still be inserting; give up only after a minute without any new span listed.
    while len(ids := listed_span_ids(http)) < traffic.spans and time.monotonic() - progressed < STALL_S:
        if len(ids) > seen:
            seen, progressed = len(ids), time.monotonic()
        polls += 1
        time.sleep(poll)
    elapsed = time.perf_counter() - first_span[0]
    provider.shutdown()
    return {
        "spans_sent": traffic.spans,
        "spans_listed": len(ids),
        "traces": traffic.traces,
        "exporter_flushed_s": round(flushed, 2),
        "all_listed_s": round(elapsed, 2),
        "polls": polls,
        "failed_batches": exporter.failed_batches,
        "ingest_spans_per_s": round(traffic.spans / elapsed, 1),
    }, ids


def annotation(span_id: str, name: str, n: int) -> dict[str, Any]:
    good = n % 2 == 0
    return {
        "span_id": span_id,
        "name": name,
        "annotator_kind": "HUMAN",
        "result": {
            "label": "correct" if good else "incorrect",
            "score": 1.0 if good else 0.0,
            "explanation": f"reviewed in the benchmark ({n})",
        },
        "metadata": {"reviewer": "bench"},
    }


def post_annotations(http: httpx.Client, rows: list[dict[str, Any]]) -> int:
    response = http.post("/v1/span_annotations", params={"sync": "true"}, json={"data": rows})
    response.raise_for_status()
    return len(response.json()["data"])


def seed_annotations(http: httpx.Client, span_ids: list[str], count: int) -> dict[str, Any]:
    """The annotations measure_writes leaves behind, in batches and untimed (for --only-reads)."""
    rows = [
        annotation(span_id, name, n)
        for name in ("correctness", "helpfulness")
        for n, span_id in enumerate(span_ids[:count])
    ]
    stored = sum(post_annotations(http, rows[i : i + BATCH]) for i in range(0, len(rows), BATCH))
    return {"annotations_sent": len(rows), "annotations_acknowledged": stored}


def measure_writes(http: httpx.Client, span_ids: list[str], count: int) -> dict[str, Any]:
    targets = span_ids[:count]
    batched = [annotation(span_id, "correctness", n) for n, span_id in enumerate(targets)]
    started = time.perf_counter()
    stored = sum(post_annotations(http, batched[i : i + BATCH]) for i in range(0, len(batched), BATCH))
    batched_s = time.perf_counter() - started
    singles = [annotation(span_id, "helpfulness", n) for n, span_id in enumerate(targets)]
    started = time.perf_counter()
    stored += sum(post_annotations(http, [row]) for row in singles)
    single_s = time.perf_counter() - started
    return {
        "annotations_sent": 2 * len(targets),
        "annotations_acknowledged": stored,
        "annotations_batched_per_s": round(len(targets) / batched_s, 1),
        "annotations_single_per_s": round(len(targets) / single_s, 1),
    }


def measure_reads(
    http: httpx.Client, span_ids: list[str], annotated: int, runs: int, limit: int
) -> dict[str, Any]:
    client = Client(http_client=http)
    query = SpanQuery().where(QUERY)
    expected_rows = min(limit, (annotated + 1) // 2)
    read_ids = span_ids[: min(READ_IDS, annotated)]

    def filtered() -> None:
        frame = client.spans.get_spans_dataframe(query=query, project_identifier=PROJECT_NAME, limit=limit)
        assert len(frame) == expected_rows, f"filtered query returned {len(frame)} rows, not {expected_rows}"

    def by_ids() -> None:
        rows = client.spans.get_span_annotations(span_ids=read_ids, project_identifier=PROJECT_NAME)
        assert len(rows) == 2 * len(read_ids), f"{len(rows)} annotations for {len(read_ids)} spans"

    def page() -> None:
        response = http.get(f"/v1/projects/{PROJECT_NAME}/spans", params={"limit": 100})
        response.raise_for_status()
        assert len(response.json()["data"]) == 100

    return {
        "filtered_query": summary(timed(filtered, runs)),
        "annotations_500_ids": summary(timed(by_ids, runs)),
        "spans_page_100": summary(timed(page, runs)),
    }


def workload(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    print(f"  {target.name} at {target.base_url}: ingesting {args.spans:,} spans …", flush=True)
    with httpx.Client(base_url=target.base_url, timeout=300) as http:
        ingest, span_ids = measure_ingest(target, http, args.spans, args.poll)
        print(f"    {ingest['ingest_spans_per_s']:,} spans/s; writing annotations …", flush=True)
        write = seed_annotations if args.only_reads else measure_writes
        writes = write(http, sorted(span_ids), args.annotations)
        print("    reading …", flush=True)
        reads = measure_reads(http, sorted(span_ids), args.annotations, args.runs, args.query_limit)
    return {"server": target.name, "ingest": ingest, "writes": writes, "reads": reads}


# --- report -----------------------------------------------------------------------------------------------


def figures(result: dict[str, Any]) -> dict[str, float]:
    """The compared figures; write rates only when writes were measured (not with --only-reads)."""
    reads, writes = result["reads"], result["writes"]
    rates = {
        key: writes[key] for key in ("annotations_batched_per_s", "annotations_single_per_s") if key in writes
    }
    return {
        "ingest_spans_per_s": result["ingest"]["ingest_spans_per_s"],
        **rates,
        "filtered_query_ms": reads["filtered_query"]["median_ms"],
        "annotations_500_ids_ms": reads["annotations_500_ids"]["median_ms"],
        "spans_page_100_ms": reads["spans_page_100"]["median_ms"],
    }


def ratios(ours_result: dict[str, Any], phoenix_result: dict[str, Any]) -> dict[str, float]:
    mine, theirs = figures(ours_result), figures(phoenix_result)
    return {
        key: round(mine[key] / theirs[key] if key in HIGHER_IS_BETTER else theirs[key] / mine[key], 2)
        for key in mine
    }


def complete(result: dict[str, Any]) -> bool:
    ingest, writes = result["ingest"], result["writes"]
    return (
        ingest["spans_listed"] == ingest["spans_sent"]
        and writes["annotations_acknowledged"] == writes["annotations_sent"]
    )


LABELS = {
    "ingest_spans_per_s": "OTLP ingest until listed (spans/s)",
    "annotations_batched_per_s": "annotations, batches of 100 (/s)",
    "annotations_single_per_s": "annotations, one per request (/s)",
    "filtered_query_ms": "get_spans_dataframe, feedback filter (p50 ms)",
    "annotations_500_ids_ms": "get_span_annotations, 500 ids (p50 ms)",
    "spans_page_100_ms": "one page of 100 spans (p50 ms)",
}


def report(database: str, ours_result: dict[str, Any], phoenix_result: dict[str, Any]) -> str:
    mine, theirs, ratio = figures(ours_result), figures(phoenix_result), ratios(ours_result, phoenix_result)
    lines = [
        f"\n{database}: {ours_result['server']} vs {phoenix_result['server']}",
        f"  {'':48} {'ours':>10} {'Phoenix':>10} {'ratio':>8} {'target':>8}",
    ]
    for key, label in ((key, label) for key, label in LABELS.items() if key in mine):
        verdict = "ok" if ratio[key] >= TARGETS[key] else "MISSED"
        lines.append(
            f"  {label:48} {mine[key]:>10,.1f} {theirs[key]:>10,.1f} {ratio[key]:>7.1f}x "
            f"{TARGETS[key]:>6.0f}x  {verdict}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--spans", type=int, default=6000)
    parser.add_argument("--annotations", type=int, default=2000, help="per mode (batched, single)")
    parser.add_argument("--runs", type=int, default=20, help="timed repetitions of each read")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between span listings")
    parser.add_argument("--workers", type=int, default=2, help="phoenix-annot's gunicorn sync workers")
    parser.add_argument(
        "--gunicorn-option",
        action="append",
        default=[],
        help="one more gunicorn option for phoenix-annot, e.g. --gunicorn-option=--threads=4 (repeatable)",
    )
    parser.add_argument(
        "--only-reads",
        action="store_true",
        help="annotations in untimed batches instead of the timed writes: a quick look at the reads",
    )
    parser.add_argument(
        "--postgres-server", default=POSTGRES_SERVER, help="PostgreSQL URL without a database"
    )
    parser.add_argument("--query-limit", type=int, default=1000, help="get_spans_dataframe's limit")
    parser.add_argument("--phoenix-version", default="20.26.1")
    parser.add_argument("--phoenix-venv", type=Path, default=RESULTS / "phoenix-venv")
    args = parser.parse_args(argv)
    if args.annotations > args.spans:
        parser.error("--annotations cannot exceed --spans (one annotation per span and name)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    python = phoenix_python(args.phoenix_venv, args.phoenix_version)
    databases = ("sqlite", "postgres") if args.database == "both" else (args.database,)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs",
        "spans": args.spans,
        "annotations": args.annotations,
        "workers": args.workers,
        "gunicorn_options": args.gunicorn_option,
        "query_limit": args.query_limit,
    }
    texts = []
    ok = True
    for database in databases:
        print(f"{database}:", flush=True)
        with ours(database, args.workers, tuple(args.gunicorn_option), args.postgres_server) as target:
            mine = workload(target, args)
        with phoenix(database, python, args.postgres_server) as target:
            theirs = workload(target, args)
        ok = ok and complete(mine) and complete(theirs)
        results[database] = {"ours": mine, "phoenix": theirs, "ratios": ratios(mine, theirs)}
        texts.append(report(database, mine, theirs))
        print(texts[-1], flush=True)  # now, in case the next database's run fails
    print("\n".join(texts))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"vs-phoenix-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {path.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
