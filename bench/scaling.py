"""How page and query times grow with the data: ``bench/pages.py`` at 10k, 100k and 1M spans (PostgreSQL).

For each size, ``bench/pages.py --reuse`` on its own database (``bench_pages_10k``, ``bench_pages_100k``,
``bench_pages_1m``; seeded by ``bench/seed.py`` on first use, kept afterwards), then one table: the median
server time of each page and ``/v1`` request at each size, and how much it grew per tenfold more spans.
Where a row's growth per decade approaches 10x, that page's cost follows the data (a count or an aggregate
over every matching row); rows that stay near 1x only read what they show.

Run from the project root with the project's virtualenv (PostgreSQL on localhost:5432)::

    .venv/bin/python bench/scaling.py                      # seeds what is missing: ~10 minutes the first time
    .venv/bin/python bench/scaling.py --sizes 10000 100000 --runs 5

Never run two benchmarks at once (2 cores). Writes ``bench/results/scaling-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def database_name(spans: int) -> str:
    return f"bench_pages_{spans // 1_000_000}m" if spans >= 1_000_000 else f"bench_pages_{spans // 1000}k"


def measure(spans: int, runs: int) -> dict[str, Any]:
    command = [
        *(sys.executable, str(ROOT / "bench" / "pages.py"), "--reuse", "--spans", str(spans)),
        *(
            "--database",
            database_name(spans),
            "--runs",
            str(runs),
            "--breakdown-runs",
            "1",
            "--explain-top",
            "0",
        ),
    ]
    print(f"{spans:,} spans: {' '.join(command[1:])}", flush=True)
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    path = re.search(r"^JSON: (.+)$", completed.stdout, re.M)
    if path is None:
        raise RuntimeError(f"pages.py wrote no JSON:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    return json.loads(Path(path.group(1)).read_text())


def growth_per_decade(first: float, last: float, first_spans: int, last_spans: int) -> float:
    decades = math.log10(last_spans / first_spans)
    return (last / first) ** (1 / decades) if decades else 1.0


def table(results: dict[int, dict[str, Any]]) -> str:
    sizes = sorted(results)
    medians = {size: {row["page"]: row["median_ms"] for row in results[size]["pages"]} for size in sizes}
    pages = [page for page in medians[sizes[0]] if all(page in medians[size] for size in sizes)]
    header = f"{'page or request (median ms)':34}" + "".join(f"{size:>11,}" for size in sizes) + "  x/decade"
    lines = [header, "-" * len(header)]
    for page in pages:
        values = [medians[size][page] for size in sizes]
        growth = growth_per_decade(values[0], values[-1], sizes[0], sizes[-1])
        lines.append(f"{page:34}" + "".join(f"{v:>11.1f}" for v in values) + f"  {growth:>8.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=10, help="timed rounds per size")
    args = parser.parse_args(argv)
    results = {spans: measure(spans, args.runs) for spans in sorted(args.sizes)}
    text = table(results)
    print(f"\n{text}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"scaling-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    summary = {
        str(spans): {row["page"]: row["median_ms"] for row in result["pages"]}
        for spans, result in results.items()
    }
    path.write_text(json.dumps({"medians_ms": summary, "table": text}, indent=2))
    print(f"\nresults: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
