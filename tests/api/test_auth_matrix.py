"""Every /v1 route x every kind of caller, with auth on (PHOENIX_COMPAT.md §0.4, §0.6).

No key and a bad key are 401s; viewers read (the span query behind get_spans_dataframe is a POST that
reads) but every other method is a 403; annotators do everything but change or delete projects, change
annotation configs or delete a dataset somebody else created; admins do everything. The same roles as the
pages (tests/web/test_auth_pages.py); whose annotations: tests/annotations/test_ownership_matrix.py.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from phoenix_annot.annotations.bulk import UNDO_DENIED, BulkLabel, annotations_bulk_label
from phoenix_annot.annotations.models import ProjectAnnotationConfig
from phoenix_annot.api.auth import ADMIN_ONLY, DATASET_DELETE_DENIED, VIEWER_WRITE_DENIED
from phoenix_annot.api.errors import MISSING_KEY
from phoenix_annot.api.views.datasets import SPLIT_DELETE_DENIED
from phoenix_annot.api.views.queues import QUEUE_CHANGE_DENIED
from phoenix_annot.core.globalid import from_global_id, to_global_id
from phoenix_annot.corrections.services import NOT_YOURS as CORRECTION_NOT_YOURS
from phoenix_annot.queues.models import QueueItem
from phoenix_annot.tracing.models import Span
from tests.api.conftest import V1Client, World, client_for_role
from tests.api.routes import v1_routes
from tests.corrections.factories import CorrectionFactory
from tests.factories import DatasetSplitFactory
from tests.ingest.builders import export_request, otlp_span
from tests.queues.factories import QueueItemFactory, QueueRuleFactory

pytestmark = pytest.mark.django_db

ADMIN_ROUTES = {
    ("PUT", "/v1/projects/{identifier}"),
    ("DELETE", "/v1/projects/{identifier}"),
    ("POST", "/v1/annotation_configs"),
    ("PUT", "/v1/annotation_configs/{identifier}"),
    ("DELETE", "/v1/annotation_configs/{identifier}"),
    ("PUT", "/v1/projects/{identifier}/annotation_configs"),
    ("PUT", "/v1/projects/{identifier}/annotation_configs/{config_identifier}"),
    ("DELETE", "/v1/projects/{identifier}/annotation_configs/{config_identifier}"),
}
READ_ONLY_POSTS = {("POST", "/v1/spans")}


@dataclass(frozen=True)
class Call:
    method: str
    route: str
    url: Callable[[World], str]
    body: Callable[[World], Any] | None = None
    content_type: str = "application/json"

    def send(self, client: V1Client, world: World):
        body = self.body(world) if self.body else None
        return client.generic(self.method, self.url(world), body or b"", content_type=self.content_type)

    def __str__(self) -> str:
        return f"{self.method} {self.route}"


def json_body(value: Callable[[World], Any]) -> Callable[[World], bytes]:
    return lambda w: json.dumps(value(w)).encode()


def annotation(key: str, value: str) -> dict[str, Any]:
    return {key: value, "name": "tone", "annotator_kind": "HUMAN", "result": {"label": "fine"}}


LOGGED_SPAN = {
    "name": "logged",
    "context": {"trace_id": "c" * 32, "span_id": "c" * 16},
    "start_time": "2026-01-01T00:00:00+00:00",
    "end_time": "2026-01-01T00:00:01+00:00",
}
CONFIG = {"name": "quality", "type": "CONTINUOUS", "lower_bound": 0, "upper_bound": 1}
P = "/v1/projects/{identifier}"
DS = "/v1/datasets/{dataset_id}"
AQ = "/v1/annotation_queues/{queue_id}"
AQ_ITEM = f"{AQ}/items/{{item_id}}"
AQ_RULE = "/v1/annotation_queue_rules/{rule_id}"
# A queue created by nobody in particular: only admins change or delete it, or save its rules.
QUEUE_CHANGES = {
    ("PATCH", AQ),
    ("DELETE", AQ),
    ("POST", f"{AQ}/rules"),
    ("PATCH", AQ_RULE),
    ("DELETE", AQ_RULE),
}


def queue_item(world: World) -> QueueItem:
    """The world's span as the item of a review queue of its project, made on first use."""
    return QueueItem.objects.filter(span=world.span).first() or QueueItemFactory(
        queue__project=world.project, span=world.span
    )


def queue_path(world: World, rest: str = "") -> str:
    return f"/v1/annotation_queues/{to_global_id('AnnotationQueue', queue_item(world).queue_id)}{rest}"


def rule_path(world: World) -> str:
    rule = QueueRuleFactory(queue_id=queue_item(world).queue_id)
    return f"/v1/annotation_queue_rules/{to_global_id('AnnotationQueueRule', rule.pk)}"


def item_path(action: str) -> Callable[[World], str]:
    return lambda w: queue_path(w, f"/items/{to_global_id('AnnotationQueueItem', queue_item(w).pk)}/{action}")


BULK_UNDO = "/v1/annotation_bulk_actions/{action_id}/undo"


def bulk_label_body(world: World) -> dict[str, Any]:
    """A label of the world's span under the world's config, which this assigns to its project."""
    ProjectAnnotationConfig.objects.get_or_create(
        project=world.project, annotation_config_id=from_global_id(world.config_gid)[1]
    )
    return {"ids": [world.span.span_id], "name": "correctness", "label": "incorrect"}


def bulk_undo_path(world: World) -> str:
    """The undo of a bulk label made by nobody in particular: only admins may undo it."""
    body = bulk_label_body(world)
    action = annotations_bulk_label(
        project=world.project,
        target_kind="span",
        targets=Span.objects.filter(span_id__in=body["ids"]),
        label=BulkLabel(name=body["name"], label=body["label"]),
        user=None,
    )
    return f"/v1/annotation_bulk_actions/{to_global_id('AnnotationBulkAction', action.pk)}/undo"


CORRECTION = "/v1/corrections/{correction_id}"
# A correction of the world's span owned by nobody in particular: only admins change or delete it.
CORRECTION_CHANGES = {("PATCH", CORRECTION), ("DELETE", CORRECTION)}


def correction_path(world: World) -> str:
    correction = CorrectionFactory(span=world.span, user=None)
    return f"/v1/corrections/{to_global_id('Correction', correction.pk)}"


SPLITS = "/v1/datasets/{dataset_identifier}/splits"
SPLIT = f"{SPLITS}/{{split_id}}"


def new_split(world: World) -> str:
    """The address of a split nobody in particular made, so that only admins may delete it."""
    return f"/v1/datasets/{world.dataset_gid}/splits/{to_global_id('DatasetSplit', DatasetSplitFactory().pk)}"


CALLS = [
    Call("GET", "/v1/projects", lambda w: "/v1/projects"),
    Call("POST", "/v1/projects", lambda w: "/v1/projects", json_body(lambda w: {"name": "new"})),
    Call("GET", P, lambda w: "/v1/projects/p"),
    Call("PUT", P, lambda w: "/v1/projects/p", json_body(lambda w: {"description": "d"})),
    Call("DELETE", P, lambda w: "/v1/projects/p"),
    Call("GET", f"{P}/spans", lambda w: "/v1/projects/p/spans"),
    Call("GET", f"{P}/annotation_events", lambda w: "/v1/projects/p/annotation_events"),
    Call(
        "POST",
        f"{P}/annotation_bulk_actions",
        lambda w: "/v1/projects/p/annotation_bulk_actions",
        json_body(bulk_label_body),
    ),
    Call("POST", BULK_UNDO, bulk_undo_path),
    Call(
        "GET", f"{P}/annotation_agreement", lambda w: "/v1/projects/p/annotation_agreement?annotation=quality"
    ),
    Call("GET", f"{P}/judge_alignment", lambda w: "/v1/projects/p/judge_alignment?annotation=correctness"),
    Call(
        "POST", f"{P}/spans", lambda w: "/v1/projects/p/spans", json_body(lambda w: {"data": [LOGGED_SPAN]})
    ),
    Call("GET", f"{P}/traces", lambda w: "/v1/projects/p/traces?include_spans=true"),
    Call(
        "GET", f"{P}/span_annotations", lambda w: f"/v1/projects/p/span_annotations?span_ids={w.span.span_id}"
    ),
    Call("DELETE", f"{P}/span_annotations", lambda w: "/v1/projects/p/span_annotations?delete_all=true"),
    Call(
        "GET",
        f"{P}/trace_annotations",
        lambda w: f"/v1/projects/p/trace_annotations?trace_ids={w.trace.trace_id}",
    ),
    Call("DELETE", f"{P}/trace_annotations", lambda w: "/v1/projects/p/trace_annotations?delete_all=true"),
    Call("GET", f"{P}/sessions", lambda w: "/v1/projects/p/sessions"),
    Call("GET", "/v1/sessions/{identifier}", lambda w: f"/v1/sessions/{w.session.session_id}"),
    Call("DELETE", "/v1/sessions/{identifier}", lambda w: f"/v1/sessions/{w.session.session_id}"),
    Call(
        "POST",
        "/v1/sessions/delete",
        lambda w: "/v1/sessions/delete",
        json_body(lambda w: {"session_identifiers": [w.session.session_id]}),
    ),
    Call(
        "GET",
        f"{P}/session_annotations",
        lambda w: f"/v1/projects/p/session_annotations?session_ids={w.session.session_id}",
    ),
    Call(
        "DELETE", f"{P}/session_annotations", lambda w: "/v1/projects/p/session_annotations?delete_all=true"
    ),
    Call(
        "GET",
        f"{P}/document_annotations",
        lambda w: f"/v1/projects/p/document_annotations?span_ids={w.span.span_id}",
    ),
    Call(
        "DELETE", f"{P}/document_annotations", lambda w: "/v1/projects/p/document_annotations?delete_all=true"
    ),
    Call("GET", f"{P}/annotation_configs", lambda w: "/v1/projects/p/annotation_configs"),
    Call(
        "PUT",
        f"{P}/annotation_configs",
        lambda w: "/v1/projects/p/annotation_configs",
        json_body(lambda w: {"annotation_config_ids": [w.config_gid]}),
    ),
    Call(
        "PUT",
        f"{P}/annotation_configs/{{config_identifier}}",
        lambda w: f"/v1/projects/p/annotation_configs/{w.config_gid}",
    ),
    Call(
        "DELETE",
        f"{P}/annotation_configs/{{config_identifier}}",
        lambda w: f"/v1/projects/p/annotation_configs/{w.config_gid}",
    ),
    Call("POST", "/v1/spans", lambda w: "/v1/spans?project_name=p", json_body(lambda w: {"queries": [{}]})),
    Call("DELETE", "/v1/spans/{identifier}", lambda w: f"/v1/spans/{w.span.span_id}"),
    Call(
        "POST",
        "/v1/span_annotations",
        lambda w: "/v1/span_annotations?sync=true",
        json_body(lambda w: {"data": [annotation("span_id", w.span.span_id)]}),
    ),
    Call(
        "POST",
        "/v1/trace_annotations",
        lambda w: "/v1/trace_annotations?sync=true",
        json_body(lambda w: {"data": [annotation("trace_id", w.trace.trace_id)]}),
    ),
    Call(
        "POST",
        "/v1/session_annotations",
        lambda w: "/v1/session_annotations?sync=true",
        json_body(lambda w: {"data": [annotation("session_id", w.session.session_id)]}),
    ),
    Call(
        "POST",
        "/v1/document_annotations",
        # A span not stored yet: the annotation waits, whoever may write it.
        lambda w: "/v1/document_annotations",
        json_body(lambda w: {"data": [{**annotation("span_id", "d" * 16), "document_position": 0}]}),
    ),
    Call(
        "POST",
        "/v1/session_notes",
        lambda w: "/v1/session_notes",
        json_body(lambda w: {"data": {"session_id": w.session.session_id, "note": "n"}}),
    ),
    Call(
        "POST",
        "/v1/span_notes",
        lambda w: "/v1/span_notes",
        json_body(lambda w: {"data": {"span_id": w.span.span_id, "note": "n"}}),
    ),
    Call(
        "POST",
        "/v1/trace_notes",
        lambda w: "/v1/trace_notes",
        json_body(lambda w: {"data": {"trace_id": w.span.trace.trace_id, "note": "n"}}),
    ),
    Call(
        "POST",
        "/v1/corrections",
        lambda w: "/v1/corrections",
        json_body(lambda w: {"data": [{"span_id": w.span.span_id, "output": "Better."}]}),
    ),
    Call("GET", f"{P}/corrections", lambda w: "/v1/projects/p/corrections"),
    Call("GET", f"{P}/correction_events", lambda w: "/v1/projects/p/correction_events"),
    Call("GET", CORRECTION, correction_path),
    Call("PATCH", CORRECTION, correction_path, json_body(lambda w: {"output": "Better."})),
    Call("DELETE", CORRECTION, correction_path),
    Call("GET", "/v1/annotation_configs", lambda w: "/v1/annotation_configs"),
    Call("POST", "/v1/annotation_configs", lambda w: "/v1/annotation_configs", json_body(lambda w: CONFIG)),
    Call("GET", "/v1/annotation_configs/{identifier}", lambda w: f"/v1/annotation_configs/{w.config_gid}"),
    Call(
        "PUT",
        "/v1/annotation_configs/{identifier}",
        lambda w: f"/v1/annotation_configs/{w.config_gid}",
        json_body(lambda w: CONFIG),
    ),
    Call("DELETE", "/v1/annotation_configs/{identifier}", lambda w: f"/v1/annotation_configs/{w.config_gid}"),
    Call("GET", "/v1/datasets", lambda w: "/v1/datasets"),
    Call(
        "POST",
        "/v1/datasets/upload",
        lambda w: "/v1/datasets/upload?sync=true",
        json_body(lambda w: {"action": "update", "name": "other", "inputs": [{"q": "a"}]}),
    ),
    Call("GET", DS, lambda w: f"/v1/datasets/{w.dataset_gid}"),
    Call("DELETE", DS, lambda w: f"/v1/datasets/{w.dataset_gid}"),
    Call("GET", f"{DS}/versions", lambda w: f"/v1/datasets/{w.dataset_gid}/versions"),
    Call("GET", f"{DS}/examples", lambda w: f"/v1/datasets/{w.dataset_gid}/examples"),
    Call("GET", f"{DS}/csv", lambda w: f"/v1/datasets/{w.dataset_gid}/csv"),
    Call("GET", "/v1/annotation_queues", lambda w: "/v1/annotation_queues"),
    Call(
        "POST",
        "/v1/annotation_queues",
        lambda w: "/v1/annotation_queues",
        json_body(lambda w: {"project": "p", "name": "new"}),
    ),
    Call("GET", AQ, queue_path),
    Call("PATCH", AQ, queue_path, json_body(lambda w: {"instructions": "Check the sources."})),
    Call("DELETE", AQ, queue_path),
    Call("GET", f"{AQ}/items", lambda w: queue_path(w, "/items")),
    Call(
        "POST",
        f"{AQ}/items",
        lambda w: queue_path(w, "/items"),
        json_body(lambda w: {"span_ids": [w.span.span_id]}),
    ),
    Call("GET", f"{AQ}/rules", lambda w: queue_path(w, "/rules")),
    Call("POST", f"{AQ}/rules", lambda w: queue_path(w, "/rules"), json_body(lambda w: {"filter": {}})),
    Call("GET", AQ_RULE, rule_path),
    Call("PATCH", AQ_RULE, rule_path, json_body(lambda w: {"sampling_percent": 10})),
    Call("DELETE", AQ_RULE, rule_path),
    Call("POST", f"{AQ}/next", lambda w: queue_path(w, "/next")),
    Call("POST", f"{AQ_ITEM}/submit", item_path("submit"), json_body(lambda w: {"data": []})),
    Call("POST", f"{AQ_ITEM}/skip", item_path("skip"), json_body(lambda w: {"reason": "not English"})),
    Call("POST", f"{AQ_ITEM}/release", item_path("release")),
    Call("GET", SPLITS, lambda w: f"/v1/datasets/{w.dataset_gid}/splits"),
    Call(
        "POST", SPLITS, lambda w: f"/v1/datasets/{w.dataset_gid}/splits", json_body(lambda w: {"name": "val"})
    ),
    Call("PATCH", SPLIT, new_split, json_body(lambda w: {"description": "held out"})),
    Call("DELETE", SPLIT, new_split),
    Call("GET", f"{DS}/jsonl", lambda w: f"/v1/datasets/{w.dataset_gid}/jsonl"),
    Call("GET", f"{DS}/jsonl/openai_ft", lambda w: f"/v1/datasets/{w.dataset_gid}/jsonl/openai_ft"),
    Call("GET", f"{DS}/jsonl/openai_evals", lambda w: f"/v1/datasets/{w.dataset_gid}/jsonl/openai_evals"),
    Call(
        "POST",
        "/v1/traces",
        lambda w: "/v1/traces",
        lambda w: export_request(
            otlp_span(trace_id=99, span_id=99), resource={"openinference.project.name": w.project.name}
        ).SerializeToString(),
        content_type="application/x-protobuf",
    ),
]


def test_the_table_names_every_v1_route_and_method():
    assert {(call.method, call.route) for call in CALLS} == v1_routes()


def expected(call: Call, caller: str) -> tuple[int, str | None]:
    """The status (2 = any 2xx) and plain-text body a caller gets."""
    if caller == "no key":
        return 401, MISSING_KEY
    if caller == "bad key":
        return 401, "Invalid token"
    if caller == "VIEWER" and call.method != "GET" and (call.method, call.route) not in READ_ONLY_POSTS:
        return 403, VIEWER_WRITE_DENIED
    if caller == "ANNOTATOR" and (call.method, call.route) in ADMIN_ROUTES:
        return 403, ADMIN_ONLY
    if caller == "ANNOTATOR" and (call.method, call.route) == ("DELETE", DS):
        # The world's dataset was created by nobody in particular: only admins delete it.
        return 403, DATASET_DELETE_DENIED
    if caller == "ANNOTATOR" and (call.method, call.route) in QUEUE_CHANGES:
        return 403, QUEUE_CHANGE_DENIED
    if caller == "ANNOTATOR" and (call.method, call.route) == ("DELETE", SPLIT):
        return 403, SPLIT_DELETE_DENIED
    if caller == "ANNOTATOR" and (call.method, call.route) == ("POST", BULK_UNDO):
        return 403, UNDO_DENIED
    if caller == "ANNOTATOR" and (call.method, call.route) in CORRECTION_CHANGES:
        return 403, CORRECTION_NOT_YOURS.format(owner="no user")
    return 2, None


def caller_client(caller: str) -> V1Client:
    if caller == "no key":
        return V1Client()
    if caller == "bad key":
        return V1Client(HTTP_AUTHORIZATION="Bearer not-a-key")
    return client_for_role(caller)


@pytest.mark.parametrize("caller", ["no key", "bad key", "VIEWER", "ANNOTATOR", "ADMIN"])
@pytest.mark.parametrize("call", CALLS, ids=str)
def test_each_caller_gets_what_its_role_allows(call, caller, world, settings):
    settings.V1_AUTH_REQUIRED = True

    response = call.send(caller_client(caller), world)

    status, text = expected(call, caller)
    if status == 2:
        assert 200 <= response.status_code < 300, response.content[:500]
        return
    assert (response.status_code, response.content.decode()) == (status, text)
    assert response["Content-Type"].startswith("text/plain")
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_legacy_api_key_header_is_accepted(world, settings):
    settings.V1_AUTH_REQUIRED = True
    key_client = client_for_role("ANNOTATOR")
    raw = key_client.defaults["HTTP_AUTHORIZATION"].removeprefix("Bearer ")

    response = V1Client(HTTP_API_KEY=raw).get("/v1/projects")

    assert response.status_code == 200
