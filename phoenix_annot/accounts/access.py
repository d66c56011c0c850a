"""Who may see and change which project: the one place the per-project rules live.

- No membership anywhere on the instance: every user sees every project with their global role, as before
  memberships existed. Nothing changes for an instance until an admin sets the first membership.
- Once any membership exists, a user sees only the projects they are a member of; global admins (and
  superusers) see every project, member or not. The switch is instance-wide rather than per project
  because a per-project switch fails open: a project ingest creates, or one whose last member is removed,
  would be visible to everyone.
- A user's role on a project they see is the lower of their global role and their membership's role: a
  membership narrows, never widens, so a global viewer stays a viewer everywhere. Every check that runs
  before the project is known (/v1's permission classes, the pages' `can_write`) keeps answering for the
  global role, and no membership can make it wrong; a project's pages show their write controls by
  `writable`, the role on that project.
- Whoever creates a project (POST /v1/projects, or spans naming a new one) becomes its member with their
  global role once memberships exist (accounts.services.creator_memberships_add), so that they see it.
- `may_adjudicate`: global admins, project admins and members given `can_adjudicate`.

A caller with no account (/v1 with authentication off) is trusted as before while no membership exists,
and sees no project once one does.
"""

from collections.abc import Collection
from typing import TypeVar

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Case, CharField, Exists, Model, OuterRef, Q, QuerySet, Subquery, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404

from phoenix_annot.tracing.models import Project

from .models import ProjectMembership, User

Role = User.Role
RANK = {Role.VIEWER: 0, Role.ANNOTATOR: 1, Role.ADMIN: 2}

AnyUser = User | AnonymousUser
Row = TypeVar("Row", bound=Model)


def visible_projects(user: AnyUser) -> QuerySet[Project]:
    """The projects `user` may see, each annotated with `access_role`: their effective role on it.

    One query whatever the number of projects: the membership and the instance-wide switch are subqueries.
    """
    projects = Project.objects.all()
    if user.is_authenticated and user.is_admin:
        return projects.annotate(access_role=Value(Role.ADMIN, output_field=CharField()))
    if not user.is_authenticated:
        return projects.filter(~Exists(ProjectMembership.objects.all())).annotate(
            access_role=Value(Role.ADMIN, output_field=CharField())
        )
    mine = ProjectMembership.objects.filter(user=user)
    member_role = mine.filter(project=OuterRef("pk")).values("role")[:1]
    # The user's projects as a set (one hashed subplan on PostgreSQL), not a membership probe per project:
    # a page of 100 projects among 2,000, one of them the user's, took 5.1 ms with the probe, 0.26 ms so.
    return (
        projects.filter(Q(pk__in=mine.values("project_id")) | ~Exists(ProjectMembership.objects.all()))
        .annotate(member_role=Subquery(member_role))
        .annotate(access_role=_capped(user.role))
    )


def _capped(global_role: str) -> Case:
    """The lower of `global_role` and the membership's role (the global role when there is none)."""
    lower = [role for role in RANK if RANK[role] < RANK[Role(global_role)]]
    return Case(
        *[When(member_role=role, then=Value(role)) for role in lower],
        default=Value(global_role),
        output_field=CharField(),
    )


def visible(rows: QuerySet[Row], user: AnyUser, *, project_field: str = "project") -> QuerySet[Row]:
    """The `rows` (spans, traces, sessions, queues...) whose project `user` may see; `project_field` is the
    path from a row to its project ("pk" for projects themselves). Filtered in the same query."""
    return rows.filter(**{f"{project_field}__in": visible_projects(user).values("pk")})


def with_access(rows: QuerySet[Row], user: AnyUser, *, project_field: str = "project") -> QuerySet[Row]:
    """`rows` (spans, sessions, queues...), each annotated with `access_role`: `user`'s role on its project,
    None where they may not see it. In the same query, as a subquery."""
    role = visible_projects(user).filter(pk=OuterRef(project_field)).values("access_role")[:1]
    return rows.annotate(access_role=Subquery(role))


def roles_by_key(
    user: AnyUser, rows: QuerySet[Row], *, key: str, project_field: str = "project"
) -> dict[str, str | None]:
    """`key` of each of `rows` -> `user`'s role on its project, None where they may not see it: one query,
    for a write that names its targets by id."""
    return dict(with_access(rows, user, project_field=project_field).values_list(key, "access_role"))


def project_or_404(user: AnyUser, pk: int) -> Project:
    """The project a page's URL names, annotated with `access_role`; a 404 as for a missing one when
    `user` may not see it, so a hidden project's existence does not show."""
    project = visible_projects(user).filter(pk=pk).first()
    if project is None:
        raise Http404("No project matches the given query.")
    return project


def row_or_404(
    user: AnyUser, rows: QuerySet[Row], *, project_field: str = "project", **lookup: object
) -> Row:
    """The one of `rows` `lookup` finds (a span, trace, session or queue a page's URL names), annotated with
    `access_role`; a 404 as for a missing one when `user` may not see its project."""
    return get_object_or_404(
        with_access(rows, user, project_field=project_field).filter(access_role__isnull=False), **lookup
    )


def writable(reached: Project | Model) -> bool:
    """May the user `reached` was found for write to its project: `reached` is a project or a row (span,
    trace, session, queue) found by `visible_projects`, `project_or_404`, `row_or_404` or `with_access`,
    which leave their role on it. No query: the pages ask it before showing any write control."""
    return reached.access_role is not None and reached.access_role != Role.VIEWER


def require_writer(reached: Project | Model, message: str) -> None:
    """PermissionDenied(`message`) unless the user `reached` was found for (by `project_or_404` or
    `row_or_404`, which leave their role on it) may write to its project."""
    if not writable(reached):
        raise PermissionDenied(message)


def project_role(user: AnyUser, project: Project) -> str | None:
    """`user`'s effective role on `project`, or None when they may not see it. Reads the `access_role` a
    project from `visible_projects` carries, else asks the database once."""
    if hasattr(project, "access_role"):
        return project.access_role
    return visible_projects(user).filter(pk=project.pk).values_list("access_role", flat=True).first()


def may_write(user: AnyUser, project: Project) -> bool:
    """May `user` write annotations, queues and datasets from `project`'s rows."""
    role = project_role(user, project)
    return role is not None and role != Role.VIEWER


def writable_project_pks(user: AnyUser, project_pks: Collection[int]) -> set[int]:
    """Those of `project_pks` `user` may write to: one query, none for a global admin."""
    if user.is_authenticated and user.is_admin:
        return set(project_pks)
    writable = visible_projects(user).filter(pk__in=project_pks).exclude(access_role=Role.VIEWER)
    return set(writable.values_list("pk", flat=True))


def projects_unwritable(user: AnyUser, project_pks: Collection[int]) -> list[str]:
    """The names of those of `project_pks` `user` may not write to (hidden from them, or viewed only),
    sorted; one query while every one is writable, as it is for everyone while no membership exists."""
    refused = set(project_pks) - writable_project_pks(user, project_pks)
    if not refused:
        return []
    return sorted(Project.objects.filter(pk__in=refused).values_list("name", flat=True))


def may_adjudicate(user: AnyUser, project: Project) -> bool:
    """May `user` set gold values on `project`'s rows: a global admin, a project admin, or a member given
    the right. A global viewer never may, whatever their membership says."""
    if not user.is_authenticated:
        return False
    if user.is_admin:
        return True
    if user.role == Role.VIEWER:
        return False
    return ProjectMembership.objects.filter(
        Q(role=ProjectMembership.Role.ADMIN) | Q(can_adjudicate=True), project=project, user=user
    ).exists()
