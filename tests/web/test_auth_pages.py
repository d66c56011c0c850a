"""Every browser page x every kind of visitor, and every form post without a CSRF token.

Anonymous visitors are sent to the login page; viewers read; annotators also annotate and build datasets;
only admins reach the annotation config pages; everybody manages their own API keys and password only.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from phoenix_annot.accounts.models import ApiKey, User
from phoenix_annot.accounts.services import api_key_create
from phoenix_annot.annotations.bulk import BulkLabel, annotations_bulk_label
from phoenix_annot.annotations.models import (
    GOLD_IDENTIFIER,
    AnnotationBulkAction,
    AnnotationConfig,
    DocumentAnnotation,
    SpanAnnotation,
    TraceAnnotation,
    reviewer_identifier,
)
from phoenix_annot.corrections.models import Correction
from phoenix_annot.datasets.models import Dataset, DatasetSplit, DatasetVersion, ExampleRevision
from phoenix_annot.datasets.services import dataset_add_spans
from phoenix_annot.queues.models import AnnotationQueue, QueueItem, QueueReservation, QueueReview, QueueRule
from phoenix_annot.queues.services import QueueConfigChoice, annotation_queue_create
from phoenix_annot.tracing.models import Session, Span
from phoenix_annot.web import urls as web_urls
from tests.factories import (
    AnnotationConfigFactory,
    DatasetFactory,
    SessionFactory,
    SpanAnnotationFactory,
    SpanFactory,
    UserFactory,
    retriever_span,
)

pytestmark = pytest.mark.django_db

ACTORS = ("anonymous", "viewer", "annotator", "admin")
ROLES = {"viewer": User.Role.VIEWER, "annotator": User.Role.ANNOTATOR, "admin": User.Role.ADMIN}
PASSWORD = "pw-for-tests"  # UserFactory's
NEW_PASSWORD = "a new passphrase, 2026"


@dataclass(frozen=True)
class World:
    """One of everything a page can name; `user` is the visitor (None when anonymous)."""

    user: User | None
    client: Client
    span: Span
    own_annotation: SpanAnnotation
    others_annotation: SpanAnnotation
    dataset: Dataset
    config: AnnotationConfig
    own_key: ApiKey
    others_key: ApiKey
    stranger: User

    def logged_in_as(self) -> str | None:
        return self.client.session.get(SESSION_KEY)


def make_world(actor: str, *, enforce_csrf_checks: bool = False) -> World:
    stranger = UserFactory(username="stranger")
    user = None
    if actor in ROLES:
        user = UserFactory(username=actor, role=ROLES[actor], is_staff=actor == "admin")
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    if user is not None:
        client.force_login(user)
    span = SpanFactory()
    config = AnnotationConfigFactory(name="correctness")
    config.projects.add(span.project)
    return World(
        user=user,
        client=client,
        span=span,
        own_annotation=SpanAnnotationFactory(span=span, name="mine", user=user or stranger, identifier="own"),
        others_annotation=SpanAnnotationFactory(span=span, name="theirs", user=stranger, identifier="other"),
        dataset=DatasetFactory(name="hard cases"),
        config=config,
        own_key=api_key_create(user=user or stranger, name="own")[0],
        others_key=api_key_create(user=stranger, name="other")[0],
        stranger=stranger,
    )


Location = Callable[[World, str], str]


@dataclass(frozen=True)
class Outcome:
    """What a visitor gets: a status, where a redirect points, and whether the request changed anything."""

    status: int
    location: Location | None = None
    writes: bool = False

    def __str__(self) -> str:
        return f"{self.status}{' + write' if self.writes else ''}"


def to(url: Callable[[World], str], *, writes: bool = True) -> Outcome:
    return Outcome(302, lambda w, _requested: url(w), writes=writes)


def _login_location(login_url: str) -> Location:
    return lambda _w, requested: f"{login_url}?{urlencode({'next': requested}, safe='/')}"


LOGIN = Outcome(302, _login_location("/login/"))
ADMIN_LOGIN = Outcome(302, _login_location("/admin/login/"))
OK = Outcome(200)
WROTE = Outcome(200, writes=True)
FORBIDDEN = Outcome(403)
NOT_FOUND = Outcome(404)
NOT_ALLOWED = Outcome(405)


def whole_trace_page(w: World) -> str:
    return reverse("web:trace", args=[w.span.trace.trace_id])


def a_session(w: World) -> int:
    """The pk of a session of the world's project, the same one each time a row asks."""
    session = Session.objects.filter(project=w.span.project).first()
    return (session or SessionFactory(project=w.span.project)).pk


def a_retriever(w: World) -> Span:
    """A retriever span of two documents in the world's project, the same one each time a row asks."""
    span = Span.objects.filter(project=w.span.project, span_kind="RETRIEVER").first()
    return span or retriever_span(w.span.project, 2)


def retriever_page(w: World) -> str:
    span = a_retriever(w)
    return f"{reverse('web:trace', args=[span.trace.trace_id])}?span={span.span_id}"


def document_annotation_count(w: World) -> int:
    return DocumentAnnotation.objects.count()


def trace_page(w: World) -> str:
    return f"{whole_trace_page(w)}?span={w.span.span_id}"


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # a URL name: "web:..." or "admin:index"
    args: Callable[[World], list[Any]]
    # One outcome a visitor, in the order of ACTORS: anonymous, viewer, annotator, admin.
    expect: tuple[Outcome, Outcome, Outcome, Outcome]
    data: Callable[[World], dict[str, Any]] = field(default=lambda w: {})
    # A snapshot of what the request may change; compared before and after every request.
    effect: Callable[[World], Any] = field(default=lambda w: None)
    case: str = ""

    def url(self, world: World) -> str:
        return reverse(self.route, args=self.args(world))

    def send(self, world: World):
        return world.client.generic(
            self.method,
            self.url(world),
            urlencode(self.data(world), doseq=True),
            content_type="application/x-www-form-urlencoded",
        )

    def outcome(self, actor: str) -> Outcome:
        return self.expect[ACTORS.index(actor)]

    def __str__(self) -> str:
        return f"{self.method} {self.route}{f' ({self.case})' if self.case else ''}"


def none(w: World) -> list[Any]:
    return []


def annotation_count(w: World) -> int:
    return SpanAnnotation.objects.count() + TraceAnnotation.objects.count()


def usable_key_count(w: World) -> int:
    return ApiKey.objects.usable().count()


def password_hashes(w: World) -> list[str]:
    return list(User.objects.order_by("pk").values_list("password", flat=True))


def config_count(w: World) -> int:
    return AnnotationConfig.objects.count()


def a_label(w: World) -> dict[str, Any]:
    return {"name": "correctness", "label": "correct"}


def an_undo(w: World) -> dict[str, Any]:
    previous = {"label": "correct", "score": 1.0, "explanation": None, "metadata": {}}
    return {
        "name": "correctness",
        "previous": json.dumps({**previous, "annotator_kind": "HUMAN", "source": "APP"}),
    }


def new_config(w: World) -> dict[str, Any]:
    return {
        "name": "helpfulness",
        "type": "CATEGORICAL",
        "optimization_direction": "MAXIMIZE",
        "values": "a\nb",
    }


def configs_page(w: World) -> str:
    return reverse("web:configs")


# Outcomes shared by many rows, in the order of ACTORS: anonymous, viewer, annotator, admin.
READ = (LOGIN, OK, OK, OK)
ADMINS_ONLY = (LOGIN, FORBIDDEN, FORBIDDEN, OK)
MISSING = (LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND)
POST_ONLY = (LOGIN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED)


def a_version(world: World) -> int:
    """The world's dataset's one version, made on first use."""
    version = world.dataset.versions.first()
    if version is None:
        version = dataset_add_spans(dataset=world.dataset, spans=[world.span], user=None).version
    return version.pk


def an_example(world: World) -> ExampleRevision:
    """The revision of the world's dataset's one example at its first version (made on first use)."""
    return ExampleRevision.objects.get(version_id=a_version(world))


def example_form(world: World) -> dict[str, Any]:
    revision = an_example(world)
    return {
        "input": json.dumps(revision.input),
        "output": json.dumps(revision.output),
        "metadata": json.dumps(revision.metadata),
        "based_on": revision.pk,
    }


def example_changes(world: World) -> int:
    """Edits and deletes of examples (the example itself is made on first use, by its row's URL)."""
    return ExampleRevision.objects.exclude(revision_kind="CREATE").count()


def example_on_page(world: World) -> str:
    return f"{reverse('web:dataset', args=[world.dataset.pk])}#example-{an_example(world).example_id}"


WRITERS_READ = (LOGIN, FORBIDDEN, OK, OK)
BAD_REQUEST = Outcome(400)


def a_queue(w: World) -> AnnotationQueue:
    """The stranger's queue of the world's project asking for correctness, with one span item (not w.span),
    the same one each time a row asks."""
    queue = AnnotationQueue.objects.filter(project=w.span.project).first()
    if queue is None:
        queue = annotation_queue_create(
            project_id=w.span.project.pk,
            user=w.stranger,
            name="triage",
            configs=[QueueConfigChoice(config=w.config, required=True)],
        )
        QueueItem.objects.create(queue=queue, span=SpanFactory(trace__project=w.span.project))
    return queue


def queue_state(w: World) -> tuple[int, int, int, int]:
    """Queues, items, reviews and reservations: what the queue pages may change."""
    a_queue(w)
    return (
        AnnotationQueue.objects.count(),
        QueueItem.objects.count(),
        QueueReview.objects.count(),
        QueueReservation.objects.count(),
    )


def gold_count(w: World) -> int:
    return SpanAnnotation.objects.filter(identifier=GOLD_IDENTIFIER).count()


def disagreeing_queue_state(w: World) -> tuple[int, int, int, int]:
    """The queue pages' state, once two reviewers disagree on the world's span's correctness, so that
    sending the disagreements to a queue has a row to add."""
    if not SpanAnnotation.objects.filter(span=w.span, name="correctness").exists():
        for label in ("correct", "incorrect"):
            reviewer = UserFactory()
            SpanAnnotationFactory(
                span=w.span,
                name="correctness",
                identifier=reviewer_identifier(reviewer.pk),
                user=reviewer,
                label=label,
                annotator_kind="HUMAN",
            )
    return queue_state(w)


def disagreements_of_correctness(w: World) -> str:
    return f"{reverse('web:disagreements', args=[w.span.project.pk])}?annotation=correctness"


def queue_form(w: World) -> dict[str, Any]:
    return {
        "name": "second look",
        "configs": [w.config.pk],
        "reviewers_per_item": 1,
        "assignment": "ALL_ANNOTATORS",
        "reservation_minutes": 15,
    }


def queue_args(w: World) -> list[Any]:
    return [a_queue(w).pk]


def item_args(w: World) -> list[Any]:
    queue = a_queue(w)
    return [queue.pk, queue.items.get().pk]


def queue_review_page(w: World) -> str:
    return reverse("web:queue-review", args=[a_queue(w).pk])


def rule_args(w: World) -> list[Any]:
    """The stranger's queue and its one rule, made on first use (again after a delete)."""
    queue = a_queue(w)
    rule = QueueRule.objects.filter(queue=queue).first() or QueueRule.objects.create(queue=queue, filter={})
    return [queue.pk, rule.pk]


def a_bulk_label(w: World) -> dict[str, Any]:
    """The selection bar's Label… of the world's span: correctness = incorrect, the visitor's own label."""
    return {
        "project": w.span.project.pk,
        "tab": "spans",
        "span": [w.span.span_id],
        "bulk_name": "correctness",
        "bulk_label": "incorrect",
    }


def a_bulk_action(w: World) -> int:
    """A bulk label of a new span of the world's project by nobody in particular, made on first use."""
    action = AnnotationBulkAction.objects.filter(project=w.span.project).first()
    if action is None:
        span = SpanFactory(trace__project=w.span.project)
        action = annotations_bulk_label(
            project=w.span.project,
            target_kind="span",
            targets=Span.objects.filter(pk=span.pk),
            label=BulkLabel(name="correctness", label="incorrect"),
            user=None,
        )
    return action.pk


def queue_page(w: World) -> str:
    return reverse("web:queue", args=[a_queue(w).pk])


ROWS = [
    Row("GET", "web:login", none, (OK, OK, OK, OK)),
    Row(
        "POST",
        "web:login",
        none,
        (to(lambda w: "/"),) * 4,
        data=lambda w: {"username": "stranger", "password": PASSWORD, "next": "https://evil.example/"},
        effect=World.logged_in_as,
        case="an off-site next is ignored",
    ),
    Row("GET", "web:logout", none, (NOT_ALLOWED,) * 4),
    Row(
        "POST",
        "web:logout",
        none,
        (to(lambda w: "/login/", writes=False),) + (to(lambda w: "/login/"),) * 3,
        effect=World.logged_in_as,
    ),
    Row("GET", "web:projects", none, READ),
    Row("GET", "web:spans", lambda w: [w.span.project.pk], READ),
    Row("GET", "web:spans", lambda w: [0], MISSING, case="unknown project"),
    Row("GET", "web:traces", lambda w: [w.span.project.pk], READ),
    Row("GET", "web:trace", lambda w: [w.span.trace.trace_id], READ),
    Row("GET", "web:trace", lambda w: ["f" * 32], MISSING, case="unknown trace"),
    Row("GET", "web:trace-tree", lambda w: [w.span.trace.trace_id], READ),
    Row("GET", "web:trace-tree", lambda w: ["f" * 32], MISSING, case="unknown trace"),
    Row("GET", "web:sessions", lambda w: [w.span.project.pk], READ),
    Row("GET", "web:agreement", lambda w: [w.span.project.pk], READ),
    Row("GET", "web:agreement", lambda w: [0], MISSING, case="unknown project"),
    Row("GET", "web:disagreements", lambda w: [w.span.project.pk], READ),
    Row("GET", "web:disagreements", lambda w: [0], MISSING, case="unknown project"),
    Row("GET", "web:judge-alignment", lambda w: [w.span.project.pk], READ),
    Row("GET", "web:judge-alignment", lambda w: [0], MISSING, case="unknown project"),
    Row("GET", "web:gold-set", lambda w: [w.span.project.pk], POST_ONLY),
    Row(
        "POST",
        "web:gold-set",
        lambda w: [w.span.project.pk],
        (LOGIN, FORBIDDEN, FORBIDDEN, WROTE),
        data=lambda w: {
            "annotation": "correctness",
            "row": w.span.pk,
            "gold_label": "correct",
            "reason": "read it",
        },
        effect=gold_count,
    ),
    Row(
        "GET",
        "web:gold-promote",
        lambda w: [w.span.project.pk],
        (LOGIN, FORBIDDEN, FORBIDDEN, Outcome(422)),
        case="no name chosen",
    ),
    Row(
        "POST",
        "web:gold-promote",
        lambda w: [w.span.project.pk],
        ADMINS_ONLY,
        data=lambda w: {"annotation": "correctness", "threshold": "2"},
        effect=gold_count,
    ),
    Row("GET", "web:disagreements-to-queue", lambda w: [w.span.project.pk], POST_ONLY),
    Row(
        "POST",
        "web:disagreements-to-queue",
        lambda w: [w.span.project.pk],
        (LOGIN, FORBIDDEN) + (to(disagreements_of_correctness),) * 2,
        data=lambda w: {"annotation": "correctness", "queue": a_queue(w).pk},
        effect=disagreeing_queue_state,
    ),
    Row("GET", "web:session", lambda w: [a_session(w)], READ),
    Row("GET", "web:session", lambda w: [0], MISSING, case="unknown session"),
    Row(
        "GET", "web:span-redirect", lambda w: [w.span.span_id], (LOGIN,) + (to(trace_page, writes=False),) * 3
    ),
    Row("GET", "web:annotate", lambda w: ["span", w.span.span_id], POST_ONLY),
    Row(
        "POST",
        "web:annotate",
        lambda w: ["span", w.span.span_id],
        (LOGIN, FORBIDDEN, to(trace_page), to(trace_page)),
        data=a_label,
        effect=annotation_count,
    ),
    Row(
        "POST",
        "web:annotate",
        lambda w: ["trace", w.span.trace.trace_id],
        (LOGIN, FORBIDDEN, to(whole_trace_page), to(whole_trace_page)),
        data=a_label,
        effect=annotation_count,
        case="a trace",
    ),
    Row(
        "POST",
        "web:annotate",
        lambda w: ["span", "0" * 16],
        (LOGIN, FORBIDDEN, NOT_FOUND, NOT_FOUND),
        data=a_label,
        effect=annotation_count,
        case="unknown span",
    ),
    Row("GET", "web:annotate-document", lambda w: [a_retriever(w).span_id, 0], POST_ONLY),
    Row(
        "POST",
        "web:annotate-document",
        lambda w: [a_retriever(w).span_id, 1],
        (LOGIN, FORBIDDEN, to(retriever_page), to(retriever_page)),
        data=lambda w: {"label": "relevant"},
        effect=document_annotation_count,
    ),
    Row(
        "POST",
        "web:annotate-document",
        lambda w: [w.span.span_id, 0],
        (LOGIN, FORBIDDEN, NOT_FOUND, NOT_FOUND),
        data=lambda w: {"label": "relevant"},
        effect=document_annotation_count,
        case="a span without documents",
    ),
    Row("GET", "web:correction", lambda w: ["span", w.span.span_id], POST_ONLY),
    Row(
        "POST",
        "web:correction",
        lambda w: ["span", w.span.span_id],
        (LOGIN, FORBIDDEN, to(trace_page), to(trace_page)),
        data=lambda w: {"output": "The corrected answer."},
        effect=lambda w: Correction.objects.count(),
    ),
    Row("GET", "web:annotation-undo", lambda w: ["span", w.span.span_id], POST_ONLY),
    Row(
        "POST",
        "web:annotation-undo",
        lambda w: ["span", w.span.span_id],
        (LOGIN, FORBIDDEN, to(trace_page), to(trace_page)),
        data=an_undo,
        effect=annotation_count,
    ),
    Row(
        "GET",
        "web:annotation-delete",
        lambda w: ["span", w.own_annotation.pk],
        POST_ONLY,
        effect=annotation_count,
    ),
    Row(
        "POST",
        "web:annotation-delete",
        lambda w: ["span", w.own_annotation.pk],
        (LOGIN, FORBIDDEN, to(trace_page), to(trace_page)),
        effect=annotation_count,
        case="own",
    ),
    Row(
        "POST",
        "web:annotation-delete",
        lambda w: ["span", w.others_annotation.pk],
        (LOGIN, FORBIDDEN, FORBIDDEN, to(trace_page)),
        effect=annotation_count,
        case="somebody else's",
    ),
    Row("GET", "web:api-keys", none, READ),
    Row(
        "POST",
        "web:api-keys",
        none,
        (LOGIN, WROTE, WROTE, WROTE),
        data=lambda w: {"name": "laptop"},
        effect=lambda w: ApiKey.objects.count(),
    ),
    Row("GET", "web:api-key-revoke", lambda w: [w.own_key.pk], POST_ONLY, effect=usable_key_count),
    Row(
        "POST",
        "web:api-key-revoke",
        lambda w: [w.own_key.pk],
        (LOGIN,) + (to(lambda w: reverse("web:api-keys")),) * 3,
        effect=usable_key_count,
        case="own",
    ),
    Row(
        "POST",
        "web:api-key-revoke",
        lambda w: [w.others_key.pk],
        MISSING,
        effect=usable_key_count,
        case="other's",
    ),
    Row("GET", "web:password-change", none, READ),
    Row(
        "POST",
        "web:password-change",
        none,
        (LOGIN,) + (to(lambda w: reverse("web:password-change-done")),) * 3,
        data=lambda w: {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
        effect=password_hashes,
    ),
    Row(
        "POST",
        "web:password-change",
        none,
        (LOGIN, OK, OK, OK),
        data=lambda w: {
            "old_password": "wrong",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
        effect=password_hashes,
        case="wrong old password",
    ),
    Row("GET", "web:password-change-done", none, READ),
    Row("GET", "web:configs", none, ADMINS_ONLY),
    Row("GET", "web:config-new", none, ADMINS_ONLY),
    Row(
        "POST",
        "web:config-new",
        none,
        (LOGIN, FORBIDDEN, FORBIDDEN, to(configs_page)),
        data=new_config,
        effect=config_count,
    ),
    Row("GET", "web:config-edit", lambda w: [w.config.pk], ADMINS_ONLY),
    Row(
        "GET",
        "web:config-edit",
        lambda w: [0],
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND),
        case="unknown config",
    ),
    Row(
        "POST",
        "web:config-edit",
        lambda w: [w.config.pk],
        (LOGIN, FORBIDDEN, FORBIDDEN, to(configs_page)),
        data=lambda w: {**new_config(w), "description": "edited"},
        effect=lambda w: AnnotationConfig.objects.get(pk=w.config.pk).description,
    ),
    Row(
        "POST",
        "web:config-edit",
        lambda w: [0],
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND),
        data=new_config,
        effect=config_count,
        case="unknown config",
    ),
    Row("GET", "web:datasets", none, READ),
    Row("GET", "web:dataset", lambda w: [w.dataset.pk], READ),
    Row("GET", "web:dataset", lambda w: [0], MISSING, case="unknown dataset"),
    Row("GET", "web:dataset-export", lambda w: [w.dataset.pk, "csv"], MISSING, case="no version yet"),
    Row("GET", "web:dataset-add-spans", none, POST_ONLY),
    Row(
        "POST",
        "web:dataset-add-spans",
        none,
        (LOGIN, FORBIDDEN) + (to(lambda w: reverse("web:dataset", args=[w.dataset.pk])),) * 2,
        data=lambda w: {"project": w.span.project.pk, "span": [w.span.span_id], "dataset": w.dataset.pk},
        effect=lambda w: DatasetVersion.objects.count(),
    ),
    Row("GET", "web:dataset-add-sessions", none, POST_ONLY),
    Row(
        "POST",
        "web:dataset-add-sessions",
        none,
        (LOGIN, FORBIDDEN) + (to(lambda w: reverse("web:dataset", args=[w.dataset.pk])),) * 2,
        data=lambda w: {
            "project": w.span.project.pk,
            "session": [Session.objects.get(pk=a_session(w)).session_id],
            "dataset": w.dataset.pk,
        },
        effect=lambda w: DatasetVersion.objects.count(),
    ),
    Row("GET", "web:dataset-split-randomly", lambda w: [w.dataset.pk], POST_ONLY),
    Row(
        "POST",
        "web:dataset-split-randomly",
        lambda w: [w.dataset.pk],
        (LOGIN, FORBIDDEN)
        + (to(lambda w: f"{reverse('web:dataset', args=[w.dataset.pk])}?version={a_version(w)}"),) * 2,
        data=lambda w: {"version": a_version(w), "train_percent": 80, "seed": 1},
        effect=lambda w: DatasetSplit.objects.count(),
    ),
    Row("GET", "web:dataset-example-edit", lambda w: [w.dataset.pk, an_example(w).example_id], WRITERS_READ),
    Row(
        "POST",
        "web:dataset-example-edit",
        lambda w: [w.dataset.pk, an_example(w).example_id],
        (LOGIN, FORBIDDEN) + (to(lambda w: example_on_page(w)),) * 2,
        data=lambda w: {**example_form(w), "output": '{"a": "edited"}'},
        effect=example_changes,
    ),
    Row(
        "POST",
        "web:dataset-example-edit",
        lambda w: [w.dataset.pk, an_example(w).example_id],
        (LOGIN, FORBIDDEN, BAD_REQUEST, BAD_REQUEST),
        data=lambda w: {**example_form(w), "output": "not json"},
        effect=example_changes,
        case="not JSON",
    ),
    Row(
        "GET", "web:dataset-example-delete", lambda w: [w.dataset.pk, an_example(w).example_id], WRITERS_READ
    ),
    Row(
        "POST",
        "web:dataset-example-delete",
        lambda w: [w.dataset.pk, an_example(w).example_id],
        (LOGIN, FORBIDDEN) + (to(lambda w: example_on_page(w)),) * 2,
        data=lambda w: {"based_on": an_example(w).pk},
        effect=example_changes,
    ),
    Row("GET", "web:queues", lambda w: [w.span.project.pk], READ),
    Row("GET", "web:queues", lambda w: [0], MISSING, case="unknown project"),
    Row("GET", "web:queue-choices", lambda w: [w.span.project.pk], READ),
    Row("GET", "web:queue-new", lambda w: [w.span.project.pk], WRITERS_READ),
    Row(
        "POST",
        "web:queue-new",
        lambda w: [w.span.project.pk],
        (LOGIN, FORBIDDEN)
        + (to(lambda w: reverse("web:queue", args=[AnnotationQueue.objects.latest("pk").pk])),) * 2,
        data=queue_form,
        effect=queue_state,
    ),
    Row("GET", "web:queue", queue_args, READ, effect=queue_state),
    Row("GET", "web:queue", lambda w: [0], MISSING, case="unknown queue"),
    Row("GET", "web:queue-export", lambda w: [*queue_args(w), "jsonl"], READ),
    Row("GET", "web:queue-export", lambda w: [*queue_args(w), "xml"], MISSING, case="unknown format"),
    Row("GET", "web:queue-edit", queue_args, (LOGIN, FORBIDDEN, FORBIDDEN, OK), case="somebody else's"),
    Row(
        "POST",
        "web:queue-edit",
        queue_args,
        (LOGIN, FORBIDDEN, FORBIDDEN, to(lambda w: reverse("web:queue", args=queue_args(w)))),
        data=queue_form,
        effect=lambda w: AnnotationQueue.objects.get(pk=a_queue(w).pk).name,
        case="somebody else's",
    ),
    Row("GET", "web:queue-delete", queue_args, POST_ONLY),
    Row(
        "POST",
        "web:queue-delete",
        queue_args,
        (LOGIN, FORBIDDEN, FORBIDDEN, to(lambda w: reverse("web:queues", args=[w.span.project.pk]))),
        # A deleted queue is made again, under another pk, by the snapshot after the request.
        effect=lambda w: a_queue(w).pk,
        case="somebody else's",
    ),
    Row(
        "GET",
        "web:queue-review",
        queue_args,
        (LOGIN, FORBIDDEN, OK, OK),
        # Its reservation is left out: the CSRF cases are the rows that write, and a GET has no token.
        effect=lambda w: queue_state(w)[:3],
        case="serves the next item",
    ),
    Row("GET", "web:queue-submit", item_args, POST_ONLY),
    Row(
        "POST",
        "web:queue-submit",
        item_args,
        (LOGIN, FORBIDDEN, to(queue_review_page), to(queue_review_page)),
        data=lambda w: {f"config-{w.config.pk}-label": "correct"},
        effect=queue_state,
    ),
    Row("GET", "web:queue-skip", item_args, POST_ONLY),
    Row(
        "POST",
        "web:queue-skip",
        item_args,
        (LOGIN, FORBIDDEN, to(queue_review_page), to(queue_review_page)),
        data=lambda w: {"reason": "unclear"},
        effect=queue_state,
    ),
    Row("GET", "web:queue-add-rows", lambda w: ["spans"], POST_ONLY),
    Row(
        "POST",
        "web:queue-add-rows",
        lambda w: ["spans"],
        (LOGIN, FORBIDDEN) + (to(lambda w: reverse("web:projects")),) * 2,
        data=lambda w: {"project": w.span.project.pk, "queue": a_queue(w).pk, "span": [w.span.span_id]},
        effect=queue_state,
    ),
    Row("GET", "web:queue-rule-add", lambda w: ["spans"], POST_ONLY),
    Row(
        "POST",
        "web:queue-rule-add",
        lambda w: ["spans"],
        (LOGIN, FORBIDDEN, FORBIDDEN, to(queue_page)),
        data=lambda w: {
            "project": w.span.project.pk,
            "queue": a_queue(w).pk,
            "filter_query": "span_kind=LLM",
        },
        effect=lambda w: list(QueueRule.objects.values_list("filter", flat=True)),
        case="somebody else's queue",
    ),
    Row("GET", "web:queue-rule-change", rule_args, POST_ONLY),
    Row(
        "POST",
        "web:queue-rule-change",
        rule_args,
        (LOGIN, FORBIDDEN, FORBIDDEN, to(queue_page)),
        data=lambda w: {"enabled": "on", "sampling_percent": "20"},
        effect=lambda w: QueueRule.objects.get(pk=rule_args(w)[1]).sampling_percent,
        case="somebody else's queue",
    ),
    Row("GET", "web:queue-rule-delete", rule_args, POST_ONLY),
    Row(
        "POST",
        "web:queue-rule-delete",
        rule_args,
        (LOGIN, FORBIDDEN, FORBIDDEN, to(queue_page)),
        # A deleted rule is made again, under another pk, by the snapshot after the request.
        effect=lambda w: rule_args(w)[1],
        case="somebody else's queue",
    ),
    Row("GET", "web:bulk-label-form", lambda w: [w.span.project.pk], READ),
    # Without a config of the project in ?bulk_name (the dialog sends the one chosen).
    Row("GET", "web:bulk-label-value", lambda w: [w.span.project.pk], MISSING, case="no config named"),
    Row("GET", "web:bulk-label-preview", none, POST_ONLY),
    Row("POST", "web:bulk-label-preview", none, WRITERS_READ, data=a_bulk_label, effect=annotation_count),
    Row("GET", "web:bulk-label", none, POST_ONLY),
    Row(
        "POST",
        "web:bulk-label",
        none,
        (LOGIN, FORBIDDEN) + (to(lambda w: reverse("web:projects")),) * 2,
        data=a_bulk_label,
        effect=lambda w: list(SpanAnnotation.objects.order_by("pk").values_list("pk", "label")),
    ),
    Row("GET", "web:bulk-label-undo", lambda w: [a_bulk_action(w)], POST_ONLY),
    Row(
        "POST",
        "web:bulk-label-undo",
        lambda w: [a_bulk_action(w)],
        # An annotator is told (a message) that only its author or an admin may undo it.
        (
            LOGIN,
            FORBIDDEN,
            to(lambda w: reverse("web:projects"), writes=False),
            to(lambda w: reverse("web:projects")),
        ),
        # The label is made before the snapshot, so that only its undo counts as a change.
        effect=lambda w: (
            a_bulk_action(w),
            list(SpanAnnotation.objects.order_by("pk").values_list("pk", "label")),
        ),
        case="somebody else's bulk label",
    ),
    Row("GET", "admin:index", none, (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK)),
]


def test_the_table_names_every_page_with_a_get():
    named = {f"web:{pattern.name}" for pattern in web_urls.urlpatterns}

    assert {row.route for row in ROWS if row.method == "GET"} == named | {"admin:index"}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("row", ROWS, ids=str)
def test_each_visitor_gets_what_their_role_allows(row: Row, actor: str):
    world = make_world(actor)
    before = row.effect(world)

    response = row.send(world)

    outcome = row.outcome(actor)
    assert response.status_code == outcome.status, response.content[:300]
    if outcome.location is not None:
        assert response["Location"] == outcome.location(world, row.url(world))
    assert (row.effect(world) != before) == outcome.writes


def _least_privileged_writer(row: Row) -> str | None:
    """The first visitor the row writes for; for a POST that only reads (a preview), the first it serves."""
    writer = next((actor for actor in ACTORS if row.outcome(actor).writes), None)
    if writer is None and row.method == "POST":
        return next((actor for actor in ACTORS if row.outcome(actor).status == 200), None)
    return writer


CSRF_CASES = [(row, actor) for row in ROWS if (actor := _least_privileged_writer(row))]


def test_every_form_post_has_a_csrf_case():
    assert {row.route for row, _actor in CSRF_CASES} == {row.route for row in ROWS if row.method == "POST"}


@pytest.mark.parametrize(("row", "actor"), CSRF_CASES, ids=lambda case: str(case))
def test_a_post_without_a_csrf_token_is_refused_and_changes_nothing(row: Row, actor: str):
    world = make_world(actor, enforce_csrf_checks=True)
    before = row.effect(world)

    response = row.send(world)

    assert response.status_code == 403
    assert b"This form was out of date" in response.content
    assert row.effect(world) == before
