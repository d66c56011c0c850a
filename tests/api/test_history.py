"""GET /v1/projects/{id}/annotation_events: the project's annotation history, newest first, in cursor pages,
filtered by target kind, name, user and time; as the OpenAPI document says."""

from datetime import timedelta

import pytest
from django.utils import timezone

from phoenix_annot.annotations.models import AnnotationEvent
from phoenix_annot.core.globalid import to_global_id
from tests.annotations.factories import AnnotationEventFactory
from tests.api.test_openapi import assert_documented, document  # noqa: F401 (a fixture)
from tests.factories import AnnotationConfigFactory, ProjectFactory, SpanFactory, UserFactory

pytestmark = pytest.mark.django_db
ROUTE = "/v1/projects/{identifier}/annotation_events"


def span_writes(api, span, *labels: str) -> None:
    for label in labels:
        body = {
            "data": [
                {
                    "span_id": span.span_id,
                    "name": "correctness",
                    "annotator_kind": "LLM",
                    "result": {"label": label},
                }
            ]
        }
        assert api.post("/v1/span_annotations?sync=true", body).status_code == 200


def test_the_apis_writes_and_deletes_come_back_newest_first_with_their_values(api, document):  # noqa: F811
    span = SpanFactory(trace__project=ProjectFactory(name="p"))
    span_writes(api, span, "correct", "correct", "incorrect")
    api.delete("/v1/projects/p/span_annotations?delete_all=true")

    response = api.get("/v1/projects/p/annotation_events")

    assert response.status_code == 200
    assert_documented(document, ROUTE, "get", response)
    data = response.json()["data"]
    assert [(e["action"], e["via"]) for e in data] == [
        ("delete", "bulk"),
        ("update", "api"),
        ("create", "api"),
    ]
    update = data[1]
    assert update["before"] == {
        "annotator_kind": "LLM",
        "result": {"label": "correct", "score": None, "explanation": None},
        "metadata": {},
    }
    assert update["after"]["result"]["label"] == "incorrect"
    assert (update["target_kind"], update["target_id"], update["name"], update["user_id"]) == (
        "span",
        span.span_id,
        "correctness",
        None,
    )
    assert update["annotation_id"] == to_global_id(
        "SpanAnnotation", AnnotationEvent.objects.first().annotation_pk
    )
    assert data[0]["after"] is None and data[2]["before"] is None


def test_pages_follow_the_cursor_to_the_oldest_event(api):
    span = SpanFactory(trace__project=ProjectFactory(name="p"))
    events = AnnotationEventFactory.create_batch(5, span=span)

    seen, url = [], "/v1/projects/p/annotation_events?limit=2"
    while url:
        body = api.get(url).json()
        seen += [e["id"] for e in body["data"]]
        url = body["next_cursor"] and f"/v1/projects/p/annotation_events?limit=2&cursor={body['next_cursor']}"

    assert seen == [to_global_id("AnnotationEvent", e.pk) for e in reversed(events)]


def test_filters_keep_the_events_of_a_kind_a_name_a_user_and_a_time_range(api):
    span = SpanFactory(trace__project=ProjectFactory(name="p"))
    alice = UserFactory()
    now = timezone.now()
    old = AnnotationEventFactory(span=span, at=now - timedelta(days=2))
    hers = AnnotationEventFactory(span=span, user=alice, name="tone", at=now)
    trace_event = AnnotationEventFactory(span=span, target_kind="trace", target_pk=span.trace.pk, at=now)
    AnnotationEventFactory()  # another project's

    def ids(query: str) -> set[int]:
        response = api.get(f"/v1/projects/p/annotation_events?{query}")
        assert response.status_code == 200, response.content
        return {e["id"] for e in response.json()["data"]}

    gid = lambda *events: {to_global_id("AnnotationEvent", e.pk) for e in events}  # noqa: E731
    assert ids("") == gid(old, hers, trace_event)
    assert ids("target_kind=trace") == gid(trace_event)
    assert ids("name=tone") == gid(hers)
    assert ids(f"user={to_global_id('User', alice.pk)}") == gid(hers)
    since = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"since={since}") == gid(hers, trace_event)
    assert ids(f"until={since}") == gid(old)


@pytest.mark.parametrize(
    ("query", "field"),
    [("target_kind=dataset", "target_kind"), ("user=alice", "user"), ("since=soon", "since")],
)
def test_a_bad_filter_is_a_422_naming_it(api, query, field):
    ProjectFactory(name="p")

    response = api.get(f"/v1/projects/p/annotation_events?{query}")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


def test_an_unknown_project_is_a_404(api):
    assert api.get("/v1/projects/nope/annotation_events").status_code == 404


def test_a_viewer_may_read_the_history(keyed_client):
    ProjectFactory(name="p")

    assert keyed_client("VIEWER").get("/v1/projects/p/annotation_events").status_code == 200


def test_a_bulk_labels_events_name_their_bulk_action_and_other_events_none(api):
    project = ProjectFactory(name="p")
    AnnotationConfigFactory().projects.add(project)
    bulk, single = SpanFactory(trace__project=project), SpanFactory(trace__project=project)
    span_writes(api, single, "correct")
    action = api.post(
        "/v1/projects/p/annotation_bulk_actions",
        {"ids": [bulk.span_id], "name": "correctness", "label": "correct"},
    ).json()["data"]["id"]
    undo = api.post(f"/v1/annotation_bulk_actions/{action}/undo").json()["data"]["id"]

    data = api.get(ROUTE.format(identifier="p")).json()["data"]

    assert [(event["target_id"], event["action"], event["bulk_action_id"]) for event in data] == [
        (bulk.span_id, "delete", undo),
        (bulk.span_id, "create", action),
        (single.span_id, "create", None),
    ]
