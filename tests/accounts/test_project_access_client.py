"""The real arize-phoenix-client with keys of a project's viewer member and of an outsider: a key acts with
its owner's project rights (accounts/access.py); a member's project, created by the client or by the real
OpenTelemetry exporter's spans, is theirs."""

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from phoenix.client import Client

from phoenix_annot.accounts.models import ProjectMembership, User
from phoenix_annot.accounts.services import api_key_create
from phoenix_annot.annotations.models import SpanAnnotation
from phoenix_annot.tracing.models import Project, Span
from tests.accounts.factories import ProjectMembershipFactory
from tests.compat.conftest import PROJECT
from tests.factories import UserFactory
from tests.ingest.test_exporter_end_to_end import send_rag_trace

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def client_of(user: User, url: str) -> Iterator[Client]:
    _key, raw = api_key_create(user=user, name="client")
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {raw}"}) as http_client:
        yield Client(http_client=http_client)


def status_of(call) -> int:
    with pytest.raises(httpx.HTTPStatusError) as refused:
        call()
    return refused.value.response.status_code


def test_a_viewer_member_reads_the_project_and_an_outsider_does_not_see_it(live_server, rag_spans, settings):
    settings.V1_AUTH_REQUIRED = True
    viewer = ProjectMembershipFactory(
        project=Project.objects.get(name=PROJECT), user=UserFactory(), role=ProjectMembership.Role.VIEWER
    ).user
    outsider = ProjectMembershipFactory().user

    def annotate(client: Client) -> None:
        client.spans.add_span_annotation(span_id=rag_spans[0], annotation_name="tone", label="ok", sync=True)

    with client_of(viewer, live_server.url) as member, client_of(outsider, live_server.url) as stranger:
        assert PROJECT in {p["name"] for p in member.projects.list()}
        assert len(member.spans.get_spans(project_identifier=PROJECT, limit=100)) == 9
        assert status_of(lambda: annotate(member)) == 403

        assert PROJECT not in {p["name"] for p in stranger.projects.list()}
        assert status_of(lambda: stranger.spans.get_spans(project_identifier=PROJECT)) == 404
        assert status_of(lambda: annotate(stranger)) == 404
    assert not SpanAnnotation.objects.exists()


def test_a_member_creates_a_project_with_the_client_and_then_reads_it_as_its_member(live_server, settings):
    settings.V1_AUTH_REQUIRED = True
    member = ProjectMembershipFactory(project__name="theirs").user

    with client_of(member, live_server.url) as client:
        created = client.projects.create(name="experiments", description="Prompt trials")
        assert client.projects.get(project_name="experiments") == created
        assert "experiments" in {p["name"] for p in client.projects.list()}
    membership = ProjectMembership.objects.get(project__name="experiments")
    assert (membership.user, membership.role) == (member, ProjectMembership.Role.ANNOTATOR)


def test_a_members_exporter_creates_a_project_with_its_spans_and_the_member_sees_it(live_server, settings):
    settings.V1_AUTH_REQUIRED = True
    member = ProjectMembershipFactory(project__name="theirs").user
    _key, raw = api_key_create(user=member, name="exporter")

    assert send_rag_trace(
        live_server.url, compression=Compression.Gzip, headers={"authorization": f"Bearer {raw}"}
    )

    assert set(Span.objects.values_list("project__name", flat=True)) == {"e2e-rag"}
    with client_of(member, live_server.url) as client:
        assert len(client.spans.get_spans(project_identifier="e2e-rag", limit=10)) == 3
