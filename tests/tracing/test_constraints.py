"""The invariants of the data model hold in the database itself, not only in Python."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from phoenix_annot.annotations.models import SpanAnnotation
from phoenix_annot.datasets.models import DatasetExample
from phoenix_annot.tracing.models import Project
from tests.factories import (
    AnnotationConfigFactory,
    DatasetFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceFactory,
)

pytestmark = pytest.mark.django_db


def violates(constraint: str, create: Callable[[], object]) -> bool:
    """Whether the database refuses `create` by this constraint (SQLite names columns for UNIQUE ones)."""
    try:
        with transaction.atomic():
            create()
    except IntegrityError as error:
        return constraint in str(error) or str(error).startswith("UNIQUE constraint failed")
    return False


def test_the_default_project_exists_after_migrate():
    assert Project.objects.filter(name="default").exists()


def test_a_span_annotation_key_is_unique():
    annotation = SpanAnnotationFactory(identifier="")

    assert violates(
        "span_annotation_unique_key",
        lambda: SpanAnnotation.objects.create(
            span=annotation.span, name=annotation.name, identifier="", annotator_kind="HUMAN", source="API"
        ),
    )


@pytest.mark.parametrize(
    "overrides",
    [{"span_kind": "BANANA"}, {"status_code": "FINE"}, {"span_id": "NOT-HEX-AT-ALL!!"}, {"parent_id": "xyz"}],
)
def test_span_columns_only_hold_valid_values(overrides):
    assert violates("span_", lambda: SpanFactory(**overrides))


def test_a_span_cannot_end_before_it_starts():
    trace = TraceFactory()

    assert violates(
        "span_end_after_start", lambda: SpanFactory(trace=trace, end_time=trace.start_time - timedelta(1))
    )


def test_annotation_kinds_and_sources_are_checked():
    span = SpanFactory()

    assert violates(
        "span_annotation_kind_valid", lambda: SpanAnnotationFactory(span=span, annotator_kind="ROBOT")
    )
    assert violates(
        "span_annotation_source_valid", lambda: SpanAnnotationFactory(span=span, name="x", source="FAX")
    )


def test_config_bounds_must_be_ordered_and_note_is_reserved():
    assert violates(
        "annotation_config_bounds_ordered",
        lambda: AnnotationConfigFactory(name="r", type="CONTINUOUS", lower_bound=1.0, upper_bound=0.0),
    )
    assert violates("annotation_config_name_not_note", lambda: AnnotationConfigFactory(name="note"))


def test_a_span_is_in_a_dataset_at_most_once():
    dataset, span = DatasetFactory(), SpanFactory()
    DatasetExample.objects.create(dataset=dataset, span=span)

    assert violates(
        "dataset_example_unique_span", lambda: DatasetExample.objects.create(dataset=dataset, span=span)
    )
    DatasetExample.objects.create(dataset=dataset, span=None)
    DatasetExample.objects.create(dataset=dataset, span=None)
