"""The per-project access rules (accounts/access.py), one case per rule."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError
from django.urls import reverse

from phoenix_annot.accounts.access import may_adjudicate, may_write, project_role, visible_projects
from phoenix_annot.accounts.models import ProjectMembership, User
from tests.accounts.factories import ProjectMembershipFactory
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

Role = User.Role


def names(user) -> set[str]:
    return set(visible_projects(user).values_list("name", flat=True))


def test_without_any_membership_everyone_sees_every_project_with_their_global_role():
    ProjectFactory(name="a")
    ProjectFactory(name="b")
    viewer = UserFactory(role=Role.VIEWER)

    # The migrations' `default` project is one of them.
    assert names(viewer) == {"default", "a", "b"}
    assert {p.access_role for p in visible_projects(viewer)} == {Role.VIEWER}
    assert names(AnonymousUser()) == {"default", "a", "b"}


def test_once_a_membership_exists_users_see_only_the_projects_they_belong_to():
    a, _b = ProjectFactory(name="a"), ProjectFactory(name="b")
    member, outsider = UserFactory(), UserFactory()
    ProjectMembershipFactory(project=a, user=member)

    assert names(member) == {"a"}
    assert names(outsider) == set()
    assert names(AnonymousUser()) == set()


def test_global_admins_and_superusers_see_every_project_member_or_not():
    ProjectMembershipFactory(project__name="a")
    ProjectFactory(name="b")

    assert names(UserFactory(role=Role.ADMIN)) == {"default", "a", "b"}
    assert names(UserFactory(role=Role.VIEWER, is_superuser=True)) == {"default", "a", "b"}


@pytest.mark.parametrize(
    ("global_role", "member_role", "effective"),
    [
        (Role.ANNOTATOR, Role.VIEWER, Role.VIEWER),
        (Role.ANNOTATOR, Role.ANNOTATOR, Role.ANNOTATOR),
        (Role.ANNOTATOR, Role.ADMIN, Role.ANNOTATOR),
        (Role.VIEWER, Role.ANNOTATOR, Role.VIEWER),
        (Role.VIEWER, Role.ADMIN, Role.VIEWER),
        (Role.ADMIN, Role.VIEWER, Role.ADMIN),
    ],
)
def test_the_effective_role_is_the_lower_of_the_global_and_the_project_role(
    global_role, member_role, effective
):
    membership = ProjectMembershipFactory(user__role=global_role, role=member_role)

    assert project_role(membership.user, membership.project) == effective
    assert visible_projects(membership.user).get(pk=membership.project.pk).access_role == effective
    assert may_write(membership.user, membership.project) is (effective != Role.VIEWER)


def test_a_hidden_project_has_no_role_and_cannot_be_written():
    ProjectMembershipFactory()
    hidden, outsider = ProjectFactory(), UserFactory()

    assert project_role(outsider, hidden) is None
    assert may_write(outsider, hidden) is False


def test_adjudication_belongs_to_global_admins_project_admins_and_members_given_the_right():
    project = ProjectFactory()
    given = ProjectMembershipFactory(project=project, can_adjudicate=True).user
    project_admin = ProjectMembershipFactory(project=project, role=Role.ADMIN).user
    plain = ProjectMembershipFactory(project=project).user
    capped = ProjectMembershipFactory(project=project, user__role=Role.VIEWER, role=Role.ADMIN).user
    elsewhere = ProjectMembershipFactory(can_adjudicate=True).user

    assert may_adjudicate(UserFactory(role=Role.ADMIN), project)
    assert may_adjudicate(given, project)
    assert may_adjudicate(project_admin, project)
    assert not may_adjudicate(plain, project)
    assert not may_adjudicate(capped, project)
    assert not may_adjudicate(elsewhere, project)
    assert not may_adjudicate(AnonymousUser(), project)


def test_a_user_holds_one_membership_per_project():
    membership = ProjectMembershipFactory()

    with pytest.raises(IntegrityError):
        ProjectMembershipFactory(project=membership.project, user=membership.user, role=Role.VIEWER)


@pytest.mark.parametrize(
    "fields",
    [{"role": "OWNER"}, {"role": Role.VIEWER, "can_adjudicate": True}],
    ids=["bad role", "viewer judge"],
)
def test_the_database_refuses_an_invalid_membership(fields):
    with pytest.raises(IntegrityError):
        ProjectMembership.objects.create(project=ProjectFactory(), user=UserFactory(), **fields)


def test_the_admin_edits_memberships_on_the_project_and_on_the_user_pages(admin_client):
    membership = ProjectMembershipFactory(role=Role.VIEWER)

    project_page = admin_client.get(reverse("admin:tracing_project_change", args=[membership.project.pk]))
    user_page = admin_client.get(reverse("admin:accounts_user_change", args=[membership.user.pk]))

    for page in (project_page, user_page):
        assert page.status_code == 200
        assert b"Project memberships" in page.content


def membership_post(project, **rows: str) -> dict[str, str]:
    return {
        "name": project.name,
        "description": "",
        "memberships-INITIAL_FORMS": str(project.memberships.count()),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        **rows,
    }


def test_the_admin_says_when_the_first_membership_switches_per_project_access_on_and_the_last_off(
    admin_client,
):
    project, user = ProjectFactory(), UserFactory()
    url = reverse("admin:tracing_project_change", args=[project.pk])

    added = admin_client.post(
        url,
        membership_post(
            project,
            **{
                "memberships-TOTAL_FORMS": "1",
                "memberships-0-user": str(user.pk),
                "memberships-0-role": Role.ANNOTATOR,
            },
        ),
        follow=True,
    )
    membership = ProjectMembership.objects.get()
    removed = admin_client.post(
        url,
        membership_post(
            project,
            **{
                "memberships-TOTAL_FORMS": "1",
                "memberships-0-id": str(membership.pk),
                "memberships-0-project": str(project.pk),
                "memberships-0-user": str(user.pk),
                "memberships-0-role": Role.ANNOTATOR,
                "memberships-0-DELETE": "on",
            },
        ),
        follow=True,
    )

    assert "Per-project access is now on" in added.content.decode()
    assert "Per-project access is now off" in removed.content.decode()
    assert not ProjectMembership.objects.exists()
