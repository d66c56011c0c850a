"""Resolving path identifiers: a GlobalID of the expected type, or else a name (PHOENIX_COMPAT.md §0.2)."""

from typing import TypeVar

from django.db.models import Model

from phoenix_annot.core.globalid import GlobalIDError, from_global_id
from phoenix_annot.tracing.models import Project

from .errors import PlainError

Named = TypeVar("Named", bound=Model)


def by_identifier(model: type[Named], type_name: str, identifier: str) -> Named:
    """The row `identifier` names, as a `type_name` GlobalID or else by its unique `name`; Phoenix's 404
    (`<type> with name X not found`, `<type> with ID X not found`) when there is none."""
    try:
        _type, pk = from_global_id(identifier, type_name)
    except GlobalIDError:
        found = model._default_manager.filter(name=identifier).first()
        if found is None:
            raise PlainError(404, f"{type_name} with name {identifier} not found") from None
        return found
    found = model._default_manager.filter(pk=pk).first()
    if found is None:
        raise PlainError(404, f"{type_name} with ID {identifier} not found")
    return found


def project_from_identifier(identifier: str) -> Project:
    return by_identifier(Project, "Project", identifier)
