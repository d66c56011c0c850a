"""Reviewer-page benchmark on PostgreSQL: the spans table with feedback filters, its roll-ups, the trace page.

What it does, in order:

1. Creates a fresh PostgreSQL database (``bench_pages`` by default; dropped first if it exists), runs
   ``migrate`` in-process and seeds it with ``bench/seed.py``: ``--spans / 4`` RAG-shaped traces of 4 spans
   (CHAIN root, RETRIEVER, LLM, TOOL) in 2 projects (90% in ``rag-prod``, the one measured), ~2 span
   annotations per trace (correctness by an LLM judge and 3 reviewers, hallucination, relevance, notes),
   a few thousand trace annotations, annotation configs assigned to both projects, and the bench user.
   Then ``VACUUM (ANALYZE)``. ``--reuse`` skips all of this and measures an already seeded database.
2. Measures in-process with Django's test ``Client`` (``force_login``; persistent DB connection as in
   production, ``DEBUG=False``): the wall time of ``client.get`` = server time without network or WSGI
   server. Pages run round-robin, ``--warmup`` discarded rounds then ``--runs`` timed rounds, so that load
   from other processes hits every page alike; median and p90 per page.
3. Per page, ``--breakdown-runs`` more requests with a ``connection.execute_wrapper`` timing each SQL
   query: the count, the roll-up aggregate, the page query, the feedback summaries, ... (median ms each),
   and what is left for Python and the template.
4. ``EXPLAIN (ANALYZE, BUFFERS)`` of the ``--explain-top`` slowest distinct queries (by median time).
5. Prints a compact table and writes everything as JSON to ``bench/results/pages-<spans>-<UTC time>.json``
   (gitignored) unless ``--no-json``.

Run from the project root with the project's virtualenv (PostgreSQL on localhost:5432, postgres/postgres)::

    .venv/bin/python bench/pages.py                                  # 200k spans, seeds bench_pages
    .venv/bin/python bench/pages.py --reuse                          # measure bench_pages again
    .venv/bin/python bench/pages.py --spans 1000000 --database bench_pages_1m
    .venv/bin/python bench/pages.py --reuse --only 'rollup|label'    # a subset of the pages (regex)

Never run two benchmarks at once (2 cores). The seeded database is kept for ``--reuse`` unless ``--drop``.
Exit status 0 when every page answered 200 (targets missed do not fail the run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
DEFAULT_SERVER_URL = "postgres://postgres:postgres@localhost:5432"
TARGET_MS = 300.0
DEEP_PAGES = 20

sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


# --- database lifecycle --------------------------------------------------------------------------------


def admin_connection(server_url: str) -> Any:
    import psycopg

    return psycopg.connect(f"{server_url}/postgres", autocommit=True)


def database_exists(server_url: str, name: str) -> bool:
    with admin_connection(server_url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def recreate_database(server_url: str, name: str) -> None:
    if not name.startswith("bench_"):
        raise SystemExit(f"Refusing to drop/create {name!r}: bench databases are named bench_*.")
    with admin_connection(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server_url: str, name: str) -> None:
    from django.db import connections

    connections.close_all()
    with admin_connection(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def configure_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "phoenix_annot.settings"
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["PHOENIX_ANNOT_V1_AUTH_REQUIRED"] = "false"
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "600")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()


# --- what is measured ----------------------------------------------------------------------------------


@dataclass
class Page:
    key: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    note: str = ""
    body: dict[str, Any] | None = None  # sent as a JSON POST when set


@dataclass
class Fixture:
    """The ids the page URLs need, read from the seeded database."""

    project_id: int
    user_id: int
    trace_id: str
    llm_span_id: str
    spans_in_project: int
    counts: dict[str, int]
    annotated_span_ids: list[str]  # 500 LLM spans with a correctness annotation, for the /v1 read


def read_fixture(username: str) -> Fixture:
    from django.db import connection

    from phoenix_annot.accounts.models import User
    from phoenix_annot.tracing.models import Project

    project = Project.objects.get(name="rag-prod")
    user = User.objects.get(username=username)
    with connection.cursor() as cursor:
        # A trace from the middle of the time range whose LLM span has several correctness annotations
        # and whose trace is annotated too: the trace page at its busiest.
        cursor.execute(
            """
            SELECT t.trace_id, s.span_id FROM tracing_span s JOIN tracing_trace t ON t.id = s.trace_id
            WHERE s.project_id = %s AND s.span_kind = 'LLM'
              AND s.id > (SELECT max(id) / 2 FROM tracing_span)
              AND (SELECT count(*) FROM annotations_spanannotation a
                   WHERE a.span_id = s.id AND a.name = 'correctness') >= 3
              AND EXISTS (SELECT 1 FROM annotations_traceannotation ta WHERE ta.trace_id = t.id)
            ORDER BY s.id LIMIT 1
            """,
            [project.pk],
        )
        row = cursor.fetchone()
        if row is None:  # tiny seeds
            cursor.execute(
                "SELECT t.trace_id, s.span_id FROM tracing_span s JOIN tracing_trace t ON t.id = s.trace_id"
                " WHERE s.project_id = %s AND s.span_kind = 'LLM' ORDER BY s.id DESC LIMIT 1",
                [project.pk],
            )
            row = cursor.fetchone()
        counts = {}
        for table in (
            "tracing_trace",
            "tracing_span",
            "annotations_spanannotation",
            "annotations_traceannotation",
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM tracing_span WHERE project_id = %s", [project.pk])
        in_project = cursor.fetchone()[0]
        cursor.execute(
            "SELECT s.span_id FROM tracing_span s WHERE s.project_id = %s AND EXISTS (SELECT 1 FROM"
            " annotations_spanannotation a WHERE a.span_id = s.id AND a.name = 'correctness') ORDER BY s.id"
            " LIMIT 500",
            [project.pk],
        )
        annotated = [span_id for (span_id,) in cursor.fetchall()]
    return Fixture(project.pk, user.pk, row[0], row[1], in_project, counts, annotated)


INCORRECT = {"annotation_name": "correctness", "label": "incorrect"}
CONDITION = "span_kind == 'LLM' and annotations['correctness'].label == 'incorrect'"
API_CONDITION = "annotations['correctness'].label == 'incorrect'"
HX = {"HTTP_HX_REQUEST": "true"}


def build_pages(fx: Fixture, client: Any) -> list[Page]:
    spans = f"/projects/{fx.project_id}/"
    traces = f"/projects/{fx.project_id}/traces/"
    trace = f"/traces/{fx.trace_id}/"
    in_list = urlencode({**INCORRECT, "tab": "spans"})
    pages = [
        Page("spans", spans),
        Page("spans label=incorrect", f"{spans}?{urlencode(INCORRECT)}"),
        Page("spans missing_annotation", f"{spans}?missing_annotation=correctness"),
        Page("spans condition", f"{spans}?{urlencode({'condition': CONDITION})}"),
        Page("spans labelled_by=not_me", f"{spans}?labelled_by=not_me&annotation_name=correctness"),
        Page("spans score<0.5 relevance", f"{spans}?annotation_name=relevance&score_max=0.5"),
        Page("spans sort latency", f"{spans}?sort=latency_ms&dir=desc"),
        Page("spans sort tokens", f"{spans}?sort=tokens&dir=desc"),
        Page("traces tab", traces),
        Page("traces tab sort latency", f"{traces}?sort=latency_ms&dir=desc"),
        Page("traces tab label=incorrect", f"{traces}?{urlencode(INCORRECT)}"),
        Page("spans htmx label=incorrect", f"{spans}?{urlencode(INCORRECT)}", HX, "fragment _results.html"),
        Page("trace", trace),
        Page("projects", "/"),
        Page(
            "trace span+list", f"{trace}?span={fx.llm_span_id}&list={quote(in_list)}", {}, "with neighbours"
        ),
        Page("trace htmx span", f"{trace}?span={fx.llm_span_id}&list={quote(in_list)}", HX, "_span_detail"),
        Page("api spans page of 100", "/v1/projects/rag-prod/spans?limit=100"),
        Page(
            "api annotations of 500 spans",
            "/v1/projects/rag-prod/span_annotations?"
            + urlencode({"span_ids": fx.annotated_span_ids, "limit": 10_000}, doseq=True),
        ),
        Page(
            "api query label=incorrect",
            "/v1/spans?project_name=rag-prod",
            {"HTTP_ACCEPT": "application/json"},
            "get_spans_dataframe's request, 1,000 rows",
            {"queries": [{"filter": {"condition": API_CONDITION}}], "limit": 1000},
        ),
    ]
    for key, base in (
        ("spans", spans),
        ("spans label=incorrect", f"{spans}?{urlencode(INCORRECT)}"),
        ("spans sort latency", f"{spans}?sort=latency_ms&dir=desc"),
    ):
        deep, walk = follow_cursors(client, base, DEEP_PAGES)
        if deep is not None:
            pages.append(Page(f"{key} page {DEEP_PAGES + 1}", deep, {}, f"walk ms {walk}"))
    return pages


_NEXT = re.compile(r'class="button" href="([^"]*cursor=[^"]+)"')


def follow_cursors(client: Any, url: str, pages: int) -> tuple[str | None, list[float]]:
    """The URL of page `pages + 1`, reached by following Next links, and the time of each hop."""
    base = url.split("?")[0]
    walk: list[float] = []
    for _ in range(pages):
        started = time.perf_counter()
        response = client.get(url)
        walk.append(round((time.perf_counter() - started) * 1000, 1))
        found = _NEXT.search(response.content.decode())
        if not found:
            return None, walk
        url = base + found.group(1).replace("&amp;", "&")
    return url, walk


_TOTAL = re.compile(r'<div class="name">(\d+) (?:spans|traces)</div>')


def fetch(client: Any, page: Page) -> tuple[float, Any]:
    started = time.perf_counter()
    if page.body is None:
        response = client.get(page.url, **page.headers)
    else:
        response = client.post(page.url, json.dumps(page.body), "application/json", **page.headers)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{page.key}: HTTP {response.status_code} for {page.url}")
    return elapsed, response


# --- per-query breakdown -------------------------------------------------------------------------------

# (label, pattern) in order: the first match names a query.
_QUERY_LABELS: list[tuple[str, re.Pattern[str]]] = [
    (label, re.compile(pattern, re.S))
    for label, pattern in [
        ("session", r'FROM "django_session"'),
        ("user", r'FROM "accounts_user"'),
        ("count", r'^SELECT COUNT\(\*\) AS "__count" FROM "tracing_span"'),
        # The roll-up aggregate, in each shape it has had: correlated "siblings" counts, or window sums.
        (
            "rollups",
            r'annotations_spanannotation.*(\bOVER\b|"siblings")|(\bOVER\b|"siblings").*annotations_spanannotation',
        ),
        ("summaries", r'FROM "annotations_spanannotation" WHERE \("annotations_spanannotation"."span_id" IN'),
        ("annotation names", r'SELECT DISTINCT "annotations_spanannotation"."name"'),
        (
            "trace summaries",
            r'FROM "annotations_traceannotation" WHERE \("annotations_traceannotation"."trace_id" IN',
        ),
        ("configs (project)", r'FROM "annotations_annotationconfig" INNER JOIN'),
        ("configs (project)", r'"annotations_projectannotationconfig"'),
        ("configs (all)", r'FROM "annotations_annotationconfig"'),
        ("datasets", r'FROM "datasets_dataset"'),
        ("project", r'FROM "tracing_project" WHERE'),
        ("trace by id", r'FROM "tracing_trace" INNER JOIN "tracing_project".*"trace_id" = '),
        ("neighbour", r'^SELECT "tracing_trace"."trace_id" AS "trace__trace_id" FROM "tracing_span"'),
        ("projects", r'FROM "tracing_project" LEFT OUTER JOIN "tracing_trace"'),
        ("project feedback", r'AVG\(.*FROM "annotations_spanannotation" INNER JOIN "tracing_span"'),
        ("span panel", r'FROM "annotations_spanannotation" LEFT OUTER JOIN "accounts_user"'),
        ("trace panel", r'FROM "annotations_traceannotation" LEFT OUTER JOIN "accounts_user"'),
        ("page query", r'FROM "tracing_span" INNER JOIN "tracing_trace".*LIMIT'),
        ("tree spans", r'FROM "tracing_span" WHERE "tracing_span"."trace_id" = '),
        ("selected span", r'FROM "tracing_span" WHERE "tracing_span"."id" = '),
    ]
]


def query_label(sql: str) -> str:
    for label, pattern in _QUERY_LABELS:
        if pattern.search(sql):
            return label
    return sql[:50]


@dataclass
class Captured:
    label: str
    sql: str
    params: Any
    ms: float


class QueryTimer:
    """A connection.execute_wrapper timing every query of a request."""

    def __init__(self) -> None:
        self.queries: list[Captured] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            ms = (time.perf_counter() - started) * 1000
            self.queries.append(Captured(query_label(sql), sql, params, ms))


def breakdown(client: Any, page: Page, runs: int) -> dict[str, Any]:
    from django.db import connection

    per_run: list[list[Captured]] = []
    totals = []
    for _ in range(runs):
        timer = QueryTimer()
        with connection.execute_wrapper(timer):
            elapsed, _response = fetch(client, page)
        per_run.append(timer.queries)
        totals.append(elapsed)
    # Queries run in the same order each time: position i of every run is the same query.
    count = min(len(run) for run in per_run)
    queries = []
    for index in range(count):
        times = [run[index].ms for run in per_run]
        first = per_run[-1][index]
        queries.append(
            {
                "label": first.label,
                "ms": round(statistics.median(times), 2),
                "sql": first.sql,
                "params": _jsonable(first.params),
            }
        )
    sql_ms = sum(q["ms"] for q in queries)
    total = statistics.median(totals)
    return {
        "total_ms": round(total, 1),
        "sql_ms": round(sql_ms, 1),
        "python_ms": round(total - sql_ms, 1),
        "query_count": count,
        "queries": queries,
    }


def _jsonable(params: Any) -> Any:
    if params is None:
        return None
    return [p if isinstance(p, int | float | str | bool | type(None)) else str(p) for p in params]


def explain(sql: str, params: Any) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        for _ in range(2):  # the second run is warm, as the measured requests are
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            lines = [row[0] for row in cursor.fetchall()]
    execution = next((line for line in lines if line.startswith("Execution Time")), "")
    return {"plan": lines, "execution": execution}


def plan_summary(lines: list[str], limit: int = 14) -> list[str]:
    """The plan's node lines (those with an arrow, plus the top one), shortened."""
    nodes = [lines[0]] + [line for line in lines[1:] if "->" in line]
    out = []
    for line in nodes[:limit]:
        line = re.sub(r"\(cost=[^)]*\) ", "", line)
        out.append(line[:150])
    return out


# --- main ----------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=200_000, help="spans to seed (4 per trace)")
    parser.add_argument("--database", default="bench_pages", help="database name (must start with bench_)")
    parser.add_argument("--server-url", default=DEFAULT_SERVER_URL, help="PostgreSQL server, no database")
    parser.add_argument("--reuse", action="store_true", help="measure the existing seeded database")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--runs", type=int, default=15, help="timed rounds over all pages (>= 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    parser.add_argument("--breakdown-runs", type=int, default=5, help="per-query timing rounds per page")
    parser.add_argument("--explain-top", type=int, default=8, help="slowest distinct queries to EXPLAIN")
    parser.add_argument("--only", default="", help="regex: measure only pages whose key matches")
    parser.add_argument("--other-project-share", type=float, default=0.1)
    parser.add_argument("--username", default="bench-reviewer")
    parser.add_argument(
        "--db-options",
        default="",
        help="libpq options for the app's connection, e.g. '-c jit=off' (a what-if, added to DATABASE_URL)",
    )
    parser.add_argument("--label", default="", help="free text stored in the JSON (e.g. 'baseline')")
    parser.add_argument("--no-json", action="store_true")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1 (10 or more for a median and p90 worth reporting)")

    database_url = f"{args.server_url}/{args.database}"
    if args.db_options:
        database_url += f"?{urlencode({'options': args.db_options})}"
    result: dict[str, Any] = {
        "label": args.label,
        "db_options": args.db_options,
        "database": args.database,
        "measured_with": "django.test.Client in-process (force_login), DEBUG=False, persistent connection",
        "code": str(PROJECT_ROOT),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
    }
    seeded = args.reuse and database_exists(args.server_url, args.database)
    if args.reuse and not seeded:
        print(f"{args.database} does not exist: seeding it.")
    if not seeded:
        print(f"Creating {args.database} and seeding {args.spans:,} spans ...")
        started = time.perf_counter()
        recreate_database(args.server_url, args.database)
        configure_django(database_url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        migrate_s = time.perf_counter() - started
        print(f"  migrate {migrate_s:.1f} s")
        import seed

        seeded_result = seed.seed(
            traces=args.spans // 4, other_project_share=args.other_project_share, username=args.username
        )
        vacuum_s = seed.vacuum_analyze()
        result["seed"] = {
            **asdict(seeded_result),
            "migrate_s": round(migrate_s, 1),
            "vacuum_analyze_s": round(vacuum_s, 1),
            "total_s": round(time.perf_counter() - started, 1),
        }
        print(f"  seeded in {result['seed']['total_s']:.0f} s")
    else:
        configure_django(database_url)

    from django.db import connection
    from django.test import Client

    from phoenix_annot.accounts.models import User

    fx = read_fixture(args.username)
    result["fixture"] = asdict(fx)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database())), version()")
        size, version = cursor.fetchone()
    result["database_size"] = size
    result["postgres"] = version
    print(f"{args.database}: {size}; {fx.counts}; {fx.spans_in_project:,} spans in the measured project")

    client = Client(raise_request_exception=True)
    client.force_login(User.objects.get(pk=fx.user_id))
    pages = build_pages(fx, client)
    if args.only:
        pages = [page for page in pages if re.search(args.only, page.key)]

    # Warm up, then timed rounds: every page once per round.
    totals: dict[str, str] = {}
    for _ in range(args.warmup):
        for page in pages:
            _elapsed, response = fetch(client, page)
            found = _TOTAL.search(response.content.decode())
            totals[page.key] = found.group(1) if found else ""
    timings: dict[str, list[float]] = defaultdict(list)
    for _ in range(args.runs):
        for page in pages:
            elapsed, _response = fetch(client, page)
            timings[page.key].append(elapsed)

    breakdowns = {page.key: breakdown(client, page, args.breakdown_runs) for page in pages}
    result["loadavg_end"] = os.getloadavg()

    rows = []
    for page in pages:
        values = timings[page.key]
        bd = breakdowns[page.key]
        parts = sorted((q for q in bd["queries"]), key=lambda q: -q["ms"])
        rows.append(
            {
                "page": page.key,
                "url": page.url,
                "headers": page.headers,
                "note": page.note,
                "matching": totals.get(page.key, ""),
                "median_ms": round(statistics.median(values), 1),
                "p90_ms": round(percentile(values, 0.9), 1),
                "min_ms": round(min(values), 1),
                "max_ms": round(max(values), 1),
                "runs_ms": [round(v, 1) for v in values],
                "breakdown": bd,
                "top_parts": [f"{q['label']} {q['ms']:.1f}" for q in parts[:3]],
            }
        )
    result["pages"] = rows

    # The slowest distinct queries overall.
    distinct: dict[str, dict[str, Any]] = {}
    for row in rows:
        for q in row["breakdown"]["queries"]:
            shape = re.sub(r"\s+", " ", q["sql"])
            key = f"{shape}|{q['params']}"
            if key not in distinct or distinct[key]["ms"] < q["ms"]:
                distinct[key] = {**q, "page": row["page"]}
    slowest = sorted(distinct.values(), key=lambda q: -q["ms"])[: args.explain_top]
    explained = []
    for q in slowest:
        plan = explain(q["sql"], q["params"])
        explained.append({**q, **plan})
    result["explained"] = explained

    print_report(result, fx)
    if not args.no_json:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS_DIR / f"pages-{fx.counts['tracing_span']}-{stamp}.json"
        path.write_text(json.dumps(result, indent=2, default=str))
        print(f"\nJSON: {path}")
    if args.drop:
        drop_database(args.server_url, args.database)
    return 0


def print_report(result: dict[str, Any], fx: Fixture) -> None:
    print(
        f"\n{fx.counts['tracing_span']:,} spans ({fx.spans_in_project:,} in the project), "
        f"{fx.counts['annotations_spanannotation']:,} span annotations; loadavg "
        f"{result['loadavg_start'][0]:.2f} -> {result['loadavg_end'][0]:.2f}; target < {TARGET_MS:.0f} ms\n"
    )
    columns = f"{'rows':>7} {'median':>8} {'p90':>8} {'sql':>7} {'py':>6} {'#q':>3}"
    header = f"{'page':<34} {columns}  slowest parts (ms)"
    print(header)
    print("-" * len(header))
    for row in result["pages"]:
        bd = row["breakdown"]
        flag = " !" if row["median_ms"] > TARGET_MS else ""
        print(
            f"{row['page']:<34} {row['matching']:>7} {row['median_ms']:>8.1f} {row['p90_ms']:>8.1f} "
            f"{bd['sql_ms']:>7.1f} {bd['python_ms']:>6.1f} {bd['query_count']:>3}  "
            f"{', '.join(row['top_parts'])}{flag}"
        )
    print("\nSlowest queries, EXPLAIN (ANALYZE, BUFFERS):")
    for q in result["explained"]:
        print(f"\n[{q['ms']:.1f} ms median] {q['label']} (page: {q['page']}) {q['execution']}")
        for line in plan_summary(q["plan"]):
            print(f"    {line}")


if __name__ == "__main__":
    raise SystemExit(main())
