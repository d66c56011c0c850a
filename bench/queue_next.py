"""Review queue benchmark (issue 13): "next item" with 100,000 items and 20 reviewers asking at once.

What it does, in order:

1. PostgreSQL: creates the database (its name must start with ``bench_``; dropped first, and at the end unless
   ``--keep``) and runs ``manage.py migrate``. SQLite (``sqlite:///<file>``): a new file, migrated.
2. Seeds one project of ``--items`` traces of one span each (COPY on PostgreSQL), ``--reviewers`` annotators
   and a queue of N = ``--per-item`` with one required categorical config, then adds every span of the
   project to the queue through ``queue_items_add_matching`` (the server-side "all rows matching this
   filter": one INSERT ... SELECT), timed. Then ``ANALYZE``.
3. Starts ``--reviewers`` processes, released together by a barrier, each a reviewer calling the services as
   the /v1 views do, ``--cycles`` times: **next** (timed: the search and the reservation), submit one label
   (timed: the labels, the review, and the reservation of the following item), then release that following
   item, so that every timed next searches the pool rather than finding the reviewer's own reservation.
4. Prints the medians and 90th percentiles, and checks what must hold whatever the concurrency: no item has
   more than N submitted reviews or more live reservations than its free slots, no reviewer was served an
   item twice, no call failed.

``--check`` instead works the queue to its end (no release, as reviewers do: submit serves the next item)
and requires every item to end with exactly N reviews: with a small ``--items`` it is the threaded
concurrency test for SQLite (tests/queues/test_queue_bench.py), whose in-memory test database cannot host
concurrent writers.

Run from the project root with the project's virtualenv, as a module::

    .venv/bin/python -m bench.queue_next --database-url postgres://postgres@127.0.0.1:5432/bench_queue_next
    .venv/bin/python -m bench.queue_next --database-url sqlite:////tmp/queue.sqlite3 --items 40 --check

Exit status 1 when a check fails or a call raised; 0 otherwise, whether the target (< 50 ms median) is met
or not.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 50
PROJECT = "queue-bench"
CONFIG = "bench-correctness"
REVIEWER = "bench-reviewer-{}"


def prepare_database(url: str) -> None:
    if url.startswith("sqlite:"):
        Path(urlsplit(url).path).unlink(missing_ok=True)
    else:
        from bench.api import admin_sql

        name = urlsplit(url).path.lstrip("/")
        admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_sql(url, f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "phoenix_annot.settings"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)


def drop_database(url: str) -> None:
    if url.startswith("sqlite:"):
        Path(urlsplit(url).path).unlink(missing_ok=True)
        return
    from bench.api import admin_sql

    admin_sql(url, f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "phoenix_annot.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed(*, items: int, reviewers: int, per_item: int) -> float:
    """The project, reviewers and queue; the seconds adding every span to the queue took."""
    from django.db import connection

    from phoenix_annot.accounts.models import User
    from phoenix_annot.annotations.models import AnnotationConfig
    from phoenix_annot.core.bulk import bulk_insert
    from phoenix_annot.queues.services import (
        QueueConfigChoice,
        annotation_queue_create,
        queue_items_add_matching,
    )
    from phoenix_annot.tracing.models import Project, Span, Trace

    project = Project.objects.create(name=PROJECT)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for first in range(0, items, 10_000):
        batch = range(first, min(first + 10_000, items))
        bulk_insert(
            Trace,
            [
                {
                    "project_id": project.pk,
                    "trace_id": f"{n + 1:032x}",
                    "session_id": None,
                    "start_time": start + timedelta(seconds=n),
                    "end_time": start + timedelta(seconds=n, milliseconds=300),
                    "latency_ms": 300.0,
                    "span_count": 1,
                    "error_count": 0,
                    "root_span_name": "ChatCompletion",
                    "llm_token_count_prompt": 0,
                    "llm_token_count_completion": 0,
                    "llm_token_count_total": 0,
                }
                for n in batch
            ],
        )
        trace_pks = dict(
            Trace.objects.filter(trace_id__in=[f"{n + 1:032x}" for n in batch]).values_list("trace_id", "pk")
        )
        bulk_insert(
            Span,
            [
                {
                    "trace_id": trace_pks[f"{n + 1:032x}"],
                    "project_id": project.pk,
                    "span_id": f"{n + 1:016x}",
                    "parent_id": None,
                    "name": "ChatCompletion",
                    "span_kind": "LLM",
                    "start_time": start + timedelta(seconds=n),
                    "end_time": start + timedelta(seconds=n, milliseconds=300),
                    "latency_ms": 300.0,
                    "status_code": "OK",
                    "status_message": "",
                    "attributes": {"input": {"value": f"question {n}"}, "output": {"value": f"answer {n}"}},
                    "events": [],
                    "input_value": f"question {n}",
                    "input_mime_type": "",
                    "output_value": f"answer {n}",
                    "output_mime_type": "",
                    "llm_model_name": "",
                    "llm_token_count_prompt": None,
                    "llm_token_count_completion": None,
                    "llm_token_count_total": None,
                    "llm_cost_total": None,
                }
                for n in batch
            ],
        )
    for index in range(reviewers):
        User.objects.create(username=REVIEWER.format(index), role=User.Role.ANNOTATOR)
    config = AnnotationConfig.objects.create(
        name=CONFIG,
        type="CATEGORICAL",
        values=[{"label": "correct", "score": 1}, {"label": "wrong", "score": 0}],
    )
    queue = annotation_queue_create(
        project_id=project.pk,
        user=None,
        name="bench",
        reviewers_per_item=per_item,
        configs=[QueueConfigChoice(config, required=True)],
    )
    started = time.perf_counter()
    added = queue_items_add_matching(
        queue=queue, spans=Span.objects.filter(project=project), kind="span", user=None
    )
    seconds = time.perf_counter() - started
    assert added.added == items, added
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return seconds


class StatementClock:
    """A database execute wrapper summing the time its statements take, seen from the client: what the
    database and the round trips cost, without the Python around them."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def reviewer_loop(index: int, args: argparse.Namespace, barrier: Any, results: Any) -> None:
    """One reviewer, in its own process with its own connection."""
    from django.db import connection

    from phoenix_annot.accounts.models import User
    from phoenix_annot.queues.models import AnnotationQueue, QueueItem
    from phoenix_annot.queues.services import (
        ReviewAnnotation,
        queue_item_next,
        queue_item_release,
        queue_item_submit,
    )

    nexts: list[float] = []
    next_sql: list[float] = []
    submits: list[float] = []
    pause = random.Random(index)
    clock = StatementClock()
    seen: list[int] = []
    error = None
    try:
        reviewer = User.objects.get(username=REVIEWER.format(index))
        queue = AnnotationQueue.objects.get(name="bench")
        label = [ReviewAnnotation(name=CONFIG, label="correct")]
        barrier.wait()
        reservation = None
        while args.check or len(nexts) < args.cycles:
            if reservation is None:
                clock.seconds = 0.0
                started = time.perf_counter()
                with connection.execute_wrapper(clock):
                    reservation = queue_item_next(queue=queue, reviewer=reviewer)
                nexts.append(time.perf_counter() - started)
                next_sql.append(clock.seconds)
                if reservation is None:
                    break
            if args.think:
                # A reviewer reads the item before labelling it.
                time.sleep(pause.uniform(0, 2 * args.think))
            seen.append(reservation.item_id)
            item = QueueItem.objects.select_related("queue").get(pk=reservation.item_id)
            started = time.perf_counter()
            following = queue_item_submit(item=item, reviewer=reviewer, annotations=label, source="API").next
            submits.append(time.perf_counter() - started)
            if following is not None and not args.check:
                queue_item_release(item=following.item, reviewer=reviewer)
                following = None
            reservation = following
    except BaseException:
        error = traceback.format_exc()
    finally:
        connection.close()
    results.put({"nexts": nexts, "next_sql": next_sql, "submits": submits, "seen": seen, "error": error})


def figures(seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    if not ms:
        return "no calls"
    p90 = ms[max(0, int(len(ms) * 0.9 + 0.5) - 1)]
    return f"median {statistics.median(ms):6.1f} ms  p90 {p90:6.1f} ms  ({len(ms)} calls)"


def problems(*, per_item: int, check: bool, outcomes: list[dict[str, Any]]) -> list[str]:
    from django.db.models import Count, Q
    from django.utils import timezone

    from phoenix_annot.queues.models import QueueItem, QueueReview

    found = [outcome["error"] for outcome in outcomes if outcome["error"]]
    for outcome in outcomes:
        if len(outcome["seen"]) != len(set(outcome["seen"])):
            found.append("a reviewer was served an item twice")
    reviews = dict(
        QueueReview.objects.filter(outcome="SUBMITTED")
        .values_list("item")
        .annotate(n=Count("pk"))
        .values_list("item", "n")
    )
    over = [pk for pk, count in reviews.items() if count > per_item]
    if over:
        found.append(f"{len(over)} items have more than {per_item} submitted reviews")
    counters = QueueItem.objects.exclude(review_count=0).values_list("pk", "review_count")
    if any(reviews.get(pk) != count for pk, count in counters):
        found.append("an item's review_count differs from its submitted reviews")
    crowded = QueueItem.objects.annotate(
        live=Count("reservations", filter=Q(reservations__expires_at__gt=timezone.now()))
    ).filter(review_count__lt=per_item)
    if any(item.live > per_item - item.review_count for item in crowded.filter(live__gt=0)):
        found.append("an item has more live reservations than free slots")
    if check:
        unfinished = QueueItem.objects.exclude(review_count=per_item).count()
        if unfinished:
            found.append(f"{unfinished} items do not have exactly {per_item} reviews")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_queue_next")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--per-item", type=int, default=2, help="N, reviewers per item")
    parser.add_argument("--cycles", type=int, default=50, help="next + submit per reviewer")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds a reviewer reads an item (0: none, a closed loop)",
    )
    parser.add_argument("--check", action="store_true", help="work the queue to its end and check it")
    parser.add_argument("--keep", action="store_true", help="leave the database for EXPLAIN ANALYZE")
    args = parser.parse_args(argv)
    url = args.database_url
    if not url.startswith("sqlite:") and not urlsplit(url).path.lstrip("/").startswith("bench_"):
        parser.error("the database name must start with bench_: it is dropped")
    prepare_database(url)
    try:
        setup_django(url)
        from django.db import connections

        started = time.perf_counter()
        add_seconds = seed(items=args.items, reviewers=args.reviewers, per_item=args.per_item)
        print(f"seeded {args.items:,} items in {time.perf_counter() - started:.0f} s")
        connections.close_all()
        context = multiprocessing.get_context("fork")
        barrier, results = context.Barrier(args.reviewers), context.Queue()
        workers = [
            context.Process(target=reviewer_loop, args=(index, args, barrier, results))
            for index in range(args.reviewers)
        ]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        outcomes = [results.get() for _ in workers]
        elapsed = time.perf_counter() - started
        for worker in workers:
            worker.join()
        found = problems(per_item=args.per_item, check=args.check, outcomes=outcomes)
    finally:
        if not args.keep:
            drop_database(url)
    nexts = [s for outcome in outcomes for s in outcome["nexts"]]
    next_sql = [s for outcome in outcomes for s in outcome["next_sql"]]
    submits = [s for outcome in outcomes for s in outcome["submits"]]
    vendor = "SQLite" if url.startswith("sqlite:") else "PostgreSQL"
    think = f"reading {args.think:g} s an item on average" if args.think else "without pause"
    print(f"{vendor}, {args.items:,} items, N = {args.per_item}, {args.reviewers} reviewers at once, {think}")
    print(f"  add every span (one INSERT ... SELECT)  {add_seconds * 1000:8.0f} ms")
    median = statistics.median(nexts) * 1000 if nexts else float("nan")
    verdict = "ok" if median < TARGET_MS else "MISS"
    print(f"  next item (search + reserve)  {figures(nexts)}  (target < {TARGET_MS} ms: {verdict})")
    print(f"    of which SQL statements     {figures(next_sql)}")
    print(f"    the first, all at once      {figures([o['nexts'][0] for o in outcomes if o['nexts']])}")
    print(f"  submit (labels + next item)   {figures(submits)}")
    print(f"  {len(submits)} reviews submitted in {elapsed:.0f} s: {len(submits) / elapsed:.1f} a second")
    if args.check and not found:
        print(f"  every item has exactly {args.per_item} reviews; nobody saw an item twice; no error")
    for problem in found:
        print(f"  PROBLEM: {problem}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
