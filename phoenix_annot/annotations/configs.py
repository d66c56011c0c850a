"""Annotation config writes: validation shared by the REST API and the config pages."""

import math
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from phoenix_annot.tracing.models import Project

from .models import (
    NOTE_NAME,
    AnnotationConfig,
    AnnotationType,
    OptimizationDirection,
    ProjectAnnotationConfig,
)

RESERVED_NAME_MESSAGE = (
    f"The name '{NOTE_NAME}' is reserved for trace and span notes and cannot be used for annotation configs."
)


class DuplicateConfigName(ValidationError):
    pass


class ReservedConfigName(ValidationError):
    pass


def annotation_config_create(*, name: str, **values: Any) -> AnnotationConfig:
    return _save(AnnotationConfig(), name=name, values=values)


def annotation_config_update(*, config: AnnotationConfig, name: str, **values: Any) -> AnnotationConfig:
    """Full replacement, name and type included."""
    return _save(config, name=name, values=values)


def annotation_config_assign(*, project: Project, config: AnnotationConfig) -> None:
    ProjectAnnotationConfig.objects.get_or_create(project=project, annotation_config=config)


def annotation_config_unassign(*, project: Project, config: AnnotationConfig) -> None:
    ProjectAnnotationConfig.objects.filter(project=project, annotation_config=config).delete()


def annotation_configs_set_for_project(*, project: Project, configs: list[AnnotationConfig]) -> None:
    with transaction.atomic():
        ProjectAnnotationConfig.objects.filter(project=project).exclude(
            annotation_config__in=configs
        ).delete()
        ProjectAnnotationConfig.objects.bulk_create(
            [ProjectAnnotationConfig(project=project, annotation_config=c) for c in configs],
            ignore_conflicts=True,
        )


def _save(config: AnnotationConfig, *, name: str, values: dict[str, Any]) -> AnnotationConfig:
    name = name.strip()
    if name == NOTE_NAME:
        raise ReservedConfigName({"name": RESERVED_NAME_MESSAGE})
    config_type = values.get("type")
    config.name = name
    config.type = config_type
    config.description = values.get("description") or ""
    config.optimization_direction = values.get("optimization_direction") or OptimizationDirection.NONE
    config.values = (
        _categorical_values(values.get("values")) if config_type == AnnotationType.CATEGORICAL else []
    )
    numeric = config_type in (AnnotationType.CONTINUOUS, AnnotationType.FREEFORM)
    config.lower_bound = _finite_or_none(values.get("lower_bound"), "lower_bound") if numeric else None
    config.upper_bound = _finite_or_none(values.get("upper_bound"), "upper_bound") if numeric else None
    config.threshold = (
        _finite_or_none(values.get("threshold"), "threshold")
        if config_type == AnnotationType.FREEFORM
        else None
    )
    if (
        config.lower_bound is not None
        and config.upper_bound is not None
        and config.lower_bound >= config.upper_bound
    ):
        raise ValidationError({"lower_bound": "The lower bound must be less than the upper bound."})
    config.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            config.save()
    except IntegrityError:
        raise DuplicateConfigName(
            {"name": "The name of the annotation configuration is already taken"}
        ) from None
    return config


def _categorical_values(values: Any) -> list[dict[str, Any]]:
    if not values:
        raise ValidationError({"values": "Values must be non-empty for a categorical annotation config."})
    labels = [value.get("label") for value in values]
    if any(not isinstance(label, str) or not label.strip() for label in labels):
        raise ValidationError({"values": "Every value needs a non-empty label."})
    if len(set(labels)) != len(labels):
        raise ValidationError({"values": "Labels must be unique."})
    return [
        {"label": value["label"], "score": _finite_or_none(value.get("score"), "values")} for value in values
    ]


def _finite_or_none(value: Any, field: str) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValidationError({field: "Numbers must be finite."})
    return number


def annotation_config_set_projects(*, config: AnnotationConfig, projects: list[Project]) -> None:
    """Assign the config to exactly these projects."""
    with transaction.atomic():
        ProjectAnnotationConfig.objects.filter(annotation_config=config).exclude(
            project__in=projects
        ).delete()
        ProjectAnnotationConfig.objects.bulk_create(
            [ProjectAnnotationConfig(project=p, annotation_config=config) for p in projects],
            ignore_conflicts=True,
        )


def config_for_project(*, name: str, project_id: int) -> AnnotationConfig | None:
    """The config that checks annotations named `name` in this project: the one assigned to the project.

    A config applies only where it is assigned, so an evaluator writing `correctness` into a project the
    reviewers' `correctness` config is not assigned to stores its values as sent.
    """
    return AnnotationConfig.objects.filter(name=name, projects=project_id).first()


def configs_for_projects(
    *, names: Iterable[str], project_ids: Iterable[int]
) -> dict[tuple[int, str], AnnotationConfig]:
    """`config_for_project` for many names and projects at once, keyed by (project id, name)."""
    assignments = ProjectAnnotationConfig.objects.filter(
        project_id__in=set(project_ids), annotation_config__name__in=set(names)
    ).select_related("annotation_config")
    return {(a.project_id, a.annotation_config.name): a.annotation_config for a in assignments}
