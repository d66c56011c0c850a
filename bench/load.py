"""Load and fault run on PostgreSQL: OTLP exporters, 20 reviewers and an API annotator at once, then a count.

What it does, in order:

1. A fresh database ``bench_load`` (dropped first if it exists; dropped at the end unless ``--keep``),
   ``migrate``, then ``load.py setup`` in a subprocess: ``--reviewers`` annotator accounts and an admin API
   key. gunicorn with ``--workers`` sync workers on 127.0.0.1 with ``/v1`` authentication ON (the README's
   production command, bound to loopback).
2. A warm-up export of ``--warmup-spans`` spans, so the reviewers have something to look at.
3. For ``--duration`` seconds, all at once:

   - ``--exporters`` processes, each the real OpenTelemetry SDK + OTLP/HTTP exporter (gzip, batches of up
     to 512, Bearer key, 60 s timeout so its retries have room) sending RAG-shaped traces of 3-5 spans at
     ``--rate`` spans/s;
   - ``--reviewers`` reviewers (threads in one process), each logged in with its own session and CSRF
     token, choosing between the projects page, the spans table with or without a feedback filter, the
     traces tab, a trace page, **Annotate** (an htmx POST of ``correctness``), **Add to dataset** (three
     rows into its own dataset) and its dataset's page, with 0.3-1.2 s of think time between actions;
   - an API annotator: every second, 100 ``api_check`` annotations (``sync=true``) on the newest spans.

   Every client retries what fails the way a real one would: the exporter by its own policy (503 with
   Retry-After, connection errors), the reviewers and the API annotator on 502/503/504 and connection
   errors, after ``Retry-After`` (at most 2 s), up to 60 times.
4. Faults, when asked: ``--restart-postgres-at S`` restarts PostgreSQL (``--postgres-restart`` command,
   ``-m immediate``: a crash, not a clean stop) S seconds into the run; ``--kill-worker-at S`` (repeatable)
   SIGKILLs one gunicorn worker, mid-request under this load.
5. Exactly-once check, straight from the database (``load.py verify``): every span sent is stored once
   and the traces' span-count roll-ups add up; each reviewer's ``correctness`` annotations are exactly the
   spans it saved; the ``api_check`` annotations are exactly the acknowledged spans; each reviewer's
   dataset holds exactly the spans it added.

Prints throughput, p50/p99 latency per kind of request, every status seen (and those seen during the
PostgreSQL restart), and the checks; writes JSON to ``bench/results/``. Exit status 0 when every check
passes and no request got a 500 (or, without faults, any error at all); 1 otherwise.

Run from the project root with the project's virtualenv (PostgreSQL 15 on localhost:5432)::

    .venv/bin/python bench/load.py                                  # 3 minutes of steady load
    .venv/bin/python bench/load.py --duration 90 --restart-postgres-at 30 --kill-worker-at 60
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from api import django_env, gunicorn
from ingest import (
    PROJECT_NAME,
    BenchDatabase,
    MeasuredExporter,
    TimedSession,
    Traffic,
    emit_traces,
    make_provider,
    run_manage,
)
from opentelemetry.exporter.otlp.proto.http import Compression

from phoenix_annot.core.globalid import from_global_id

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PASSWORD = "load-test-password-1"
API_NAME, API_IDENTIFIER = "api_check", "bench-load"
SEED = 4242
RETRYABLE = {502, 503, 504}
MAX_ATTEMPTS = 60
FILTERS = (
    "",
    "annotation_name=correctness&label=correct",
    "missing_annotation=correctness",
    "annotation_name=correctness&labelled_by=not_me",
    "span_kind=LLM",
    "condition=latency_ms+%3E+1000",
    "sort=-latency_ms",
)
ACTIONS = {  # action: weight
    "spans": 30,
    "trace": 25,
    "annotate": 25,
    "traces": 7,
    "projects": 5,
    "add_to_dataset": 5,
    "dataset": 3,
}
SPAN_IN_ROW = re.compile(r"/traces/([0-9a-f]{32})/\?span=([0-9a-f]{16})")


# --- in the database (subprocesses with Django set up) -----------------------------------------------------


def setup(reviewers: int) -> None:
    import django

    django.setup()
    from phoenix_annot.accounts.models import User
    from phoenix_annot.accounts.services import api_key_create

    for n in range(reviewers):
        User.objects.create_user(f"reviewer{n:02d}", password=PASSWORD, role=User.Role.ANNOTATOR)
    admin = User.objects.create_user("load-admin", password=PASSWORD, role=User.Role.ADMIN)
    _, key = api_key_create(user=admin, name="load test")
    print(json.dumps({"api_key": key}))


def verify() -> None:
    """Reads what the clients know they stored (JSON on stdin); prints a check per expectation."""
    import django

    django.setup()
    from django.db.models import Count, Sum

    from phoenix_annot.annotations.models import SpanAnnotation
    from phoenix_annot.datasets.models import DatasetExample
    from phoenix_annot.tracing.models import Span, Trace

    expected = json.load(sys.stdin)
    spans = Span.objects.aggregate(rows=Count("pk"), ids=Count("span_id", distinct=True))
    checks = [
        check("spans stored = spans sent", expected["spans_sent"], spans["rows"]),
        check("span ids stored once", spans["rows"], spans["ids"]),
        check("trace roll-ups add up", spans["rows"], Trace.objects.aggregate(n=Sum("span_count"))["n"]),
    ]
    for username, span_ids in sorted(expected["reviewer_annotations"].items()):
        stored = SpanAnnotation.objects.filter(user__username=username, name="correctness")
        checks.append(same_set(f"{username}: correctness annotations", span_ids, stored))
    api = SpanAnnotation.objects.filter(name=API_NAME, identifier=API_IDENTIFIER)
    checks.append(same_set("API annotator: api_check annotations", expected["api_annotations"], api))
    for name, span_ids in sorted(expected["datasets"].items()):
        examples = DatasetExample.objects.filter(dataset__name=name)
        checks.append(same_set(f"dataset {name}: examples", span_ids, examples))
    print(json.dumps(checks))


def check(name: str, expected: int, stored: int) -> dict[str, Any]:
    return {"check": name, "expected": expected, "stored": stored, "ok": expected == stored}


def same_set(name: str, span_ids: list[str], rows: Any) -> dict[str, Any]:
    stored = list(rows.values_list("span__span_id", flat=True))
    result = check(name, len(set(span_ids)), len(stored))
    result["ok"] = result["ok"] and set(stored) == set(span_ids)
    return result


# --- clients ------------------------------------------------------------------------------------------------


@dataclass
class Request:
    kind: str
    start: float  # time.time(), one clock for every process
    seconds: float
    status: int  # 0: no response (connection refused or reset, timeout)


@dataclass
class ClientReport:
    requests: list[Request] = field(default_factory=list)
    spans_sent: int = 0
    failed_batches: int = 0
    gave_up: list[str] = field(default_factory=list)  # actions that still failed after every retry
    reviewer_annotations: dict[str, list[str]] = field(default_factory=dict)
    api_annotations: list[str] = field(default_factory=list)
    datasets: dict[str, list[str]] = field(default_factory=dict)


def exporter_main(index: int, base_url: str, key: str, spans: int, rate: float, seed: int, out: Any) -> None:
    """One exporter process sending `spans` spans at `rate` spans/s (as fast as it can when `rate` is 0)."""
    session = TimedSession()
    exporter = MeasuredExporter(
        after_batch=lambda spans: None,
        endpoint=f"{base_url}/v1/traces",
        headers={"authorization": f"Bearer {key}"},
        compression=Compression.Gzip,
        timeout=60,
        session=session,
    )
    provider = make_provider(exporter, total_spans=spans, schedule_delay_ms=200, seed=seed)
    started = time.monotonic()

    def pace(traffic: Traffic) -> None:
        if rate and (ahead := traffic.spans / rate - (time.monotonic() - started)) > 0:
            time.sleep(ahead)

    traffic = emit_traces(
        provider.get_tracer("bench.load"),
        total_spans=spans,
        seed=seed,
        on_first_span=lambda: None,
        after_trace=pace,
    )
    provider.force_flush(timeout_millis=600_000)
    provider.shutdown()
    requests = [
        Request("otlp export", t.start - time.monotonic() + time.time(), t.seconds, t.status or 0)
        for t in session.timings
    ]
    out.put(("exporter", index, ClientReport(requests, traffic.spans, exporter.failed_batches)))


class Browser:
    """One reviewer's session: logs in like a browser, keeps the CSRF token, retries what fails."""

    def __init__(self, base_url: str, username: str, report: ClientReport) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60, follow_redirects=False)
        self.username = username
        self.report = report

    def send(self, kind: str, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        """The response, after retrying 502/503/504 and lost connections; None if every attempt failed."""
        for _ in range(MAX_ATTEMPTS):
            started, wall = time.perf_counter(), time.time()
            try:
                response = self.http.request(method, url, **kwargs)
                status = response.status_code
            except httpx.TransportError:
                response, status = None, 0
            self.report.requests.append(Request(kind, wall, time.perf_counter() - started, status))
            if response is not None and status not in RETRYABLE:
                return response
            retry_after = response.headers.get("Retry-After", "1") if response is not None else "0.5"
            time.sleep(min(float(retry_after), 2.0) * random.uniform(0.5, 1.5))
        self.report.gave_up.append(f"{self.username} {kind} {url}")
        return None

    def post(self, kind: str, url: str, data: dict[str, Any], **headers: str) -> httpx.Response | None:
        token = self.http.cookies.get("csrftoken", "")
        return self.send(
            kind,
            "POST",
            url,
            data={**data, "csrfmiddlewaretoken": token},
            headers={"X-CSRFToken": token, "Referer": str(self.http.base_url) + "/", **headers},
        )

    def login(self) -> None:
        self.send("login", "GET", "/login/")
        response = self.post(
            "login", "/login/", {"username": self.username, "password": PASSWORD, "next": "/"}
        )
        if response is None or response.status_code != 302:
            raise RuntimeError(f"{self.username} could not log in: {response and response.status_code}")


def reviewer(
    base_url: str, username: str, project_pk: int, report: ClientReport, stop: float, seed: int
) -> None:
    rng = random.Random(seed)
    browser = Browser(base_url, username, report)
    browser.login()
    rows: list[tuple[str, str]] = []  # (trace id, span id) from the last table seen
    annotated: set[str] = set()
    added: set[str] = set()
    dataset_pk: int | None = None
    dataset_name = f"load-{username}"
    actions, weights = zip(*ACTIONS.items(), strict=True)
    while time.time() < stop:
        action = rng.choices(actions, weights)[0]
        if action in ("trace", "annotate", "add_to_dataset") and not rows:
            action = "spans"
        if action == "dataset" and dataset_pk is None:
            action = "projects"
        if action == "spans":
            response = browser.send(action, "GET", f"/projects/{project_pk}/?{rng.choice(FILTERS)}")
            if response is not None and response.status_code == 200:
                rows = SPAN_IN_ROW.findall(response.text) or rows
        elif action == "traces":
            browser.send(action, "GET", f"/projects/{project_pk}/traces/")
        elif action == "projects":
            browser.send(action, "GET", "/")
        elif action == "dataset":
            browser.send(action, "GET", f"/datasets/{dataset_pk}/")
        elif action == "trace":
            trace_id, span_id = rng.choice(rows)
            browser.send(action, "GET", f"/traces/{trace_id}/?span={span_id}")
        elif action == "annotate":
            _, span_id = rng.choice(rows)
            label = rng.choice(("correct", "incorrect"))
            response = browser.post(
                action,
                f"/annotate/span/{span_id}/",
                {"name": "correctness", "label": label, "explanation": f"{username} under load"},
                **{"HX-Request": "true"},
            )
            if response is not None and response.headers.get("HX-Trigger") == "annotations-changed":
                annotated.add(span_id)
        elif action == "add_to_dataset":
            chosen = [span_id for _, span_id in rng.sample(rows, min(3, len(rows)))]
            target = {"dataset": dataset_pk} if dataset_pk else {"new_dataset_name": dataset_name}
            response = browser.post(
                action, "/datasets/add-spans/", {"project": project_pk, "span": chosen, **target}
            )
            location = response.headers.get("Location", "") if response is not None else ""
            if match := re.fullmatch(r"/datasets/(\d+)/", location):
                dataset_pk = int(match.group(1))
                added.update(chosen)
        time.sleep(rng.uniform(0.3, 1.2))
    report.reviewer_annotations[username] = sorted(annotated)
    if added:
        report.datasets[dataset_name] = sorted(added)


def api_annotator(base_url: str, key: str, report: ClientReport, stop: float) -> None:
    browser = Browser(base_url, "api", report)
    browser.http.headers["Authorization"] = f"Bearer {key}"
    acknowledged: set[str] = set()
    while time.time() < stop:
        response = browser.send(
            "api list spans", "GET", f"/v1/projects/{PROJECT_NAME}/spans", params={"limit": 100}
        )
        if response is not None and response.status_code == 200:
            span_ids = [span["context"]["span_id"] for span in response.json()["data"]]
            rows = [
                {
                    "span_id": span_id,
                    "name": API_NAME,
                    "annotator_kind": "CODE",
                    "identifier": API_IDENTIFIER,
                    "result": {"label": "pass", "score": 1.0},
                }
                for span_id in span_ids
            ]
            posted = browser.send(
                "api annotate (100)",
                "POST",
                "/v1/span_annotations",
                params={"sync": "true"},
                json={"data": rows},
            )
            if posted is not None and posted.status_code == 200:
                acknowledged.update(span_ids)
        time.sleep(1.0)
    report.api_annotations = sorted(acknowledged)


def reviewers_main(
    base_url: str, key: str, usernames: list[str], project_pk: int, seconds: float, out: Any
) -> None:
    """All reviewers and the API annotator, as threads of one process."""
    report = ClientReport()
    stop = time.time() + seconds
    threads = [
        threading.Thread(target=reviewer, args=(base_url, name, project_pk, report, stop, SEED + n))
        for n, name in enumerate(usernames)
    ]
    threads.append(threading.Thread(target=api_annotator, args=(base_url, key, report, stop)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(("reviewers", 0, report))


# --- faults -------------------------------------------------------------------------------------------------


@dataclass
class Fault:
    kind: str
    at: float  # seconds into the run
    start: float = 0.0  # time.time()
    end: float = 0.0
    detail: str = ""


def inject(faults: list[Fault], started: float, server: Any, restart_command: list[str]) -> None:
    for fault in sorted(faults, key=lambda f: f.at):
        time.sleep(max(0.0, started + fault.at - time.time()))
        fault.start = time.time()
        if fault.kind == "restart postgres":
            completed = subprocess.run(restart_command, capture_output=True, text=True)
            fault.detail = f"exit {completed.returncode} {completed.stderr.strip()}"
        else:
            victim = random.choice(server.worker_pids())
            os.kill(victim, signal.SIGKILL)
            fault.detail = f"SIGKILL worker {victim}"
        fault.end = time.time()
        print(f"  fault at {fault.at:.0f} s: {fault.kind}: {fault.detail} ({fault.end - fault.start:.1f} s)")


# --- run and report -----------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def latency_table(requests: list[Request]) -> dict[str, dict[str, Any]]:
    by_kind: dict[str, list[Request]] = {}
    for request in requests:
        by_kind.setdefault(request.kind, []).append(request)
    return {
        kind: {
            "requests": len(rows),
            "p50_ms": round(statistics.median(r.seconds for r in rows) * 1000, 1),
            "p99_ms": round(percentile([r.seconds for r in rows], 0.99) * 1000, 1),
            "max_ms": round(max(r.seconds for r in rows) * 1000, 1),
            "statuses": dict(sorted(Counter(str(r.status) for r in rows).items())),
        }
        for kind, rows in sorted(by_kind.items())
    }


def run_processes(
    targets: list[tuple[Callable[..., None], tuple[Any, ...]]],
) -> list[tuple[str, int, ClientReport]]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    processes = [context.Process(target=target, args=(*args, out)) for target, args in targets]
    for process in processes:
        process.start()
    results = [out.get() for _ in processes]
    for process in processes:
        process.join()
    return results


def run(args: argparse.Namespace) -> dict[str, Any]:
    database = BenchDatabase("postgres", args.postgres_url)
    database.create()
    try:
        env = django_env(database.url)
        run_manage(["migrate", "--noinput", "-v", "0"], env)
        made = subprocess.run(
            [sys.executable, __file__, "setup", "--reviewers", str(args.reviewers)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        key = json.loads(made.stdout)["api_key"]
        with gunicorn(database.url, args.workers, env={"PHOENIX_ANNOT_V1_AUTH_REQUIRED": "true"}) as server:
            print(f"gunicorn {server.base_url}, {args.workers} workers; warm-up export …", flush=True)
            ((_, _, warmup),) = run_processes(
                [(exporter_main, (99, server.base_url, key, args.warmup_spans, 0, SEED))]
            )
            project_pk = project_pk_of(server.base_url, key)
            usernames = [f"reviewer{n:02d}" for n in range(args.reviewers)]
            faults = [Fault("restart postgres", at) for at in args.restart_postgres_at]
            faults += [Fault("kill worker", at) for at in args.kill_worker_at]
            started = time.time()
            injector = threading.Thread(
                target=inject, args=(faults, started, server, args.postgres_restart.split())
            )
            injector.start()
            print(f"load for {args.duration:.0f} s …", flush=True)
            results = run_processes(
                [
                    (
                        exporter_main,
                        (
                            n,
                            server.base_url,
                            key,
                            int(args.rate * args.duration),
                            args.rate,
                            SEED + 1000 * (n + 1),
                        ),
                    )
                    for n in range(args.exporters)
                ]
                + [(reviewers_main, (server.base_url, key, usernames, project_pk, args.duration))]
            )
            elapsed = time.time() - started
            injector.join()
        reports = [report for _, _, report in results]
        expected = {
            "spans_sent": warmup.spans_sent + sum(r.spans_sent for r in reports),
            "reviewer_annotations": {k: v for r in reports for k, v in r.reviewer_annotations.items()},
            "api_annotations": [s for r in reports for s in r.api_annotations],
            "datasets": {k: v for r in reports for k, v in r.datasets.items()},
        }
        verified = subprocess.run(
            [sys.executable, __file__, "verify"],
            cwd=ROOT,
            env=env,
            input=json.dumps(expected),
            check=True,
            capture_output=True,
            text=True,
        )
        return summarise(args, reports, elapsed, faults, json.loads(verified.stdout))
    finally:
        if not args.keep:
            database.drop()


def project_pk_of(base_url: str, key: str) -> int:
    # The page links name the project's primary key; the API names it by global id only.
    response = httpx.get(f"{base_url}/v1/projects/{PROJECT_NAME}", headers={"Authorization": f"Bearer {key}"})
    response.raise_for_status()
    return int(from_global_id(response.json()["data"]["id"])[1])


def summarise(
    args: argparse.Namespace,
    reports: list[ClientReport],
    elapsed: float,
    faults: list[Fault],
    checks: list[dict],
) -> dict[str, Any]:
    requests = [r for report in reports for r in report.requests]
    sent = sum(r.spans_sent for r in reports)
    restarts = [f for f in faults if f.kind == "restart postgres"]
    during = [r for r in requests if any(f.start <= r.start <= f.end + 1.0 for f in restarts)]
    server_errors = [r for r in requests if r.status >= 500 and r.status not in RETRYABLE]
    failed = [r for r in requests if r.status in RETRYABLE or r.status == 0]
    reviewer_actions = [
        r for r in requests if r.kind not in ("otlp export",) and not r.kind.startswith("api")
    ]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs",
        "settings": {k: v for k, v in vars(args).items() if k != "command"},
        "seconds": round(elapsed, 1),
        "spans_sent_during_load": sent,
        "spans_per_s": round(sent / elapsed, 1),
        "reviewer_requests_per_s": round(len(reviewer_actions) / elapsed, 1),
        "annotations_saved_by_reviewers": sum(
            len(v) for r in reports for v in r.reviewer_annotations.values()
        ),
        "exporter_failed_batches": sum(r.failed_batches for r in reports),
        "gave_up": [g for r in reports for g in r.gave_up],
        "server_errors": len(server_errors),
        "retried_failures": len(failed),
        "latency": latency_table(requests),
        "during_postgres_restart": dict(Counter(str(r.status) for r in during)),
        "slowest_during_restart_ms": round(max((r.seconds for r in during), default=0) * 1000, 1),
        "faults": [asdict(f) for f in faults],
        "checks": checks,
    }


def verdict(result: dict[str, Any], faults_asked: bool) -> bool:
    clean = result["server_errors"] == 0 and not result["gave_up"] and result["exporter_failed_batches"] == 0
    if not faults_asked:
        clean = clean and result["retried_failures"] == 0
    return clean and all(c["ok"] for c in result["checks"])


def print_report(result: dict[str, Any]) -> None:
    print(
        f"\n{result['seconds']:.0f} s: {result['spans_sent_during_load']:,} spans "
        f"({result['spans_per_s']:,}/s), {result['reviewer_requests_per_s']}/s reviewer requests, "
        f"{result['annotations_saved_by_reviewers']:,} reviewer annotations"
    )
    print(f"  {'request':26} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses")
    for kind, row in result["latency"].items():
        figures = f"{row['requests']:>7,} {row['p50_ms']:>8} {row['p99_ms']:>8} {row['max_ms']:>8}"
        print(f"  {kind:26} {figures}  {row['statuses']}")
    print(
        f"  server errors (5xx other than 502-504): {result['server_errors']}; "
        f"retried 502-504/connection failures: {result['retried_failures']}; "
        f"exporter batches lost: {result['exporter_failed_batches']}; gave up: {len(result['gave_up'])}"
    )
    if result["faults"]:
        print(
            f"  statuses of requests sent during the PostgreSQL restart: {result['during_postgres_restart']} "
            f"(slowest {result['slowest_during_restart_ms']} ms)"
        )
    for c in result["checks"]:
        mark = "ok " if c["ok"] else "BAD"
        print(f"  {mark} {c['check']}: expected {c['expected']:,}, stored {c['stored']:,}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    setup_parser = sub.add_parser("setup", help="(internal) accounts and an API key in DATABASE_URL")
    setup_parser.add_argument("--reviewers", type=int, required=True)
    sub.add_parser("verify", help="(internal) compare stored rows with the clients' record (stdin)")
    parser.add_argument("--postgres-url", default="postgres://postgres:postgres@localhost:5432/bench_load")
    parser.add_argument("--duration", type=float, default=180)
    parser.add_argument("--exporters", type=int, default=3)
    parser.add_argument("--rate", type=float, default=300, help="spans/s per exporter")
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--warmup-spans", type=int, default=2000)
    parser.add_argument("--restart-postgres-at", type=float, action="append", default=[], metavar="S")
    parser.add_argument("--kill-worker-at", type=float, action="append", default=[], metavar="S")
    parser.add_argument("--postgres-restart", default="pg_ctlcluster 15 main restart -m immediate")
    parser.add_argument("--keep", action="store_true", help="keep bench_load for a look afterwards")
    args = parser.parse_args(argv)
    if args.command == "setup":
        setup(args.reviewers)
        return 0
    if args.command == "verify":
        verify()
        return 0
    result = run(args)
    print_report(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    faults_asked = bool(args.restart_postgres_at or args.kill_worker_at)
    path = RESULTS / f"load{'-faults' if faults_asked else ''}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"results: {path.relative_to(ROOT)}")
    return 0 if verdict(result, faults_asked) else 1


if __name__ == "__main__":
    sys.exit(main())
