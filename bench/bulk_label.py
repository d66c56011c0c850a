"""Bulk labelling benchmark on PostgreSQL: a bulk label and its undo over 10,000 and 100,000 spans.

What it does, in order:

1. Creates the database (dropped first, dropped again at the end unless ``--keep``), migrates it and seeds
   it as ``bench.agreement`` does, with one reviewer: ``--spans`` spans, each with that reviewer's
   ``correctness`` label (``px-app:<reviewer>``); assigns ``correctness`` to the project.
2. In process (Django set up on that database), for each size in ``--sizes`` (the first N spans by id), as
   an admin, median of ``--runs`` (each run labels, then undoes, so the next starts from the same rows):

   a. the confirmation's counts (``bulk_label_plan``), no write;
   b. ``annotations_bulk_label`` of a new shared row (identifier ""): every row created;
   c. its undo: every row deleted;
   d. ``annotations_bulk_label`` over the reviewer's rows (their identifier, which an admin may replace):
      every row replaced, its owner and source kept for the undo;
   e. its undo: every row restored.

   Targets (medians): 10,000 rows: counts < 300 ms, label < 1 s, undo < 1 s; 100,000 rows: counts < 1 s,
   label < 8 s, undo < 8 s. The peak resident memory of the process is printed after each size.

With ``--sqlite PATH`` it runs on a new SQLite file there instead (deleted at the end unless ``--keep``),
seeded through the ORM with the same rows.

Run from the project root with the project's virtualenv, as a module::

    .venv/bin/python -m bench.bulk_label --postgres-url postgres://postgres@127.0.0.1:5432/bench_bulk_label
    .venv/bin/python -m bench.bulk_label --sqlite /tmp/bench_bulk_label.sqlite3 --sizes 10000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.agreement import LABELS, PROJECT
from bench.agreement import seed as agreement_seed
from bench.api import ROOT, django_env, migrated_database, summary

# Median milliseconds per size: the confirmation's counts, a label, an undo.
TARGETS_MS = {10_000: (300, 1000, 1000), 100_000: (1000, 8000, 8000)}


def measure(sizes: list[int], runs: int) -> dict[str, dict[str, float]]:
    import django

    django.setup()
    from phoenix_annot.accounts.models import User
    from phoenix_annot.annotations.bulk import (
        BulkLabel,
        annotation_bulk_undo,
        annotations_bulk_label,
        bulk_label_plan,
    )
    from phoenix_annot.annotations.models import AnnotationConfig, reviewer_identifier
    from phoenix_annot.tracing.models import Project, Span

    project = Project.objects.get(name=PROJECT)
    AnnotationConfig.objects.get(name="correctness").projects.add(project)
    admin = User.objects.create_user("bench-admin", password="bench-password", role=User.Role.ADMIN)
    reviewer = User.objects.get(username="reviewer0")
    shared = BulkLabel(name="correctness", label="incorrect", explanation="bulk")
    over_reviewer = BulkLabel(
        name="correctness", label="incorrect", explanation="bulk", identifier=reviewer_identifier(reviewer.pk)
    )
    results: dict[str, dict[str, float]] = {}
    for size in sizes:
        last = Span.objects.filter(project=project).order_by("pk").values_list("pk", flat=True)[size - 1]
        spans = Span.objects.filter(project=project, pk__lte=last)
        plans = [
            _seconds(
                bulk_label_plan, project=project, target_kind="span", targets=spans, label=shared, user=admin
            )
            for _ in range(runs)
        ]
        results[f"{size} rows: confirmation counts"] = summary(plans)
        for name, label in (("new rows", shared), ("replacing a reviewer's rows", over_reviewer)):
            writes, undos = [], []
            for _ in range(runs):
                started = time.perf_counter()
                action = annotations_bulk_label(
                    project=project, target_kind="span", targets=spans, label=label, user=admin
                )
                writes.append(time.perf_counter() - started)
                undos.append(_seconds(annotation_bulk_undo, action=action, user=admin))
            results[f"{size} rows: label, {name}"] = summary(writes)
            results[f"{size} rows: undo, {name}"] = summary(undos)
        # ru_maxrss is in KiB on Linux: the peak of the process so far (a size's includes the last one).
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{size} rows: peak resident memory of the process so far {peak_mib:.0f} MiB", flush=True)
    return results


def sqlite_seed(spans: int) -> None:
    """What `bench.agreement.seed` writes for one reviewer (its SQL is PostgreSQL's), through the ORM."""
    import django

    django.setup()
    from datetime import UTC, datetime, timedelta

    from phoenix_annot.accounts.models import User
    from phoenix_annot.annotations.models import AnnotationConfig, SpanAnnotation, reviewer_identifier
    from phoenix_annot.tracing.models import Project, Span, Trace

    reviewer = User.objects.create_user("reviewer0", password="bench-password")
    project = Project.objects.create(name=PROJECT)
    AnnotationConfig.objects.create(
        name="correctness",
        type="CATEGORICAL",
        values=[{"label": label, "score": 1.0 - i / 2} for i, label in enumerate(LABELS)],
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    times = [start + timedelta(seconds=i) for i in range(spans)]
    traces = Trace.objects.bulk_create(
        Trace(project=project, trace_id=f"{i:032x}", start_time=at, end_time=at) for i, at in enumerate(times)
    )
    rows = Span.objects.bulk_create(
        Span(
            trace=trace,
            project=project,
            span_id=f"{trace.pk:016x}",
            name="answer",
            start_time=trace.start_time,
            end_time=trace.end_time,
            latency_ms=1000,
        )
        for trace in traces
    )
    SpanAnnotation.objects.bulk_create(
        SpanAnnotation(
            span=span,
            name="correctness",
            label=LABELS[span.pk % 3],
            score=1.0 - span.pk % 3 / 2,
            annotator_kind="HUMAN",
            identifier=reviewer_identifier(reviewer.pk),
            source="APP",
            user=reviewer,
        )
        for span in rows
    )


def _seconds(call: Callable[..., Any], **kwargs: Any) -> float:
    started = time.perf_counter()
    call(**kwargs)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/bench_bulk_label")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sqlite", metavar="PATH", help="Run on a new SQLite file there instead.")
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = parser.parse_args(argv)
    if args.sqlite:
        results = _on_sqlite(Path(args.sqlite), args)
    else:
        with migrated_database(args.postgres_url, keep=args.keep) as env:
            os.environ.update(env)
            started = time.perf_counter()
            agreement_seed(args.postgres_url, spans=max(args.sizes), reviewers=1)
            print(f"seeded and analysed in {time.perf_counter() - started:.0f} s")
            results = measure(args.sizes, args.runs)
    print(json.dumps(results, indent=2))
    for size in args.sizes:
        counts, label, undo = (
            max(v["median_ms"] for k, v in results.items() if k.startswith(f"{size} rows: {step}"))
            for step in ("confirmation", "label", "undo")
        )
        target = TARGETS_MS.get(size)
        print(
            f"{size} rows: slowest medians: counts {counts} ms, label {label} ms, undo {undo} ms"
            + (f" (targets < {target[0]}, {target[1]}, {target[2]} ms)" if target else "")
        )
    return 0


def _on_sqlite(path: Path, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    if path.exists():
        raise SystemExit(f"{path} exists: the benchmark makes its own database")
    os.environ.update(django_env(f"sqlite:///{path}"))
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
        sqlite_seed(max(args.sizes))
        return measure(args.sizes, args.runs)
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
