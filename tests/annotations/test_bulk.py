"""Bulk labelling (annotations/bulk.py): one atomic write recorded as one action, and an undo that puts
back exactly what it changed, or refuses and changes nothing."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Count
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
    BulkActionKind,
    EventVia,
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
    reviewer_identifier,
)
from phoenix_annot.annotations.ownership import NotYours
from phoenix_annot.annotations.services import span_annotation_upsert
from phoenix_annot.tracing.models import Session, Span, Trace
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SessionFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceAnnotationFactory,
    TraceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

INCORRECT = BulkLabel(name="correctness", label="incorrect", explanation="wrong city")


@pytest.fixture
def project():
    project = ProjectFactory(name="bulk")
    AnnotationConfigFactory().projects.add(project)
    return project


def spans_of(project, count: int) -> list[Span]:
    return [SpanFactory(trace=TraceFactory(project=project)) for _ in range(count)]


def label(project, user, spans, bulk_label=INCORRECT) -> AnnotationBulkAction:
    return annotations_bulk_label(
        project=project,
        target_kind="span",
        targets=Span.objects.filter(pk__in=[span.pk for span in spans]),
        label=bulk_label,
        user=user,
    )


def stored(span: Span, identifier: str = "") -> dict | None:
    return (
        SpanAnnotation.objects.filter(span=span, name="correctness", identifier=identifier)
        .values("label", "score", "explanation", "metadata", "annotator_kind", "user_id", "source")
        .first()
    )


def test_a_bulk_label_creates_and_replaces_rows_as_one_action_with_one_event_per_row_changed(project, admin):
    alice = UserFactory(username="alice")
    new, theirs, same = spans_of(project, 3)
    SpanAnnotationFactory(span=theirs, label="correct", score=1.0, user=alice)
    SpanAnnotationFactory(
        span=same, label="incorrect", score=0.0, explanation="wrong city", annotator_kind="HUMAN", user=admin
    )

    action = label(project, admin, [new, theirs, same])

    assert (action.selected_count, action.created_count, action.replaced_count, action.skipped_count) == (
        3,
        1,
        1,
        0,
    )
    written = {
        "label": "incorrect",
        "score": 0.0,
        "explanation": "wrong city",
        "metadata": {},
        "annotator_kind": "HUMAN",
        "user_id": admin.pk,
        "source": "APP",
    }
    assert stored(new) == written
    assert stored(theirs) == written
    events = AnnotationEvent.objects.filter(bulk_action=action).order_by("target_pk")
    assert [(e.target_pk, e.action, e.via, e.user_id) for e in events] == [
        (new.pk, "create", EventVia.BULK_LABEL, admin.pk),
        (theirs.pk, "update", EventVia.BULK_LABEL, admin.pk),
    ]
    assert events[1].before["label"] == "correct"


def test_undo_deletes_the_rows_it_created_and_gives_replaced_rows_back_their_values_owner_and_source(
    project, admin
):
    alice = UserFactory(username="alice")
    new, theirs = spans_of(project, 2)
    SpanAnnotationFactory(
        span=theirs,
        label="correct",
        score=1.0,
        explanation="right",
        metadata={"batch": 7},
        annotator_kind="LLM",
        user=alice,
        source="API",
    )
    before = stored(theirs)
    action = label(project, admin, [new, theirs])

    undo = annotation_bulk_undo(action=action, user=admin)

    assert stored(new) is None
    assert stored(theirs) == before
    action.refresh_from_db()
    assert action.undone_at == undo.at
    assert (undo.kind, undo.undoes_id, undo.created_count, undo.replaced_count) == (
        BulkActionKind.UNDO,
        action.pk,
        1,
        1,
    )
    events = AnnotationEvent.objects.filter(bulk_action=undo).order_by("target_pk")
    assert [(e.target_pk, e.action, e.via) for e in events] == [
        (new.pk, "delete", EventVia.BULK_UNDO),
        (theirs.pk, "update", EventVia.BULK_UNDO),
    ]
    assert events[1].after == {
        k: before[k] for k in ("label", "score", "explanation", "metadata", "annotator_kind")
    }


def test_undoing_twice_is_refused_and_an_undo_is_not_undone(project, admin):
    action = label(project, admin, spans_of(project, 2))
    undo = annotation_bulk_undo(action=action, user=admin)

    with pytest.raises(BulkUndoRefused, match="undone already"):
        annotation_bulk_undo(action=action, user=admin)
    with pytest.raises(BulkUndoRefused, match="is not undone in turn"):
        annotation_bulk_undo(action=undo, user=admin)
    assert AnnotationBulkAction.objects.count() == 2


def test_undo_is_refused_when_a_row_was_changed_since_and_changes_nothing(project, admin):
    bob = UserFactory(username="bob", role=User.Role.ADMIN)
    first, second, third = spans_of(project, 3)
    action = label(project, admin, [first, second, third])
    # Another writer puts the same values back under their name, and deletes one: both count as changed.
    span_annotation_upsert(
        span=second,
        name="correctness",
        label="incorrect",
        score=0.0,
        explanation="wrong city",
        annotator_kind="HUMAN",
        source="API",
        user=bob,
    )
    SpanAnnotation.objects.filter(span=third).delete()

    with pytest.raises(BulkUndoRefused, match="2 of the 3 annotations this bulk label wrote were changed"):
        annotation_bulk_undo(action=action, user=admin)

    assert stored(first)["label"] == "incorrect"
    action.refresh_from_db()
    assert action.undone_at is None
    assert not AnnotationBulkAction.objects.filter(kind=BulkActionKind.UNDO).exists()


def test_a_non_admin_skips_rows_holding_another_users_value_and_the_plan_names_whose(project):
    alice = UserFactory(username="alice")
    carol = UserFactory(username="carol")
    mine, hers, free, machine = spans_of(project, 4)
    SpanAnnotationFactory(span=mine, label="correct", user=alice)
    SpanAnnotationFactory(span=hers, label="correct", user=carol)
    SpanAnnotationFactory(span=machine, label="correct", annotator_kind="LLM", user=carol)
    spans = Span.objects.filter(pk__in=[mine.pk, hers.pk, free.pk, machine.pk])

    plan = bulk_label_plan(project=project, target_kind="span", targets=spans, label=INCORRECT, user=alice)
    action = label(project, alice, [mine, hers, free, machine])

    assert (plan.selected, plan.with_value, len(plan.created)) == (4, 3, 1)
    assert plan.replaced_owners == [("alice", 1)]
    assert plan.skipped_owners == [("carol", 2)]
    assert (action.created_count, action.replaced_count, action.skipped_count) == (1, 1, 2)
    assert stored(hers)["label"] == "correct"
    assert stored(machine)["label"] == "correct"
    assert stored(mine)["label"] == "incorrect"


def test_the_plan_counts_rows_already_holding_the_values_and_the_write_leaves_them_alone(project, admin):
    alice = UserFactory(username="alice")
    span = spans_of(project, 1)[0]
    row = SpanAnnotationFactory(
        span=span, label="incorrect", score=0.0, explanation="wrong city", user=alice, source="API"
    )

    plan = bulk_label_plan(
        project=project, target_kind="span", targets=Span.objects.all(), label=INCORRECT, user=admin
    )
    action = label(project, admin, [span])

    assert (plan.unchanged, plan.with_value, plan.replaced_owners) == (1, 1, [])
    assert (action.created_count, action.replaced_count) == (0, 0)
    assert stored(span)["user_id"] == alice.pk
    row.refresh_from_db()
    assert not AnnotationEvent.objects.filter(annotation_pk=row.pk).exists()


def test_a_non_admin_may_not_write_another_reviewers_identifier(project):
    alice, carol = UserFactory(username="alice"), UserFactory(username="carol")
    spans = spans_of(project, 2)
    theirs = BulkLabel(name="correctness", label="correct", identifier=reviewer_identifier(carol.pk))

    with pytest.raises(NotYours, match="carol"):
        label(project, alice, spans, theirs)
    assert not SpanAnnotation.objects.exists()
    assert not AnnotationBulkAction.objects.exists()


def test_a_non_admin_may_not_undo_somebody_elses_bulk_label(project, admin):
    action = label(project, admin, spans_of(project, 1))

    with pytest.raises(PermissionDenied):
        annotation_bulk_undo(action=action, user=UserFactory(username="alice"))
    assert SpanAnnotation.objects.count() == 1


@pytest.mark.parametrize(
    ("bulk_label", "field"),
    [
        (BulkLabel(name="correctness", label="maybe"), "label"),
        (BulkLabel(name="correctness", explanation="no label"), "label"),
        (BulkLabel(name="tone", label="fine"), "name"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field_and_writes_nothing(project, admin, bulk_label, field):
    with pytest.raises(ValidationError) as refused:
        label(project, admin, spans_of(project, 2), bulk_label)

    assert field in refused.value.message_dict
    assert not SpanAnnotation.objects.exists()
    assert not AnnotationBulkAction.objects.exists()
    assert not AnnotationEvent.objects.exists()


def test_a_score_and_a_free_text_config_need_their_value(project, admin):
    AnnotationConfigFactory(name="quality", type="CONTINUOUS", lower_bound=0, upper_bound=1).projects.add(
        project
    )
    AnnotationConfigFactory(name="remark", type="FREEFORM").projects.add(project)
    span = spans_of(project, 1)[0]

    with pytest.raises(ValidationError) as refused:
        label(project, admin, [span], BulkLabel(name="quality", score=2.0))
    assert "upper bound" in refused.value.message_dict["score"][0]
    with pytest.raises(ValidationError) as refused:
        label(project, admin, [span], BulkLabel(name="remark"))
    assert "explanation" in refused.value.message_dict

    label(project, admin, [span], BulkLabel(name="remark", explanation="too long"))
    assert SpanAnnotation.objects.get(name="remark").explanation == "too long"


def test_more_rows_than_the_limit_are_refused_naming_it(project, admin, settings):
    settings.BULK_LABEL_MAX_ROWS = 2

    with pytest.raises(ValidationError, match=r"at most 2 .*PHOENIX_ANNOT_BULK_LABEL_MAX_ROWS"):
        label(project, admin, spans_of(project, 3))
    assert not SpanAnnotation.objects.exists()
    assert not AnnotationBulkAction.objects.exists()


def test_traces_and_sessions_are_labelled_and_undone_as_spans_are(project, admin):
    AnnotationConfigFactory(name="summary", type="FREEFORM").projects.add(project)
    trace = TraceFactory(project=project)
    session = SessionFactory(project=project)
    TraceAnnotationFactory(
        trace=trace, name="summary", label=None, score=None, explanation="before", user=admin
    )
    feedback = BulkLabel(name="summary", explanation="after")

    on_traces = annotations_bulk_label(
        project=project, target_kind="trace", targets=Trace.objects.all(), label=feedback, user=admin
    )
    on_sessions = annotations_bulk_label(
        project=project, target_kind="session", targets=Session.objects.all(), label=feedback, user=admin
    )

    assert TraceAnnotation.objects.get(trace=trace).explanation == "after"
    assert SessionAnnotation.objects.get(session=session).explanation == "after"
    annotation_bulk_undo(action=on_traces, user=admin)
    annotation_bulk_undo(action=on_sessions, user=admin)
    assert TraceAnnotation.objects.get(trace=trace).explanation == "before"
    assert not SessionAnnotation.objects.exists()


def test_a_bulk_label_and_its_undo_cost_the_same_queries_for_three_rows_as_for_thirty(project, admin):
    alice = UserFactory(username="alice")

    def counted(count: int) -> tuple[int, int]:
        spans = spans_of(project, count)
        for span in spans[::2]:
            SpanAnnotationFactory(span=span, label="correct", user=alice)
        with CaptureQueriesContext(connection) as write:
            action = label(project, admin, spans)
        with CaptureQueriesContext(connection) as undo:
            annotation_bulk_undo(action=action, user=admin)
        return len(write), len(undo)

    write, undo = counted(3)
    assert (write, undo) == counted(30)
    # Each at most (a tuple comparison would bound the label only): PostgreSQL may write with COPY, which no
    # count sees.
    assert write <= 14
    assert undo <= 12


def test_the_rows_may_come_from_a_grouped_or_distinct_query(project, admin):
    spans = spans_of(project, 2)
    SpanAnnotationFactory(span=spans[0], name="tone", label="fine")
    grouped = Span.objects.filter(project=project).annotate(annotated=Count("annotations")).distinct()

    action = annotations_bulk_label(
        project=project, target_kind="span", targets=grouped, label=INCORRECT, user=admin
    )

    assert action.created_count == 2
