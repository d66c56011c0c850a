"""Resolving path identifiers: a GlobalID of the expected type, or else a name (PHOENIX_COMPAT.md §0.2)."""

from phoenix_annot.core.globalid import GlobalIDError, from_global_id
from phoenix_annot.tracing.models import Project

from .errors import PlainError


def project_from_identifier(identifier: str) -> Project:
    try:
        _type, pk = from_global_id(identifier, "Project")
    except GlobalIDError:
        project = Project.objects.filter(name=identifier).first()
        if project is None:
            raise PlainError(404, f"Project with name {identifier} not found") from None
        return project
    project = Project.objects.filter(pk=pk).first()
    if project is None:
        raise PlainError(404, f"Project with ID {identifier} not found")
    return project
