"""Who may change alice's annotations: every caller x every surface that writes or deletes annotations.

alice (an annotator) owns a span annotation from the Annotate panel (`px-app:` + her GlobalID), one written
with her key (identifier ""), a span note and a trace annotation from the panel; bob, another annotator,
owns one of his own. The attack of issue 10 is here as it was sent: bob guesses alice's `px-app:`
identifier, and sends a bulk delete of every `tone` annotation. Only alice and admins change alice's rows;
a refusal is a 403 naming her, and nothing of the request is written.
"""

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from phoenix_annot.accounts.models import User
from phoenix_annot.accounts.services import api_key_create
from phoenix_annot.annotations.models import SpanAnnotation, TraceAnnotation, reviewer_identifier
from phoenix_annot.api.auth import VIEWER_WRITE_DENIED
from phoenix_annot.tracing.models import Span
from tests.factories import SpanAnnotationFactory, SpanFactory, TraceAnnotationFactory, UserFactory

pytestmark = pytest.mark.django_db

CALLERS = ("viewer", "owner", "other annotator", "admin")
NOTE_ID = "px-span-note:alice"


@dataclass(frozen=True)
class World:
    alice: User
    bob: User
    callers: dict[str, User]
    span: Span

    @property
    def alice_panel_id(self) -> str:
        return reviewer_identifier(self.alice.pk)


def make_world() -> World:
    alice = UserFactory(username="alice", role=User.Role.ANNOTATOR)
    bob = UserFactory(username="bob", role=User.Role.ANNOTATOR)
    viewer = UserFactory(username="vera", role=User.Role.VIEWER)
    admin = UserFactory(username="ada", role=User.Role.ADMIN)
    span = SpanFactory(trace__project__name="p")
    mine = {"user": alice, "name": "tone", "label": "fine", "score": None}
    SpanAnnotationFactory(span=span, identifier=reviewer_identifier(alice.pk), source="APP", **mine)
    SpanAnnotationFactory(span=span, identifier="", **mine)
    SpanAnnotationFactory(
        span=span, user=alice, name="note", label=None, score=None, explanation="hers", identifier=NOTE_ID
    )
    TraceAnnotationFactory(trace=span.trace, identifier=reviewer_identifier(alice.pk), source="APP", **mine)
    SpanAnnotationFactory(
        span=span, user=bob, name="tone", label="fine", score=None, identifier=reviewer_identifier(bob.pk)
    )
    callers = {"viewer": viewer, "owner": alice, "other annotator": bob, "admin": admin}
    return World(alice=alice, bob=bob, callers=callers, span=span)


def alices_rows(w: World) -> list[tuple[Any, ...]]:
    fields = ("pk", "name", "identifier", "label", "explanation", "annotator_kind", "user")
    return [
        (model.__name__, *row)
        for model in (SpanAnnotation, TraceAnnotation)
        for row in model.objects.owned_by(w.alice.pk).order_by("pk").values_list(*fields)
    ]


@dataclass(frozen=True)
class Outcome:
    status: int
    changes_alices_rows: bool = False
    # Words the body must hold: the owner's name for a refusal.
    says: str = ""

    def __str__(self) -> str:
        return f"{self.status}{' + changes' if self.changes_alices_rows else ''}"


@dataclass(frozen=True)
class Case:
    name: str
    surface: str  # "page" (a signed-in browser) or "api" (the caller's API key)
    method: str
    url: Callable[[World], str]
    # One outcome per caller, in the order of CALLERS: viewer, owner, other annotator, admin.
    expect: tuple[Outcome, Outcome, Outcome, Outcome]
    body: Callable[[World], dict[str, Any]] | None = None

    def send(self, world: World, caller: str):
        user = world.callers[caller]
        if self.surface == "page":
            client = Client()
            client.force_login(user)
            return client.post(self.url(world), self.body(world) if self.body else {})
        _key, raw = api_key_create(user=user, name="key")
        body = json.dumps(self.body(world)).encode() if self.body else b""
        return Client().generic(
            self.method,
            self.url(world),
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )

    def __str__(self) -> str:
        return f"{self.surface}: {self.name}"


def annotate_page(kind: str) -> Callable[[World], str]:
    return lambda w: reverse(
        "web:annotate", args=[kind, w.span.span_id if kind == "span" else w.span.trace.trace_id]
    )


def api_write(key: str, identifier: Callable[[World], str], name: str = "tone") -> Callable[[World], dict]:
    def body(w: World) -> dict[str, Any]:
        target = w.span.span_id if key == "span_id" else w.span.trace.trace_id
        return {
            "data": [
                {
                    key: target,
                    "name": name,
                    "annotator_kind": "HUMAN",
                    "identifier": identifier(w),
                    "result": {"label": "rude"},
                }
            ]
        }

    return body


def alices_panel_row(w: World) -> int:
    return SpanAnnotation.objects.get(identifier=w.alice_panel_id).pk


# The outcomes most surfaces share, in the order of CALLERS.
PAGE_WRITE = (Outcome(403, says="Viewers cannot annotate."), Outcome(302, True), Outcome(302), Outcome(302))
API_VIEWER = Outcome(403, says=VIEWER_WRITE_DENIED)
ALICES_ONLY_API = (API_VIEWER, Outcome(200, True), Outcome(403, says="user 'alice'"), Outcome(200, True))
BULK_DELETE = (API_VIEWER, Outcome(204, True), Outcome(204), Outcome(204, True))

CASES = [
    Case(
        "the Annotate panel on a span",
        "page",
        "POST",
        annotate_page("span"),
        PAGE_WRITE,
        body=lambda w: {"name": "tone", "label": "rude"},
    ),
    Case(
        "the Annotate panel on a trace",
        "page",
        "POST",
        annotate_page("trace"),
        PAGE_WRITE,
        body=lambda w: {"name": "tone", "label": "rude"},
    ),
    Case(
        "delete alice's panel annotation",
        "page",
        "POST",
        lambda w: reverse("web:annotation-delete", args=["span", alices_panel_row(w)]),
        (
            Outcome(403, says="Viewers cannot annotate."),
            Outcome(302, True),
            Outcome(403, says="user 'alice'"),
            Outcome(302, True),
        ),
    ),
    Case(
        "span annotation under alice's guessed px-app identifier",
        "api",
        "POST",
        lambda w: "/v1/span_annotations?sync=true",
        ALICES_ONLY_API,
        body=api_write("span_id", lambda w: w.alice_panel_id),
    ),
    Case(
        "span annotation over the one alice wrote with her key",
        "api",
        "POST",
        lambda w: "/v1/span_annotations?sync=true",
        ALICES_ONLY_API,
        body=api_write("span_id", lambda w: ""),
    ),
    Case(
        "trace annotation under alice's guessed px-app identifier",
        "api",
        "POST",
        lambda w: "/v1/trace_annotations?sync=true",
        ALICES_ONLY_API,
        body=api_write("trace_id", lambda w: w.alice_panel_id),
    ),
    Case(
        "span note replacing alice's",
        "api",
        "POST",
        lambda w: "/v1/span_notes",
        ALICES_ONLY_API,
        body=lambda w: {"data": {"span_id": w.span.span_id, "note": "not hers", "identifier": NOTE_ID}},
    ),
    Case(
        "bulk delete of every tone span annotation",
        "api",
        "DELETE",
        lambda w: "/v1/projects/p/span_annotations?delete_all=true&name=tone",
        BULK_DELETE,
    ),
    Case(
        "bulk delete of every trace annotation",
        "api",
        "DELETE",
        lambda w: "/v1/projects/p/trace_annotations?delete_all=true",
        BULK_DELETE,
    ),
]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_only_the_owner_and_admins_change_an_annotation(case: Case, caller: str, settings):
    settings.V1_AUTH_REQUIRED = True
    world = make_world()
    before = alices_rows(world)

    response = case.send(world, caller)

    outcome = case.expect[CALLERS.index(caller)]
    assert response.status_code == outcome.status, response.content[:500]
    assert outcome.says in html.unescape(response.content.decode())
    assert (alices_rows(world) != before) == outcome.changes_alices_rows


@pytest.mark.parametrize("kind", ["span", "trace"])
def test_an_annotators_bulk_delete_removes_their_own_rows_and_nobody_elses(kind, settings):
    settings.V1_AUTH_REQUIRED = True
    world = make_world()
    TraceAnnotationFactory(trace=world.span.trace, user=world.bob, identifier="bob's")
    _key, raw = api_key_create(user=world.bob, name="key")

    response = Client().delete(
        f"/v1/projects/p/{kind}_annotations?delete_all=true", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )

    assert response.status_code == 204
    model = SpanAnnotation if kind == "span" else TraceAnnotation
    assert not model.objects.owned_by(world.bob.pk).exists()
    assert model.objects.owned_by(world.alice.pk).exists()
