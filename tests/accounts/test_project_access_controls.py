"""The write controls of a project's pages follow the visitor's role on that project (accounts/access.py),
not their global role: a viewer member (an annotator globally) sees none, an annotator member all of them."""

from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from phoenix_annot.accounts.models import ProjectMembership, User
from phoenix_annot.queues.models import AnnotationQueue
from phoenix_annot.tracing.models import Project
from tests.accounts.factories import ProjectMembershipFactory
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SessionFactory,
    UserFactory,
    retriever_span,
)
from tests.queues.factories import AnnotationQueueFactory

pytestmark = pytest.mark.django_db

Role = ProjectMembership.Role

# Each page's write controls, by a piece of its HTML.
CONTROLS = {
    "spans": [
        'id="bulk-label-open"',
        'id="add-to-queue"',
        'id="add-rule"',
        'id="add-to-dataset"',
        "row-select",
    ],
    "sessions": ['id="bulk-label-open"', 'id="add-to-queue"', 'id="add-to-dataset"', "row-select"],
    "trace": [
        'data-action="annotate"',
        'id="add-target"',
        'id="panel-span"',
        'id="panel-trace"',
        'id="correction-span',
        "data-document-form",
    ],
    "session": ['data-action="annotate"', 'id="add-target"', 'id="add-session"', 'id="panel-session"'],
    "queues": ["New queue", "Review →"],
    "queue": ['id="start-review"'],
}


@dataclass(frozen=True)
class Place:
    """A project with a retriever span in a session, a queue, and a config for its panels."""

    project: Project
    urls: dict[str, str]


@pytest.fixture
def place() -> Place:
    project = ProjectFactory(name="rag")
    span = retriever_span(project, 2)
    session = SessionFactory(project=project)
    span.trace.session = session
    span.trace.save(update_fields=["session"])
    AnnotationConfigFactory(name="correctness").projects.add(project)
    queue = AnnotationQueueFactory(project=project)
    return Place(
        project=project,
        urls={
            "spans": reverse("web:spans", args=[project.pk]),
            "sessions": reverse("web:sessions", args=[project.pk]),
            "trace": f"{reverse('web:trace', args=[span.trace.trace_id])}?span={span.span_id}",
            "session": reverse("web:session", args=[session.pk]),
            "queues": reverse("web:queues", args=[project.pk]),
            "queue": reverse("web:queue", args=[queue.pk]),
        },
    )


def html_for(user: User, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def member(place: Place, role: str) -> User:
    """An annotator (globally) who is a member of the place's project with `role`."""
    return ProjectMembershipFactory(
        project=place.project, user=UserFactory(role=User.Role.ANNOTATOR), role=role
    ).user


@pytest.mark.parametrize("page", CONTROLS)
def test_a_viewer_member_sees_no_write_control_of_the_projects_pages(place, page):
    html = html_for(member(place, Role.VIEWER), place.urls[page])

    assert [control for control in CONTROLS[page] if control in html] == []


@pytest.mark.parametrize("page", CONTROLS)
def test_an_annotator_member_sees_every_write_control_of_the_projects_pages(place, page):
    html = html_for(member(place, Role.ANNOTATOR), place.urls[page])

    assert [control for control in CONTROLS[page] if control not in html] == []


@pytest.mark.parametrize("page", CONTROLS)
def test_a_global_viewer_sees_no_write_control_while_no_membership_exists(place, page):
    html = html_for(UserFactory(role=User.Role.VIEWER), place.urls[page])

    assert [control for control in CONTROLS[page] if control in html] == []


def test_a_queues_creator_who_became_a_viewer_member_may_no_longer_change_it_nor_sees_its_settings(place):
    creator = member(place, Role.VIEWER)
    queue = AnnotationQueueFactory(project=place.project, user=creator)
    client = Client()
    client.force_login(creator)

    overview = client.get(reverse("web:queue", args=[queue.pk])).content.decode()
    settings_page = client.get(reverse("web:queue-edit", args=[queue.pk]))
    deleted = client.post(reverse("web:queue-delete", args=[queue.pk]))

    assert reverse("web:queue-edit", args=[queue.pk]) not in overview
    assert (settings_page.status_code, deleted.status_code) == (403, 403)
    assert AnnotationQueue.objects.filter(pk=queue.pk).exists()
