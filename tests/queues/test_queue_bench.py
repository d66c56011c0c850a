"""The concurrency test on SQLite: twenty reviewer processes work through a queue of N = 2 on a database
file (the in-memory test database cannot host concurrent writers), through bench/queue_next.py --check."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_twenty_reviewers_at_once_on_sqlite_give_every_item_exactly_two_reviews(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.queue_next",
            "--database-url",
            f"sqlite:///{tmp_path / 'queue.sqlite3'}",
            "--items",
            "30",
            "--reviewers",
            "20",
            "--per-item",
            "2",
            "--check",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "every item has exactly 2 reviews; nobody saw an item twice; no error" in done.stdout
