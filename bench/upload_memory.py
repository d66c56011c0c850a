"""Peak gunicorn worker memory for the largest dataset uploads the limits allow, and for the attack's bomb.

What it does, for each case below: a fresh database (SQLite temp file, or PostgreSQL with ``--postgres``),
``migrate``, then gunicorn with ONE sync worker (auth off, the limits of this run in its environment), one
small upload to warm the code paths, then the case's ``POST /v1/datasets/upload?sync=true``. It reports
the worker's resident memory before the request (VmRSS) and its peak (VmHWM from /proc/<pid>/status) after
it, the status, the time, and whether the worker is still the same process.

The cases, each at the limits (``--max-file-bytes``, ``--max-examples``, ``--max-values``; the settings'
defaults unless given):

- CSV and JSONL files, plain and gzip, of the most examples allowed, each row as large as the file limit
  then leaves it (text cells: the realistic shape);
- the same number of rows cut into as many short cells as the values limit allows (the costliest shape
  for Python objects per byte);
- the largest CSV again, with ``action=update`` over the dataset it made and every example changed: the
  previous version's examples are read to be matched (the peak counts from after the first upload);
- a JSON body (``{"name", "inputs", "outputs"}``) as large as the data limit allows, of the most examples;
- a JSON body packed with the smallest values (``{}``) past the values limit: refused before it is parsed;
- the attack: a gzipped CSV part ``a\\n`` then ``1\\n`` x 8,000,000 (16 KB on the wire): a 413.

Run from the project root with the project's virtualenv::

    .venv/bin/python bench/upload_memory.py
    .venv/bin/python bench/upload_memory.py --postgres postgres://postgres@127.0.0.1:5432/bench_upload
    .venv/bin/python bench/upload_memory.py --max-examples 200000 --max-file-bytes 67108864  # other limits

Target: every peak below 200 MiB. Exit status 1 when a case misses it or answers an unexpected status.
Results are printed and written as JSON to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phoenix_annot.settings")

from api import RESULTS, worker_peak
from django.conf import settings
from ingest import BenchDatabase

TARGET_MIB = 200
BOUNDARY = "benchUploadMemoryBoundary"
ROW_OVERHEAD_BYTES = 16


@dataclass(frozen=True)
class Limits:
    file_bytes: int
    examples: int
    values: int

    def env(self) -> dict[str, str]:
        return {
            "PHOENIX_ANNOT_DATASET_UPLOAD_MAX_FILE_BYTES": str(self.file_bytes),
            "PHOENIX_ANNOT_DATASET_UPLOAD_MAX_EXAMPLES": str(self.examples),
            "PHOENIX_ANNOT_DATASET_UPLOAD_MAX_VALUES": str(self.values),
        }


@dataclass(frozen=True)
class Upload:
    name: str
    content_type: str
    body: bytes
    expected_status: int
    # Sent first, unmeasured: the dataset an `update` upload is compared with.
    before: Upload | None = None


@dataclass(frozen=True)
class Result:
    case: str
    body_bytes: int
    status: int
    seconds: float
    rss_before_mib: float
    peak_mib: float
    worker_survived: bool
    message: str


# --- bodies ---------------------------------------------------------------------------------------------


def multipart(fields: list[tuple[str, str]], file: bytes, content_type: str, gzipped: bool) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    ]
    encoding = "Content-Encoding: gzip\r\n" if gzipped else ""
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="table"\r\n'
        f"Content-Type: {content_type}\r\n{encoding}\r\n".encode()
        + (gzip.compress(file, compresslevel=1) if gzipped else file)
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def table(columns: list[str], rows: int, row_bytes: int, jsonl: bool) -> bytes:
    """`rows` rows of `columns`, each cell text filling the row to about `row_bytes`."""
    width = max(1, (row_bytes - ROW_OVERHEAD_BYTES * len(columns)) // len(columns))
    lines = [] if jsonl else [",".join(columns).encode()]
    for number in range(rows):
        cell = f"{number} ".ljust(width, "x")
        if jsonl:
            lines.append(json.dumps({column: cell for column in columns}).encode())
        else:
            lines.append(",".join(cell for _ in columns).encode())
    return b"\n".join(lines) + b"\n"


def file_upload(
    name: str, columns: list[str], limits: Limits, *, jsonl: bool, gzipped: bool, action: str = "create"
) -> Upload:
    rows = limits.examples
    content = table(columns, rows, int(limits.file_bytes * 0.98) // rows, jsonl)
    inputs, outputs = columns[: len(columns) // 2 or 1], columns[len(columns) // 2 :]
    fields = [("name", "table"), ("action", action)]
    fields += [("input_keys[]", column) for column in inputs]
    fields += [("output_keys[]", column) for column in outputs if column not in inputs]
    content_type = "application/jsonl" if jsonl else "text/csv"
    body = multipart(fields, content, content_type, gzipped)
    return Upload(name, f"multipart/form-data; boundary={BOUNDARY}", body, 200)


def update_upload(limits: Limits, columns: list[str]) -> Upload:
    """The largest CSV again over the dataset it made, with every example changed: the previous version's
    examples are read too, to be matched."""
    first = file_upload("csv-text", columns, limits, jsonl=False, gzipped=True)
    changed = file_upload(
        "csv-text-update", columns[::-1], limits, jsonl=False, gzipped=True, action="update"
    )
    return Upload(changed.name, changed.content_type, changed.body, 200, before=first)


def json_upload(name: str, limits: Limits, body_bytes: int) -> Upload:
    rows = limits.examples
    width = max(1, body_bytes // rows // 2 - 40)
    body = {
        "name": name,
        "action": "create",
        "inputs": [{"question": f"{n} ".ljust(width, "q")} for n in range(rows)],
        "outputs": [{"answer": f"{n} ".ljust(width, "a")} for n in range(rows)],
    }
    return Upload(name, "application/json", json.dumps(body).encode(), 200)


def json_bomb(limits: Limits, body_bytes: int) -> Upload:
    count = min(body_bytes // 3 - 100, limits.values * 2)
    body = b'{"name": "json-bomb", "inputs": [' + b"{}," * count + b"{}]}"
    return Upload("json-bomb", "application/json", body, 413)


def attack() -> Upload:
    bomb = b"a\n" + b"1\n" * 8_000_000
    body = multipart([("name", "attack"), ("input_keys[]", "a")], bomb, "text/csv", gzipped=True)
    return Upload("attack", f"multipart/form-data; boundary={BOUNDARY}", body, 413)


def cases(limits: Limits, body_bytes: int) -> list[Callable[[], Upload]]:
    text_columns = ["question", "answer"]
    # Each row's input and output objects count as values too.
    short_columns = [f"c{n}" for n in range(max(2, limits.values // limits.examples - 2))]
    return [
        lambda: file_upload("csv-text", text_columns, limits, jsonl=False, gzipped=False),
        lambda: file_upload("csv-text-gzip", text_columns, limits, jsonl=False, gzipped=True),
        lambda: file_upload("csv-short-cells-gzip", short_columns, limits, jsonl=False, gzipped=True),
        lambda: file_upload("jsonl-text", text_columns, limits, jsonl=True, gzipped=False),
        lambda: file_upload("jsonl-text-gzip", text_columns, limits, jsonl=True, gzipped=True),
        lambda: file_upload("jsonl-short-cells-gzip", short_columns, limits, jsonl=True, gzipped=True),
        lambda: update_upload(limits, text_columns),
        lambda: json_upload("json-text", limits, int(min(body_bytes, limits.file_bytes) * 0.95)),
        lambda: json_bomb(limits, min(body_bytes, limits.file_bytes)),
        attack,
    ]


# --- running ----------------------------------------------------------------------------------------------


def send(client: httpx.Client, upload: Upload) -> httpx.Response:
    return client.post(
        "/v1/datasets/upload?sync=true", content=upload.body, headers={"Content-Type": upload.content_type}
    )


def warm_up(client: httpx.Client, upload: Upload) -> None:
    warm = {"name": "warm-up", "inputs": [{"q": "hello"}], "outputs": [{"a": "hi"}]}
    client.post("/v1/datasets/upload?sync=true", json=warm).raise_for_status()
    if upload.before is not None:
        send(client, upload.before).raise_for_status()


def run_case(upload: Upload, database: BenchDatabase, limits: Limits) -> Result:
    database.create()
    try:
        measured = worker_peak(
            database.url,
            limits.env(),
            lambda client: warm_up(client, upload),
            lambda client: send(client, upload),
        )
    finally:
        database.drop()
    response = measured.response
    return Result(
        case=upload.name,
        body_bytes=len(upload.body),
        status=response.status_code,
        seconds=measured.seconds,
        rss_before_mib=measured.rss_before_mib,
        peak_mib=measured.peak_mib,
        worker_survived=measured.worker_survived,
        message=response.text[:120] if response.status_code != 200 else "",
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", help="a PostgreSQL URL whose database name starts with bench_")
    parser.add_argument("--max-file-bytes", type=int, default=settings.DATASET_UPLOAD_MAX_FILE_BYTES)
    parser.add_argument("--max-examples", type=int, default=settings.DATASET_UPLOAD_MAX_EXAMPLES)
    parser.add_argument("--max-values", type=int, default=settings.DATASET_UPLOAD_MAX_VALUES)
    parser.add_argument("--only", nargs="*", help="run only these cases (by name)")
    args = parser.parse_args()
    limits = Limits(args.max_file_bytes, args.max_examples, args.max_values)
    database = BenchDatabase("postgres", args.postgres) if args.postgres else BenchDatabase("sqlite", "")
    results = []
    print(
        f"limits: {limits}, body limit {settings.DATASET_UPLOAD_MAX_BODY_BYTES} bytes, "
        f"target < {TARGET_MIB} MiB"
    )
    print(f"{'case':24} {'body MiB':>9} {'status':>6} {'s':>6} {'before':>7} {'peak':>7}  worker")
    for make in cases(limits, settings.DATASET_UPLOAD_MAX_BODY_BYTES):
        upload = make()
        if args.only and upload.name not in args.only:
            continue
        result = run_case(upload, database, limits)
        results.append((upload, result))
        print(
            f"{result.case:24} {result.body_bytes / 2**20:9.2f} {result.status:6} {result.seconds:6.1f} "
            f"{result.rss_before_mib:7.1f} {result.peak_mib:7.1f}  "
            f"{'alive' if result.worker_survived else 'REPLACED'} {result.message}",
            flush=True,
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"upload_memory_{stamp}.json"
    path.write_text(
        json.dumps({"limits": asdict(limits), "results": [asdict(r) for _, r in results]}, indent=2)
    )
    print(f"written to {path}")
    failed = [
        r.case
        for upload, r in results
        if r.peak_mib >= TARGET_MIB or r.status != upload.expected_status or not r.worker_survived
    ]
    if failed:
        print(f"missed the target or answered an unexpected status: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
