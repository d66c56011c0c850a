import pytest
from django.core.exceptions import ValidationError

from phoenix_annot.annotations.models import (
    AnnotationConfig,
    SpanAnnotation,
    TraceAnnotation,
    reviewer_identifier,
)
from phoenix_annot.annotations.services import (
    AnnotationWrite,
    span_annotation_upsert,
    span_annotations_upsert,
    trace_annotation_upsert,
    trace_annotations_upsert,
)
from tests.factories import AnnotationConfigFactory, ProjectFactory, SpanFactory, TraceFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_seeded_user_feedback_config_exists_after_migrate():
    config = AnnotationConfig.objects.get(name="user_feedback")

    assert (config.type, config.optimization_direction) == ("CATEGORICAL", "MAXIMIZE")
    assert config.values == [{"label": "positive", "score": 1.0}, {"label": "negative", "score": 0.0}]


def test_writing_the_same_key_again_replaces_the_annotation_and_keeps_its_id():
    span = SpanFactory()
    first = span_annotation_upsert(
        span=span,
        name="correctness",
        annotator_kind="LLM",
        source="API",
        label="correct",
        score=1.0,
        explanation="matches the docs",
        metadata={"model": "judge-1"},
    )

    second = span_annotation_upsert(
        span=span, name="correctness", annotator_kind="HUMAN", source="APP", score=0.0
    )

    assert second.pk == first.pk
    stored = SpanAnnotation.objects.get()
    assert (stored.label, stored.score, stored.explanation, stored.metadata) == (None, 0.0, None, {})
    assert (stored.annotator_kind, stored.source) == ("HUMAN", "APP")
    assert stored.created_at == first.created_at
    assert stored.updated_at >= first.updated_at


def test_each_identifier_holds_its_own_annotation_of_a_name():
    span = SpanFactory()
    alice, bob = UserFactory(), UserFactory()

    span_annotation_upsert(
        span=span,
        name="tone",
        annotator_kind="HUMAN",
        source="APP",
        label="rude",
        identifier=reviewer_identifier(alice.pk),
        user=alice,
    )
    span_annotation_upsert(
        span=span,
        name="tone",
        annotator_kind="HUMAN",
        source="APP",
        label="fine",
        identifier=reviewer_identifier(bob.pk),
        user=bob,
    )

    assert dict(SpanAnnotation.objects.values_list("user", "label")) == {alice.pk: "rude", bob.pk: "fine"}


def test_a_label_outside_a_categorical_config_is_refused_naming_the_labels():
    span = SpanFactory()
    AnnotationConfigFactory(name="correctness").projects.add(span.project)

    with pytest.raises(ValidationError) as error:
        span_annotation_upsert(
            span=span, name="correctness", annotator_kind="HUMAN", source="APP", label="maybe"
        )

    assert error.value.message_dict == {
        "label": ["'maybe' is not a label of 'correctness'; choose one of: correct, incorrect."]
    }
    assert SpanAnnotation.objects.count() == 0


@pytest.mark.parametrize(
    ("score", "message"), [(-0.1, "below the lower bound 0.0"), (1.5, "above the upper bound 1.0")]
)
def test_a_score_outside_a_continuous_config_is_refused(score, message):
    span = SpanFactory()
    config = AnnotationConfigFactory(
        name="relevance", type="CONTINUOUS", values=[], lower_bound=0.0, upper_bound=1.0
    )
    config.projects.add(span.project)

    with pytest.raises(ValidationError) as error:
        span_annotation_upsert(span=span, name="relevance", annotator_kind="LLM", source="API", score=score)

    assert message in error.value.message_dict["score"][0]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "note"}, "name", "reserved for notes"),
        ({"name": " "}, "name", "needs a name"),
        ({"name": "x", "score": float("nan")}, "score", "finite"),
        ({"name": "x", "annotator_kind": "ROBOT"}, "annotator_kind", "not a valid choice"),
        ({"name": "x", "label": None}, "result", "needs a label, a score or an explanation"),
        ({"name": "x", "label": "", "explanation": ""}, "result", "needs a label, a score or an explanation"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(fields, field, message):
    values = {"annotator_kind": "HUMAN", "source": "API", "label": "fine", **fields}

    with pytest.raises(ValidationError) as error:
        span_annotation_upsert(span=SpanFactory(), **values)

    assert message in str(error.value.message_dict[field])
    assert SpanAnnotation.objects.count() == 0


def test_names_without_a_config_are_free_form():
    annotation = span_annotation_upsert(
        span=SpanFactory(), name="anything", annotator_kind="CODE", source="API", label="x", score=42
    )

    assert (annotation.label, annotation.score) == ("x", 42)


def test_trace_annotations_upsert_on_the_trace():
    trace = TraceFactory()

    first = trace_annotation_upsert(
        trace=trace, name="user_feedback", annotator_kind="HUMAN", source="API", label="positive", score=1
    )
    second = trace_annotation_upsert(
        trace=trace, name="user_feedback", annotator_kind="HUMAN", source="API", label="negative", score=0
    )

    assert first.pk == second.pk
    assert TraceAnnotation.objects.get().label == "negative"


class TestConfigsApplyWhereAssigned:
    def test_a_config_checks_the_annotations_of_a_project_it_is_assigned_to(self):
        span = SpanFactory()
        AnnotationConfigFactory(name="correctness").projects.add(span.project)
        write = AnnotationWrite(target_id=span.span_id, name="correctness", annotator_kind="LLM", label="meh")

        with pytest.raises(ValidationError) as error:
            span_annotations_upsert(writes=[write], source="API", user=None)

        assert "data[0].label: 'meh' is not a label of 'correctness'" in error.value.messages[0]
        assert not SpanAnnotation.objects.exists()

    def test_a_config_assigned_elsewhere_leaves_the_values_as_sent(self):
        span, elsewhere = SpanFactory(), ProjectFactory()
        AnnotationConfigFactory(name="correctness").projects.add(elsewhere)
        trace = span.trace

        span_annotation_upsert(span=span, name="correctness", annotator_kind="LLM", source="API", label="meh")
        trace_annotations_upsert(
            writes=[
                AnnotationWrite(target_id=trace.trace_id, name="correctness", annotator_kind="LLM", score=7)
            ],
            source="API",
            user=None,
        )

        assert SpanAnnotation.objects.get().label == "meh"
        assert TraceAnnotation.objects.get().score == 7

    def test_one_batch_is_checked_per_project(self):
        judged, free = SpanFactory(), SpanFactory()
        AnnotationConfigFactory(name="correctness").projects.add(judged.project)
        writes = [
            AnnotationWrite(target_id=free.span_id, name="correctness", annotator_kind="LLM", label="meh"),
            AnnotationWrite(target_id=judged.span_id, name="correctness", annotator_kind="LLM", label="meh"),
        ]

        with pytest.raises(ValidationError) as error:
            span_annotations_upsert(writes=writes, source="API", user=None)

        assert [m.split(":")[0] for m in error.value.messages] == ["data[1].label"]
        assert not SpanAnnotation.objects.exists()


def test_a_categorical_configs_label_takes_its_score_and_an_unknown_label_none():
    config = AnnotationConfigFactory.build(
        type="CATEGORICAL", values=[{"label": "correct", "score": 1.0}, {"label": "unknown"}]
    )

    assert config.label_scores() == {"correct": 1.0, "unknown": None}
    scores = [config.score_for(label, None) for label in ("correct", "unknown", "meh", None)]
    assert scores == [1.0, None, None, None]
    assert config.score_for("correct", 0.5) == 0.5
