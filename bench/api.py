"""REST API benchmark on PostgreSQL: annotation writes, annotation reads and span queries through gunicorn.

What it does, in order:

1. Creates the database ``bench_api`` (dropped first if it exists, dropped again at the end unless
   ``--keep``), runs ``manage.py migrate``, then seeds it in a subprocess (``bench/api.py seed``, Django ORM
   ``bulk_create``, not HTTP): ``--spans`` spans in traces of 4, a ``correctness`` annotation on every
   other span (half ``correct``, half ``incorrect``).
2. Starts gunicorn (``phoenix_annot.wsgi:application``, ``--workers`` sync workers, 127.0.0.1, auth off,
   ``--limit-request-line 0`` so one GET can carry 1,000 span ids).
3. Measures with httpx and arize-phoenix-client:

   a. ``POST /v1/span_annotations?sync=true`` with 100 new annotations a request, ``--write-annotations``
      in all, with 1 and then ``--threads`` concurrent clients: annotations/s (target >= 5,000/s).
   b. ``GET /v1/projects/{p}/span_annotations`` for 1,000 annotated span ids: one request with all 1,000,
      and the client's ``spans.get_span_annotations`` (batches of 100): median of ``--runs`` (target
      < 100 ms for the single request).
   c. ``spans.get_spans_dataframe`` with ``annotations['correctness'].label == 'correct'``, limit 1,000:
      the raw ``POST /v1/spans`` and the whole client call, median of ``--query-runs`` (target < 500 ms).

Run from the project root with the project's virtualenv (PostgreSQL on localhost:5432)::

    .venv/bin/python bench/api.py
    .venv/bin/python bench/api.py --spans 20000 --write-annotations 2000 --runs 5   # a quick look
    .venv/bin/python bench/api.py --keep     # leave bench_api for EXPLAIN ANALYZE afterwards

Results are printed and written as JSON to ``bench/results/`` (gitignored). Exit status 0 whether targets
are met or not; 1 when a request fails.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PROJECT = "bench-api"
SPANS_PER_TRACE = 4
ANNOTATIONS_PER_REQUEST = 100
READ_IDS = 1000
QUERY = "annotations['correctness'].label == 'correct'"
TARGETS = {"write_per_s": 5_000, "read_1000_ms": 100, "query_ms": 500}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


# --- seeding (runs in a subprocess with DJANGO_SETTINGS_MODULE and the bench DATABASE_URL) ---------------


def seed(spans: int) -> None:
    import django

    django.setup()
    from phoenix_annot.annotations.models import SpanAnnotation
    from phoenix_annot.tracing.models import Project, Span, Trace

    project, _ = Project.objects.get_or_create(name=PROJECT)
    batch = 20_000
    started = time.perf_counter()
    for first in range(0, spans, batch):
        count = min(batch, spans - first)
        trace_numbers = range(first // SPANS_PER_TRACE, (first + count) // SPANS_PER_TRACE)
        traces = Trace.objects.bulk_create(
            [
                Trace(
                    project=project,
                    trace_id=f"{t + 1:032x}",
                    start_time=T0 + timedelta(seconds=t),
                    end_time=T0 + timedelta(seconds=t, milliseconds=900),
                    latency_ms=900.0,
                    span_count=SPANS_PER_TRACE,
                    root_span_name="rag",
                )
                for t in trace_numbers
            ]
        )
        rows = [
            _span(project, traces[(n - first) // SPANS_PER_TRACE], n) for n in range(first, first + count)
        ]
        stored = Span.objects.bulk_create(rows)
        SpanAnnotation.objects.bulk_create(
            [
                SpanAnnotation(
                    span=span,
                    name="correctness",
                    label="correct" if n % 4 == 0 else "incorrect",
                    score=1.0 if n % 4 == 0 else 0.0,
                    annotator_kind="LLM",
                    source="API",
                )
                for n, span in enumerate(stored, start=first)
                if n % 2 == 0
            ]
        )
        print(f"  seeded {first + count:,} spans ({time.perf_counter() - started:.0f} s)", flush=True)


def _span(project: Any, trace: Any, n: int) -> Any:
    from phoenix_annot.tracing.models import Span

    position = n % SPANS_PER_TRACE
    kind = ("CHAIN", "RETRIEVER", "LLM", "TOOL")[position]
    start = trace.start_time + timedelta(milliseconds=10 * position)
    question, answer = f"question {n} about the refund policy", f"answer {n}: within 30 days"
    return Span(
        trace=trace,
        project=project,
        span_id=f"{n + 1:016x}",
        parent_id=None if position == 0 else f"{n - position + 1:016x}",
        name=kind.lower(),
        span_kind=kind,
        start_time=start,
        end_time=start + timedelta(milliseconds=800),
        latency_ms=800.0,
        status_code="OK",
        attributes={
            "openinference": {"span": {"kind": kind}},
            "input": {"value": question},
            "output": {"value": answer},
            "llm": {"model_name": "gpt-4o", "token_count": {"prompt": 120, "completion": 40, "total": 160}},
            "metadata": {"tenant": f"t{n % 7}"},
        },
        input_value=question,
        output_value=answer,
        llm_model_name="gpt-4o",
    )


# --- database and server -------------------------------------------------------------------------------


def admin_sql(url: str, statement: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(statement)


def django_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        # The seed subprocess runs this file, whose folder (bench/) would otherwise be its only root.
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "phoenix_annot.settings",
        "PHOENIX_ANNOT_V1_AUTH_REQUIRED": "false",
        "DJANGO_DEBUG": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
    }


@contextmanager
def migrated_database(url: str, *, keep: bool) -> Iterator[dict[str, str]]:
    """A new, migrated database at `url`, dropped first and again at the end unless `keep`; yields the
    environment that points manage.py at it. Its name must start with bench_, since it is dropped."""
    name = urlsplit(url).path.lstrip("/")
    if not name.startswith("bench_"):
        raise SystemExit(f"the database name must start with bench_ (it is dropped): {name!r}")
    admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_sql(url, f'CREATE DATABASE "{name}"')
    try:
        env = django_env(url)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        yield env
    finally:
        if not keep:
            admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database(url: str, *, spans: int, keep: bool) -> Iterator[None]:
    with migrated_database(url, keep=keep) as env:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "seed", "--spans", str(spans)], cwd=ROOT, env=env, check=True
        )
        subprocess.run(
            [sys.executable, "manage.py", "dbshell", "--", "-c", "VACUUM ANALYZE"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        print(f"seeded and analysed in {time.perf_counter() - started:.0f} s")
        yield


@dataclass(frozen=True)
class Gunicorn:
    base_url: str
    master_pid: int

    def worker_pids(self) -> list[int]:
        with open(f"/proc/{self.master_pid}/task/{self.master_pid}/children") as children:
            return [int(pid) for pid in children.read().split()]


def wait_until_up(
    base_url: str, server: subprocess.Popen[bytes], *, timeout: float, describe: Callable[[], str]
) -> None:
    """Until /healthz answers 200; RuntimeError(describe()) if the server exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base_url}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(describe())
        time.sleep(0.2)


@contextmanager
def gunicorn(
    url: str, workers: int, *, env: dict[str, str] | None = None, options: tuple[str, ...] = ()
) -> Iterator[Gunicorn]:
    """gunicorn with `workers` sync workers (unless `options` say otherwise) on a free loopback port, up
    once /healthz answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "phoenix_annot.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--limit-request-line=0",
        "--timeout=120",
        *options,
    ]
    server = subprocess.Popen(
        command, cwd=ROOT, env={**django_env(url), **(env or {})}, start_new_session=True
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url, server, timeout=60, describe=lambda: "gunicorn did not start")
        yield Gunicorn(base_url, server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


# --- measurements ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerPeak:
    """One request to a one-worker gunicorn: its answer and time, the worker's memory before it and at its
    peak (VmRSS, VmHWM), and whether the worker lived through it."""

    response: httpx.Response
    seconds: float
    rss_before_mib: float
    peak_mib: float
    worker_survived: bool


def worker_peak(
    url: str,
    env: dict[str, str],
    warm: Callable[[httpx.Client], object],
    send: Callable[[httpx.Client], httpx.Response],
) -> WorkerPeak:
    """Migrates the (fresh) database at `url`, starts gunicorn with one sync worker and `env`, runs `warm`
    (unmeasured: the code paths' first imports and queries), then measures `send`."""
    from ingest import proc_status, run_manage

    run_manage(["migrate", "--noinput", "-v", "0"], django_env(url))
    with gunicorn(url, 1, env=env) as server:
        [worker] = server.worker_pids()
        with httpx.Client(base_url=server.base_url, timeout=600) as client:
            warm(client)
            # Writing 5 to clear_refs resets the peak (VmHWM) to the current size: the warm-up is unmeasured.
            Path(f"/proc/{worker}/clear_refs").write_text("5")
            before = proc_status(worker)["VmRSS"]
            started = time.perf_counter()
            response = send(client)
            seconds = time.perf_counter() - started
            peak = proc_status(worker)["VmHWM"]
            survived = server.worker_pids() == [worker]
    return WorkerPeak(response, round(seconds, 2), round(before / 1024, 1), round(peak / 1024, 1), survived)


def summary(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "median_ms": round(statistics.median(ms), 1),
        "p90_ms": round(ms[max(0, int(len(ms) * 0.9 + 0.5) - 1)], 1),
        "min_ms": round(ms[0], 1),
        "runs": len(ms),
    }


def timed(call: Callable[[], Any], runs: int) -> list[float]:
    call()  # warm-up: connections, caches, the first query plan
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def write_batches(name: str, total: int) -> list[dict[str, Any]]:
    """New annotations (a name per run): inserts, as fresh feedback is, on spans spread over the project."""
    return [
        {
            "data": [
                {
                    "span_id": f"{n + 1:016x}",
                    "name": name,
                    "annotator_kind": "HUMAN",
                    "result": {"label": "good", "score": 1.0, "explanation": "looks right"},
                    "metadata": {"reviewer": "bench"},
                }
                for n in range(first, first + ANNOTATIONS_PER_REQUEST)
            ]
        }
        for first in range(0, total, ANNOTATIONS_PER_REQUEST)
    ]


def measure_writes(base_url: str, total: int, threads: int) -> dict[str, Any]:
    batches = write_batches(f"bench_write_{threads}", total)
    latencies: list[float] = []

    def send(client: httpx.Client, body: dict[str, Any]) -> None:
        started = time.perf_counter()
        response = client.post("/v1/span_annotations", params={"sync": "true"}, json=body)
        response.raise_for_status()
        latencies.append(time.perf_counter() - started)

    clients = [httpx.Client(base_url=base_url, timeout=60) for _ in range(threads)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, [clients[i % threads] for i in range(len(batches))], batches))
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    return {
        "threads": threads,
        "annotations": total,
        "seconds": round(elapsed, 2),
        "annotations_per_s": round(total / elapsed),
        "request": summary(latencies),
    }


def read_ids(spans: int) -> list[str]:
    """1,000 annotated spans (every other span is) from across the project."""
    step = max(2, (spans // READ_IDS) // 2 * 2)
    return [f"{n + 1:016x}" for n in range(0, step * READ_IDS, step)][:READ_IDS]


def measure_reads(base_url: str, spans: int, runs: int) -> dict[str, Any]:
    from phoenix.client import Client

    ids = read_ids(spans)
    with httpx.Client(base_url=base_url, timeout=60) as http:
        url = f"/v1/projects/{PROJECT}/span_annotations"

        def single() -> None:
            response = http.get(url, params={"span_ids": ids, "limit": 10_000})
            response.raise_for_status()
            assert len(response.json()["data"]) >= len(ids)

        phoenix = Client(http_client=http)

        def client_call() -> None:
            assert len(phoenix.spans.get_span_annotations(span_ids=ids, project_identifier=PROJECT)) >= len(
                ids
            )

        return {
            "single_request_1000_ids": summary(timed(single, runs)),
            "client_get_span_annotations_1000_ids": summary(timed(client_call, runs)),
        }


def measure_query(base_url: str, runs: int) -> dict[str, Any]:
    from phoenix.client import Client
    from phoenix.client.types.spans import SpanQuery

    with httpx.Client(base_url=base_url, timeout=60) as http:
        query = SpanQuery().where(QUERY)
        body = {"queries": [query.to_dict()], "start_time": None, "end_time": None, "limit": 1000}

        def raw() -> None:
            response = http.post(
                "/v1/spans",
                params={"project_name": PROJECT},
                json=body,
                headers={"accept": "application/json"},
            )
            response.raise_for_status()

        phoenix = Client(http_client=http)

        def client_call() -> None:
            frame = phoenix.spans.get_spans_dataframe(query=query, project_identifier=PROJECT, limit=1000)
            assert len(frame) == 1000, len(frame)

        return {
            "raw_post_v1_spans": summary(timed(raw, runs)),
            "client_get_spans_dataframe": summary(timed(client_call, runs)),
        }


# --- main -------------------------------------------------------------------------------------------------


def verdicts(results: dict[str, Any]) -> dict[str, bool]:
    return {
        "write >= 5,000 annotations/s (best thread count)": max(
            run["annotations_per_s"] for run in results["writes"]
        )
        >= TARGETS["write_per_s"],
        "read 1,000 ids in one request < 100 ms (median)": results["reads"]["single_request_1000_ids"][
            "median_ms"
        ]
        < TARGETS["read_1000_ms"],
        "span query of 1,000 rows < 500 ms (median, client)": results["query"]["client_get_spans_dataframe"][
            "median_ms"
        ]
        < TARGETS["query_ms"],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "spans": args.spans,
        "annotations_seeded": args.spans // 2,
        "workers": args.workers,
        "cpus": os.cpu_count(),
    }
    with (
        database(args.postgres_url, spans=args.spans, keep=args.keep),
        gunicorn(args.postgres_url, args.workers) as server,
    ):
        url = server.base_url
        results["writes"] = [
            measure_writes(url, args.write_annotations, threads) for threads in sorted({1, *args.threads})
        ]
        results["reads"] = measure_reads(url, args.spans, args.runs)
        results["query"] = measure_query(url, args.query_runs)
    results["targets_met"] = verdicts(results)
    return results


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    sub = parser.add_subparsers(dest="command")
    seed_parser = sub.add_parser("seed", help="(internal) fill the database named by DATABASE_URL")
    seed_parser.add_argument("--spans", type=int, required=True)
    parser.add_argument("--postgres-url", default="postgres://postgres:postgres@localhost:5432/bench_api")
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--write-annotations", type=int, default=20_000)
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 4], help="concurrent writers")
    parser.add_argument("--runs", type=int, default=20, help="runs of each read")
    parser.add_argument("--query-runs", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the bench_api database afterwards")
    args = parser.parse_args(argv)
    if args.command == "seed":
        seed(args.spans)
        return 0
    try:
        results = run(args)
    except (httpx.HTTPError, AssertionError, subprocess.CalledProcessError) as exc:
        print(f"FAILED: {exc!r}", file=sys.stderr)
        return 1
    print(json.dumps(results, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"api-postgres-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
