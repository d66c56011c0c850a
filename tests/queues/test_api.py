"""/v1/annotation_queues: queues, items, next / submit / skip / release, as a client sees them."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from phoenix_annot.accounts.services import api_key_create
from phoenix_annot.annotations.models import SpanAnnotation, reviewer_identifier
from phoenix_annot.api.views.queues import QUEUE_CHANGE_DENIED
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.queues.models import AnnotationQueue, QueueItem, QueueReview
from phoenix_annot.queues.services import QueueConfigChoice, annotation_queue_update
from tests.api.conftest import V1Client
from tests.api.test_openapi import assert_documented
from tests.factories import AnnotationConfigFactory, ProjectFactory, SpanFactory, UserFactory
from tests.queues.factories import AnnotationQueueFactory, QueueItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth_on(settings):
    settings.V1_AUTH_REQUIRED = True


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return Client().get("/openapi.json").json()


def client_of(user) -> V1Client:
    _key, raw = api_key_create(user=user, name="key")
    return V1Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


def queue_url(queue: AnnotationQueue, rest: str = "") -> str:
    return f"/v1/annotation_queues/{gid('AnnotationQueue', queue.pk)}{rest}"


def item_url(item: QueueItem, action: str) -> str:
    return queue_url(item.queue, f"/items/{gid('AnnotationQueueItem', item.pk)}/{action}")


def reviewed_queue(items: int = 2, **fields) -> tuple[AnnotationQueue, list[QueueItem]]:
    queue = AnnotationQueueFactory(**fields)
    annotation_queue_update(
        queue=queue, configs=[QueueConfigChoice(AnnotationConfigFactory(name="correctness"), required=True)]
    )
    return queue, [QueueItemFactory(queue=queue) for _ in range(items)]


CORRECT = {"data": [{"name": "correctness", "result": {"label": "correct"}}]}


# --- queues ------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("auth_on")
def test_a_queue_created_over_rest_reads_back_with_its_settings_and_item_counts(document):
    creator = UserFactory()
    ProjectFactory(name="support")
    AnnotationConfigFactory(name="correctness")
    client = client_of(creator)

    created = client.post(
        "/v1/annotation_queues",
        {
            "project": "support",
            "name": "Weekly triage",
            "instructions": "Read the **whole** answer.",
            "reviewers_per_item": 2,
            "assignment": "NAMED_REVIEWERS",
            "reviewers": [creator.username],
            "annotation_configs": [{"id": "correctness", "required": True}],
        },
    )

    assert created.status_code == 200, created.content
    assert_documented(document, "/v1/annotation_queues", "post", created)
    data = created.json()["data"]
    assert (data["name"], data["reviewers_per_item"], data["assignment"]) == (
        "Weekly triage",
        2,
        "NAMED_REVIEWERS",
    )
    assert data["reviewers"] == [gid("User", creator.pk)] and data["user_id"] == gid("User", creator.pk)
    assert [(c["name"], c["required"]) for c in data["annotation_configs"]] == [("correctness", True)]
    read = client.get(f"/v1/annotation_queues/{data['id']}")
    assert_documented(document, "/v1/annotation_queues/{queue_id}", "get", read)
    assert read.json()["data"]["item_counts"] == {"pending": 0, "in_review": 0, "done": 0, "skipped": 0}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"reviewers_per_item": 11}, ["body", "reviewers_per_item"]),
        ({"reservation_timeout_seconds": 1}, ["body", "reservation_timeout_seconds"]),
        ({"annotation_configs": [{"id": "nope"}]}, ["body", "annotation_configs", 0, "id"]),
        ({"reviewers": ["nobody"]}, ["body", "reviewers", 0]),
        ({"assignment": "EVERYONE"}, ["body", "assignment"]),
        ({"name": ""}, ["body", "name"]),
    ],
)
def test_a_bad_setting_is_a_422_naming_its_field_and_creates_nothing(api, body, loc):
    ProjectFactory(name="support")

    response = api.post("/v1/annotation_queues", {"project": "support", "name": "q", **body})

    assert response.status_code == 422, response.content
    assert [item["loc"] for item in response.json()["detail"]] == [loc]
    assert not AnnotationQueue.objects.exists()


def test_a_taken_name_is_a_409_and_an_unknown_project_a_404(api):
    queue = AnnotationQueueFactory(name="triage")

    taken = api.post("/v1/annotation_queues", {"project": queue.project.name, "name": "triage"})
    unknown = api.post("/v1/annotation_queues", {"project": "elsewhere", "name": "triage"})

    assert (taken.status_code, taken.content.decode()) == (
        409,
        "The project already has a queue named 'triage'.",
    )
    assert (unknown.status_code, unknown.content.decode()) == (404, "Project with name elsewhere not found")


def test_queues_list_newest_first_by_project_and_page_by_cursor(api, document):
    mine = [AnnotationQueueFactory(project__name="support") for _ in range(3)]
    AnnotationQueueFactory(project__name="other")

    first = api.get("/v1/annotation_queues?project=support&limit=2")
    second = api.get(f"/v1/annotation_queues?project=support&limit=2&cursor={first.json()['next_cursor']}")

    assert_documented(document, "/v1/annotation_queues", "get", first)
    ids = [row["id"] for row in first.json()["data"] + second.json()["data"]]
    assert ids == [gid("AnnotationQueue", queue.pk) for queue in reversed(mine)]
    assert second.json()["next_cursor"] is None


@pytest.mark.usefixtures("auth_on")
def test_only_its_creator_or_an_admin_changes_or_deletes_a_queue(document):
    creator = UserFactory()
    queue = AnnotationQueueFactory(user=creator)

    refused = client_of(UserFactory()).patch(
        queue_url(queue), {"blind": True}, content_type="application/json"
    )
    changed = client_of(creator).patch(queue_url(queue), {"blind": True}, content_type="application/json")
    deleted = client_of(UserFactory(role="ADMIN")).delete(queue_url(queue))

    assert (refused.status_code, refused.content.decode()) == (403, QUEUE_CHANGE_DENIED)
    assert changed.status_code == 200 and changed.json()["data"]["blind"] is True
    assert_documented(document, "/v1/annotation_queues/{queue_id}", "patch", changed)
    assert deleted.status_code == 204
    assert not AnnotationQueue.objects.exists()


def test_a_queue_id_of_another_type_or_no_queue_is_a_404(api):
    response = api.get(f"/v1/annotation_queues/{gid('Project', 1)}")

    assert (response.status_code, response.content.decode()) == (
        404,
        f"Annotation queue with ID {gid('Project', 1)} not found",
    )


# --- items -------------------------------------------------------------------------------------------------


def test_spans_are_added_by_id_once_and_unknown_ids_add_nothing(api, document):
    queue = AnnotationQueueFactory(project__name="support")
    spans = SpanFactory.create_batch(2, trace__project=queue.project)
    ids = [span.span_id for span in spans]

    first = api.post(queue_url(queue, "/items"), {"span_ids": ids[:1]})
    again = api.post(queue_url(queue, "/items"), {"span_ids": ids})
    missing = api.post(queue_url(queue, "/items"), {"span_ids": ["f" * 16]})

    assert_documented(document, "/v1/annotation_queues/{queue_id}/items", "post", first)
    assert (first.json()["data"], again.json()["data"]) == (
        {"added": 1, "already": 0},
        {"added": 1, "already": 1},
    )
    assert (missing.status_code, missing.content.decode()) == (
        404,
        f"Spans with IDs {'f' * 16} do not exist in project support.",
    )
    assert QueueItem.objects.count() == 2


def test_all_spans_matching_a_filter_are_added_and_listed_with_their_state(api, document):
    queue = AnnotationQueueFactory()
    llm = SpanFactory.create_batch(2, trace__project=queue.project, span_kind="LLM")
    SpanFactory(trace__project=queue.project, span_kind="TOOL")

    added = api.post(queue_url(queue, "/items"), {"filter": {"span_kind": ["LLM"], "root": True}})
    listed = api.get(queue_url(queue, "/items?state=pending"))

    assert added.json()["data"] == {"added": 2, "already": 0}
    assert_documented(document, "/v1/annotation_queues/{queue_id}/items", "get", listed)
    rows = listed.json()["data"]
    assert [row["span_id"] for row in rows] == [span.span_id for span in reversed(llm)]
    assert {(row["kind"], row["state"], row["trace_id"]) for row in rows} == {("span", "pending", None)}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"filter": {"spankind": "LLM"}}, ["body", "filter", "spankind"]),
        ({"filter": {"latency_min": "fast"}}, ["body", "filter", "latency_min"]),
        ({"filter": {}, "span_ids": []}, ["body"]),
        ({}, ["body"]),
    ],
)
def test_a_filter_or_body_the_queue_cannot_read_is_a_422_naming_the_parameter(api, body, loc):
    queue = AnnotationQueueFactory()

    response = api.post(queue_url(queue, "/items"), body)

    assert response.status_code == 422, response.content
    assert [item["loc"] for item in response.json()["detail"]] == [loc]


# --- reviewing ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("auth_on")
def test_a_reviewer_reserves_submits_and_is_served_the_next_item(document):
    queue, items = reviewed_queue(2)
    reviewer = UserFactory()
    client = client_of(reviewer)

    reserved = client.post(queue_url(queue, "/next"))
    again = client.post(queue_url(queue, "/next"))
    submitted = client.post(item_url(items[0], "submit"), CORRECT)

    assert_documented(document, "/v1/annotation_queues/{queue_id}/next", "post", reserved)
    first = reserved.json()["data"]
    assert first["item"]["span_id"] == items[0].span.span_id and first["item"]["state"] == "in_review"
    assert again.json()["data"]["item"]["id"] == first["item"]["id"]
    assert submitted.status_code == 200, submitted.content
    assert_documented(document, "/v1/annotation_queues/{queue_id}/items/{item_id}/submit", "post", submitted)
    assert submitted.json()["data"]["next"]["item"]["id"] == gid("AnnotationQueueItem", items[1].pk)
    annotation = SpanAnnotation.objects.get()
    assert (annotation.label, annotation.identifier, annotation.source) == (
        "correct",
        reviewer_identifier(reviewer.pk),
        "API",
    )


@pytest.mark.usefixtures("auth_on")
def test_a_refused_submit_says_why_and_writes_nothing():
    _queue, items = reviewed_queue(1, reviewers_per_item=1)
    client = client_of(UserFactory())

    missing = client.post(item_url(items[0], "submit"), {"data": []})
    wrong = client.post(
        item_url(items[0], "submit"), {"data": [{"name": "correctness", "result": {"label": "meh"}}]}
    )
    client.post(item_url(items[0], "submit"), CORRECT)
    twice = client.post(item_url(items[0], "submit"), CORRECT)

    assert (missing.status_code, missing.content.decode()) == (
        400,
        "data: Required and missing: correctness.",
    )
    assert wrong.status_code == 400 and wrong.content.decode().startswith(
        "data[0].label: 'meh' is not a label"
    )
    assert (twice.status_code, twice.content.decode()) == (409, "You have reviewed this item already.")
    assert QueueReview.objects.count() == SpanAnnotation.objects.count() == 1


@pytest.mark.usefixtures("auth_on")
def test_skip_keeps_the_reason_and_release_returns_the_item_to_the_pool(document):
    queue, items = reviewed_queue(2, reviewers_per_item=1)
    client = client_of(UserFactory())
    client.post(queue_url(queue, "/next"))

    skipped = client.post(item_url(items[0], "skip"), {"reason": "not English"})
    released = client.post(item_url(items[1], "release"))
    states = {row["id"]: row["state"] for row in client.get(queue_url(queue, "/items")).json()["data"]}

    assert_documented(document, "/v1/annotation_queues/{queue_id}/items/{item_id}/skip", "post", skipped)
    assert skipped.json()["data"]["next"]["item"]["id"] == gid("AnnotationQueueItem", items[1].pk)
    assert QueueReview.objects.get().skip_reason == "not English"
    assert released.status_code == 204
    assert states == {
        gid("AnnotationQueueItem", items[0].pk): "skipped",
        gid("AnnotationQueueItem", items[1].pk): "pending",
    }


def test_without_a_user_there_is_nobody_to_review(api):
    queue, _items = reviewed_queue(1)

    response = api.post(queue_url(queue, "/next"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.usefixtures("auth_on")
def test_an_annotator_who_is_not_a_named_reviewer_is_refused_with_the_reason():
    queue, _items = reviewed_queue(1, assignment="NAMED_REVIEWERS", name="legal")

    response = client_of(UserFactory()).post(queue_url(queue, "/next"))

    assert (response.status_code, response.content.decode()) == (
        403,
        "Only the named reviewers of queue 'legal' (and admins) review its items.",
    )


def test_an_item_of_another_queue_is_a_404(api):
    item = QueueItemFactory()
    other = AnnotationQueueFactory()

    response = api.post(queue_url(other, f"/items/{gid('AnnotationQueueItem', item.pk)}/release"))

    assert response.status_code == 404


def test_a_page_of_items_costs_the_same_queries_for_two_items_or_fifty(api):
    counts = []
    for size in (2, 50):
        queue = AnnotationQueueFactory()
        for _ in range(size):
            QueueItemFactory(queue=queue)
        with CaptureQueriesContext(connection) as queries:
            response = api.get(queue_url(queue, "/items?limit=100"))
        assert len(response.json()["data"]) == size
        counts.append(len(queries))

    assert counts[0] == counts[1] <= 4
