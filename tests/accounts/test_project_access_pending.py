"""API annotations that waited for their span, trace or session (sync=false) under per-project access: when
the target is ingested, each is applied only if its writer may write, at that moment, to the project the
target landed in; the others stay pending, in the admin's list, until they expire, and are logged."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from phoenix_annot.accounts.models import ProjectMembership, User
from phoenix_annot.accounts.services import api_key_create
from phoenix_annot.annotations.models import (
    PendingAnnotation,
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
)
from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import spans_ingest
from tests.accounts.factories import ProjectMembershipFactory
from tests.api.conftest import V1Client
from tests.factories import ProjectFactory, UserFactory
from tests.ingest.builders import export_request, otlp_span

pytestmark = pytest.mark.django_db

SESSION = "conversation-1"
# The key each kind of annotation names its target by, the first span's target of that kind, and the rows
# the annotations become.
KINDS = {
    "span": ("span_id", f"{1:016x}", SpanAnnotation),
    "trace": ("trace_id", f"{1:032x}", TraceAnnotation),
    "session": ("session_id", SESSION, SessionAnnotation),
}


@pytest.fixture(autouse=True)
def v1_auth_on(settings):
    settings.V1_AUTH_REQUIRED = True


def wait_for(user: User, kind: str, *target_ids: str) -> None:
    """`user`'s key annotates (sync=false) targets of `kind` not stored yet: the first span's by default."""
    key, first, _model = KINDS[kind]
    client = V1Client(HTTP_AUTHORIZATION=f"Bearer {api_key_create(user=user, name='writer')[1]}")
    items = [
        {key: target_id, "name": "correctness", "annotator_kind": "HUMAN", "identifier": user.username}
        | {"result": {"label": "correct"}}
        for target_id in target_ids or [first]
    ]
    response = client.post(f"/v1/{kind}_annotations", {"data": items})
    assert (response.status_code, response.json()) == (200, {"data": []})


def ingest(*span_numbers: int, project: str) -> None:
    """Spans of trace 1 (in session SESSION) into `project`, as any exporter sends them."""
    spans = [
        otlp_span(trace_id=1, span_id=n, attributes={"session.id": SESSION}) for n in span_numbers or [1]
    ]
    spans_ingest(
        records=decode_request(export_request(*spans, resource={"openinference.project.name": project}))
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_members_waiting_annotation_is_applied_when_its_target_lands_in_their_project(member, kind):
    wait_for(member, kind)

    ingest(project="mine")

    assert KINDS[kind][2].objects.get().user == member
    assert not PendingAnnotation.objects.exists()


@pytest.mark.parametrize("project", ["hidden", "watched"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_waiting_annotation_is_not_applied_where_its_writer_may_not_write_and_stays_pending_logged(
    member, kind, project, caplog
):
    wait_for(member, kind)

    ingest(project=project)

    assert not KINDS[kind][2].objects.exists()
    refused = PendingAnnotation.objects.get()
    assert (refused.target, refused.refused_at is not None) == (kind, True)
    assert f"1 pending annotations not applied: their writers ({member.username})" in caplog.text


def test_the_admin_tells_refused_pending_annotations_from_those_still_waiting(member, admin_client):
    wait_for(member, "span", f"{1:016x}", f"{9:016x}")
    ingest(1, project="hidden")

    listed = {
        state: admin_client.get("/admin/annotations/pendingannotation/", {"state": state}).context["cl"]
        for state in ("waiting", "refused")
    }

    assert [row.target_id for row in listed["waiting"].queryset] == [f"{9:016x}"]
    assert [row.target_id for row in listed["refused"].queryset] == [f"{1:016x}"]


def test_a_refused_trace_annotation_is_applied_when_later_spans_of_its_trace_come_once_its_writer_may_write(
    member,
):
    wait_for(member, "trace")
    ingest(1, project="watched")
    ProjectMembership.objects.filter(user=member, project__name="watched").update(
        role=ProjectMembership.Role.ANNOTATOR
    )

    ingest(2, project="watched")

    assert TraceAnnotation.objects.get().user == member
    assert not PendingAnnotation.objects.exists()


def test_only_the_writers_who_may_write_there_get_their_waiting_annotations_applied(member):
    owner = UserFactory(role=User.Role.ANNOTATOR)
    ProjectMembershipFactory(user=owner, project=ProjectFactory(name="theirs"))
    wait_for(member, "span", f"{1:016x}")
    wait_for(owner, "span", f"{2:016x}")

    ingest(1, 2, project="theirs")

    assert SpanAnnotation.objects.get().user == owner
    assert PendingAnnotation.objects.get().user == member


def test_without_memberships_every_writers_waiting_annotation_is_applied_as_before():
    wait_for(UserFactory(role=User.Role.ANNOTATOR), "span")

    ingest(project="anyone's")

    assert SpanAnnotation.objects.exists()


@pytest.mark.parametrize("count", [1, 30])
def test_applying_waiting_annotations_takes_the_same_queries_however_many_wait(member, count):
    other = UserFactory(role=User.Role.ANNOTATOR)
    ProjectMembershipFactory(user=other, project=ProjectFactory(name="theirs"))
    span_ids = [f"{n:016x}" for n in range(1, count + 1)]
    for user in (member, other):
        wait_for(user, "span", *span_ids)
        wait_for(user, "trace")
    spans = [
        otlp_span(trace_id=1, span_id=n, attributes={"session.id": SESSION}) for n in range(1, count + 1)
    ]
    records = list(decode_request(export_request(*spans, resource={"openinference.project.name": "mine"})))

    with CaptureQueriesContext(connection) as queries:
        spans_ingest(records=records)

    assert SpanAnnotation.objects.count() == count
    assert PendingAnnotation.objects.filter(user=other).count() == count + 1
    # On SQLite and PostgreSQL alike: each writer's access is one query, whatever they wrote, and the
    # refused ones are marked in one more.
    assert len(queries) == 49
