"""Every browser page x every kind of member once memberships are set (accounts/access.py), beside the
global roles' table (tests/web/test_auth_pages.py), which stays the answer while no membership exists.

The visitor is an annotator globally, a member of the world's project as an annotator or as a viewer, or a
member of another project only (an outsider); or a global admin, member of nothing. A page of the project or
of one of its rows shows the outsider the 404 of a missing one and the viewer member what a viewer sees;
pages of no project (datasets, configs, keys) answer by the global role, as before.
"""

import pytest
from django.urls import reverse

from phoenix_annot.accounts.models import ProjectMembership
from tests.accounts.factories import ProjectMembershipFactory
from tests.factories import ProjectFactory, SpanFactory
from tests.web.test_auth_pages import NOT_FOUND, OK, ROWS, Outcome, Row, World, make_world, to

pytestmark = pytest.mark.django_db

Role = ProjectMembership.Role

# Pages of no project: datasets are global, as in Phoenix (an example keeps its content; its link to a
# span of a hidden project leads to that page's 404).
GLOBAL_PREFIXES = ("web:dataset", "web:config", "web:api-key", "web:password", "web:log", "admin:")
GLOBAL_ROUTES = {"web:projects", "web:datasets"}
# Posts that name their project in the body: a hidden one is refused as an unknown choice, and the visitor
# is sent back (to the projects page, without a Referer) with the reason.
PROJECT_IN_BODY = {
    "web:dataset-add-spans",
    "web:dataset-add-sessions",
    "web:queue-add-rows",
    "web:queue-rule-add",
    "web:bulk-label",
}
BACK_UNCHANGED = to(lambda w: reverse("web:projects"), writes=False)
# The bulk label's confirmation answers a hidden project as the unknown choice it is, in the dialog.
PREVIEWS_OF_PROJECT_IN_BODY = {"web:bulk-label-preview"}

VISITORS = ("member annotator", "member viewer", "outsider", "global admin")


def is_global(row: Row) -> bool:
    return row.route not in PROJECT_IN_BODY | PREVIEWS_OF_PROJECT_IN_BODY and (
        row.route in GLOBAL_ROUTES or row.route.startswith(GLOBAL_PREFIXES)
    )


def expected(row: Row, visitor: str) -> Outcome:
    if visitor == "global admin":
        return row.outcome("admin")
    as_annotator = row.outcome("annotator")
    # Rows of nothing (an unknown id) are missing for every member; a global viewer is refused first.
    missing = as_annotator.status == 404 and row.case.startswith("unknown")
    if visitor == "member annotator" or is_global(row) or missing or as_annotator.status == 405:
        return as_annotator
    if visitor == "member viewer":
        return row.outcome("viewer")
    if row.route in PREVIEWS_OF_PROJECT_IN_BODY:
        return OK
    return BACK_UNCHANGED if row.route in PROJECT_IN_BODY else NOT_FOUND


def visited_by(visitor: str) -> World:
    world = make_world("admin" if visitor == "global admin" else "annotator")
    if visitor in ("member annotator", "member viewer"):
        role = Role.VIEWER if visitor == "member viewer" else Role.ANNOTATOR
        ProjectMembershipFactory(project=world.span.project, user=world.user, role=role)
    else:
        ProjectMembershipFactory(user=world.user if visitor == "outsider" else world.stranger)
    return world


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize("row", ROWS, ids=str)
def test_each_member_gets_what_their_project_role_allows(row: Row, visitor: str):
    world = visited_by(visitor)
    before = row.effect(world)

    response = row.send(world)

    outcome = expected(row, visitor)
    location = outcome.location(world, row.url(world)) if outcome.location else None
    got = (response.status_code, response.get("Location") if location else None, row.effect(world) != before)
    assert got == (outcome.status, location, outcome.writes), response.content[:300]


def test_the_projects_page_lists_the_members_projects_only_in_the_same_queries(
    client, django_assert_max_num_queries
):
    member = ProjectMembershipFactory(project__name="mine").user
    SpanFactory(trace__project=ProjectFactory(name="hidden"))
    for n in range(5):
        ProjectMembershipFactory(
            project=SpanFactory(trace__project__name=f"also mine {n}").project, user=member
        )
    client.force_login(member)

    with django_assert_max_num_queries(4):
        response = client.get(reverse("web:projects"))

    names = {row.project.name for row in response.context["rows"]}
    assert names == {"mine", *(f"also mine {n}" for n in range(5))}
