"""POST /v1/projects/{p}/annotation_bulk_actions and POST /v1/annotation_bulk_actions/{id}/undo: the wire
of annotations/bulk.py (its rules are tested in test_bulk.py)."""

import pytest

from phoenix_annot.accounts.models import User
from phoenix_annot.accounts.services import api_key_create
from phoenix_annot.annotations.models import AnnotationBulkAction, SpanAnnotation, TraceAnnotation
from phoenix_annot.core.globalid import to_global_id
from tests.api.conftest import V1Client
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL = "/v1/projects/bulk/annotation_bulk_actions"


@pytest.fixture
def project(settings):
    settings.V1_AUTH_REQUIRED = True
    project = ProjectFactory(name="bulk")
    AnnotationConfigFactory().projects.add(project)
    return project


def client_of(user: User) -> V1Client:
    _key, raw = api_key_create(user=user, name="key")
    return V1Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def undo_url(action_id: str) -> str:
    return f"/v1/annotation_bulk_actions/{action_id}/undo"


def test_an_annotator_labels_spans_by_id_and_undoes_it(project):
    alice = UserFactory(username="alice")
    spans = [SpanFactory(trace__project=project) for _ in range(2)]
    SpanAnnotationFactory(span=spans[1], label="correct", user=alice, explanation="fine")
    client = client_of(alice)

    response = client.post(
        URL,
        {"ids": [s.span_id for s in spans], "name": "correctness", "label": "incorrect", "explanation": "no"},
    )

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert (data["kind"], data["selected"], data["created"], data["replaced"], data["skipped"]) == (
        "label",
        2,
        1,
        1,
        0,
    )
    assert (data["score"], data["user_id"]) == (0.0, to_global_id("User", alice.pk))
    assert set(SpanAnnotation.objects.values_list("label", "source")) == {("incorrect", "API")}

    undone = client.post(undo_url(data["id"]))

    assert undone.status_code == 200, undone.content
    assert undone.json()["data"]["undoes"] == data["id"]
    assert list(SpanAnnotation.objects.values_list("span_id", "label", "explanation")) == [
        (spans[1].pk, "correct", "fine")
    ]
    again = client.post(undo_url(data["id"]))
    assert again.status_code == 409
    assert "undone already" in again.content.decode()


def test_all_matching_labels_the_traces_of_the_spans_the_query_string_filter_keeps(project):
    AnnotationConfigFactory(name="summary", type="FREEFORM").projects.add(project)
    llm = SpanFactory(trace=TraceFactory(project=project), span_kind="LLM")
    SpanFactory(trace=TraceFactory(project=project), span_kind="TOOL")
    admin = UserFactory(username="root", role=User.Role.ADMIN)

    response = client_of(admin).post(
        f"{URL}?span_kind=LLM",
        {"all_matching": True, "target": "trace", "name": "summary", "explanation": "too long"},
    )

    assert response.status_code == 200, response.content
    assert list(TraceAnnotation.objects.values_list("trace_id", "explanation")) == [
        (llm.trace_id, "too long")
    ]


def test_a_dry_run_counts_whose_values_would_be_replaced_or_skipped_and_writes_nothing(project):
    alice, carol = UserFactory(username="alice"), UserFactory(username="carol")
    spans = [SpanFactory(trace__project=project) for _ in range(3)]
    SpanAnnotationFactory(span=spans[0], label="correct", user=alice)
    SpanAnnotationFactory(span=spans[1], label="correct", user=carol)

    response = client_of(alice).post(
        URL,
        {"ids": [s.span_id for s in spans], "name": "correctness", "label": "incorrect", "dry_run": True},
    )

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert (data["id"], data["created"], data["replaced"], data["skipped"]) == (None, 1, 1, 1)
    assert data["replaced_owners"] == [{"username": "alice", "rows": 1}]
    assert data["skipped_owners"] == [{"username": "carol", "rows": 1}]
    assert not AnnotationBulkAction.objects.exists()
    assert SpanAnnotation.objects.count() == 2


def test_unknown_ids_are_a_404_naming_them_and_nothing_is_written(project):
    span = SpanFactory(trace__project=project)
    elsewhere = SpanFactory()

    response = client_of(UserFactory()).post(
        URL, {"ids": [span.span_id, elsewhere.span_id, "f" * 16], "name": "correctness", "label": "correct"}
    )

    assert response.status_code == 404
    assert response.content.decode() == (
        f"Spans with IDs {elsewhere.span_id}, {'f' * 16} do not exist in project bulk."
    )
    assert not SpanAnnotation.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"label": "maybe"}, "label"),
        ({"label": "correct", "name": "tone"}, "name"),
        ({"label": "correct", "ids": None, "all_matching": False}, "ids"),
    ],
)
def test_a_refused_field_is_a_422_naming_it(project, body, field):
    span = SpanFactory(trace__project=project)
    request = {"ids": [span.span_id], "name": "correctness", **body}
    request = {key: value for key, value in request.items() if value is not None}

    response = client_of(UserFactory()).post(URL, request)

    assert response.status_code == 422, response.content
    locations = [item["loc"] for item in response.json()["detail"]]
    assert ["body", field] in locations
    assert not SpanAnnotation.objects.exists()


def test_undo_after_somebody_changed_a_row_is_a_409_saying_how_many(project):
    admin = UserFactory(username="root", role=User.Role.ADMIN)
    spans = [SpanFactory(trace__project=project) for _ in range(2)]
    client = client_of(admin)
    data = client.post(
        URL, {"ids": [s.span_id for s in spans], "name": "correctness", "label": "incorrect"}
    ).json()["data"]
    SpanAnnotation.objects.filter(span=spans[0]).update(label="correct")

    response = client.post(undo_url(data["id"]))

    assert response.status_code == 409
    assert response.content.decode() == (
        "1 of the 2 annotations this bulk label wrote were changed or deleted since; nothing was undone."
    )
    assert SpanAnnotation.objects.filter(label="incorrect").count() == 1


def test_an_unknown_bulk_action_is_a_404(project):
    response = client_of(UserFactory()).post(undo_url(to_global_id("AnnotationBulkAction", 999)))

    assert response.status_code == 404
    assert "AnnotationBulkAction with ID" in response.content.decode()


def test_options_describes_the_route_without_an_error(project):
    response = client_of(UserFactory()).options(URL)

    assert response.status_code == 200
