"""Sessions list benchmark on PostgreSQL: 1M spans in 100k sessions, read through gunicorn.

What it does, in order:

1. Creates the database ``bench_sessions`` (dropped first, dropped again at the end unless ``--keep``), runs
   ``manage.py migrate``, then seeds it with SQL (``generate_series``, not the ORM: a million rows in
   seconds): one project, ``--sessions`` sessions of three turns (traces of 3, 3 and 4 spans, so ten spans a
   session), and one more session of ``--long-turns`` turns; roll-ups filled as ingestion leaves them.
   Then ``VACUUM ANALYZE``.
2. Starts one gunicorn sync worker (auth off) and times, median of ``--runs`` after a warm-up:

   a. ``GET /v1/projects/{p}/sessions?limit=100``: the first page, oldest first (Phoenix's default);
   b. the same, ``order=desc``: the newest sessions, what a Sessions tab opens on;
   c. a page in the middle, by cursor (``ProjectSession`` GlobalID of the middle session);
   d. ``GET /v1/sessions/{id}`` of the long session, with all its turns;

   and the review pages, logged in as a reviewer (every other session carries an ``outcome`` annotation):

   e. the Sessions tab as it opens (newest 50, feedback chips, roll-ups over every session of the project);
   f. the Sessions tab at a page in the middle, by cursor;
   g. the Sessions tab filtered to the to-do list (``missing_annotation=outcome``), to the ongoing sessions
      (none: the seeded ones ended long ago), to the ended ones (all), and to an outcome scored <= 0.5;
   h. the session page of the long session, opened from the tab (its turns, Annotate panel, j/k).

   Targets (issue 12): the Sessions tab (and a page of sessions over /v1) < 200 ms median, a 50-turn session
   (page or /v1) < 150 ms.

Run from the project root with the project's virtualenv, as a module (it imports bench/api.py's helpers)::

    .venv/bin/python -m bench.sessions --postgres-url postgres://postgres@127.0.0.1:5432/bench_sessions
    .venv/bin/python -m bench.sessions --sessions 10000 --runs 5   # a quick look

Exit status 0 whether targets are met or not; 1 when a request fails.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from typing import Any

import httpx
import psycopg

from bench.api import ROOT, gunicorn, migrated_database, summary, timed
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.core.keyset import encode_cursor

PROJECT = "sessions-bench"
REVIEWER = "bench-reviewer"
REVIEWER_PASSWORD = "bench-reviewer-password"
LONG_SESSION = "long-conversation"
PAGE_TARGET_MS = 200
LONG_SESSION_TARGET_MS = 150

SEED_SQL = """
INSERT INTO tracing_project (name, description, created_at, updated_at)
VALUES (%(project)s, '', now(), now());

INSERT INTO tracing_session (project_id, session_id, start_time, end_time, trace_count, error_count,
    llm_token_count_prompt, llm_token_count_completion, llm_token_count_total, llm_cost_total, created_at,
    updated_at)
SELECT p.id, 'session-' || g, t.start + g * interval '10 seconds',
    t.start + g * interval '10 seconds' + interval '3 minutes', 3, 0, 60, 30, 90, 0.003, now(), now()
FROM tracing_project p, (SELECT timestamptz '2026-01-01 00:00+00' AS start) t,
    generate_series(1, %(sessions)s) g
WHERE p.name = %(project)s;

INSERT INTO tracing_session (project_id, session_id, start_time, end_time, trace_count, error_count,
    llm_token_count_prompt, llm_token_count_completion, llm_token_count_total, llm_cost_total, created_at,
    updated_at)
SELECT p.id, %(long_session)s, timestamptz '2026-02-01 00:00+00',
    timestamptz '2026-02-01 00:00+00' + %(long_turns)s * interval '1 minute', %(long_turns)s, 0,
    20 * %(long_turns)s, 10 * %(long_turns)s, 30 * %(long_turns)s, 0, now(), now()
FROM tracing_project p WHERE p.name = %(project)s;

INSERT INTO tracing_trace (project_id, session_id, trace_id, start_time, end_time, latency_ms, span_count,
    error_count, root_span_name, llm_token_count_prompt, llm_token_count_completion, llm_token_count_total)
SELECT s.project_id, s.id, md5(s.id || '-' || k), s.start_time + k * interval '1 minute',
    s.start_time + k * interval '1 minute' + interval '2 seconds', 2000, CASE WHEN k = 2 THEN 4 ELSE 3 END,
    0, 'turn', 20, 10, 30
FROM tracing_session s,
    generate_series(0, GREATEST(s.trace_count, 1) - 1) k;

INSERT INTO tracing_span (trace_id, project_id, span_id, parent_id, name, span_kind, start_time, end_time,
    latency_ms, status_code, status_message, attributes, events, input_value, input_mime_type, output_value,
    output_mime_type, llm_model_name, llm_token_count_prompt, llm_token_count_completion,
    llm_token_count_total, llm_cost_total, created_at)
SELECT t.id, t.project_id, substr(md5(t.id || '-' || n), 1, 16),
    CASE WHEN n = 0 THEN NULL ELSE substr(md5(t.id || '-0'), 1, 16) END,
    CASE WHEN n = 0 THEN 'turn' ELSE 'ChatCompletion' END, CASE WHEN n = 0 THEN 'CHAIN' ELSE 'LLM' END,
    t.start_time, t.end_time, 2000, 'OK', '', '{"session": {"id": "bench"}}'::jsonb, '[]'::jsonb,
    'What did I ask you before?', 'text/plain', 'You asked about the weather.', 'text/plain',
    CASE WHEN n = 0 THEN '' ELSE 'gpt-4o' END, 20, 10, 30, NULL, now()
FROM tracing_trace t, generate_series(0, t.span_count - 1) n;

INSERT INTO annotations_sessionannotation (session_id, name, label, score, explanation, metadata,
    annotator_kind, identifier, source, user_id, created_at, updated_at)
SELECT s.id, 'outcome', CASE WHEN s.id %% 4 = 0 THEN 'resolved' ELSE 'unresolved' END,
    CASE WHEN s.id %% 4 = 0 THEN 1.0 ELSE 0.0 END, NULL, '{}'::jsonb, 'HUMAN', '', 'API', NULL, now(), now()
FROM tracing_session s WHERE s.id %% 2 = 0;
"""


def seed(url: str, *, sessions: int, long_turns: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in SEED_SQL.split(";\n"):
            if statement.strip():
                conn.execute(
                    statement,
                    {
                        "project": PROJECT,
                        "sessions": sessions,
                        "long_session": LONG_SESSION,
                        "long_turns": long_turns,
                    },
                )
        conn.execute("VACUUM ANALYZE")
        counts = {
            table: conn.execute(f"SELECT count(*) FROM tracing_{table}").fetchone()[0]
            for table in ("session", "trace", "span")
        }
    print(f"seeded: {counts['session']:,} sessions, {counts['trace']:,} traces, {counts['span']:,} spans")


def middle_cursor(url: str) -> str:
    with psycopg.connect(url) as conn:
        (pk,) = conn.execute(
            "SELECT id FROM tracing_session ORDER BY id "
            "OFFSET (SELECT count(*) / 2 FROM tracing_session) LIMIT 1"
        ).fetchone()
    return to_global_id("ProjectSession", pk)


def middle_page_cursor(url: str) -> str:
    """The Sessions tab's cursor (newest first) at the middle session."""
    with psycopg.connect(url) as conn:
        start_time, pk = conn.execute(
            "SELECT start_time, id FROM tracing_session ORDER BY start_time DESC, id DESC "
            "OFFSET (SELECT count(*) / 2 FROM tracing_session) LIMIT 1"
        ).fetchone()
    return encode_cursor(start_time, pk)


def project_and_long_session(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT project_id, id FROM tracing_session WHERE session_id = %s", (LONG_SESSION,)
        ).fetchone()


def get(client: httpx.Client, path: str) -> Any:
    response = client.get(path)
    response.raise_for_status()
    return response.json()


def measure(base_url: str, *, cursor: str, runs: int, long_turns: int) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        calls = {
            "first page (asc, 100)": f"/v1/projects/{PROJECT}/sessions?limit=100",
            "newest page (desc, 100)": f"/v1/projects/{PROJECT}/sessions?limit=100&order=desc",
            "middle page (cursor, 100)": f"/v1/projects/{PROJECT}/sessions?limit=100&cursor={cursor}",
            f"one session of {long_turns} turns": f"/v1/sessions/{LONG_SESSION}",
        }
        first = get(client, calls["first page (asc, 100)"])
        assert len(first["data"]) == 100 and all(len(s["traces"]) == 3 for s in first["data"])
        assert len(get(client, calls[f"one session of {long_turns} turns"])["data"]["traces"]) == long_turns
        return {
            name: summary(timed(lambda path=path: get(client, path), runs)) for name, path in calls.items()
        }


def log_in(client: httpx.Client) -> None:
    """Log the client in as the reviewer through the login form: it keeps the session cookie."""
    client.get("/login/").raise_for_status()
    response = client.post(
        "/login/",
        data={
            "username": REVIEWER,
            "password": REVIEWER_PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    if response.status_code != 302:
        raise AssertionError(f"login failed: {response.status_code}")


def page(client: httpx.Client, path: str) -> str:
    response = client.get(path)
    response.raise_for_status()
    return response.text


def measure_pages(
    base_url: str, *, project: int, long_session: int, cursor: str, runs: int, long_turns: int
) -> dict[str, Any]:
    calls = {
        "Sessions tab (newest 50)": f"/projects/{project}/sessions/",
        "Sessions tab, middle page (cursor)": f"/projects/{project}/sessions/?cursor={cursor}",
        "Sessions tab, to-do (no outcome)": f"/projects/{project}/sessions/?missing_annotation=outcome",
        "Sessions tab, ongoing only": f"/projects/{project}/sessions/?activity=ongoing",
        "Sessions tab, ended only": f"/projects/{project}/sessions/?activity=ended",
        "Sessions tab, outcome score <= 0.5": (
            f"/projects/{project}/sessions/?annotation_name=outcome&score_max=0.5"
        ),
        f"session page of {long_turns} turns": f"/sessions/{long_session}/?list=tab%3Dsessions",
    }
    with httpx.Client(base_url=base_url, timeout=60) as client:
        log_in(client)
        assert page(client, calls["Sessions tab (newest 50)"]).count("data-row data-session-id=") == 50
        assert page(client, calls[f"session page of {long_turns} turns"]).count('class="turn"') == long_turns
        return {
            name: summary(timed(lambda path=path: page(client, path), runs)) for name, path in calls.items()
        }


def add_reviewer(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", REVIEWER],
        cwd=ROOT,
        env={
            **env,
            "DJANGO_SUPERUSER_PASSWORD": REVIEWER_PASSWORD,
            "DJANGO_SUPERUSER_EMAIL": "r@example.com",
        },
        check=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres-url", default="postgres://postgres:postgres@localhost:5432/bench_sessions"
    )
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--long-turns", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="leave the database for EXPLAIN ANALYZE")
    args = parser.parse_args(argv)
    try:
        with migrated_database(args.postgres_url, keep=args.keep) as env:
            add_reviewer(env)
            started = time.perf_counter()
            seed(args.postgres_url, sessions=args.sessions, long_turns=args.long_turns)
            print(f"seeded and analysed in {time.perf_counter() - started:.0f} s")
            with gunicorn(args.postgres_url, 1) as server:
                results = measure(
                    server.base_url,
                    cursor=middle_cursor(args.postgres_url),
                    runs=args.runs,
                    long_turns=args.long_turns,
                )
                project, long_session = project_and_long_session(args.postgres_url)
                results |= measure_pages(
                    server.base_url,
                    project=project,
                    long_session=long_session,
                    cursor=middle_page_cursor(args.postgres_url),
                    runs=args.runs,
                    long_turns=args.long_turns,
                )
    except (httpx.HTTPError, AssertionError) as error:
        print(f"request failed: {error!r}")
        return 1
    for call, figures in results.items():
        target = LONG_SESSION_TARGET_MS if "turns" in call else PAGE_TARGET_MS
        verdict = "ok" if figures["median_ms"] < target else "MISS"
        print(
            f"  {call:36} median {figures['median_ms']:7.1f} ms  p90 {figures['p90_ms']:7.1f} ms  "
            f"(target < {target} ms: {verdict})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
