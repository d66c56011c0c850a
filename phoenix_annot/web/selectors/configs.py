"""Annotation configs as the review pages read them."""

from phoenix_annot.annotations.models import AnnotationConfig
from phoenix_annot.tracing.models import Project


def project_configs(project: Project) -> list[AnnotationConfig]:
    """The configs whose forms the Annotate panel shows: those assigned to the project, the ones that check
    its annotations (annotations/configs.py, config_for_project)."""
    return list(AnnotationConfig.objects.filter(projects=project))


def configs_by_name() -> dict[str, AnnotationConfig]:
    """Every config, to colour feedback chips by their optimisation direction."""
    return {config.name: config for config in AnnotationConfig.objects.all()}
