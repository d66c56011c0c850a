"""Retrieval metrics benchmark on PostgreSQL: the Spans tab's retrieval filters and roll-up, read through
gunicorn, on a project of ``--spans`` spans.

What it does, in order:

1. Creates the database ``bench_retrieval`` (dropped first, dropped again at the end unless ``--keep``),
   runs ``manage.py migrate``, then seeds it with SQL (``generate_series``): one project, traces of four
   spans (a CHAIN root, a RETRIEVER of 10 documents, an LLM and a TOOL span), and on two retriever spans of
   three an LLM judge's ``relevance`` of each of the 10 documents (score 1 for about one in eight, else 0,
   so that about a quarter of the judged spans miss).
2. Fills the stored metrics with ``annotations.retrieval.retrieval_metrics_refresh``, the function every
   document annotation write runs (and the 0007 migration, for annotations stored before it), timed: what a
   backfill of this many judged spans costs. Then ``VACUUM ANALYZE``.
3. Starts one gunicorn sync worker and times, logged in as a reviewer, median of ``--runs`` after a
   warm-up:

   a. the Spans tab as it opens (newest 50, feedback and retrieval roll-ups over the whole project);
   b. the Spans tab filtered to ``retrieval_hit=false`` (retriever spans whose judged documents miss);
   c. the Spans tab filtered to ``ndcg_below=0.5``;
   d. the Spans tab filtered to retriever spans with a hit (``span_kind=RETRIEVER&retrieval_hit=true``);
   d'. the Spans tab filtered to LLM spans, no retrieval filter (its roll-up joins every LLM span);
   e. the trace page of a judged retriever span (its 10 documents with their controls and metrics);
   f. ``POST /v1/document_annotations?sync=true`` of the 10 documents of one span, metrics recomputed in
      the same transaction (auth is off for /v1).

4. In process, for the same filters: the Spans tab's count of the matching spans alone against its count
   with the retrieval roll-up (``count_and_retrieval_rollup``), median of ``--runs``: what the roll-up adds.

Target (issue 12, as for the other tabs): the Spans tab < 200 ms median with the filter and roll-up.

Run from the project root with the project's virtualenv, as a module (it imports bench/api.py's helpers)::

    .venv/bin/python -m bench.retrieval --postgres-url postgres://postgres@127.0.0.1:5432/bench_retrieval
    .venv/bin/python -m bench.retrieval --spans 20000 --runs 5   # a quick look

Exit status 0 whether the target is met or not; 1 when a request fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

import httpx
import psycopg

from bench.api import ROOT, django_env, gunicorn, migrated_database, summary, timed
from bench.sessions import add_reviewer, log_in, page

PROJECT = "retrieval-bench"
DOCUMENTS = 10
PAGE_TARGET_MS = 200
ATTRIBUTES = json.dumps(
    {
        "openinference": {"span": {"kind": "RETRIEVER"}},
        "retrieval": {
            "documents": [
                {"document": {"id": f"doc-{n}", "content": f"Passage {n} about the question.", "score": 0.9}}
                for n in range(DOCUMENTS)
            ]
        },
    }
)

SEED_SQL = """
INSERT INTO tracing_project (name, description, created_at, updated_at)
VALUES (%(project)s, '', now(), now());

INSERT INTO tracing_trace (project_id, trace_id, start_time, end_time, latency_ms, span_count, error_count,
    root_span_name, llm_token_count_prompt, llm_token_count_completion, llm_token_count_total)
SELECT p.id, md5('trace-' || g), timestamptz '2026-01-01 00:00+00' + g * interval '1 second',
    timestamptz '2026-01-01 00:00+00' + g * interval '1 second' + interval '2 seconds', 2000, 4, 0, 'rag',
    20, 10, 30
FROM tracing_project p, generate_series(1, %(traces)s) g
WHERE p.name = %(project)s;

INSERT INTO tracing_span (trace_id, project_id, span_id, parent_id, name, span_kind, start_time, end_time,
    latency_ms, status_code, status_message, attributes, events, input_value, input_mime_type, output_value,
    output_mime_type, llm_model_name, llm_token_count_prompt, llm_token_count_completion,
    llm_token_count_total, llm_cost_total, created_at)
SELECT t.id, t.project_id, substr(md5(t.id || '-' || n), 1, 16),
    CASE WHEN n = 0 THEN NULL ELSE substr(md5(t.id || '-0'), 1, 16) END,
    (ARRAY['rag', 'retrieve', 'ChatCompletion', 'lookup'])[n + 1],
    (ARRAY['CHAIN', 'RETRIEVER', 'LLM', 'TOOL'])[n + 1],
    t.start_time + n * interval '10 milliseconds', t.end_time, 500, 'OK', '',
    CASE WHEN n = 1 THEN %(attributes)s::jsonb ELSE '{}'::jsonb END, '[]'::jsonb,
    'Which pasta goes with pesto?', 'text/plain', 'Trofie.', 'text/plain',
    CASE WHEN n = 2 THEN 'gpt-4o' ELSE '' END, NULL, NULL, NULL, NULL, now()
FROM tracing_trace t, generate_series(0, 3) n;

INSERT INTO annotations_documentannotation (span_id, document_position, name, label, score, explanation,
    metadata, annotator_kind, identifier, source, user_id, created_at, updated_at)
SELECT s.id, d, 'relevance',
    CASE WHEN hashtext(s.span_id || d) %% 8 = 0 THEN 'relevant' ELSE 'irrelevant' END,
    CASE WHEN hashtext(s.span_id || d) %% 8 = 0 THEN 1.0 ELSE 0.0 END,
    NULL, '{}'::jsonb, 'LLM', '', 'API', NULL, now(), now()
FROM tracing_span s, generate_series(0, %(documents)s - 1) d
WHERE s.span_kind = 'RETRIEVER' AND s.id %% 3 <> 0
"""

REFRESH = """
import django
django.setup()
from phoenix_annot.annotations.models import DocumentAnnotation
from phoenix_annot.annotations.retrieval import retrieval_metrics_refresh
from django.db import transaction
span_pks = sorted(set(DocumentAnnotation.objects.values_list("span_id", flat=True)))
for start in range(0, len(span_pks), 1000):
    with transaction.atomic():
        retrieval_metrics_refresh(span_pks=span_pks[start : start + 1000])
"""


def seed(url: str, *, spans: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in SEED_SQL.split(";\n"):
            conn.execute(
                statement,
                {"project": PROJECT, "traces": spans // 4, "attributes": ATTRIBUTES, "documents": DOCUMENTS},
            )
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("tracing_span", "annotations_documentannotation")
        }
    print(
        f"seeded: {counts['tracing_span']:,} spans, {counts['annotations_documentannotation']:,} judgements"
    )


def refresh_metrics(url: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", REFRESH], cwd=ROOT, env=django_env(url), check=True)
    seconds = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        rows, hits = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE hit) FROM annotations_retrievalmetrics"
        ).fetchone()
        conn.execute("VACUUM ANALYZE")
    print(f"metrics of {rows:,} judged retriever spans ({hits:,} hits) stored in {seconds:.1f} s")
    return seconds


ROLLUP_COST = """
import json, statistics, sys, time
import django
django.setup()
from django.http import QueryDict
from phoenix_annot.filtering.feedback import count_and_retrieval_rollup
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.tracing.models import Project, Span
project = Project.objects.get(name=sys.argv[1])
runs = int(sys.argv[2])

def median_ms(call):
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)

results = {}
for query in sys.argv[3:]:
    spans = SpanFilter(QueryDict(query), queryset=Span.objects.filter(project=project))
    assert spans.is_valid(), spans.errors
    results[query or "(no filter)"] = (
        median_ms(lambda: spans.qs.count()),
        median_ms(
            lambda: count_and_retrieval_rollup(spans.qs, project=project, whole_project=not spans.narrows())
        ),
    )
print(json.dumps(results))
"""
ROLLUP_FILTERS = (
    "",
    "retrieval_hit=false",
    "ndcg_below=0.5",
    "span_kind=RETRIEVER&retrieval_hit=true",
    "span_kind=LLM",
)


def rollup_cost(url: str, *, runs: int) -> dict[str, list[float]]:
    """Per filter, the median ms of the count alone and of the count with the retrieval roll-up."""
    done = subprocess.run(
        [sys.executable, "-c", ROLLUP_COST, PROJECT, str(runs), *ROLLUP_FILTERS],
        cwd=ROOT,
        env=django_env(url),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def judged_retriever(url: str) -> tuple[int, str, str]:
    """The project, and the trace and span id of a judged retriever span near the middle."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT s.project_id, t.trace_id, s.span_id FROM annotations_retrievalmetrics m "
            "JOIN tracing_span s ON s.id = m.span_id JOIN tracing_trace t ON t.id = s.trace_id "
            "ORDER BY m.span_id OFFSET (SELECT count(*) / 2 FROM annotations_retrievalmetrics) LIMIT 1"
        ).fetchone()


def measure(base_url: str, *, url: str, runs: int) -> dict[str, Any]:
    project, trace_id, span_id = judged_retriever(url)
    tab = f"/projects/{project}/"
    calls = {
        "Spans tab (newest 50, roll-ups)": tab,
        "Spans tab, retrieval_hit=false": f"{tab}?retrieval_hit=false",
        "Spans tab, ndcg_below=0.5": f"{tab}?ndcg_below=0.5",
        "Spans tab, retrievers with a hit": f"{tab}?span_kind=RETRIEVER&retrieval_hit=true",
        "Spans tab, span_kind=LLM (no retrieval filter)": f"{tab}?span_kind=LLM",
        "trace page, retriever of 10 documents": f"/traces/{trace_id}/?span={span_id}",
    }
    body = {
        "data": [
            {
                "span_id": span_id,
                "document_position": n,
                "name": "relevance",
                "annotator_kind": "LLM",
                "result": {"label": "relevant", "score": 1.0},
            }
            for n in range(DOCUMENTS)
        ]
    }
    with httpx.Client(base_url=base_url, timeout=60) as client:
        log_in(client)
        opened = page(client, tab)
        if 'data-rollup="retrieval"' not in opened or "data-metric=" not in opened:
            raise AssertionError("the Spans tab shows no retrieval roll-up")
        if (
            page(client, calls["trace page, retriever of 10 documents"]).count("data-document-form")
            != DOCUMENTS
        ):
            raise AssertionError("the trace page does not show the 10 documents' controls")
        results = {
            name: summary(timed(lambda path=path: page(client, path), runs)) for name, path in calls.items()
        }

    # A client without the reviewer's session, as evaluation scripts call /v1.
    with httpx.Client(base_url=base_url, timeout=60) as api:

        def write() -> None:
            api.post("/v1/document_annotations?sync=true", json=body).raise_for_status()

        results["POST 10 document annotations (sync)"] = summary(timed(write, runs))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres-url", default="postgres://postgres:postgres@localhost:5432/bench_retrieval"
    )
    parser.add_argument("--spans", type=int, default=250_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="leave the database for EXPLAIN ANALYZE")
    args = parser.parse_args(argv)
    try:
        with migrated_database(args.postgres_url, keep=args.keep) as env:
            add_reviewer(env)
            started = time.perf_counter()
            seed(args.postgres_url, spans=args.spans)
            print(f"seeded in {time.perf_counter() - started:.0f} s")
            refresh_metrics(args.postgres_url)
            with gunicorn(args.postgres_url, 1) as server:
                results = measure(server.base_url, url=args.postgres_url, runs=args.runs)
            costs = rollup_cost(args.postgres_url, runs=args.runs)
    except (httpx.HTTPError, AssertionError) as error:
        print(f"request failed: {error!r}")
        return 1
    for call, figures in results.items():
        verdict = ""
        if call.startswith("Spans tab"):
            verdict = (
                f"(target < {PAGE_TARGET_MS} ms: {'ok' if figures['median_ms'] < PAGE_TARGET_MS else 'MISS'})"
            )
        print(
            f"  {call:48} median {figures['median_ms']:7.1f} ms  p90 {figures['p90_ms']:7.1f} ms  {verdict}"
        )
    print("in process, the count alone / the count with the retrieval roll-up (median ms):")
    for query, (alone, with_rollup) in costs.items():
        print(f"  {query:48} {alone:7.1f} / {with_rollup:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
