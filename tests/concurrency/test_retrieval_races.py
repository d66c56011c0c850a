"""Writers judging documents of the same retriever span at once leave its stored metrics as the annotations
say (PostgreSQL; SQLite runs writers one at a time)."""

import pytest
from django.db import connection

from phoenix_annot.annotations.models import DocumentAnnotation, RetrievalMetrics, reviewer_identifier
from phoenix_annot.annotations.services import (
    AnnotationWrite,
    annotation_delete,
    document_annotation_upsert,
    document_annotations_upsert,
)
from tests.concurrency.test_races import THREADS, race
from tests.factories import ProjectFactory, UserFactory, retriever_span

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers"),
]


def judge(span, position: int, reviewer=None) -> None:
    """Every other writer is a reviewer on the page, the others an evaluation script over /v1."""
    if reviewer is None:
        document_annotations_upsert(
            writes=[AnnotationWrite(span.span_id, "relevance", "LLM", score=1.0, document_position=position)],
            source="API",
            user=None,
        )
        return
    document_annotation_upsert(
        span=span,
        document_position=position,
        name="relevance",
        identifier=reviewer_identifier(reviewer.pk),
        label="relevant",
        score=1.0,
        annotator_kind="HUMAN",
        source="APP",
        user=reviewer,
    )


@pytest.mark.parametrize("attempt", range(3))
def test_documents_judged_at_once_all_count_in_the_spans_metrics(attempt):
    span = retriever_span(ProjectFactory(name="rag"), THREADS)
    reviewers = [UserFactory() for _ in range(THREADS)]

    errors = race(lambda i: judge(span, i, reviewers[i] if i % 2 else None))

    assert errors == []
    assert DocumentAnnotation.objects.filter(span=span).count() == THREADS
    stored = RetrievalMetrics.objects.get(span=span)
    assert (stored.judged_count, stored.relevant_count, stored.precision) == (THREADS, THREADS, 1.0)


def test_judgements_deleted_at_once_leave_no_metrics():
    span = retriever_span(ProjectFactory(name="rag"), THREADS)
    for position in range(THREADS):
        judge(span, position)
    annotations = list(DocumentAnnotation.objects.filter(span=span))

    errors = race(lambda i: annotation_delete(annotation=annotations[i], user=None))

    assert errors == []
    assert not RetrievalMetrics.objects.filter(span=span).exists()
