"""Agreement read from the database: raters, patterns, row sets, disagreements and the pages' queries."""

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from phoenix_annot.agreement.coefficients import Level
from phoenix_annot.agreement.ratings import EVERYONE, RatingQuery, Target
from phoenix_annot.agreement.report import agreement_report
from phoenix_annot.annotations.models import AnnotationConfig
from phoenix_annot.datasets.selectors import example_revisions_at_version
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.tracing.models import Span
from phoenix_annot.web.selectors.agreement import agreement_for_review, disagreements_for_review
from tests.agreement.test_coefficients import KRIPPENDORFF_C
from tests.factories import (
    AnnotationConfigFactory,
    DatasetExampleFactory,
    DatasetFactory,
    DatasetVersionFactory,
    ExampleRevisionFactory,
    ProjectFactory,
    SessionAnnotationFactory,
    SessionFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceAnnotationFactory,
    TraceFactory,
    UserFactory,
    reviewer_annotation,
)

pytestmark = pytest.mark.django_db


def krippendorff_spans(project, *, users=None):
    """Krippendorff's example C as four reviewers' labels on twelve spans."""
    users = users or [UserFactory(username=name) for name in "abcd"]
    spans = [SpanFactory(project=project, name=f"unit {i + 1}") for i in range(len(KRIPPENDORFF_C))]
    for span, row in zip(spans, KRIPPENDORFF_C, strict=True):
        for user, value in zip(users, row, strict=True):
            if value is not None:
                reviewer_annotation(
                    SpanAnnotationFactory, span=span, user=user, label=str(value), score=value
                )
    return spans, users


def params(**values) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in values.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    return query


def test_krippendorffs_example_read_from_the_database_gives_his_published_alphas():
    project = ProjectFactory()
    krippendorff_spans(project)
    rows = Span.objects.filter(project=project)

    nominal = agreement_report(
        RatingQuery(name="correctness", target=Target.SPAN, level=Level.NOMINAL, rows=rows)
    )
    interval = agreement_report(
        RatingQuery(name="correctness", target=Target.SPAN, level=Level.INTERVAL, rows=rows)
    )

    assert [rater.name for rater in nominal.raters] == ["a", "b", "c", "d"]
    assert round(nominal.alpha.value, 3) == 0.743
    assert round(interval.alpha.value, 3) == 0.849
    assert nominal.rated_items == 12
    assert nominal.alpha.items == 11
    assert nominal.pairs[(0, 2)].items == 8


def test_each_annotate_panel_reviewer_and_each_api_writer_is_a_rater_and_machines_only_when_asked():
    span = SpanFactory()
    reviewer = UserFactory(username="rita")
    api_writer = UserFactory(username="sam")
    reviewer_annotation(SpanAnnotationFactory, span=span, user=reviewer, label="correct")
    SpanAnnotationFactory(span=span, user=api_writer, identifier="", label="incorrect")
    SpanAnnotationFactory(
        span=span, user=api_writer, identifier="judge-v1", annotator_kind="LLM", label="correct"
    )
    query = RatingQuery(name="correctness", target=Target.SPAN, level=Level.NOMINAL)

    assert [rater.name for rater in query.read().raters] == ["rita", "sam"]
    everyone = RatingQuery(name="correctness", target=Target.SPAN, level=Level.NOMINAL, kinds=EVERYONE).read()
    assert [rater.name for rater in everyone.raters] == ["rita", "sam", "LLM judge-v1"]
    assert everyone.patterns == {("correct", "incorrect", "correct"): 1}


def test_labels_and_identifiers_holding_separators_and_digits_are_read_back_exactly():
    tricky = ["3\x1f1\x1fHUMAN", "", "ünï\x1fcode 12"]
    first, second, reviewer = (
        UserFactory(username="w1"),
        UserFactory(username="w2"),
        UserFactory(username="r"),
    )
    span = SpanFactory()
    SpanAnnotationFactory(span=span, user=first, identifier="a\x1f2", label=tricky[0])
    SpanAnnotationFactory(span=span, user=second, identifier="", label=tricky[2])
    reviewer_annotation(SpanAnnotationFactory, span=span, user=reviewer, label=tricky[1])
    other = SpanFactory()
    SpanAnnotationFactory(span=other, user=second, identifier="a\x1f2", label=tricky[2])
    SpanAnnotationFactory(span=other, user=first, identifier="", label=tricky[0])

    ratings = RatingQuery(name="correctness", target=Target.SPAN, level=Level.NOMINAL).read()

    # Each writer's identifier is their own: "" and "a\x1f2" of two writers are four raters.
    assert [rater.name for rater in ratings.raters] == ["r", "w1", "w1 (a\x1f2)", "w2", "w2 (a\x1f2)"]
    assert ratings.patterns == {
        (tricky[1], None, tricky[0], tricky[2], None): 1,
        (None, tricky[0], None, None, tricky[2]): 1,
    }


def test_an_identifier_of_two_kinds_or_of_a_deleted_writer_is_two_raters_and_raters_off_the_rows_drop_out():
    spans = [SpanFactory() for _ in range(4)]
    writer, reviewer = UserFactory(username="sam"), UserFactory(username="rita")
    for span, label in zip(spans, ["correct", "correct", "incorrect", "partial"], strict=True):
        reviewer_annotation(SpanAnnotationFactory, span=span, user=reviewer, label=label)
    SpanAnnotationFactory(span=spans[0], user=writer, identifier="", label="correct")
    SpanAnnotationFactory(span=spans[1], user=None, identifier="", label="incorrect")
    SpanAnnotationFactory(span=spans[2], user=writer, identifier="", annotator_kind="LLM", label="correct")
    SpanAnnotationFactory(span=spans[3], user=writer, identifier="", annotator_kind="CODE", label="correct")
    SpanAnnotationFactory(span=SpanFactory(), user=writer, identifier="judge-v2", annotator_kind="LLM")
    rows = Span.objects.filter(pk__in=[span.pk for span in spans])

    everyone = RatingQuery(
        name="correctness", target=Target.SPAN, level=Level.NOMINAL, rows=rows, kinds=EVERYONE
    ).read()
    humans = RatingQuery(name="correctness", target=Target.SPAN, level=Level.NOMINAL, rows=rows).read()

    assert [rater.name for rater in everyone.raters] == ["no user", "rita", "sam", "CODE", "LLM"]
    assert everyone.patterns == {
        (None, "correct", "correct", None, None): 1,
        ("incorrect", "correct", None, None, None): 1,
        (None, "incorrect", None, None, "correct"): 1,
        (None, "partial", None, "correct", None): 1,
    }
    assert [rater.name for rater in humans.raters] == ["no user", "rita", "sam"]
    assert humans.patterns == {
        (None, "correct", "correct"): 1,
        ("incorrect", "correct", None): 1,
        (None, "incorrect", None): 1,
        (None, "partial", None): 1,
    }


def test_the_spans_tab_filter_chooses_the_rows_rated():
    project = ProjectFactory()
    krippendorff_spans(project)

    page = agreement_for_review(
        project=project,
        params=params(annotation="correctness", name=["unit 6", "unit 7"]),
        user=UserFactory(),
    )

    # Unit 6: 1, 2, 3, 4 (all differ); unit 7: all 4.
    assert page.report.rated_items == 2
    assert page.report.percent.value == pytest.approx(0.5)
    assert page.choice.filter_query == "name=unit+6&name=unit+7"


def test_a_filter_with_an_error_rates_nothing():
    project = ProjectFactory()
    krippendorff_spans(project)

    page = agreement_for_review(
        project=project, params=params(annotation="correctness", latency_min="x"), user=UserFactory()
    )

    assert page.report is None
    assert "latency_min" in page.choice.filter_errors


def test_a_freeform_config_is_not_rated():
    project = ProjectFactory()
    AnnotationConfigFactory(name="note-ish", type="FREEFORM", values=[])

    page = agreement_for_review(project=project, params=params(annotation="note-ish"), user=UserFactory())

    assert page.choice.level is None
    assert page.report is None
    assert "note-ish" not in page.choice.names


def test_a_continuous_config_compares_scores_and_has_no_fleiss_kappa():
    project = ProjectFactory()
    AnnotationConfigFactory(name="helpfulness", type="CONTINUOUS", values=[], lower_bound=0, upper_bound=1)
    users = [UserFactory(), UserFactory()]
    for first, second in [(0.1, 0.2), (0.9, 0.8), (0.5, 0.5)]:
        span = SpanFactory(project=project)
        for user, score in zip(users, (first, second), strict=True):
            reviewer_annotation(
                SpanAnnotationFactory, span=span, user=user, name="helpfulness", label=None, score=score
            )

    page = agreement_for_review(project=project, params=params(annotation="helpfulness"), user=UserFactory())

    assert page.choice.level == Level.INTERVAL
    assert page.report.fleiss is None
    assert page.report.alpha.value > 0.9


def test_trace_and_session_annotations_are_rated_from_their_own_tables():
    project = ProjectFactory()
    users = [UserFactory(), UserFactory()]
    span = SpanFactory(project=project)
    session = SessionFactory(project=project)
    for user, label in zip(users, ("good", "bad"), strict=True):
        reviewer_annotation(
            TraceAnnotationFactory, trace=span.trace, user=user, name="user_feedback", label=label
        )
        reviewer_annotation(SessionAnnotationFactory, session=session, user=user, name="outcome", label=label)

    traces = agreement_for_review(
        project=project, params=params(annotation="user_feedback", target="trace"), user=UserFactory()
    )
    sessions = agreement_for_review(
        project=project, params=params(annotation="outcome", target="session"), user=UserFactory()
    )

    assert traces.report.rated_items == 1
    assert traces.report.percent.value == 0.0
    assert sessions.report.rated_items == 1
    assert "outcome" in sessions.choice.names


def test_a_dataset_versions_spans_are_a_row_set():
    project = ProjectFactory()
    spans, _ = krippendorff_spans(project)
    dataset = DatasetFactory()
    version = DatasetVersionFactory(dataset=dataset)
    for span in spans[:3]:
        ExampleRevisionFactory(example=DatasetExampleFactory(dataset=dataset, span=span), version=version)
    rows = Span.objects.filter(pk__in=example_revisions_at_version(version=version).values("example__span"))

    report = agreement_report(
        RatingQuery(name="correctness", target=Target.SPAN, level=Level.NOMINAL, rows=rows)
    )

    assert report.rated_items == 3


def test_disagreements_come_furthest_apart_first_with_each_reviewers_label_and_explanation():
    project = ProjectFactory()
    spans, users = krippendorff_spans(project)
    SpanAnnotationFactory._meta.model.objects.filter(span=spans[5], user=users[0]).update(
        explanation="looks like 1"
    )

    page = disagreements_for_review(
        project=project, params=params(annotation="correctness"), user=UserFactory()
    )

    # Units 2 (2,3,2,2), 6 (1,2,3,4) and 8 (1,1,2,1) disagree; unit 6 most.
    assert page.total == 3
    assert [row.target.name for row in page.rows] == ["unit 6", "unit 2", "unit 8"]
    assert page.rows[0].how_much == "1 of 4 say 4"
    assert page.rows[0].cells[0]["explanation"] == "looks like 1"
    assert [cell["label"] for cell in page.rows[0].cells] == ["1", "2", "3", "4"]


def test_the_spans_tab_disagreement_filter_lists_exactly_the_disagreements():
    project = ProjectFactory()
    krippendorff_spans(project)
    page = disagreements_for_review(
        project=project,
        params=params(annotation="correctness", name=["unit 2", "unit 6", "unit 7"]),
        user=UserFactory(),
    )

    assert page.total == 2
    query = QueryDict(page.choice.disagreement_filter_query())
    listed = SpanFilter(query, queryset=Span.objects.filter(project=project)).qs

    assert sorted(span.name for span in listed) == sorted(row.target.name for row in page.rows)
    assert query.getlist("name") == ["unit 2", "unit 6", "unit 7"]


def test_the_agreement_page_costs_the_same_queries_for_two_reviewers_or_five_and_for_few_rows_or_many(
    client,
):
    def queries(reviewers: int, rows: int) -> int:
        project = ProjectFactory()
        users = [UserFactory() for _ in range(reviewers)]
        for i in range(rows):
            span = SpanFactory(project=project)
            for j, user in enumerate(users):
                reviewer_annotation(
                    SpanAnnotationFactory,
                    span=span,
                    user=user,
                    label="correct" if (i + j) % 3 else "incorrect",
                )
        viewer = UserFactory()
        client.force_login(viewer)
        counts = []
        for route in ("web:agreement", "web:disagreements"):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(reverse(route, args=[project.pk]), {"annotation": "correctness"})
            assert response.status_code == 200
            counts.append(len(captured))
        return counts

    assert queries(2, 3) == queries(5, 20)


def test_the_disagreement_filter_compares_scores_of_a_continuous_config_and_refuses_freeform_names():
    AnnotationConfigFactory(name="helpfulness", type="CONTINUOUS", values=[], lower_bound=0, upper_bound=1)
    AnnotationConfigFactory(name="comment", type="FREEFORM", values=[])
    users = [UserFactory(), UserFactory()]
    apart, together = SpanFactory(name="apart"), SpanFactory(name="together")
    for span, scores in ((apart, (0.2, 0.9)), (together, (0.5, 0.5))):
        for user, score in zip(users, scores, strict=True):
            # The same label on both: only the scores tell them apart.
            reviewer_annotation(
                SpanAnnotationFactory, span=span, user=user, name="helpfulness", label="ok", score=score
            )
            reviewer_annotation(SpanAnnotationFactory, span=span, user=user, name="comment", label=f"{score}")

    def listed(name: str) -> list[str]:
        return [span.name for span in SpanFilter({"disagreement": name}, queryset=Span.objects.all()).qs]

    assert listed("helpfulness") == ["apart"]
    assert listed("comment") == []


@pytest.mark.parametrize("target", ["span", "trace", "session"])
def test_the_names_offered_are_those_on_the_projects_rows_of_the_kind_and_not_notes_or_other_projects(target):
    project, elsewhere = ProjectFactory(), ProjectFactory()
    factories = {
        "span": (SpanAnnotationFactory, lambda p: {"span": SpanFactory(project=p)}),
        "trace": (TraceAnnotationFactory, lambda p: {"trace": TraceFactory(project=p)}),
        "session": (SessionAnnotationFactory, lambda p: {"session": SessionFactory(project=p)}),
    }
    factory, row = factories[target]
    for name in ("tone", "accuracy", "note", "zeal"):
        factory(name=name, label="x", **row(project))
    factory(name="elsewhere-only", label="x", **row(elsewhere))

    page = agreement_for_review(project=project, params=params(target=target), user=UserFactory())

    configs = set(AnnotationConfig.objects.exclude(type="FREEFORM").values_list("name", flat=True))
    assert page.choice.names == sorted(configs | {"accuracy", "tone", "zeal"})
    assert "elsewhere-only" not in page.choice.names


def test_past_the_rater_limit_the_rows_own_raters_are_read_and_more_than_it_is_refused_in_words(
    monkeypatch, client
):
    monkeypatch.setattr("phoenix_annot.agreement.ratings.MAX_RATERS", 2)
    project = ProjectFactory()
    users = [UserFactory(username=name) for name in "abc"]
    both, third = SpanFactory(project=project, name="both"), SpanFactory(project=project, name="third")
    for user in users[:2]:
        reviewer_annotation(SpanAnnotationFactory, span=both, user=user, label="correct")
    reviewer_annotation(SpanAnnotationFactory, span=third, user=users[2], label="correct")
    client.force_login(users[0])

    two = agreement_for_review(
        project=project, params=params(annotation="correctness", name="both"), user=users[0]
    )
    three = agreement_for_review(project=project, params=params(annotation="correctness"), user=users[0])
    listed = disagreements_for_review(project=project, params=params(annotation="correctness"), user=users[0])
    api = client.get(f"/v1/projects/{project.name}/annotation_agreement?annotation=correctness")

    assert [rater.name for rater in two.report.raters] == ["a", "b"]
    refusal = (
        "3 raters gave this name on these rows; agreement is read between at most 2: count humans only, or "
        "narrow the rows."
    )
    assert (three.report, three.choice.rating_error) == (None, refusal)
    assert (listed.total, listed.choice.rating_error) == (0, refusal)
    assert (api.status_code, api.content.decode()) == (422, f"raters: {refusal}")


def test_rows_without_a_value_rate_nothing_and_a_zero_score_or_an_empty_label_is_a_value():
    a, b = UserFactory(username="a"), UserFactory(username="b")
    rated, unrated = SpanFactory(), SpanFactory()
    reviewer_annotation(SpanAnnotationFactory, span=rated, user=a, label="", score=0.0)
    reviewer_annotation(SpanAnnotationFactory, span=rated, user=b, label=None, score=0.0)
    reviewer_annotation(SpanAnnotationFactory, span=unrated, user=b, label=None, score=None)

    labels = RatingQuery(name="correctness", target=Target.SPAN, level=Level.NOMINAL).read()
    scores = RatingQuery(name="correctness", target=Target.SPAN, level=Level.INTERVAL).read()

    assert ([rater.name for rater in labels.raters], labels.patterns) == (["a"], {("",): 1})
    assert ([rater.name for rater in scores.raters], scores.patterns) == (["a", "b"], {(0.0, 0.0): 1})
