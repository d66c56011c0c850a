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

   Target (issue 14): 10,000 rows "well under a second or two".

Run from the project root with the project's virtualenv, as a module::

    .venv/bin/python -m bench.bulk_label --postgres-url postgres://postgres@127.0.0.1:5432/bench_bulk_label
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.agreement import PROJECT
from bench.agreement import seed as agreement_seed
from bench.api import migrated_database, summary

TARGET_MS = 2000


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
    return results


def _seconds(call: Callable[..., Any], **kwargs: Any) -> float:
    started = time.perf_counter()
    call(**kwargs)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/bench_bulk_label")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = parser.parse_args(argv)
    with migrated_database(args.postgres_url, keep=args.keep) as env:
        os.environ.update(env)
        started = time.perf_counter()
        agreement_seed(args.postgres_url, spans=max(args.sizes), reviewers=1)
        print(f"seeded and analysed in {time.perf_counter() - started:.0f} s")
        results = measure(args.sizes, args.runs)
    print(json.dumps(results, indent=2))
    for size in args.sizes:
        worst = max(v["median_ms"] for k, v in results.items() if k.startswith(f"{size} rows:"))
        print(f"{size} rows: slowest median {worst} ms (target for 10,000: < {TARGET_MS} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
