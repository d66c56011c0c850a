"""OTLP ingestion under per-project access: a key stores spans only in projects its owner may write to,
by the project's name or by the stored trace the spans join; otherwise the whole request is refused. A
project the spans create is their writer's: they become a member of it."""

import pytest
from django.test import Client

from phoenix_annot.accounts.access import visible_projects
from phoenix_annot.accounts.models import ProjectMembership, User
from phoenix_annot.accounts.services import api_key_create
from phoenix_annot.tracing.models import Project, Span
from tests.accounts.factories import ProjectMembershipFactory
from tests.factories import ProjectFactory, SpanFactory, TraceFactory, UserFactory
from tests.ingest.builders import export_request, otlp_span

pytestmark = pytest.mark.django_db


def send(user: User, *spans, project: str) -> tuple[int, str]:
    _key, raw = api_key_create(user=user, name="exporter")
    body = export_request(*spans, resource={"openinference.project.name": project}).SerializeToString()
    response = Client().post(
        "/v1/traces", data=body, content_type="application/x-protobuf", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    return response.status_code, response.content.decode(errors="replace")


def test_a_member_stores_spans_in_their_own_project(member):
    assert send(member, otlp_span(trace_id=1, span_id=1), project="mine")[0] == 200
    assert Span.objects.get().trace.project.name == "mine"


@pytest.mark.parametrize("project", ["hidden", "watched"])
def test_spans_for_a_hidden_or_viewed_only_project_are_refused_whole_with_a_403_naming_it(member, project):
    status, text = send(member, otlp_span(trace_id=1, span_id=1), project=project)

    assert status == 403
    assert f"may not write spans to project '{project}'" in text
    assert "nothing was stored" in text
    assert not Span.objects.exists()


def test_spans_joining_a_stored_trace_of_a_hidden_project_are_refused_under_any_project_name(member):
    hidden_trace = TraceFactory(project__name="elsewhere", trace_id=f"{7:032x}")
    SpanFactory(trace=hidden_trace, span_id=f"{70:016x}")

    status, text = send(member, otlp_span(trace_id=7, span_id=71, parent_id=70), project="mine")

    assert (status, "'elsewhere'" in text) == (403, True)
    assert Span.objects.count() == 1


def test_a_batch_with_one_refused_project_stores_nothing_of_the_allowed_one(member):
    hidden_trace = TraceFactory(project__name="elsewhere", trace_id=f"{7:032x}")

    status, _text = send(
        member, otlp_span(trace_id=1, span_id=1), otlp_span(trace_id=7, span_id=2), project="mine"
    )

    assert status == 403
    assert not Span.objects.exclude(trace=hidden_trace).exists()


def test_a_members_spans_naming_a_new_project_create_it_and_make_them_a_member_of_it_with_their_role(member):
    status, _text = send(member, otlp_span(trace_id=1, span_id=1), project="brand-new")

    assert status == 200
    assert Span.objects.get().project.name == "brand-new"
    membership = ProjectMembership.objects.get(project__name="brand-new")
    assert (membership.user, membership.role) == (member, User.Role.ANNOTATOR)
    assert "brand-new" in visible_projects(member).values_list("name", flat=True)


def test_a_refused_batch_naming_a_new_project_leaves_neither_the_project_nor_a_membership(member):
    TraceFactory(project__name="elsewhere", trace_id=f"{7:032x}")

    status, text = send(
        member, otlp_span(trace_id=1, span_id=1), otlp_span(trace_id=7, span_id=2), project="brand-new"
    )

    assert (status, "'elsewhere'" in text) == (403, True)
    assert not Project.objects.filter(name="brand-new").exists()
    assert not ProjectMembership.objects.filter(user=member).exclude(project__name__in=["mine", "watched"])


@pytest.mark.parametrize("role", [User.Role.ANNOTATOR, User.Role.ADMIN])
def test_a_new_project_gives_no_membership_to_an_admin_nor_while_no_membership_exists(role):
    writer = UserFactory(role=role)
    if role == User.Role.ADMIN:
        ProjectMembershipFactory()

    assert send(writer, otlp_span(trace_id=1, span_id=1), project="brand-new")[0] == 200
    assert not ProjectMembership.objects.filter(user=writer).exists()


def test_a_global_admin_stores_spans_in_any_project_and_creates_new_ones(member):
    admin = UserFactory(role=User.Role.ADMIN)

    assert send(admin, otlp_span(trace_id=1, span_id=1), project="hidden")[0] == 200
    assert send(admin, otlp_span(trace_id=2, span_id=2), project="brand-new")[0] == 200
    assert Span.objects.count() == 2


def test_without_memberships_any_annotator_key_stores_spans_in_any_project_as_before():
    ProjectFactory(name="someone-elses")

    assert (
        send(
            UserFactory(role=User.Role.ANNOTATOR), otlp_span(trace_id=1, span_id=1), project="someone-elses"
        )[0]
        == 200
    )
