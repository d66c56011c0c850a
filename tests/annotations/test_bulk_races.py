"""Bulk labels racing other writers and each other's undos (PostgreSQL, as tests/concurrency)."""

import pytest
from django.db import connection  # noqa: F401 - read by the skipif condition

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.bulk import (
    BulkLabel,
    BulkUndoRefused,
    annotation_bulk_undo,
    annotations_bulk_label,
)
from phoenix_annot.annotations.history import event_values
from phoenix_annot.annotations.models import AnnotationEvent, SpanAnnotation
from phoenix_annot.annotations.services import span_annotation_upsert
from phoenix_annot.tracing.models import Span
from tests.concurrency.test_races import THREADS, race
from tests.factories import AnnotationConfigFactory, ProjectFactory, SpanFactory, TraceFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs concurrent writers"),
]


def test_bulk_labels_and_single_writes_on_the_same_rows_neither_deadlock_nor_leave_the_history_behind():
    project = ProjectFactory()
    AnnotationConfigFactory().projects.add(project)
    spans = [SpanFactory(trace=TraceFactory(project=project)) for _ in range(20)]
    admin = UserFactory(role=User.Role.ADMIN)
    labels = ["correct", "incorrect"]

    def work(index: int) -> None:
        label = labels[index % 2]
        if index % 2:
            span_annotation_upsert(
                span=spans[index],
                name="correctness",
                label=label,
                annotator_kind="HUMAN",
                source="API",
                user=admin,
            )
        else:
            annotations_bulk_label(
                project=project,
                target_kind="span",
                targets=Span.objects.filter(project=project),
                label=BulkLabel(name="correctness", label=label),
                user=admin,
            )

    assert race(work) == []
    for row in SpanAnnotation.objects.all():
        last = (
            AnnotationEvent.objects.filter(annotation_pk=row.pk, target_kind="span").order_by("-pk").first()
        )
        assert last.after == event_values(row)
    assert SpanAnnotation.objects.count() == len(spans)


def test_two_undos_of_one_bulk_label_at_once_undo_it_once():
    project = ProjectFactory()
    AnnotationConfigFactory().projects.add(project)
    SpanFactory.create_batch(5, trace__project=project)
    admin = UserFactory(role=User.Role.ADMIN)
    action = annotations_bulk_label(
        project=project,
        target_kind="span",
        targets=Span.objects.all(),
        label=BulkLabel(name="correctness", label="correct"),
        user=admin,
    )

    errors = race(lambda index: annotation_bulk_undo(action=action, user=admin))

    assert len(errors) == THREADS - 1
    assert all(isinstance(error, BulkUndoRefused) for error in errors)
    assert not SpanAnnotation.objects.exists()
    assert AnnotationEvent.objects.filter(via="undo").count() == 5
