"""`manage.py demo`: a local phoenix-annot with realistic traces and evaluations, one command away.

Safe to run again: ids are deterministic, so stored spans are skipped, annotations are upserts and the
account and configs are fetched rather than created twice. It refuses any database but a SQLite file holding
no other user, so that a well-known password never lands on a server others use.
"""

import argparse
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections, transaction
from django.db.models import Count, Q
from django.utils import timezone
from gunicorn.app.base import BaseApplication

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import (
    AnnotationConfig,
    AnnotationSource,
    AnnotationType,
    AnnotatorKind,
    OptimizationDirection,
    ProjectAnnotationConfig,
    SpanAnnotation,
    reviewer_identifier,
)
from phoenix_annot.annotations.services import (
    AnnotationWrite,
    document_annotations_upsert,
    session_annotations_upsert,
    span_annotations_upsert,
)
from phoenix_annot.core.chunked import WSGIApp
from phoenix_annot.datasets.models import Dataset
from phoenix_annot.datasets.selectors import dataset_latest_version
from phoenix_annot.datasets.services import dataset_add_spans, dataset_create, dataset_split_randomly
from phoenix_annot.demo.traces import (
    CORRECTNESS,
    HALLUCINATION,
    OUTCOME,
    PROJECT_NAMES,
    RELEVANCE,
    SUPPORT_PROJECT,
    USER_FEEDBACK,
    DemoAnnotation,
    DemoScenario,
    demo_scenario,
)
from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import IngestResult, spans_ingest
from phoenix_annot.queues.models import AnnotationQueue
from phoenix_annot.queues.services import QueueConfigChoice, annotation_queue_create, queue_items_add_matching
from phoenix_annot.tracing.models import Project, Span, SpanKind, StatusCode, Trace
from phoenix_annot.wsgi import application

DEMO_USERNAME = "demo"
DEMO_DATASET = "support answers"
DEMO_PASSWORD = "demo"
EVALUATION_CONFIGS: dict[str, dict[str, Any]] = {
    CORRECTNESS: {
        "type": AnnotationType.CATEGORICAL,
        "description": "LLM judge: does the answer correctly address the question?",
        "optimization_direction": OptimizationDirection.MAXIMIZE,
        "values": [{"label": "correct", "score": 1.0}, {"label": "incorrect", "score": 0.0}],
    },
    HALLUCINATION: {
        "type": AnnotationType.CATEGORICAL,
        "description": "LLM judge: does the answer claim things the retrieved context does not support?",
        "optimization_direction": OptimizationDirection.MINIMIZE,
        "values": [{"label": "hallucinated", "score": 1.0}, {"label": "factual", "score": 0.0}],
    },
    OUTCOME: {
        "type": AnnotationType.CATEGORICAL,
        "description": "Reviewer: did the conversation get the user what they came for? Unknown has no "
        "score, so it counts in no mean.",
        "optimization_direction": OptimizationDirection.MAXIMIZE,
        "values": [
            {"label": "resolved", "score": 1.0},
            {"label": "unresolved", "score": 0.0},
            {"label": "unknown", "score": None},
        ],
    },
    RELEVANCE: {
        "type": AnnotationType.CONTINUOUS,
        "description": "LLM judge: share of the retrieved documents that bear on the question.",
        "optimization_direction": OptimizationDirection.MAXIMIZE,
        "lower_bound": 0.0,
        "upper_bound": 1.0,
    },
}


@dataclass(frozen=True)
class ProjectSummary:
    name: str
    traces: int
    spans: int
    errors: int
    annotations: int


class Command(BaseCommand):
    help = (
        "Load demo traces, evaluations and a demo/demo reviewer account, then serve the app on 127.0.0.1 "
        "with /v1 authentication off. Safe to run again: nothing is duplicated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port", type=port_number, default=8000, help="Port on 127.0.0.1 (default 8000)."
        )
        parser.add_argument("--no-serve", action="store_true", help="Load the demo data and exit.")
        parser.add_argument(
            "--allow-any-database",
            action="store_true",
            help=(
                "Load the demo (and its demo/demo account) even into a database that is not SQLite or that "
                "holds other users."
            ),
        )

    def handle(
        self,
        *args: Any,
        port: int,
        no_serve: bool,
        allow_any_database: bool,
        verbosity: int,
        **options: Any,
    ) -> None:
        if not allow_any_database:
            refusal = demo_database_refusal()
            if refusal:
                raise CommandError(f"{refusal}; pass --allow-any-database to load the demo there anyway.")
        call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0), stdout=self.stdout)
        user = demo_user_ensure()
        scenario = demo_scenario(now=timezone.now())
        result = spans_ingest(records=decode_request(scenario.request))
        demo_annotation_configs_ensure(project_names=PROJECT_NAMES)
        demo_annotations_upsert(scenario=scenario)
        demo_dataset_ensure(user=user)
        demo_queue_ensure(user=user)
        demo_reviews_ensure(user=user)
        self.print_summary(result, project_summaries(PROJECT_NAMES))
        self.print_login()
        if not no_serve:
            self.serve(port)

    def print_summary(self, result: IngestResult, projects: Sequence[ProjectSummary]) -> None:
        skipped = result.received - result.stored
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded: {result.stored} new spans, {skipped} already stored.")
        )
        for project in projects:
            self.stdout.write(
                f"  {project.name:<14} {project.traces:>4} traces {project.spans:>5} spans "
                f"({project.errors} errors) {project.annotations:>5} span annotations"
            )

    def print_login(self) -> None:
        self.stdout.write(
            self.style.WARNING(
                f"Demo reviewer login: username '{DEMO_USERNAME}', password '{DEMO_PASSWORD}'.\n"
                "  For this local demo only: never keep this account on a server others can reach."
            )
        )

    def serve(self, port: int) -> None:
        # The OTLP view reads the setting on every request; the variable covers anything that reloads it.
        settings.V1_AUTH_REQUIRED = False
        os.environ["PHOENIX_ANNOT_V1_AUTH_REQUIRED"] = "false"
        base_url = f"http://127.0.0.1:{port}"
        self.stdout.write(
            f"\nOpen {base_url}/ and sign in as "
            f"{DEMO_USERNAME} / {DEMO_PASSWORD}.\n"
            f"Send your own traces with any OTLP exporter to {base_url}/v1/traces "
            "(no API key needed: /v1 authentication is off while the demo runs).\n"
        )
        # Forked workers must not share this process's database connection.
        connections.close_all()
        DemoServer(port=port).run()


class DemoServer(BaseApplication):
    """gunicorn, the README's production server, run in process: Django's development server cannot read
    the chunked request bodies that the OpenTelemetry JS exporters send (core/chunked.py)."""

    def __init__(self, *, port: int) -> None:
        self.options = {
            # Bound to loopback only: the demo account and the open /v1 must not be reachable from elsewhere.
            "bind": f"127.0.0.1:{port}",
            "workers": 1,
            "worker_class": "gthread",
            "threads": 4,
            "accesslog": "-",
            # Another gunicorn on this machine (a second demo, a production server) owns the default socket.
            "control_socket_disable": True,
        }
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> WSGIApp:
        return application


def port_number(raw: str) -> int:
    port = int(raw)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{raw} is not a TCP port (1 to 65535)")
    return port


def demo_database_refusal() -> str | None:
    """Why this database is no place for the demo account, if it is not: only a laptop's SQLite file, empty
    or holding the demo alone, is. Asked before migrating, so a refused database is left untouched."""
    if connection.vendor != "sqlite":
        return f"The database is {connection.display_name}, not SQLite: the demo is for a laptop"
    if User._meta.db_table not in connection.introspection.table_names():
        return None
    others = User.objects.exclude(username=DEMO_USERNAME).order_by("username")
    count = others.count()
    if count:
        names = ", ".join(others.values_list("username", flat=True)[:3])
        return f"The database holds {count} user(s) other than {DEMO_USERNAME!r} ({names})"
    return None


def demo_user_ensure() -> User:
    """The demo reviewer, created once; an existing one keeps its role but gets the demo password back.

    Never staff: the account's password is public, so it must not open the Django admin."""
    user = User.objects.filter(username=DEMO_USERNAME).first()
    if user is None:
        return User.objects.create_user(DEMO_USERNAME, password=DEMO_PASSWORD, role=User.Role.ANNOTATOR)
    user.set_password(DEMO_PASSWORD)
    user.is_staff = user.is_superuser = False
    user.save(update_fields=["password", "is_staff", "is_superuser"])
    user.user_permissions.clear()
    return user


def demo_annotation_configs_ensure(*, project_names: Iterable[str]) -> None:
    """The evaluation configs, plus the seeded user_feedback one, assigned to every demo project."""
    with transaction.atomic():
        configs = [
            AnnotationConfig.objects.get_or_create(name=name, defaults=fields)[0]
            for name, fields in EVALUATION_CONFIGS.items()
        ]
        configs += AnnotationConfig.objects.filter(name=USER_FEEDBACK)
        for project in Project.objects.filter(name__in=project_names):
            for config in configs:
                ProjectAnnotationConfig.objects.get_or_create(project=project, annotation_config=config)


def demo_annotations_upsert(*, scenario: DemoScenario) -> None:
    """The evaluations and end-user feedback, document relevance and conversation outcomes, through the same
    bulk upserts as POST /v1/span_annotations, /v1/document_annotations and /v1/session_annotations."""
    with transaction.atomic():
        span_annotations_upsert(
            writes=[span_write(annotation) for annotation in scenario.annotations],
            source=AnnotationSource.API,
            user=None,
        )
        document_annotations_upsert(
            writes=[
                AnnotationWrite(
                    target_id=document.span_id,
                    document_position=document.document_position,
                    name=RELEVANCE,
                    annotator_kind="LLM",
                    label=document.label,
                    score=document.score,
                    explanation=document.explanation,
                )
                for document in scenario.document_annotations
            ],
            source=AnnotationSource.API,
            user=None,
        )
        session_annotations_upsert(
            writes=[
                AnnotationWrite(
                    target_id=outcome.session_id,
                    name=OUTCOME,
                    annotator_kind="HUMAN",
                    label=outcome.label,
                    score=outcome.score,
                    explanation=outcome.explanation,
                )
                for outcome in scenario.session_annotations
            ],
            source=AnnotationSource.API,
            user=None,
        )


def demo_dataset_ensure(*, user: User) -> None:
    """DEMO_DATASET: the support project's LLM calls as chat examples, split 80/20 into train and test
    with seed 0. Run again, the spans are examples already and the same seed draws the same split."""
    description = "Support answers to fine-tune on (train) and to test against"
    spans = Span.objects.filter(project__name=SUPPORT_PROJECT, span_kind=SpanKind.LLM)
    with transaction.atomic():
        dataset = Dataset.objects.filter(name=DEMO_DATASET).first() or dataset_create(
            name=DEMO_DATASET, description=description, user=user
        )
        dataset_add_spans(dataset=dataset, spans=spans.order_by("start_time", "pk"), user=user)
        version = dataset_latest_version(dataset=dataset)
        if version is not None:
            dataset_split_randomly(version=version, ratio=0.8, seed=0, user=user)


DEMO_QUEUE = "Weekly triage"
DEMO_QUEUE_ITEMS = 12


def demo_queue_ensure(*, user: User) -> None:
    """DEMO_QUEUE: the support project's latest LLM calls to judge for correctness (required), one reviewer
    each. Run again, the queue and its items are there already and stay as reviewed."""
    project = Project.objects.get(name=SUPPORT_PROJECT)
    queue = AnnotationQueue.objects.filter(project=project, name=DEMO_QUEUE).first()
    if queue is None:
        queue = annotation_queue_create(
            project_id=project.pk,
            user=user,
            name=DEMO_QUEUE,
            instructions=(
                "Read the customer's question and the answer.\n\n"
                "Mark the answer correct only if every fact in it is supported by the retrieved documents; "
                "skip anything that is not a support question."
            ),
            configs=[QueueConfigChoice(config=AnnotationConfig.objects.get(name=CORRECTNESS), required=True)],
        )
    latest = Span.objects.filter(project=project, span_kind=SpanKind.LLM).order_by("-start_time", "-pk")
    queue_items_add_matching(
        queue=queue,
        spans=Span.objects.filter(pk__in=latest[:DEMO_QUEUE_ITEMS].values("pk")),
        kind="span",
        user=user,
    )


DEMO_REVIEWS = 40
# The demo reviewer disagrees with the LLM judge on one answer in this many, so Judge alignment has
# something to show.
DEMO_REVIEW_DISSENT = 5


def demo_reviews_ensure(*, user: User) -> None:
    """The demo reviewer's own correctness labels of the support project's oldest DEMO_REVIEWS evaluated
    answers, as the Annotate panel writes them, agreeing with the LLM judge but on one in DEMO_REVIEW_DISSENT.
    Run again, an answer the reviewer labelled already keeps their label."""
    identifier = reviewer_identifier(user.pk)
    judged = SpanAnnotation.objects.filter(
        span__project__name=SUPPORT_PROJECT, name=CORRECTNESS, annotator_kind=AnnotatorKind.LLM
    ).order_by("span__start_time", "span__pk")
    reviewed = set(
        SpanAnnotation.objects.filter(name=CORRECTNESS, identifier=identifier).values_list(
            "span__span_id", flat=True
        )
    )
    writes = []
    for i, (span_id, label) in enumerate(judged.values_list("span__span_id", "label")[:DEMO_REVIEWS]):
        dissent = i % DEMO_REVIEW_DISSENT == DEMO_REVIEW_DISSENT - 1
        if span_id in reviewed:
            continue
        if dissent:
            label = "incorrect" if label == "correct" else "correct"
        writes.append(
            AnnotationWrite(
                target_id=span_id,
                name=CORRECTNESS,
                identifier=identifier,
                annotator_kind=AnnotatorKind.HUMAN,
                label=label,
                score=1.0 if label == "correct" else 0.0,
                explanation="I read it against the documents and disagree with the judge."
                if dissent
                else None,
            )
        )
    span_annotations_upsert(writes=writes, source=AnnotationSource.APP, user=user)


def span_write(annotation: DemoAnnotation) -> AnnotationWrite:
    return AnnotationWrite(
        target_id=annotation.span_id,
        name=annotation.name,
        identifier=annotation.identifier,
        annotator_kind=annotation.annotator_kind,
        label=annotation.label,
        score=annotation.score,
        explanation=annotation.explanation,
    )


def project_summaries(names: Sequence[str]) -> list[ProjectSummary]:
    traces = dict(
        Trace.objects.filter(project__name__in=names)
        .values_list("project__name")
        .annotate(count=Count("pk"))
        .order_by()
    )
    spans = {
        row["project__name"]: row
        for row in Span.objects.filter(project__name__in=names)
        .values("project__name")
        .annotate(count=Count("pk"), errors=Count("pk", filter=Q(status_code=StatusCode.ERROR)))
        .order_by()
    }
    annotations = dict(
        SpanAnnotation.objects.filter(span__project__name__in=names)
        .values_list("span__project__name")
        .annotate(count=Count("pk"))
        .order_by()
    )
    empty = {"count": 0, "errors": 0}
    return [
        ProjectSummary(
            name=name,
            traces=traces.get(name, 0),
            spans=spans.get(name, empty)["count"],
            errors=spans.get(name, empty)["errors"],
            annotations=annotations.get(name, 0),
        )
        for name in names
    ]
