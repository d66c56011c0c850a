"""The projects page."""

from dataclasses import dataclass

from django.db.models import Avg, Count

from phoenix_annot.accounts.access import visible
from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import NOTE_NAME, SpanAnnotation
from phoenix_annot.tracing.models import Project
from phoenix_annot.tracing.selectors import projects_with_activity


@dataclass(frozen=True)
class ProjectFeedback:
    name: str
    count: int
    mean_score: float | None


@dataclass(frozen=True)
class ProjectRow:
    project: Project
    feedback: list[ProjectFeedback]


def project_list_for_review(*, user: User) -> list[ProjectRow]:
    """Every project `user` may see with its counts and, per annotation name, how many annotations and
    their mean score."""
    projects = list(visible(projects_with_activity(), user, project_field="pk"))
    feedback: dict[int, list[ProjectFeedback]] = {project.pk: [] for project in projects}
    rows = (
        SpanAnnotation.objects.exclude(name=NOTE_NAME)
        .filter(span__project_id__in=list(feedback))
        .values_list("span__project_id", "name")
        .annotate(count=Count("pk"), mean=Avg("score"))
        .order_by("span__project_id", "name")
    )
    for project_id, name, count, mean in rows:
        feedback[project_id].append(ProjectFeedback(name=name, count=count, mean_score=mean))
    return [ProjectRow(project=project, feedback=feedback[project.pk]) for project in projects]
