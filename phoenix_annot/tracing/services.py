from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from .models import DEFAULT_PROJECT_NAME, Project


class DefaultProjectDeletion(ValidationError):
    pass


class DuplicateProjectName(ValidationError):
    pass


def project_create(*, name: str, description: str = "") -> Project:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A project needs a name."})
    try:
        with transaction.atomic():
            return Project.objects.create(name=name, description=description)
    except IntegrityError:
        raise DuplicateProjectName({"name": f"A project named {name!r} already exists."}) from None


def project_update(*, project: Project, description: str) -> Project:
    project.description = description
    project.save(update_fields=["description", "updated_at"])
    return project


def project_delete(*, project: Project) -> None:
    """Delete a project with all its traces, spans and their annotations; `default` stays."""
    if project.name == DEFAULT_PROJECT_NAME:
        raise DefaultProjectDeletion("The default project cannot be deleted")
    project.delete()
