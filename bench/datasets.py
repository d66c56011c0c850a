"""Add 10,000 filtered spans to a dataset, then export it, on an existing database of spans.

    DATABASE_URL=postgres://postgres:postgres@localhost:5432/bench_pages .venv/bin/python bench/datasets.py

Run it on a database seeded by bench/pages.py (it needs spans with correctness annotations). It creates a
dataset named "bench-<timestamp>", times `dataset_add_spans` for the spans matching a feedback filter
(through the same SpanFilter as the review page), then streams each export and reports time and the peak
Python memory it took (tracemalloc), to show exports do not hold the dataset in memory. The dataset is
deleted at the end.
"""

import argparse
import os
import time
import tracemalloc
from collections.abc import Callable, Iterator

import django


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spans", type=int, default=10_000, help="how many filtered spans to add")
    parser.add_argument("--filter", default="annotation_name=correctness", help="SpanFilter query string")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phoenix_annot.settings")
    django.setup()

    from django.http import QueryDict

    from phoenix_annot.accounts.models import User
    from phoenix_annot.datasets import exports
    from phoenix_annot.datasets.selectors import example_revisions_at_version
    from phoenix_annot.datasets.services import dataset_add_spans, dataset_create, dataset_delete
    from phoenix_annot.tracing.models import Project
    from phoenix_annot.web.selectors.spans import matching_spans

    user = User.objects.first()
    project = max(Project.objects.all(), key=lambda p: p.spans.count())
    spans = matching_spans(project=project, params=QueryDict(args.filter), user=user, tab="spans")
    chosen = spans.order_by("-start_time", "-pk")[: args.spans]
    dataset = dataset_create(name=f"bench-{time.time_ns()}", user=user)
    try:
        started = time.perf_counter()
        version = dataset_add_spans(dataset=dataset, spans=chosen, user=user).version
        added = time.perf_counter() - started
        examples = version.revisions.count()
        print(
            f"add {examples:,} spans matching {args.filter!r} of {project.name}: {added:.2f} s (target < 5 s)"
        )
        revisions = example_revisions_at_version(version=version)
        writers: dict[str, Callable[[], Iterator[str]]] = {
            "csv": lambda: exports.csv_lines(revisions),
            "jsonl": lambda: exports.jsonl_lines(revisions),
            "openai_ft": lambda: exports.openai_ft_lines(revisions),
            "openai_evals": lambda: exports.openai_evals_lines(revisions),
        }
        for name, lines in writers.items():
            tracemalloc.start()
            started = time.perf_counter()
            size = sum(len(line.encode()) for line in lines())
            elapsed = time.perf_counter() - started
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            mib = size / 2**20
            memory = peak / 2**20
            print(
                f"export {name:<13} {mib:7.1f} MiB in {elapsed:5.2f} s, peak Python memory {memory:5.1f} MiB"
            )
    finally:
        dataset_delete(dataset=dataset)


if __name__ == "__main__":
    main()
