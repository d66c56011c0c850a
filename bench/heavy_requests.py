"""The heaviest requests the limits allow, on PostgreSQL: time, response size and peak Python memory of each.

What it does:

1. Unless ``--reuse``, creates ``bench_heavy`` (dropped first), migrates and seeds it as ``bench/pages.py``
   does (``bench/seed.py``: ``--spans`` RAG-shaped spans in 4-span traces, ~2 annotations a trace), then adds
   one trace of ``--big-trace-spans`` spans (a 10-ary tree, every tenth an LLM span with token counts) to the
   measured project, and runs ``VACUUM (ANALYZE)``.
2. Measures each request in-process with Django's test ``Client`` (``DEBUG=False``, ``/v1`` auth off):
   ``--runs`` timed runs after one warm-up; median wall time, the response's size, and the peak of Python's
   allocations during one more run (``tracemalloc``: what the worker allocates for the request, not its RSS).
   The requests: ``/v1/projects/{p}/traces?limit=1000&include_spans=true``, and its page that starts at the
   big trace (the span cap reached at once); the trace page of the big
   trace, its last "more spans" fragment and the page with the tree's last span selected; the spans table
   and ``POST /v1/spans`` with the most annotation terms a filter may hold; a cumulative token count filter
   on the table and on ``POST /v1/spans`` (on PostgreSQL, stopped at PHOENIX_ANNOT_FILTER_TIMEOUT_MS).
3. Prints a table and writes it as JSON to ``bench/results/heavy-<UTC time>.json`` unless ``--no-json``.

    .venv/bin/python bench/heavy_requests.py --server-url postgres://postgres@127.0.0.1:5432
    .venv/bin/python bench/heavy_requests.py --reuse --only trace

Never run two benchmarks at once (2 cores).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pages import (
    DEFAULT_SERVER_URL,
    HX,
    RESULTS_DIR,
    Page,
    configure_django,
    database_exists,
    recreate_database,
)

BIG_TRACE_ID = "b" * 32
BIG_TRACE_FANOUT = 10


def seed_big_trace(*, project_id: int, spans: int) -> None:
    """One trace of `spans` spans in a tree where span i's parent is span (i - 1) // fanout: deep enough
    that the last spans sit five levels down, wide enough that every level is long."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracing_trace (project_id, trace_id, start_time, end_time, latency_ms,"
            " span_count, error_count, root_span_name, llm_token_count_prompt, llm_token_count_completion,"
            " llm_token_count_total) VALUES (%s, %s, '2026-10-15T00:00:00Z', '2026-10-15T01:00:00Z',"
            " 3600000, %s, 0, 'step 0', 0, 0, 0) RETURNING id",
            [project_id, BIG_TRACE_ID, spans],
        )
        (trace_pk,) = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO tracing_span (trace_id, project_id, span_id, parent_id, name, span_kind, start_time,
                end_time, latency_ms, status_code, status_message, attributes, events, input_value,
                input_mime_type, output_value, output_mime_type, llm_model_name, llm_token_count_prompt,
                llm_token_count_completion, llm_token_count_total, created_at)
            SELECT %(trace)s, %(project)s, lpad(to_hex(1099511627776 + i), 16, '0'),
                CASE WHEN i > 0 THEN lpad(to_hex(1099511627776 + (i - 1) / %(fanout)s), 16, '0') END,
                'step ' || i, CASE WHEN i %% 10 = 9 THEN 'LLM' ELSE 'CHAIN' END,
                '2026-10-15T00:00:00Z'::timestamptz + i * interval '10 ms',
                '2026-10-15T00:00:00Z'::timestamptz + i * interval '10 ms' + interval '5 ms', 5, 'OK', '',
                jsonb_build_object('input', jsonb_build_object('value', 'question ' || i)), '[]'::jsonb,
                'question ' || i, 'text/plain', 'answer ' || i, 'text/plain', '',
                CASE WHEN i %% 10 = 9 THEN 100 END, CASE WHEN i %% 10 = 9 THEN 20 END,
                CASE WHEN i %% 10 = 9 THEN 120 END, now()
            FROM generate_series(0, %(last)s) AS i
            """,
            {"trace": trace_pk, "project": project_id, "fanout": BIG_TRACE_FANOUT, "last": spans - 1},
        )


def annotation_terms_condition(terms: int) -> str:
    names = ("correctness", "hallucination", "relevance")
    return " or ".join(f"annotations['{names[i % 3]}'].label == 'x{i}'" for i in range(terms))


def build_requests(*, project_id: int, big_trace_spans: int) -> list[Page]:
    from phoenix_annot.core.globalid import to_global_id
    from phoenix_annot.filtering.expression import MAX_ANNOTATION_TERMS
    from phoenix_annot.tracing.models import Project
    from phoenix_annot.web.selectors.traces import TREE_PAGE_SIZE

    project = to_global_id("Project", project_id)
    project_name = Project.objects.get(pk=project_id).name
    last_span = f"{1099511627776 + big_trace_spans - 1:016x}"
    terms = annotation_terms_condition(MAX_ANNOTATION_TERMS)
    cumulative = "cumulative_token_count.total > 1000"
    query_body = {"queries": [{"filter": {"condition": terms}}], "limit": 1000}
    return [
        Page("api traces include_spans", f"/v1/projects/{project}/traces?limit=1000&include_spans=true"),
        Page(
            "api traces include_spans, from the big trace",
            f"/v1/projects/{project}/traces?limit=1000&include_spans=true&end_time=2026-10-15T00:00:01Z",
        ),
        Page("trace page (big trace)", f"/traces/{BIG_TRACE_ID}/"),
        Page("trace page, last span selected", f"/traces/{BIG_TRACE_ID}/?span={last_span}"),
        Page(
            "trace tree: its last page",
            f"/traces/{BIG_TRACE_ID}/tree/?page={(big_trace_spans - 1) // TREE_PAGE_SIZE}&direction=down",
            headers=HX,
        ),
        Page(
            f"spans table, {MAX_ANNOTATION_TERMS} annotation terms",
            f"/projects/{project_id}/?{urlencode({'condition': terms})}",
        ),
        Page(f"POST /v1/spans, {MAX_ANNOTATION_TERMS} annotation terms", "/v1/spans", body=query_body),
        Page(
            "spans table, cumulative tokens",
            f"/projects/{project_id}/?{urlencode({'condition': cumulative})}",
        ),
        Page(
            "POST /v1/spans, cumulative tokens",
            f"/v1/spans?{urlencode({'project_name': project_name})}",
            body={"queries": [{"filter": {"condition": cumulative}}], "limit": 1000},
        ),
    ]


def request(client: Any, page: Page) -> Any:
    if page.body is None:
        return client.get(page.url, **page.headers)
    return client.post(page.url, json.dumps(page.body), "application/json", **page.headers)


def measure(client: Any, page: Page, runs: int) -> dict[str, Any]:
    response = request(client, page)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = request(client, page)
        times.append((time.perf_counter() - started) * 1000)
    tracemalloc.start()
    request(client, page)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "request": page.key,
        "url": page.url,
        "status": response.status_code,
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "response_bytes": len(response.content),
        "peak_python_mib": round(peak / 2**20, 1),
        "answer": response.content[:200].decode(errors="replace") if response.status_code >= 400 else "",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=200_000, help="spans to seed (4 per trace)")
    parser.add_argument("--big-trace-spans", type=int, default=100_000)
    parser.add_argument("--database", default="bench_heavy", help="database name (must start with bench_)")
    parser.add_argument("--server-url", default=DEFAULT_SERVER_URL, help="PostgreSQL server, no database")
    parser.add_argument("--reuse", action="store_true", help="measure the existing seeded database")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="", help="measure only requests whose name contains this")
    parser.add_argument("--no-json", action="store_true")
    args = parser.parse_args(argv)

    database_url = f"{args.server_url}/{args.database}"
    if args.reuse and database_exists(args.server_url, args.database):
        configure_django(database_url)
    else:
        recreate_database(args.server_url, args.database)
        configure_django(database_url)
        import seed
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        started = time.perf_counter()
        seeded = seed.seed(traces=args.spans // 4, other_project_share=0.1, username="bench-reviewer")
        seed_big_trace(project_id=seeded.main_project_id, spans=args.big_trace_spans)
        seed.vacuum_analyze()
        print(
            f"seeded {args.spans:,} spans and a {args.big_trace_spans:,}-span trace in "
            f"{time.perf_counter() - started:.0f} s"
        )

    from django.test import Client

    from phoenix_annot.accounts.models import User
    from phoenix_annot.tracing.models import Trace

    client = Client()
    client.force_login(User.objects.get(username="bench-reviewer"))
    project_id = Trace.objects.get(trace_id=BIG_TRACE_ID).project_id
    pages = [
        page
        for page in build_requests(project_id=project_id, big_trace_spans=args.big_trace_spans)
        if args.only in page.key
    ]
    rows = []
    for page in pages:
        row = measure(client, page, args.runs)
        rows.append(row)
        print(
            f"{row['request']:<45} {row['status']} {row['median_ms']:>9.1f} ms (max {row['max_ms']:.1f})"
            f" {row['response_bytes'] / 1024:>9.1f} KiB  peak {row['peak_python_mib']:>6.1f} MiB"
            f" {row['answer']}",
            flush=True,
        )
    if not args.no_json:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS_DIR / f"heavy-{stamp}.json"
        path.write_text(json.dumps({"spans": args.spans, "requests": rows}, indent=2))
        print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
