"""Where does POST /v1/traces spend its time? In-process profile of the ingest path on captured bodies.

The traffic is the one ``bench/ingest.py`` sends (same generator, same seed, encoded and gzipped by the
real SDK encoder in batches of 512). Each body then goes through the project's real WSGI handler
(middleware, view, decode, ``spans_ingest``) against a fresh database, in this process, with:

* stage timers: the view's helpers (``_parse``, ``decode_request``, ``spans_ingest``) and the steps of
  ``spans_ingest`` (``_projects_by_name``, ``_traces_by_trace_id``, ``_insert_spans`` with ``_span_row``
  and, on PostgreSQL, ``_copy_spans``, ``trace_rollups_refresh``) are wrapped, in this process only, by
  name;
* SQL timers: ``connection.execute_wrapper`` times every statement, grouped by what it does (the COPY
  itself bypasses it: it counts in ``_copy_spans``);
* optionally (``--cprofile``) a second pass on another fresh database under cProfile, for the hot
  functions. cProfile slows Python code more than SQL, so read its shares with care; the stage timers
  of the first pass are the reference.

Run from the project root::

    .venv/bin/python bench/profile_ingest.py --database sqlite --cprofile
    .venv/bin/python bench/profile_ingest.py --database postgres --cprofile --top 30

Nothing is written to the project's own database; the bench database is dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import os
import pstats
import re
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import (
    DEFAULT_POSTGRES_URL,
    BenchDatabase,
    compress,
    emit_traces,
    make_provider,
    run_manage,
)
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

SQL_KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("INSERT span", re.compile(r'^INSERT (OR IGNORE )?INTO "tracing_span"', re.I)),
    ("INSERT trace", re.compile(r'^INSERT (OR IGNORE )?INTO "tracing_trace"', re.I)),
    ("INSERT project", re.compile(r'^INSERT (OR IGNORE )?INTO "tracing_project"', re.I)),
    ("UPDATE trace roll-ups", re.compile(r'^UPDATE "tracing_trace"', re.I)),
    ("SELECT trace roll-up aggregate", re.compile(r"^SELECT .*\bMIN\(", re.I | re.S)),
    ("SELECT traces FOR UPDATE", re.compile(r"FOR UPDATE", re.I)),
    ("SELECT existing span ids", re.compile(r'^SELECT "tracing_span"."span_id"', re.I)),
    (
        "SELECT traces by trace_id",
        re.compile(r'^SELECT .* FROM "tracing_trace" WHERE "tracing_trace"."trace_id" IN', re.I),
    ),
    ("SELECT projects", re.compile(r'FROM "tracing_project"', re.I)),
]


class CapturingExporter(SpanExporter):
    """Keeps each batch exactly as the OTLP/HTTP exporter would put it on the wire."""

    def __init__(self, *, use_gzip: bool) -> None:
        self.use_gzip = use_gzip
        self.bodies: list[tuple[int, bytes]] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.bodies.append((len(spans), compress(encode_spans(spans).SerializeToString(), self.use_gzip)))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def capture_bodies(*, spans: int, seed: int, use_gzip: bool) -> list[tuple[int, bytes]]:
    exporter = CapturingExporter(use_gzip=use_gzip)
    # A long schedule delay: batches are cut only by size, exactly 512 spans each but the last.
    provider = make_provider(exporter, total_spans=spans, schedule_delay_ms=60_000, seed=seed)
    emit_traces(
        provider.get_tracer("bench.profile"), total_spans=spans, seed=seed, on_first_span=lambda: None
    )
    provider.force_flush()
    provider.shutdown()
    return exporter.bodies


class Timers:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.last_sql: dict[str, tuple[str, Any]] = {}

    def wrap(self, module: Any, name: str, label: str | None = None) -> None:
        """Time calls made through `module.name`; a step the code does not have (yet) is skipped."""
        original = getattr(module, name, None)
        if original is None:
            return
        key = label or name

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[key] += time.perf_counter() - started
                self.calls[key] += 1

        setattr(module, name, timed)

    def sql(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        kind = next((label for label, pattern in SQL_KINDS if pattern.search(sql)), None)
        if kind is None:
            kind = sql.split(None, 1)[0].upper() if sql.strip() else "?"
        key = f"sql: {kind}"
        self.last_sql[kind] = (sql, params)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds[key] += time.perf_counter() - started
            self.calls[key] += 1


def wsgi_post(application: Any, body: bytes, *, use_gzip: bool) -> int:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v1/traces",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "CONTENT_TYPE": "application/x-protobuf",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if use_gzip:
        environ["HTTP_CONTENT_ENCODING"] = "gzip"
    status: list[str] = []
    chunks = application(environ, lambda s, headers, exc_info=None: status.append(s))
    b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return int(status[0].split()[0])


@contextmanager
def fresh_django_database(kind: str, postgres_url: str) -> Iterator[BenchDatabase]:
    database = BenchDatabase(kind, postgres_url)
    database.create()
    try:
        env = {
            **os.environ,
            "DATABASE_URL": database.url,
            "DJANGO_SETTINGS_MODULE": "phoenix_annot.settings",
            "PHOENIX_ANNOT_V1_AUTH_REQUIRED": "false",
            "DJANGO_DEBUG": "false",
        }
        run_manage(["migrate", "--noinput", "-v", "0"], env)
        yield database
    finally:
        from django.conf import settings

        try:
            if settings.configured:
                from django.db import connections

                connections.close_all()
        finally:
            database.drop()


def configure_django(database: BenchDatabase) -> Any:
    """Point this process's Django at `database` (settings are read once, at the first setup)."""
    os.environ["DATABASE_URL"] = database.url
    os.environ["DJANGO_SETTINGS_MODULE"] = "phoenix_annot.settings"
    os.environ["PHOENIX_ANNOT_V1_AUTH_REQUIRED"] = "false"
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django
    from django.conf import settings

    if not settings.configured or not hasattr(configure_django, "done"):
        django.setup()
        configure_django.done = True  # type: ignore[attr-defined]
    # A second fresh database (the cProfile pass) has another name: repoint the connection.
    import dj_database_url
    from django.db import connections

    connections.close_all()
    parsed = dj_database_url.parse(database.url)
    settings.DATABASES["default"]["NAME"] = parsed["NAME"]
    connections["default"].settings_dict["NAME"] = parsed["NAME"]
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def run_timed_pass(
    application: Any, bodies: list[tuple[int, bytes]], *, use_gzip: bool
) -> tuple[Timers, float]:
    from django.db import connection, connections

    from phoenix_annot.ingest import services, views

    timers = Timers()
    # Per request with CONN_MAX_AGE=0 (SQLite): open + init_command, then close (+ WAL checkpoint).
    timers.wrap(connections["default"], "connect", "db connect")
    timers.wrap(connections["default"], "close", "db close")
    for name in ("_parse", "decode_request", "spans_ingest", "_decompress"):
        timers.wrap(views, name, f"view.{name}")
    for name in (
        "_projects_by_name",
        "_traces_by_trace_id",
        "_insert_spans",
        "_span_row",
        "_copy_spans",
        "trace_rollups_refresh",
        "_session_pks",
        "trace_sessions_attach",
        "session_rollups_refresh",
        "pending_annotations_apply",
    ):
        timers.wrap(services, name, f"spans_ingest.{name}")
    from django.db.models import query

    bulk_create = query.QuerySet.bulk_create

    def timed_bulk_create(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = f"bulk_create({self.model.__name__})"
        started = time.perf_counter()
        try:
            return bulk_create(self, *args, **kwargs)
        finally:
            timers.seconds[key] += time.perf_counter() - started
            timers.calls[key] += 1

    query.QuerySet.bulk_create = timed_bulk_create  # type: ignore[method-assign]
    started = time.perf_counter()
    try:
        with connection.execute_wrapper(timers.sql):
            for _, body in bodies:
                status = wsgi_post(application, body, use_gzip=use_gzip)
                if status != 200:
                    raise SystemExit(f"ingest answered {status}")
    finally:
        query.QuerySet.bulk_create = bulk_create  # type: ignore[method-assign]
    return timers, time.perf_counter() - started


def explain_selects(timers: Timers) -> str:
    """The database's plan for the last SELECT of each kind, run again now that the tables are full."""
    from django.db import connection

    out: list[str] = []
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    selects = [
        (kind, sql, params)
        for kind, (sql, params) in sorted(timers.last_sql.items())
        if sql.lstrip().upper().startswith("SELECT") and "FOR UPDATE" not in sql.upper()
    ]
    with connection.cursor() as cursor:
        # First with the statistics the ingest had (none yet on a fresh database), then after ANALYZE.
        for when in ("as the ingest ran", "after ANALYZE"):
            if when == "after ANALYZE":
                cursor.execute("ANALYZE")
            for kind, sql, params in selects:
                cursor.execute(prefix + sql, params)
                plan = "\n".join("    " + " ".join(str(col) for col in row) for row in cursor.fetchall())
                out.append(f"-- {kind} ({when})\n{plan}")
    return "\n".join(out)


def run_cprofile_pass(application: Any, bodies: list[tuple[int, bytes]], *, use_gzip: bool, top: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _, body in bodies:
        status = wsgi_post(application, body, use_gzip=use_gzip)
        if status != 200:
            raise SystemExit(f"ingest answered {status}")
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def print_breakdown(timers: Timers, total: float, spans: int) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nIn-process, through the WSGI handler (load average {load}): {spans:,} spans in {total:.2f} s",
        end=" ",
    )
    print(f"-> {spans / total:,.0f} spans/s")
    print(f"{'stage':58} {'seconds':>8} {'share':>6} {'µs/span':>8} {'calls':>6}")
    order = [
        "view._parse",
        "view._decompress",
        "view.decode_request",
        "view.spans_ingest",
        "spans_ingest._projects_by_name",
        "spans_ingest._traces_by_trace_id",
        "spans_ingest._insert_spans",
        "spans_ingest._span_row",
        "spans_ingest._copy_spans",
        "bulk_create(Span)",
        "bulk_create(Trace)",
        "spans_ingest.trace_rollups_refresh",
        "spans_ingest._session_pks",
        "spans_ingest.trace_sessions_attach",
        "spans_ingest.session_rollups_refresh",
        "spans_ingest.pending_annotations_apply",
    ]
    keys = [k for k in order if k in timers.seconds] + sorted(
        (k for k in timers.seconds if k not in order), key=lambda k: -timers.seconds[k]
    )
    for key in keys:
        seconds = timers.seconds[key]
        share, per_span = seconds / total, seconds / spans * 1e6
        print(f"{key:58} {seconds:8.3f} {share:6.1%} {per_span:8.1f} {timers.calls[key]:6}")
    accounted = timers.seconds["view._parse"] + timers.seconds["view.decode_request"]
    accounted += timers.seconds["view.spans_ingest"]
    print(
        f"{'rest (WSGI, middleware, auth, response, connection setup)':58} {total - accounted:8.3f} "
        f"{(total - accounted) / total:6.1%} {(total - accounted) / spans * 1e6:8.1f}"
    )
    inside = sum(
        timers.seconds[k]
        for k in (
            "spans_ingest._projects_by_name",
            "spans_ingest._traces_by_trace_id",
            "spans_ingest._insert_spans",
            "spans_ingest.trace_rollups_refresh",
            "spans_ingest.trace_sessions_attach",
            "spans_ingest.session_rollups_refresh",
            "spans_ingest.pending_annotations_apply",
        )
    )
    rest = timers.seconds["view.spans_ingest"] - inside
    label = "spans_ingest rest (BEGIN/COMMIT, fsync)"
    print(f"{label:58} {rest:8.3f} {rest / total:6.1%} {rest / spans * 1e6:8.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--gzip", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument(
        "--cprofile", action="store_true", help="second pass under cProfile on a fresh database"
    )
    parser.add_argument("--top", type=int, default=25, help="functions to list per cProfile table")
    parser.add_argument(
        "--explain", action="store_true", help="show the plans of the ingest's SELECTs at the end"
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="No directory at")

    bodies = capture_bodies(spans=args.spans, seed=args.seed, use_gzip=args.gzip)
    spans = sum(n for n, _ in bodies)
    print(
        f"captured {len(bodies)} request bodies, {spans:,} spans, "
        f"{sum(len(b) for _, b in bodies) / len(bodies) / 1024:.0f} KiB each on average"
    )

    with fresh_django_database(args.database, args.postgres_url) as database:
        application = configure_django(database)
        timers, total = run_timed_pass(application, bodies, use_gzip=args.gzip)
        counts = database.counts()
        plans = explain_selects(timers) if args.explain else ""
    print_breakdown(timers, total, spans)
    if plans:
        print("\nPlans of the last SELECT of each kind, on the filled tables:\n" + plans)
    if counts["spans"] != spans:
        print(f"!!! stored {counts['spans']} spans of {spans}", file=sys.stderr)
        return 1

    if args.cprofile:
        with fresh_django_database(args.database, args.postgres_url) as database:
            application = configure_django(database)
            print("\n" + run_cprofile_pass(application, bodies, use_gzip=args.gzip, top=args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
