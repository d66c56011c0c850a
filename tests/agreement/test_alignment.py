"""Judge alignment: the figures on a hand-computed example, and the read of judges, gold and majorities."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from phoenix_annot.agreement.alignment import Judged, JudgeQuery, Window, alignment_figures
from phoenix_annot.agreement.ratings import Target
from phoenix_annot.annotations.models import GOLD_IDENTIFIER, SpanAnnotation
from phoenix_annot.tracing.models import Span
from tests.factories import SpanAnnotationFactory, SpanFactory, UserFactory, reviewer_annotation

MONDAY = datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC)


def judged(reference: str, judge: str, count: int, at: datetime.datetime = MONDAY) -> list[Judged]:
    return [Judged(reference, judge, at)] * count


def test_the_figures_of_a_hand_computed_example():
    # Humans say correct on 5 rows (the judge agrees on 4), incorrect on 5 (the judge agrees on 3).
    rows = [
        *judged("correct", "correct", 4),
        *judged("correct", "incorrect", 1),
        *judged("incorrect", "correct", 2),
        *judged("incorrect", "incorrect", 3),
    ]

    figures = alignment_figures(rows)

    assert figures.labels == ["correct", "incorrect"]
    assert figures.matrix == [[4, 1], [2, 3]]
    correct, incorrect = figures.per_label
    # precision = 4 / (4 + 2), recall = 4 / 5, F1 = 2pr / (p + r) = 8/11
    assert (correct.support, correct.precision, correct.recall) == (5, pytest.approx(2 / 3), 0.8)
    assert correct.f1 == pytest.approx(8 / 11)
    # precision = 3 / (3 + 1), recall = 3 / 5, F1 = 2/3
    assert (incorrect.precision, incorrect.recall, incorrect.f1) == (0.75, 0.6, pytest.approx(2 / 3))
    # observed 0.7; chance (5 x 6 + 5 x 4) / 100 = 0.5; kappa (0.7 - 0.5) / (1 - 0.5) = 0.4
    assert figures.accuracy == 0.7
    assert figures.kappa.value == pytest.approx(0.4)
    assert figures.kappa.items == 10
    assert figures.kappa.low < 0.4 < figures.kappa.high


def test_each_week_from_monday_has_its_own_accuracy_and_kappa_so_drift_shows():
    next_sunday = MONDAY + datetime.timedelta(days=6, hours=14)
    week_after = MONDAY + datetime.timedelta(days=7)
    rows = [
        *judged("correct", "correct", 2, next_sunday),
        *judged("incorrect", "incorrect", 2),
        *judged("correct", "incorrect", 3, week_after),
        *judged("incorrect", "incorrect", 1, week_after),
    ]

    weeks = alignment_figures(rows).weeks

    assert [(w.start, w.items, w.accuracy, w.kappa) for w in weeks] == [
        (datetime.date(2026, 11, 2), 4, 1.0, 1.0),
        (datetime.date(2026, 11, 9), 4, 0.25, 0.0),
    ]


def test_a_label_nobody_predicted_has_no_precision_and_no_f1():
    figures = alignment_figures([*judged("correct", "incorrect", 2), *judged("incorrect", "incorrect", 1)])

    correct = figures.per_label[0]
    assert (correct.precision, correct.recall, correct.f1) == (None, 0.0, None)


def test_no_rows_have_no_figures():
    figures = alignment_figures([])

    assert (figures.items, figures.accuracy, figures.kappa.value, figures.weeks) == (0, None, None, [])


def test_a_window_reads_dates_and_names_a_bad_one():
    assert Window.parse("2026-11-02", "") == Window(datetime.date(2026, 11, 2), None)
    with pytest.raises(ValidationError) as bad:
        Window.parse("last week", None)
    with pytest.raises(ValidationError) as backwards:
        Window.parse("2026-11-09", "2026-11-02")
    assert list(bad.value.message_dict) == ["since"]
    assert list(backwards.value.message_dict) == ["until"]


@pytest.mark.django_db
def test_the_judge_is_compared_with_gold_else_the_human_majority_and_ties_and_unreviewed_rows_are_left_out():
    users = [UserFactory(username=name) for name in ("ann", "bob", "cy")]
    spans = {name: SpanFactory(name=name) for name in ("gold", "majority", "tie", "alone", "agree")}
    humans = {
        "gold": ("correct", "correct", "correct"),
        "majority": ("incorrect", "incorrect", "correct"),
        "tie": ("correct", "incorrect", None),
        "alone": (None, None, None),
        "agree": ("correct", None, None),
    }
    for name, labels in humans.items():
        for user, label in zip(users, labels, strict=True):
            if label:
                span = spans[name]
                reviewer_annotation(
                    SpanAnnotationFactory, span=span, user=user, label=label, explanation="hm"
                )
    SpanAnnotationFactory(
        span=spans["gold"], identifier=GOLD_IDENTIFIER, label="incorrect", explanation="the date is wrong"
    )
    for name in spans:
        label = "correct" if name in ("gold", "majority", "agree") else "incorrect"
        explanation = "judge: looks fine"
        SpanAnnotationFactory(
            span=spans[name], annotator_kind="LLM", identifier="", label=label, explanation=explanation
        )
    SpanAnnotationFactory(span=spans["agree"], annotator_kind="CODE", identifier="regex", label="correct")
    query = JudgeQuery(name="correctness", target=Target.SPAN, rows=Span.objects.all())

    judges = query.judges()
    report = query.report(judges[0])

    assert [(j.name, j.rows) for j in judges] == [("LLM", 5), ("CODE regex", 1)]
    assert (report.from_gold, report.from_majority, report.ties, report.unreviewed) == (1, 2, 1, 1)
    assert report.figures.matrix == [[1, 0], [2, 0]]
    assert {spans_by_pk(d.target_pk) for d in report.disagreements} == {"gold", "majority"}
    on_gold = next(d for d in report.disagreements if spans_by_pk(d.target_pk) == "gold")
    assert (on_gold.reference, on_gold.judge_label, on_gold.judge_explanation) == (
        "incorrect",
        "correct",
        "judge: looks fine",
    )
    assert [(h.label, h.explanation, h.gold) for h in on_gold.humans][-1] == (
        "incorrect",
        "the date is wrong",
        True,
    )


@pytest.mark.django_db
def test_the_window_keeps_the_judges_labels_written_on_those_days():
    span = SpanFactory()
    reviewer_annotation(SpanAnnotationFactory, span=span, user=UserFactory(), label="correct")
    SpanAnnotationFactory(span=span, annotator_kind="LLM", identifier="", label="correct")
    SpanAnnotation.objects.filter(annotator_kind="LLM").update(updated_at=MONDAY)
    rows = Span.objects.all()

    def judges(since: str, until: str) -> int:
        window = Window.parse(since, until)
        return len(JudgeQuery(name="correctness", target=Target.SPAN, rows=rows, window=window).judges())

    assert judges("2026-11-02", "2026-11-02") == 1
    assert judges("2026-11-03", "") == 0


def spans_by_pk(pk: int) -> str:
    return Span.objects.get(pk=pk).name
