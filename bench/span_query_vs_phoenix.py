"""Record what real Arize Phoenix answers to a corpus of span queries, for the suite to check ours against.

What it does:

1. Starts ``phoenix serve`` from ``--phoenix-venv`` (installed on first use, as ``bench/vs_phoenix.py``
   does) on a free loopback port with a temp ``PHOENIX_WORKING_DIR`` and telemetry off; on SQLite unless
   ``--database postgres`` (PostgreSQL on localhost:5432).
2. Sends the corpus spans of ``tests/compat/span_query_corpus.py`` through the OpenTelemetry SDK's OTLP/HTTP
   exporter and polls ``GET /v1/projects/span-query/spans`` until Phoenix lists all of them (it stores
   spans asynchronously).
3. Runs every query of the corpus twice: through arize-phoenix-client's ``spans.get_spans_dataframe`` (index
   and column names, dtypes, rows) and as the raw ``POST /v1/spans`` the client sends (the table JSON's
   schema and rows).
4. Writes them to ``--output`` (``tests/compat/phoenix_span_query_answers.json``), which
   ``tests/compat/test_span_query_vs_phoenix.py`` checks our server against without Phoenix.

``--ours`` runs the same corpus against phoenix-annot under gunicorn instead and prints, query by query,
where its answers differ from the recording (nothing is written).

Run from the project root with the project's virtualenv::

    .venv/bin/python bench/span_query_vs_phoenix.py            # record Phoenix's answers
    .venv/bin/python bench/span_query_vs_phoenix.py --ours     # compare ours with the recording
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from phoenix.client import Client
from vs_phoenix import RESULTS, ROOT, Target, ours, phoenix, phoenix_python

sys.path.insert(0, str(ROOT))  # the corpus lives with the tests that use it

from tests.compat.span_query_corpus import (
    PROJECT,
    QUERIES,
    SPAN_COUNT,
    describe_frame,
    describe_table,
    send_corpus,
)

ANSWERS = ROOT / "tests" / "compat" / "phoenix_span_query_answers.json"
LISTED_TIMEOUT_S = 60.0


def wait_until_listed(http: httpx.Client) -> None:
    deadline = time.monotonic() + LISTED_TIMEOUT_S
    while True:
        response = http.get(f"/v1/projects/{PROJECT}/spans", params={"limit": 100})
        if response.status_code == 200 and len(response.json()["data"]) >= SPAN_COUNT:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{PROJECT}: {SPAN_COUNT} spans not listed after {LISTED_TIMEOUT_S} s")
        time.sleep(0.2)


def table_parts(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON tables of a multipart/mixed answer, read as the client reads them."""
    boundary = response.headers["content-type"].split("boundary=")[1].split(";", 1)[0]
    parts = response.text.split(f"--{boundary}")
    return [json.loads(part.split("\r\n\r\n", 1)[1]) for part in parts if "application/json" in part]


def answer(http: httpx.Client, client: Client, name: str) -> dict[str, Any]:
    query = QUERIES[name]()
    recorded: dict[str, Any] = {"request": query.to_dict()}
    try:
        recorded["frame"] = describe_frame(
            client.spans.get_spans_dataframe(query=query, project_identifier=PROJECT)
        )
    except (httpx.HTTPStatusError, ValueError, KeyError) as exc:
        recorded["frame_error"] = f"{type(exc).__name__}: {exc}"
    response = http.post(
        "/v1/spans",
        params={"project_name": PROJECT},
        headers={"accept": "application/json"},
        json={"queries": [query.to_dict()], "limit": 1000},
    )
    if response.status_code == 200:
        recorded["table"] = describe_table(table_parts(response)[0])
    else:
        recorded["status"] = response.status_code
    return recorded


def answers(target: Target) -> dict[str, dict[str, Any]]:
    send_corpus(target.base_url)
    with httpx.Client(base_url=target.base_url, timeout=60) as http:
        wait_until_listed(http)
        client = Client(http_client=http)
        return {name: answer(http, client, name) for name in QUERIES}


def differences(recorded: dict[str, Any], mine: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for name, theirs in recorded["answers"].items():
        for part in ("request", "frame", "frame_error", "table", "status"):
            if theirs.get(part) != mine[name].get(part):
                lines.append(
                    f"{name} [{part}]\n  Phoenix: {theirs.get(part)}\n  ours:    {mine[name].get(part)}"
                )
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--ours", action="store_true", help="compare phoenix-annot with the recording")
    parser.add_argument("--output", type=Path, default=ANSWERS)
    parser.add_argument("--phoenix-version", default="20.26.1")
    parser.add_argument("--phoenix-venv", type=Path, default=RESULTS / "phoenix-venv")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.ours:
        recorded = json.loads(args.output.read_text())
        with ours(args.database, workers=1) as target:
            lines = differences(recorded, answers(target))
        print("\n".join(lines) or "every answer matches the recording")
        return 1 if lines else 0
    with phoenix(args.database, phoenix_python(args.phoenix_venv, args.phoenix_version)) as target:
        recorded = {
            "server": target.name,
            "database": args.database,
            "recorded": datetime.now(UTC).isoformat(timespec="seconds"),
            "client_pandas": pd.__version__,
            "answers": answers(target),
        }
    args.output.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(recorded['answers'])} answers from {target.name} written to {args.output.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
