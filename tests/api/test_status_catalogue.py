"""The statuses and texts of PHOENIX_COMPAT.md §3.1-3.8 that the per-route test files do not pin already.

One row a case: what is sent, and the exact status and text (or, for 422 validation errors, the field the
JSON detail points at) that Phoenix answers and so must we.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from phoenix_annot.annotations.models import SpanAnnotation
from phoenix_annot.core.globalid import to_global_id
from tests.api.conftest import World
from tests.factories import SpanAnnotationFactory, UserFactory

pytestmark = pytest.mark.django_db

MISSING_PROJECT = to_global_id("Project", 999_999)
MISSING_CONFIG = to_global_id("CategoricalAnnotationConfig", 999_999)


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    url: Callable[[World], str]
    status: int
    text: str | None = None  # the whole text/plain body
    loc: list[Any] | None = None  # or where a 422 JSON detail points
    body: Callable[[World], Any] | None = None

    def __str__(self) -> str:
        return self.name


def item(key: str, value: str, **overrides: Any) -> dict[str, Any]:
    return {key: value, "name": "tone", "annotator_kind": "HUMAN", "result": {"label": "kind"}, **overrides}


CASES = [
    # §3.1 span annotations and notes
    Case(
        "span annotation named note",
        "POST",
        lambda w: "/v1/span_annotations",
        400,
        "The name 'note' is reserved for trace and span notes. Use POST /v1/span_notes instead.",
        body=lambda w: {"data": [item("span_id", w.span.span_id, name="note")]},
    ),
    Case(
        "several missing spans",
        "POST",
        lambda w: "/v1/span_annotations?sync=true",
        404,
        "Spans with IDs ffffffffffffffaa, ffffffffffffffbb do not exist.",
        body=lambda w: {"data": [item("span_id", "ffffffffffffffbb"), item("span_id", "ffffffffffffffaa")]},
    ),
    Case(
        "annotation without annotator_kind",
        "POST",
        lambda w: "/v1/span_annotations",
        422,
        loc=["body", "data", 0, "annotator_kind"],
        body=lambda w: {"data": [{"span_id": w.span.span_id, "name": "tone"}]},
    ),
    Case(
        "bad sync value",
        "POST",
        lambda w: "/v1/span_annotations?sync=maybe",
        422,
        loc=["query", "sync"],
        body=lambda w: {"data": []},
    ),
    Case(
        "blank note",
        "POST",
        lambda w: "/v1/span_notes",
        422,
        loc=["body", "data", "note"],
        body=lambda w: {"data": {"span_id": w.span.span_id, "note": "   "}},
    ),
    Case(
        "note without span_id",
        "POST",
        lambda w: "/v1/span_notes",
        422,
        loc=["body", "data", "span_id"],
        body=lambda w: {"data": {"note": "n"}},
    ),
    # §3.2 listing and deleting annotations
    Case(
        "span annotations of an unknown project",
        "GET",
        lambda w: "/v1/projects/nope/span_annotations?span_ids=a",
        404,
        "Project with name nope not found",
    ),
    Case(
        "span annotations of an unknown project id",
        "GET",
        lambda w: f"/v1/projects/{MISSING_PROJECT}/span_annotations?span_ids=a",
        404,
        f"Project with ID {MISSING_PROJECT} not found",
    ),
    Case(
        "trace annotations without ids",
        "GET",
        lambda w: "/v1/projects/p/trace_annotations",
        422,
        "At least one of trace_ids or identifier must be supplied",
    ),
    Case(
        "trace annotations of traces elsewhere",
        "GET",
        lambda w: f"/v1/projects/p/trace_annotations?trace_ids={'f' * 32}",
        404,
        "None of the supplied trace_ids exist in this project",
    ),
    Case(
        "too many trace ids",
        "GET",
        lambda w: "/v1/projects/p/trace_annotations?" + "&".join(f"trace_ids={n}" for n in range(1001)),
        422,
        "Too many trace_ids supplied: 1001 (max 1000)",
    ),
    Case(
        "too many identifiers",
        "GET",
        lambda w: "/v1/projects/p/span_annotations?" + "&".join(f"identifier={n}" for n in range(1001)),
        422,
        "Too many identifier supplied: 1001 (max 1000)",
    ),
    Case(
        "an unbounded trace annotation delete",
        "DELETE",
        lambda w: "/v1/projects/p/trace_annotations?start_time=2026-01-01T00:00:00Z",
        422,
        "Delete is unbounded. Set delete_all=true to acknowledge, or supply both start_time and end_time to "
        "bound the time range.",
    ),
    Case(
        "deleting annotations of an unknown project",
        "DELETE",
        lambda w: "/v1/projects/nope/span_annotations?delete_all=true",
        404,
        "Project with name nope not found",
    ),
    Case(
        "a delete with a bad annotator_kind",
        "DELETE",
        lambda w: "/v1/projects/p/span_annotations?delete_all=maybe",
        422,
        loc=["query", "delete_all"],
    ),
    # §3.3 trace annotations
    Case(
        "trace annotation named note",
        "POST",
        lambda w: "/v1/trace_annotations",
        400,
        "The name 'note' is reserved for trace and span notes. Use POST /v1/trace_notes instead.",
        body=lambda w: {"data": [item("trace_id", w.trace.trace_id, name="note")]},
    ),
    # §3.4 spans
    Case(
        "spans of an unknown project",
        "GET",
        lambda w: "/v1/projects/nope/spans",
        404,
        "Project with name nope not found",
    ),
    Case(
        "spans logged to an unknown project id",
        "POST",
        lambda w: f"/v1/projects/{MISSING_PROJECT}/spans",
        404,
        f"Project with ID {MISSING_PROJECT} not found",
        body=lambda w: {"data": []},
    ),
    Case(
        "a logged span with a bad span id",
        "POST",
        lambda w: "/v1/projects/p/spans",
        422,
        loc=["body", "data", 0, "context", "span_id"],
        body=lambda w: {
            "data": [
                {
                    "name": "x",
                    "context": {"trace_id": "a" * 32, "span_id": "XYZ"},
                    "start_time": "2026-01-01T00:00:00Z",
                    "end_time": "2026-01-01T00:00:01Z",
                }
            ]
        },
    ),
    # §3.5 traces
    Case(
        "traces of an unknown project",
        "GET",
        lambda w: "/v1/projects/nope/traces",
        404,
        "Project with name nope not found",
    ),
    Case(
        "traces sorted by a bad key",
        "GET",
        lambda w: "/v1/projects/p/traces?sort=name",
        422,
        loc=["query", "sort"],
    ),
    Case(
        "traces in a bad order",
        "GET",
        lambda w: "/v1/projects/p/traces?order=up",
        422,
        loc=["query", "order"],
    ),
    Case(
        "traces with a negative latency bound",
        "GET",
        lambda w: "/v1/projects/p/traces?min_latency_ms=-1",
        422,
        loc=["query", "min_latency_ms"],
    ),
    Case(
        "traces with a bad error flag",
        "GET",
        lambda w: "/v1/projects/p/traces?error=2",
        422,
        loc=["query", "error"],
    ),
    # §3.6 projects
    Case(
        "updating an unknown project",
        "PUT",
        lambda w: "/v1/projects/nope",
        404,
        "Project with name nope not found",
        body=lambda w: {"description": "d"},
    ),
    Case(
        "deleting an unknown project",
        "DELETE",
        lambda w: "/v1/projects/nope",
        404,
        "Project with name nope not found",
    ),
    Case(
        "a project with an empty name",
        "POST",
        lambda w: "/v1/projects",
        422,
        loc=["body", "name"],
        body=lambda w: {"name": ""},
    ),
    Case(
        "an update without a description",
        "PUT",
        lambda w: "/v1/projects/p",
        422,
        loc=["body", "description"],
        body=lambda w: {},
    ),
    # §3.8 annotation configs
    Case(
        "an unknown config",
        "GET",
        lambda w: "/v1/annotation_configs/nope",
        404,
        "Annotation configuration not found",
    ),
    Case(
        "replacing a config by another type's id",
        "PUT",
        lambda w: f"/v1/annotation_configs/{to_global_id('Project', 1)}",
        400,
        f"Invalid annotation configuration ID: {to_global_id('Project', 1)}",
        body=lambda w: {"name": "q", "type": "FREEFORM"},
    ),
    Case(
        "replacing a config by a name",
        "PUT",
        lambda w: "/v1/annotation_configs/correctness",
        422,
        "Invalid annotation configuration ID: correctness",
        body=lambda w: {"name": "q", "type": "FREEFORM"},
    ),
    Case(
        "replacing a missing config",
        "PUT",
        lambda w: f"/v1/annotation_configs/{MISSING_CONFIG}",
        404,
        "Annotation configuration not found",
        body=lambda w: {"name": "q", "type": "FREEFORM"},
    ),
    Case(
        "a config named note",
        "POST",
        lambda w: "/v1/annotation_configs",
        409,
        "The name 'note' is reserved for trace and span notes and cannot be used for annotation configs.",
        body=lambda w: {"name": "note", "type": "FREEFORM"},
    ),
    Case(
        "renaming a config onto a taken name",
        "PUT",
        lambda w: f"/v1/annotation_configs/{w.config_gid}",
        409,
        "The name of the annotation configuration is already taken",
        body=lambda w: {"name": "user_feedback", "type": "FREEFORM"},
    ),
    Case(
        "assigning a config to an unknown project",
        "PUT",
        lambda w: f"/v1/projects/nope/annotation_configs/{w.config_gid}",
        404,
        "Project with name nope not found",
    ),
    Case(
        "assigning an unknown config",
        "PUT",
        lambda w: "/v1/projects/p/annotation_configs/nope",
        404,
        "Annotation configuration not found",
    ),
    Case(
        "unassigning an unknown config",
        "DELETE",
        lambda w: f"/v1/projects/p/annotation_configs/{MISSING_CONFIG}",
        404,
        "Annotation configuration not found",
    ),
    Case(
        "setting a project's configs with a bad id",
        "PUT",
        lambda w: "/v1/projects/p/annotation_configs",
        422,
        "Invalid annotation configuration ID: @@",
        body=lambda w: {"annotation_config_ids": ["@@"]},
    ),
    Case(
        "configs of an unknown project",
        "GET",
        lambda w: "/v1/projects/nope/annotation_configs",
        404,
        "Project with name nope not found",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_phoenix_statuses_and_texts(api, world, case):
    body = json.dumps(case.body(world)) if case.body else b""

    response = api.generic(case.method, case.url(world), body, content_type="application/json")

    assert response.status_code == case.status, response.content[:300]
    if case.loc is not None:
        assert response.json()["detail"][0]["loc"] == case.loc
    else:
        assert (response.content.decode(), response["Content-Type"]) == (
            case.text,
            "text/plain; charset=utf-8",
        )


def test_a_note_with_an_identifier_replaces_that_note(api, world):
    body = {"data": {"span_id": world.span.span_id, "note": "first", "identifier": "mine"}}

    first = api.post("/v1/span_notes", body).json()
    second = api.post("/v1/span_notes", {"data": {**body["data"], "note": "second"}}).json()

    assert first == second
    assert list(SpanAnnotation.objects.filter(name="note").values_list("identifier", "explanation")) == [
        ("mine", "second")
    ]


def test_listing_by_identifier_alone_is_never_a_404(api, world):
    response = api.get("/v1/projects/p/span_annotations?identifier=nothing-has-this")

    assert response.json() == {"data": [], "next_cursor": None}


def test_a_delete_that_matches_nothing_is_still_a_204(api, world):
    response = api.delete("/v1/projects/p/span_annotations?delete_all=true&name=nothing-has-this")

    assert response.status_code == 204
    assert SpanAnnotation.objects.count() == 1


def test_a_delete_narrows_by_name_identifier_and_annotator_kind(api, world):
    span = world.span
    SpanAnnotationFactory(span=span, name="tone", annotator_kind="LLM")
    SpanAnnotationFactory(span=span, name="tone", identifier="x", annotator_kind="HUMAN")

    api.delete("/v1/projects/p/span_annotations?delete_all=true&name=tone&annotator_kind=LLM")
    api.delete("/v1/projects/p/span_annotations?delete_all=true&identifier=x")

    assert list(SpanAnnotation.objects.values_list("name", flat=True)) == ["correctness"]


def test_non_admins_delete_only_their_own_annotations(keyed_client, world):
    annotator = keyed_client("ANNOTATOR")
    annotator.post(
        "/v1/span_annotations?sync=true",
        {"data": [item("span_id", world.span.span_id, result={"label": "a"})]},
    )
    SpanAnnotationFactory(span=world.span, name="tone", identifier="someone else", user=UserFactory())

    annotator.delete("/v1/projects/p/span_annotations?delete_all=true")
    remaining = sorted(SpanAnnotation.objects.values_list("identifier", flat=True))
    keyed_client("ADMIN").delete("/v1/projects/p/span_annotations?delete_all=true")

    assert remaining == ["", "someone else"]
    assert not SpanAnnotation.objects.exists()


def test_updating_a_project_with_a_null_description_changes_nothing(api, world):
    api.put("/v1/projects/p", {"description": "kept"})

    response = api.put("/v1/projects/p", {"description": None})

    assert response.json()["data"]["description"] == "kept"
