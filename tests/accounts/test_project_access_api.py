"""Every /v1 route x every kind of caller once memberships are set (accounts/access.py), beside the global
roles' matrix (tests/api/test_auth_matrix.py), which stays the answer while no membership exists.

The world's project `p` has an annotator member and a viewer member (both annotators globally); an outsider
is a member of another project only; a global admin is a member of nothing. A route reaching `p` or one of
its rows answers the outsider as if it did not exist (404), the viewer member as a viewer (403 on writes);
routes of no project (datasets, configs) answer by the global role, as before; spans sent to `p` are
refused to all but its annotator member and admins.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from phoenix_annot.accounts.models import ProjectMembership, User
from phoenix_annot.accounts.services import api_key_create
from phoenix_annot.api.auth import VIEWER_WRITE_DENIED
from phoenix_annot.tracing.models import Session
from tests.accounts.factories import ProjectMembershipFactory
from tests.api.conftest import V1Client, World
from tests.api.test_auth_matrix import (
    CALLS,
    DS,
    READ_ONLY_POSTS,
    SPLIT,
    SPLITS,
    Call,
    P,
    annotation,
    expected,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

Role = User.Role

# Routes of no project: datasets are global in Phoenix, configs are shared, and the project list answers
# every writer (it shows each caller their own projects: tested below).
GLOBAL_ROUTES = {
    ("GET", "/v1/projects"),
    ("POST", "/v1/projects"),
    ("GET", "/v1/annotation_configs"),
    ("POST", "/v1/annotation_configs"),
    ("GET", "/v1/annotation_configs/{identifier}"),
    ("PUT", "/v1/annotation_configs/{identifier}"),
    ("DELETE", "/v1/annotation_configs/{identifier}"),
    ("GET", "/v1/datasets"),
    ("POST", "/v1/datasets/upload"),
    ("GET", "/v1/annotation_queues"),
    # A span not stored yet: the annotation waits, as the global matrix says.
    ("POST", "/v1/document_annotations"),
    # The span query of a hidden project finds no spans, as for a missing one (tested below).
    ("POST", "/v1/spans"),
}
# Unknown sessions are skipped, and so are those of a hidden project.
SKIPS_HIDDEN = {("POST", "/v1/sessions/delete")}
# Spans sent to a project the key's owner may not write to: refused whole, whether hidden or viewed only.
INGEST = ("POST", "/v1/traces")


def is_global(call: Call) -> bool:
    route = call.route
    dataset_route = route.startswith((DS, SPLITS, SPLIT)) or route == "/v1/datasets/upload"
    return (call.method, route) in GLOBAL_ROUTES or dataset_route


CALLERS = ["member annotator", "member viewer", "outsider", "global admin"]


def caller_user(caller: str, world: World) -> User:
    if caller == "global admin":
        ProjectMembershipFactory()  # memberships are in use
        return UserFactory(role=Role.ADMIN)
    if caller == "outsider":
        return ProjectMembershipFactory().user
    role = ProjectMembership.Role.VIEWER if caller == "member viewer" else ProjectMembership.Role.ANNOTATOR
    return ProjectMembershipFactory(project=world.project, role=role).user


def keyed(user: User) -> V1Client:
    _key, raw = api_key_create(user=user, name="key")
    return V1Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def expected_for(call: Call, caller: str) -> tuple[int, str | None]:
    """The status (2 = any 2xx) and, for a 403, the text a caller gets."""
    if caller == "global admin":
        return expected(call, "ADMIN")
    as_annotator = expected(call, "ANNOTATOR")
    # A project's admin routes answer non-admins before the project is looked up: their 403 says nothing
    # of whether it exists.
    admin_route = as_annotator[0] == 403 and call.route.startswith(P)
    if caller == "member annotator" or is_global(call) or admin_route:
        return as_annotator
    if (call.method, call.route) == INGEST:
        return 403, None
    if caller == "outsider":
        return (2, None) if (call.method, call.route) in SKIPS_HIDDEN else (404, None)
    if call.method != "GET" and (call.method, call.route) not in READ_ONLY_POSTS:
        return 403, VIEWER_WRITE_DENIED
    return as_annotator


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("call", CALLS, ids=str)
def test_each_caller_gets_what_its_project_role_allows(call, caller, world, settings):
    settings.V1_AUTH_REQUIRED = True
    client = keyed(caller_user(caller, world))

    response = call.send(client, world)

    status, text = expected_for(call, caller)
    if status == 2:
        assert 200 <= response.status_code < 300, response.content[:500]
        return
    assert response.status_code == status, response.content[:500]
    if text is not None:
        assert response.content.decode() == text


def test_the_outsider_gets_the_404_of_a_missing_project_word_for_word(world, settings):
    settings.V1_AUTH_REQUIRED = True
    outsider = keyed(caller_user("outsider", world))

    hidden = outsider.get("/v1/projects/p/spans")
    missing = outsider.get("/v1/projects/nowhere/spans")

    assert (hidden.status_code, hidden.content) == (404, b"Project with name p not found")
    assert missing.content == b"Project with name nowhere not found"


def test_the_project_list_shows_each_caller_their_projects_only(world, settings):
    settings.V1_AUTH_REQUIRED = True
    membership = ProjectMembershipFactory(project__name="q")

    def listed(user: User) -> set[str]:
        return {row["name"] for row in keyed(user).get("/v1/projects").json()["data"]}

    assert listed(membership.user) == {"q"}
    assert listed(UserFactory(role=Role.ADMIN)) == {"default", "p", "q"}


def test_the_span_query_of_a_hidden_project_finds_no_spans(world, settings):
    settings.V1_AUTH_REQUIRED = True
    body = {"queries": [{}]}

    member = keyed(caller_user("member viewer", world)).post("/v1/spans?project_name=p", body)
    outsider = keyed(caller_user("outsider", world)).post("/v1/spans?project_name=p", body)

    assert world.span.span_id in member.content.decode()
    assert world.span.span_id not in outsider.content.decode()


def test_an_outsider_annotating_a_hidden_span_writes_nothing_and_hears_it_does_not_exist(world, settings):
    settings.V1_AUTH_REQUIRED = True
    item = annotation("span_id", world.span.span_id)

    response = keyed(caller_user("outsider", world)).post("/v1/span_annotations", {"data": [item]})

    assert (response.status_code, response.content.decode()) == (
        404,
        f"Spans with IDs {world.span.span_id} do not exist.",
    )
    assert not world.span.annotations.filter(name="tone").exists()


def test_an_outsider_deleting_sessions_by_id_leaves_those_of_hidden_projects(world, settings):
    settings.V1_AUTH_REQUIRED = True
    outsider = keyed(caller_user("outsider", world))

    response = outsider.post("/v1/sessions/delete", {"session_identifiers": [world.session.session_id]})

    assert response.status_code == 204
    assert Session.objects.filter(pk=world.session.pk).exists()


def test_without_authentication_no_project_shows_once_memberships_are_set(world, settings):
    settings.V1_AUTH_REQUIRED = False
    ProjectMembershipFactory()
    anonymous = V1Client()

    assert anonymous.get("/v1/projects").json()["data"] == []
    assert anonymous.get("/v1/projects/p").status_code == 404


@pytest.mark.parametrize("caller", ["member viewer", "global admin"])
def test_the_project_list_costs_the_same_queries_for_3_projects_or_30(caller, world, settings):
    settings.V1_AUTH_REQUIRED = True
    user = caller_user(caller, world)

    def queries(n: int) -> int:
        for _ in range(n):
            ProjectMembershipFactory(user=user)
        client = keyed(user)
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/v1/projects").status_code == 200
        return len(captured)

    assert queries(3) == queries(27)


def test_a_member_creating_a_project_becomes_its_member_with_their_role_and_reads_it(world, settings):
    settings.V1_AUTH_REQUIRED = True
    user = caller_user("member annotator", world)
    client = keyed(user)

    created = client.post("/v1/projects", {"name": "new"})

    assert created.status_code == 200
    assert client.get("/v1/projects/new").json() == created.json()
    assert ProjectMembership.objects.filter(project__name="new").get().role == Role.ANNOTATOR


def test_creating_a_project_whose_name_a_hidden_one_has_is_a_409_that_makes_nobody_a_member(world, settings):
    settings.V1_AUTH_REQUIRED = True
    outsider = caller_user("outsider", world)

    response = keyed(outsider).post("/v1/projects", {"name": "p"})

    assert response.status_code == 409
    assert not ProjectMembership.objects.filter(project=world.project).exists()


def test_creating_a_project_while_no_membership_exists_sets_none_so_everyone_still_sees_everything(
    world, settings
):
    settings.V1_AUTH_REQUIRED = True

    assert keyed(UserFactory(role=Role.ANNOTATOR)).post("/v1/projects", {"name": "new"}).status_code == 200
    assert not ProjectMembership.objects.exists()
