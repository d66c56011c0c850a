"""A project whose reviewers labelled its spans' correctness, for the agreement and adjudication tests."""

from phoenix_annot.tracing.models import Project, Span
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    UserFactory,
    reviewer_annotation,
)

REVIEWERS = ("ana", "ben", "cho")


def reviewed_project(labels: dict[str, tuple[str, ...]], **span_fields: object) -> tuple[Project, list[Span]]:
    """Project support-rag with a correctness config (correct, partial, incorrect) and a span per name of
    `labels`, labelled by ana, ben and cho in order from their Annotate panels ("<label>?" explains it)."""
    project = ProjectFactory(name="support-rag")
    values = [{"label": "correct"}, {"label": "partial"}, {"label": "incorrect"}]
    AnnotationConfigFactory(name="correctness", values=values).projects.add(project)
    reviewers = [UserFactory(username=name) for name in REVIEWERS]
    spans = []
    for topic, row in labels.items():
        span = SpanFactory(trace__project=project, name=topic, **span_fields)
        for reviewer, label in zip(reviewers, row, strict=True):
            reviewer_annotation(
                SpanAnnotationFactory,
                span=span,
                user=reviewer,
                label=label,
                score=None,
                explanation=f"{label}?",
            )
        spans.append(span)
    return project, spans
