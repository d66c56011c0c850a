"""Resolving path identifiers: a GlobalID of the expected type, or else a name (PHOENIX_COMPAT.md §0.2)."""

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from phoenix_annot.accounts.access import Role, roles_by_key, visible_projects, with_access
from phoenix_annot.core.globalid import GlobalIDError, from_global_id
from phoenix_annot.tracing.models import Project

from .auth import VIEWER_WRITE_DENIED
from .errors import PlainError

Named = TypeVar("Named", bound=Model)


def by_identifier(model: type[Named], type_name: str, identifier: str) -> Named:
    """The row `identifier` names, as a `type_name` GlobalID or else by its unique `name`; Phoenix's 404
    (`<type> with name X not found`, `<type> with ID X not found`) when there is none."""
    return _among(model._default_manager.all(), type_name, identifier)


def _among(rows: QuerySet[Named], type_name: str, identifier: str) -> Named:
    try:
        _type, pk = from_global_id(identifier, type_name)
    except GlobalIDError:
        found = rows.filter(name=identifier).first()
        if found is None:
            raise PlainError(404, f"{type_name} with name {identifier} not found") from None
        return found
    found = rows.filter(pk=pk).first()
    if found is None:
        raise PlainError(404, f"{type_name} with ID {identifier} not found")
    return found


def project_for(request: Request, identifier: str) -> Project:
    """The project `identifier` names as the caller may reach it (accounts/access.py): one they may not
    see answers the 404 of a missing one, so its existence does not show; any method but GET, HEAD and
    OPTIONS on one they only view is a 403, as a viewer's write anywhere."""
    project = _among(visible_projects(request.user), "Project", identifier)
    if request.method not in SAFE_METHODS and project.access_role == Role.VIEWER:
        raise PlainError(403, VIEWER_WRITE_DENIED)
    return project


def reached(request: Request, rows: QuerySet[Named], **lookup: Any) -> Named | None:
    """The one of `rows` `lookup` finds, unless it is in a project the caller may not see (None, for the
    view's 404 of a missing one); a 403 for any method but GET, HEAD and OPTIONS when they only view it."""
    row = with_access(rows, request.user).filter(access_role__isnull=False, **lookup).first()
    if row is not None and request.method not in SAFE_METHODS and row.access_role == Role.VIEWER:
        raise PlainError(403, VIEWER_WRITE_DENIED)
    return row


def writes_reachable(
    request: Request,
    rows: QuerySet[Model],
    *,
    key: str,
    missing: Callable[[str], str],
    project_field: str = "project",
) -> None:
    """Before a write to `rows` (the stored targets a body names by `key`): the 404 `missing` words for
    the ids of those in projects the caller may not see, as if they did not exist; a 403 when any is in a
    project they only view. Nothing is written either way."""
    roles = roles_by_key(request.user, rows, key=key, project_field=project_field)
    hidden = sorted(str(row_key) for row_key, role in roles.items() if role is None)
    if hidden:
        raise PlainError(404, missing(", ".join(hidden)))
    if Role.VIEWER in roles.values():
        raise PlainError(403, VIEWER_WRITE_DENIED)


def forbid_viewed_only(request: Request, rows: QuerySet[Model], *, project_field: str = "project") -> None:
    """Before a write to `rows` the caller may see: a 403 when any is in a project they only view."""
    viewed = visible_projects(request.user).filter(pk__in=rows.values(project_field), access_role=Role.VIEWER)
    if viewed.exists():
        raise PlainError(403, VIEWER_WRITE_DENIED)
