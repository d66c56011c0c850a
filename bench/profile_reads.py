"""Where the time goes in the two reads evaluation code makes most, on phoenix-annot alone.

The reads are ``bench/vs_phoenix.py``'s: (a) arize-phoenix-client's ``get_spans_dataframe`` filtered on
``annotations['correctness'].label == 'correct'`` and (b) its ``get_span_annotations`` for 500 span ids
(five requests of 100 ids: the client's batch size).

What it does:

1. A fresh database (SQLite temp file, or PostgreSQL ``bench_profile_reads`` at ``--postgres-url``),
   ``migrate``, then gunicorn as ``vs_phoenix.py`` runs it (``--workers`` sync workers, more options with
   ``--gunicorn-option``) with an access log of each request's time in the server (``%(D)s``).
2. The same data as ``vs_phoenix.py``: ``--spans`` spans through the real OTLP exporter, then
   ``correctness`` and ``helpfulness`` annotations on the first ``--annotations`` spans.
3. For each read, medians of ``--runs``, from the outside in:

   - ``client``: the client call, end to end;
   - ``http keep-alive`` / ``http new connection``: the same HTTP request(s) through one httpx client, then
     through a new connection each time (what the client pays when the server closes connections);
   - ``client parse``: the client's own parsing of a response it already has;
   - ``gunicorn``: the request's time inside gunicorn (access log), i.e. without the network;
   - in this process, on the same database: ``view`` (Django's test client: middleware, view, rendering,
     no HTTP), ``sql`` (each SQL statement the view runs, executed and fetched on a raw cursor),
     ``orm rows`` / ``run_query`` / ``table_json`` (the span query's stages);
   - a cProfile of the view (top functions by cumulative time) and the plans of its SQL (``EXPLAIN
     ANALYZE`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite).

Run from the project root with the project's virtualenv::

    .venv/bin/python bench/profile_reads.py --database sqlite
    .venv/bin/python bench/profile_reads.py --database postgres \\
        --postgres-url postgres://postgres@127.0.0.1:5432/bench_profile_reads
    .venv/bin/python bench/profile_reads.py --gunicorn-option=--worker-class=gthread \\
        --gunicorn-option=--threads=4

It prints the breakdown and writes it as JSON to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from api import django_env, gunicorn, summary, timed
from ingest import PROJECT_NAME, BenchDatabase, run_manage
from phoenix.client import Client
from phoenix.client.resources.spans import _process_span_dataframe
from phoenix.client.types.spans import SpanQuery
from vs_phoenix import POSTGRES_SERVER, QUERY, READ_IDS, RESULTS, Target, measure_ingest, seed_annotations

BATCH = 100  # the client's span ids per request


def query_body(limit: int) -> dict[str, Any]:
    return {"queries": [SpanQuery().where(QUERY).to_dict()], "limit": limit}


def annotation_params(ids: list[str]) -> dict[str, Any]:
    """What the client sends for one batch of ids."""
    return {"span_ids": ids, "limit": 1000, "exclude_annotation_names": ["note"]}


class AccessLog:
    """gunicorn's access log: each request's path and its time in the server (µs)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen = 0

    def options(self) -> tuple[str, ...]:
        return (f"--access-logfile={self.path}", "--access-logformat=%(U)s %(D)s")

    def since_last(self, path: str) -> list[float]:
        lines = self.path.read_text().splitlines()
        new, self.seen = lines[self.seen :], len(lines)
        return [int(line.split()[1]) / 1e6 for line in new if line.split()[0] == path]


def outside(
    http: httpx.Client, log: AccessLog, span_ids: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """Client, HTTP and gunicorn times of both reads."""
    client = Client(http_client=http)
    runs, base_url = args.runs, str(http.base_url).rstrip("/")
    read_ids = span_ids[: min(READ_IDS, args.annotations)]
    batches = [read_ids[i : i + BATCH] for i in range(0, len(read_ids), BATCH)]
    spans_path = "/v1/spans"
    annotations_path = f"/v1/projects/{PROJECT_NAME}/span_annotations"
    body = query_body(args.query_limit)

    def post_query(target: httpx.Client) -> httpx.Response:
        return target.post(
            spans_path,
            params={"project_name": PROJECT_NAME},
            headers={"accept": "application/json"},
            json=body,
        )

    def get_annotations(target: httpx.Client) -> list[httpx.Response]:
        return [target.get(annotations_path, params=annotation_params(ids)) for ids in batches]

    # "Connection: close" makes every request open a new connection, as under gunicorn's sync workers,
    # without counting the cost of building a new client.
    closing = httpx.Client(base_url=base_url, timeout=300, headers={"Connection": "close"})
    figures: dict[str, Any] = {}
    log.since_last(spans_path)
    figures["query client"] = summary(
        timed(
            lambda: client.spans.get_spans_dataframe(
                query=SpanQuery().where(QUERY), project_identifier=PROJECT_NAME, limit=args.query_limit
            ),
            runs,
        )
    )
    figures["query gunicorn"] = summary(log.since_last(spans_path)[1:])
    figures["query http keep-alive"] = summary(timed(lambda: post_query(http), runs))
    figures["query http new connection"] = summary(timed(lambda: post_query(closing), runs))
    response = post_query(http)
    figures["query response bytes"] = len(response.content)
    figures["query client parse"] = summary(
        timed(
            lambda: _process_span_dataframe(
                httpx.Response(200, headers=response.headers, content=response.content)
            ),
            runs,
        )
    )
    log.since_last(annotations_path)
    figures["annotations client"] = summary(
        timed(
            lambda: client.spans.get_span_annotations(span_ids=read_ids, project_identifier=PROJECT_NAME),
            runs,
        )
    )
    figures["annotations gunicorn (5 requests)"] = summary(
        [sum(chunk) for chunk in _chunks(log.since_last(annotations_path)[len(batches) :], len(batches))]
    )
    figures["annotations http keep-alive"] = summary(timed(lambda: get_annotations(http), runs))
    figures["annotations http new connection"] = summary(timed(lambda: get_annotations(closing), runs))
    responses = get_annotations(http)
    figures["annotations response bytes"] = sum(len(r.content) for r in responses)
    figures["annotations client parse"] = summary(
        timed(
            lambda: [httpx.Response(200, headers=r.headers, content=r.content).json() for r in responses],
            runs,
        )
    )
    closing.close()
    return figures


def _chunks(values: list[float], size: int) -> list[list[float]]:
    return [values[i : i + size] for i in range(0, len(values) - size + 1, size)]


def inside(url: str, span_ids: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """The same reads in this process on the same database: view, SQL, the span query's stages, plans."""
    os.environ.update(django_env(url))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    from phoenix_annot.api.span_query import _newest, run_query, table_json
    from phoenix_annot.filtering.expression import span_condition_q
    from phoenix_annot.tracing.models import Span

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # plans as autovacuum would have them after a while
    runs = args.runs
    web = DjangoClient(HTTP_HOST="localhost")
    read_ids = span_ids[: min(READ_IDS, args.annotations)]
    batches = [read_ids[i : i + BATCH] for i in range(0, len(read_ids), BATCH)]

    def view_query() -> Any:
        return web.post(
            f"/v1/spans?project_name={PROJECT_NAME}",
            json.dumps(query_body(args.query_limit)),
            content_type="application/json",
        )

    def view_annotations() -> Any:
        return [
            web.get(f"/v1/projects/{PROJECT_NAME}/span_annotations", annotation_params(ids))
            for ids in batches
        ]

    spans = Span.objects.filter(project__name=PROJECT_NAME).filter(span_condition_q(QUERY))
    query = query_body(args.query_limit)["queries"][0]
    figures: dict[str, Any] = {
        "query view": summary(timed(view_query, runs)),
        "query orm rows": summary(timed(lambda: _newest(spans, args.query_limit), runs)),
        "query run_query": summary(timed(lambda: run_query(spans, query, limit=args.query_limit), runs)),
    }
    built = run_query(spans, query, limit=args.query_limit)
    figures["query rows"] = len(built.rows)
    figures["query table_json"] = summary(timed(lambda: table_json(built), runs))
    figures["annotations view (5 requests)"] = summary(timed(view_annotations, runs))
    for name, call in (("query", view_query), ("annotations", view_annotations)):
        with CaptureQueriesContext(connection) as captured:
            call()
        # Only what reads rows: on PostgreSQL the span list also sets its statement timeout in a transaction.
        statements = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
        figures[f"{name} sql statements"] = len(statements)
        figures[f"{name} sql"] = summary(
            timed(lambda sqls=statements: [_fetch(connection, s) for s in sqls], runs)
        )
        figures[f"{name} plans"] = [_plan(connection, sql) for sql in statements]
        figures[f"{name} profile"] = _profile(call)
    return figures


def _fetch(connection: Any, sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return len(cursor.fetchall())


def _plan(connection: Any, sql: str) -> dict[str, Any]:
    explain = "EXPLAIN ANALYZE" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
    with connection.cursor() as cursor:
        cursor.execute(f"{explain} {sql}")
        return {"sql": sql[:600], "plan": [" ".join(str(cell) for cell in row) for row in cursor.fetchall()]}


def _profile(call: Callable[[], Any]) -> list[str]:
    profiler = cProfile.Profile()
    profiler.runcall(call)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    return [line for line in out.getvalue().splitlines() if line.strip()][:40]


def report(figures: dict[str, Any]) -> str:
    lines = []
    for key, value in figures.items():
        if isinstance(value, dict) and "median_ms" in value:
            lines.append(f"  {key:42} {value['median_ms']:>9.1f} ms  (p90 {value['p90_ms']:.1f})")
        elif isinstance(value, int):
            lines.append(f"  {key:42} {value:>9,}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default=f"{POSTGRES_SERVER}/bench_profile_reads")
    parser.add_argument("--spans", type=int, default=6000)
    parser.add_argument("--annotations", type=int, default=2400, help="annotated spans (half 'correct')")
    parser.add_argument("--query-limit", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the database for EXPLAIN afterwards")
    parser.add_argument(
        "--gunicorn-option", action="append", default=[], help="e.g. --gunicorn-option=--threads=4"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    db = BenchDatabase(args.database, args.postgres_url)
    db.create()
    workdir = Path(tempfile.mkdtemp(prefix="bench_profile_reads_"))
    log = AccessLog(workdir / "access.log")
    try:
        run_manage(["migrate", "--noinput", "-v", "0"], django_env(db.url))
        options = (*log.options(), *args.gunicorn_option)
        with gunicorn(db.url, args.workers, options=options) as server:
            with httpx.Client(base_url=server.base_url, timeout=300) as http:
                ingest, span_ids = measure_ingest(
                    Target("phoenix-annot", server.base_url), http, args.spans, 0.2
                )
                span_ids = sorted(span_ids)
                seed_annotations(http, span_ids, args.annotations)
                figures = outside(http, log, span_ids, args)
            figures |= inside(db.url, span_ids, args)
    finally:
        if args.keep:
            print(f"kept the database: DATABASE_URL={db.url}")
        else:
            db.drop()
    options = " ".join(args.gunicorn_option)
    print(f"{args.database}, {args.spans:,} spans, gunicorn {args.workers} workers {options}")
    print(report(figures))
    for key in ("query plans", "annotations plans"):
        print(f"\n{key}:\n" + json.dumps(figures[key], indent=1))
    for key in ("query profile", "annotations profile"):
        print(f"\n{key}:\n" + "\n".join(figures[key]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"profile-reads-{args.database}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps({"args": vars(args), "ingest": ingest, **figures}, indent=1, default=str))
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    status = main()
    print(f"({time.perf_counter() - started:.0f} s)")
    sys.exit(status)
