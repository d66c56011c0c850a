"""Agreement benchmark on PostgreSQL: one categorical config over 100,000 spans labelled by 5 reviewers.

What it does, in order:

1. Creates the database (dropped first, dropped again at the end unless ``--keep``), runs
   ``manage.py migrate``, then seeds it with SQL (``generate_series``): one project, ``--spans`` spans (one
   trace each, every other one an LLM span, the others CHAIN), ``--reviewers`` users, and each reviewer's
   Annotate panel label (``px-app:<user>``) of the categorical config ``correctness`` (correct, partial,
   incorrect) on every span: the span's "true" label 80% of the time, another one otherwise, so about 40%
   of the spans have a disagreement. Then ``VACUUM ANALYZE``.
2. In process (Django set up on that database), times, median of ``--runs`` after a warm-up:

   a. ``agreement_for_review`` for ``correctness`` over every span: the raters, the patterns (one query),
      percent agreement, Fleiss' kappa, Krippendorff's alpha and the 5 x 5 Cohen's kappa matrix, each with
      its jackknife interval;
   b. the same under a Spans-tab filter (``span_kind=LLM``: half the spans);
   c. the first page of the disagreements (sorted over every disagreeing span);
   d. the Agreement page rendered through Django's test client, logged in (middleware, template);
   e. with ``--scores``, the agreement of a continuous config whose scores make nearly every span's row
      of values its own (so every coefficient's jackknife has one term per span), in CPU time.

   Target (issue 14): (a) < 500 ms median.

   Wall times on a shared machine move with its load; (a) is also timed in CPU time (this process's, plus
   the PostgreSQL backend's, read from /proc when the server runs on this machine), which the other
   processes on the machine change much less.

Run from the project root with the project's virtualenv, as a module::

    .venv/bin/python -m bench.agreement --postgres-url postgres://postgres@127.0.0.1:5432/bench_agreement
    .venv/bin/python -m bench.agreement --spans 10000 --runs 3   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from bench.api import migrated_database, summary, timed

PROJECT = "agreement-bench"
TARGET_MS = 500
LABELS = ["correct", "partial", "incorrect"]

SEED_SQL = """
INSERT INTO tracing_project (name, description, created_at, updated_at)
VALUES (%(project)s, '', now(), now());

INSERT INTO tracing_trace (project_id, trace_id, start_time, end_time, latency_ms, span_count, error_count,
    root_span_name, llm_token_count_prompt, llm_token_count_completion, llm_token_count_total)
SELECT p.id, md5('trace-' || g), timestamptz '2026-01-01 00:00+00' + g * interval '1 second',
    timestamptz '2026-01-01 00:00+00' + g * interval '1 second' + interval '1 second', 1000, 1, 0, 'answer',
    20, 10, 30
FROM tracing_project p, generate_series(1, %(spans)s) g
WHERE p.name = %(project)s;

INSERT INTO tracing_span (trace_id, project_id, span_id, parent_id, name, span_kind, start_time, end_time,
    latency_ms, status_code, status_message, attributes, events, input_value, input_mime_type, output_value,
    output_mime_type, llm_model_name, created_at)
SELECT t.id, t.project_id, substr(md5('span-' || t.id), 1, 16), NULL, 'answer',
    CASE WHEN t.id %% 2 = 0 THEN 'LLM' ELSE 'CHAIN' END, t.start_time, t.end_time, 1000, 'OK', '',
    '{}'::jsonb, '[]'::jsonb, 'Which pasta goes with pesto?', 'text/plain', 'Trofie.', 'text/plain', '', now()
FROM tracing_trace t;

INSERT INTO annotations_annotationconfig (name, type, description, optimization_direction, values,
    lower_bound, upper_bound, threshold, created_at, updated_at)
VALUES ('correctness', 'CATEGORICAL', '', 'MAXIMIZE',
    '[{"label": "correct", "score": 1}, {"label": "partial", "score": 0.5},
      {"label": "incorrect", "score": 0}]',
    NULL, NULL, NULL, now(), now());

INSERT INTO annotations_spanannotation (span_id, name, label, score, explanation, metadata, annotator_kind,
    identifier, source, user_id, created_at, updated_at)
SELECT s.id, 'correctness', (%(labels)s::text[])[1 + label], 1.0 - label / 2.0,
    CASE WHEN label <> s.id %% 3 THEN 'not sure about this one' END, '{}'::jsonb, 'HUMAN',
    r.identifier, 'APP', r.user_id, now(), now()
FROM tracing_span s
CROSS JOIN unnest(%(identifiers)s::text[], %(user_ids)s::int[]) AS r(identifier, user_id)
CROSS JOIN LATERAL (
    SELECT CASE WHEN abs(hashtext(s.id || '-' || r.identifier)) %% 10 < 8 THEN s.id %% 3
        ELSE (s.id + 1 + abs(hashtext(r.identifier || s.id)) %% 2) %% 3 END AS label
) chosen;
"""

# With --scores: each reviewer's Annotate panel score of the continuous config ``helpfulness`` on every span,
# the span's "true" score plus noise, to two decimals: nearly every span has its own row of scores.
SCORES_SQL = """
INSERT INTO annotations_annotationconfig (name, type, description, optimization_direction, values,
    lower_bound, upper_bound, threshold, created_at, updated_at)
VALUES ('helpfulness', 'CONTINUOUS', '', 'MAXIMIZE', '[]', 0, 1, NULL, now(), now());

INSERT INTO annotations_spanannotation (span_id, name, label, score, explanation, metadata, annotator_kind,
    identifier, source, user_id, created_at, updated_at)
SELECT s.id, 'helpfulness', NULL,
    round(least(1, greatest(0, (abs(hashtext('t' || s.id)) %% 100) / 100.0
        + ((abs(hashtext(r.identifier || s.id)) %% 21) - 10) / 100.0))::numeric, 2),
    NULL, '{}'::jsonb, 'HUMAN', r.identifier, 'APP', r.user_id, now(), now()
FROM tracing_span s
CROSS JOIN unnest(%(identifiers)s::text[], %(user_ids)s::int[]) AS r(identifier, user_id);
"""


def seed(url: str, *, spans: int, reviewers: int, scores: bool = False) -> None:
    import django

    django.setup()
    from phoenix_annot.accounts.models import User
    from phoenix_annot.annotations.models import reviewer_identifier

    users = [User.objects.create_user(f"reviewer{i}", password="bench-password") for i in range(reviewers)]
    params = {
        "project": PROJECT,
        "spans": spans,
        "labels": LABELS,
        "identifiers": [reviewer_identifier(user.pk) for user in users],
        "user_ids": [user.pk for user in users],
    }
    # One round trip for several statements needs client-side binding.
    with psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute(SEED_SQL, params)
        if scores:
            conn.execute(SCORES_SQL, params)
        conn.execute("VACUUM ANALYZE")


def measure(runs: int, *, scores: bool = False) -> dict[str, dict[str, float]]:
    import django

    django.setup()
    from django.http import QueryDict
    from django.test import Client
    from django.urls import reverse

    from phoenix_annot.accounts.models import User
    from phoenix_annot.tracing.models import Project
    from phoenix_annot.web.selectors.agreement import agreement_for_review, disagreements_for_review

    project = Project.objects.get(name=PROJECT)
    user = User.objects.get(username="reviewer0")
    every = QueryDict("annotation=correctness")
    llm = QueryDict("annotation=correctness&span_kind=LLM")
    report = agreement_for_review(project=project, params=every, user=user).report
    print(
        f"{report.rated_items} spans, {len(report.raters)} reviewers: percent {report.percent.value:.3f}, "
        f"Fleiss {report.fleiss.value:.3f}, alpha {report.alpha.value:.3f} "
        f"[{report.alpha.low:.3f}, {report.alpha.high:.3f}]"
    )
    client = Client()
    client.force_login(user)
    page_url = reverse("web:agreement", args=[project.pk])
    every_cpu = cpu_timed(lambda: agreement_for_review(project=project, params=every, user=user), runs)
    results = {
        "agreement, every span (CPU: app + database)": summary(every_cpu),
        "agreement, every span": summary(
            timed(lambda: agreement_for_review(project=project, params=every, user=user), runs)
        ),
        "agreement, span_kind=LLM": summary(
            timed(lambda: agreement_for_review(project=project, params=llm, user=user), runs)
        ),
        "disagreements, first page": summary(
            timed(lambda: disagreements_for_review(project=project, params=every, user=user), runs)
        ),
        "Agreement page (test client)": summary(
            timed(lambda: client.get(page_url, {"annotation": "correctness"}), runs)
        ),
    }
    if scores:
        helpfulness = QueryDict("annotation=helpfulness")
        results["agreement of helpfulness, distinct scores (CPU)"] = summary(
            cpu_timed(lambda: agreement_for_review(project=project, params=helpfulness, user=user), runs)
        )
    return results


def cpu_timed(call: Callable[[], Any], runs: int) -> list[float]:
    """The CPU seconds of each call, this process's and its PostgreSQL backend's (0 for the backend when
    the server runs on another machine, so its /proc entry is not there)."""
    from django.db import connection

    call()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    stat = Path(f"/proc/{backend}/stat")
    ticks = os.sysconf("SC_CLK_TCK")

    def backend_cpu() -> float:
        if not stat.exists():
            return 0.0
        # utime and stime, the 14th and 15th fields; the name before them may hold spaces, so split after it.
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    times = []
    for _ in range(runs):
        started = time.process_time() + backend_cpu()
        call()
        times.append(time.process_time() + backend_cpu() - started)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/bench_agreement")
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--reviewers", type=int, default=5)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument(
        "--scores",
        action="store_true",
        help="Also each reviewer's score of a continuous config, and its agreement.",
    )
    args = parser.parse_args(argv)
    with migrated_database(args.postgres_url, keep=args.keep) as env:
        # The test client asks for the page as "testserver".
        os.environ.update({**env, "DJANGO_ALLOWED_HOSTS": "testserver"})
        started = time.perf_counter()
        seed(args.postgres_url, spans=args.spans, reviewers=args.reviewers, scores=args.scores)
        print(f"seeded and analysed in {time.perf_counter() - started:.0f} s")
        results = measure(args.runs, scores=args.scores)
    print(json.dumps(results, indent=2))
    median = results["agreement, every span"]["median_ms"]
    cpu = results["agreement, every span (CPU: app + database)"]["median_ms"]
    print(f"target: agreement over every span < {TARGET_MS} ms median: {median} ms ({cpu} ms of CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
