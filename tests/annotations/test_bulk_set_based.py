"""Bulk labelling as set-based SQL (annotations/bulk.py): the selection read once into a temporary table,
the ownership rule applied per group of rows, each write one statement. What that can get wrong: rows
changed between the confirmation and the write, selections past any batch size, labels overlapping each
other, values that must come back exactly, and statements that grow with the rows."""

import factory
import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.bulk import (
    BulkLabel,
    BulkUndoRefused,
    annotation_bulk_undo,
    annotations_bulk_label,
    bulk_label_plan,
)
from phoenix_annot.annotations.models import (
    AnnotationBulkAction,
    AnnotationEvent,
    SpanAnnotation,
    reviewer_identifier,
)
from phoenix_annot.annotations.services import span_annotation_upsert
from phoenix_annot.tracing.models import Span
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

INCORRECT = BulkLabel(name="correctness", label="incorrect", explanation="bulk")
CORRECT = BulkLabel(name="correctness", label="correct", explanation="bulk")
STORED = ("label", "score", "explanation", "metadata", "annotator_kind", "user_id", "source", "created_at")


@pytest.fixture
def project():
    project = ProjectFactory(name="bulk")
    AnnotationConfigFactory().projects.add(project)
    AnnotationConfigFactory(name="quality", type="CONTINUOUS", lower_bound=0, upper_bound=10).projects.add(
        project
    )
    return project


def spans_of(project, count: int) -> list[Span]:
    """`count` spans of one trace, inserted at once (2,500 one by one would make the test slow)."""
    trace = TraceFactory(project=project)
    return Span.objects.bulk_create(SpanFactory.build_batch(count, trace=trace, project=project))


def label(project, user, spans, bulk_label=INCORRECT) -> AnnotationBulkAction:
    return annotations_bulk_label(
        project=project, target_kind="span", targets=selected(spans), label=bulk_label, user=user
    )


def plan(project, user, spans, bulk_label=INCORRECT):
    return bulk_label_plan(
        project=project, target_kind="span", targets=selected(spans), label=bulk_label, user=user
    )


def selected(spans):
    return Span.objects.filter(pk__in=[span.pk for span in spans])


def rows(name: str = "correctness") -> dict[int, dict]:
    """Every stored annotation of `name`, by span, as the undo must leave it."""
    return {
        row.pop("span_id"): row for row in SpanAnnotation.objects.filter(name=name).values("span_id", *STORED)
    }


def test_a_row_written_by_somebody_else_after_the_confirmation_is_skipped_by_the_write_not_overwritten(
    project,
):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    first, second = spans_of(project, 2)
    confirmed = plan(project, bob, [first, second])
    span_annotation_upsert(
        span=second, name="correctness", label="correct", annotator_kind="HUMAN", source="API", user=alice
    )

    action = label(project, bob, [first, second])

    assert (len(confirmed.created), confirmed.skipped_count) == (2, 0)
    assert (action.selected_count, action.created_count, action.skipped_count) == (2, 1, 1)
    assert rows()[second.pk]["label"] == "correct"
    assert AnnotationEvent.objects.filter(bulk_action=action).count() == 1


def test_a_selection_of_2500_rows_is_counted_labelled_and_undone_exactly(project, admin):
    alice = UserFactory(username="alice")
    spans = spans_of(project, 2500)
    SpanAnnotation.objects.bulk_create(
        [
            *SpanAnnotationFactory.build_batch(
                1000,
                span=factory.Iterator(spans[:1000]),
                score=0.1 + 0.2,
                explanation="theirs",
                metadata={"run": 7, "ratio": 1 / 3},
                user=alice,
            ),
            *SpanAnnotationFactory.build_batch(
                200, span=factory.Iterator(spans[1000:1200]), label="incorrect", score=0.0, explanation="bulk"
            ),
        ]
    )
    before = rows()

    confirmed = plan(project, admin, spans)
    action = label(project, admin, spans)

    assert (confirmed.selected, len(confirmed.created), confirmed.unchanged) == (2500, 1300, 200)
    assert confirmed.replaced_owners == [("alice", 1000)]
    assert (action.created_count, action.replaced_count) == (1300, 1000)
    assert AnnotationEvent.objects.filter(bulk_action=action).count() == 2300
    assert set(rows()) == {span.pk for span in spans}
    annotation_bulk_undo(action=action, user=admin)
    assert rows() == before


def test_undo_is_refused_while_a_later_bulk_label_overlaps_its_rows_and_works_once_that_one_is_undone(
    project, admin
):
    alice = UserFactory(username="alice")
    spans = spans_of(project, 4)
    SpanAnnotationFactory(span=spans[1], label="correct", explanation="first", user=alice)
    before = rows()
    first = label(project, admin, spans[:3])
    second = label(project, admin, spans[1:], CORRECT)

    with pytest.raises(BulkUndoRefused, match="2 of the 3 annotations"):
        annotation_bulk_undo(action=first, user=admin)
    annotation_bulk_undo(action=second, user=admin)
    assert {pk: row["label"] for pk, row in rows().items()} == dict.fromkeys(
        [span.pk for span in spans[:3]], "incorrect"
    )
    annotation_bulk_undo(action=first, user=admin)

    assert rows() == before


def test_a_non_admin_replaces_a_machine_row_with_a_machine_label_but_skips_a_human_one_of_the_same_writer(
    project,
):
    alice, carol = UserFactory(username="alice"), UserFactory(username="carol")
    machine, human, own = spans_of(project, 3)
    SpanAnnotationFactory(span=machine, annotator_kind="LLM", user=carol)
    SpanAnnotationFactory(span=human, annotator_kind="HUMAN", user=carol)
    SpanAnnotationFactory(span=own, annotator_kind="HUMAN", user=alice)
    judge = BulkLabel(name="correctness", label="incorrect", annotator_kind="LLM")

    confirmed = plan(project, alice, [machine, human, own], judge)
    action = label(project, alice, [machine, human, own], judge)

    assert sorted(confirmed.replaced_owners) == [("alice", 1), ("carol", 1)]
    assert confirmed.skipped_owners == [("carol", 1)]
    assert (action.replaced_count, action.skipped_count) == (2, 1)
    stored = rows()
    assert (stored[machine.pk]["label"], stored[human.pk]["label"], stored[own.pk]["label"]) == (
        "incorrect",
        "correct",
        "incorrect",
    )


def test_the_confirmation_names_the_reviewer_of_a_px_app_row_whoever_wrote_it(project, admin):
    reviewer, other_admin = UserFactory(username="rita"), UserFactory(username="ada", role=User.Role.ADMIN)
    span = spans_of(project, 1)[0]
    identifier = reviewer_identifier(reviewer.pk)
    SpanAnnotationFactory(span=span, identifier=identifier, user=other_admin)

    confirmed = plan(
        project, admin, [span], BulkLabel(name="correctness", label="incorrect", identifier=identifier)
    )

    assert confirmed.replaced_owners == [("rita", 1)]


def test_scores_and_metadata_come_back_exactly_and_the_history_keeps_a_whole_score_a_float(project, admin):
    spans = spans_of(project, 3)
    SpanAnnotationFactory(span=spans[0], name="quality", label=None, score=0.1 + 0.2, metadata={"r": 1 / 3})
    SpanAnnotationFactory(span=spans[1], name="quality", label=None, score=7.0, metadata={"n": [1, 2.5]})
    SpanAnnotationFactory(span=spans[2], name="quality", label=None, score=1e-7, explanation="tiny")
    before = rows("quality")

    action = label(project, admin, spans, BulkLabel(name="quality", score=2.0))
    events = {e.target_pk: e.before for e in AnnotationEvent.objects.filter(bulk_action=action)}
    annotation_bulk_undo(action=action, user=admin)

    assert events[spans[0].pk]["score"] == 0.1 + 0.2
    assert events[spans[0].pk]["metadata"] == {"r": 1 / 3}
    assert repr(events[spans[1].pk]["score"]) == "7.0"
    assert events[spans[2].pk]["score"] == 1e-7
    assert rows("quality") == before


def test_a_bulk_label_without_a_user_is_labelled_and_undone(project):
    spans = spans_of(project, 2)
    SpanAnnotationFactory(span=spans[0], user=None)

    action = label(project, None, spans)
    annotation_bulk_undo(action=action, user=None)

    assert (action.created_count, action.replaced_count) == (1, 1)
    assert list(rows()) == [spans[0].pk]
    assert rows()[spans[0].pk]["label"] == "correct"


def test_a_refused_bulk_label_leaves_nothing_behind_for_the_next_one_in_the_same_transaction(
    project, admin, settings
):
    spans = spans_of(project, 3)
    settings.BULK_LABEL_MAX_ROWS = 2

    with transaction.atomic():
        with pytest.raises(ValidationError, match="at most 2"):
            label(project, admin, spans)
        confirmed = plan(project, admin, spans[:2])
        action = label(project, admin, spans[:2])

    assert (len(confirmed.created), action.created_count) == (2, 2)
    assert set(rows()) == {spans[0].pk, spans[1].pk}


def test_a_bulk_label_and_its_undo_cost_the_same_queries_for_3_rows_as_for_600(project, admin):
    """600 rows cross the 500-row batches of the statements that used to batch. SQLite writes the events of
    replaced rows and restores them through Python in batches of 500: its replaced rows stay under that."""
    alice = UserFactory(username="alice")

    def counted(count: int) -> tuple[int, int]:
        spans = spans_of(project, count)
        for span in spans[:2]:
            SpanAnnotationFactory(span=span, label="correct", user=alice)
        with CaptureQueriesContext(connection) as write:
            action = label(project, admin, spans)
        with CaptureQueriesContext(connection) as undo:
            annotation_bulk_undo(action=action, user=admin)
        return len(write), len(undo)

    few, many = counted(3), counted(600)

    # The label: the config; the savepoint; the selection made, indexed (PostgreSQL), marked, grouped and
    # dropped; the action; the priors, the replaced rows' events (SQLite: read, then written) and update; the
    # new rows and their events; the release. The undo: the savepoint; the action; its rows locked
    # (PostgreSQL); the values it wrote and how many rows still hold them; the undo; its events; the delete;
    # the restore (SQLite: the priors and values read, then written); undone_at; the release.
    assert few == many == (14, 11 if connection.vendor == "postgresql" else 12)
