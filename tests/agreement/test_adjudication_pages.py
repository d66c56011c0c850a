"""The disagreements view's adjudication (gold per row, promotion), its queue action, and the Judge
alignment tab, as an adjudicator, an annotator and a viewer see them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.configs import annotation_config_assign
from phoenix_annot.annotations.models import GOLD_IDENTIFIER, AnnotationEvent, SpanAnnotation
from phoenix_annot.queues.models import QueueItem
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    UserFactory,
    reviewer_annotation,
)
from tests.queues.factories import AnnotationQueueFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    """Two reviewers on three spans: 'split' (correct / incorrect), 'same' (both correct), 'lone' (one)."""
    project = ProjectFactory()
    annotation_config_assign(project=project, config=AnnotationConfigFactory())
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    for name, labels in {"split": ("correct", "incorrect"), "same": ("correct", "correct")}.items():
        span = SpanFactory(project=project, name=name)
        for user, label in zip((ann, bob), labels, strict=True):
            reviewer_annotation(
                SpanAnnotationFactory, span=span, user=user, label=label, explanation=f"{user}"
            )
    return project


def signed_in(client, role: str = User.Role.ADMIN, username: str = "ada"):
    client.force_login(UserFactory(username=username, role=role))
    return client


def disagreements(client, project):
    return client.get(reverse("web:disagreements", args=[project.pk]), {"annotation": "correctness"})


def test_an_adjudicator_sees_a_gold_form_per_row_and_the_promotion_and_an_annotator_sees_neither(
    client, project
):
    adjudicator_page = disagreements(signed_in(client), project).content.decode()
    annotator_page = disagreements(signed_in(client, User.Role.ANNOTATOR, "ann"), project).content.decode()

    assert "Save gold" in adjudicator_page
    assert "Promote agreeing rows to gold" in adjudicator_page
    assert "Save gold" not in annotator_page
    assert "Promote agreeing rows to gold" not in annotator_page


def test_setting_gold_answers_the_rows_gold_cell_and_a_missing_reason_is_a_422_naming_it(client, project):
    split = SpanAnnotation.objects.get(span__name="split", user__username="ann").span
    url = reverse("web:gold-set", args=[project.pk])
    form = {"annotation": "correctness", "target": "span", "row": split.pk, "gold_label": "incorrect"}
    signed_in(client)

    refused = client.post(url, {**form, "reason": " "}, headers={"HX-Request": "true"})
    saved = client.post(url, {**form, "reason": "the date is wrong"}, headers={"HX-Request": "true"})

    assert (refused.status_code, refused.content.decode()) == (
        422,
        "reason: Say why this is the gold value: the reason is kept as its explanation.",
    )
    assert saved.status_code == 200
    assert "<strong data-gold-value>incorrect</strong>" in saved.content.decode()
    gold = SpanAnnotation.objects.get(identifier=GOLD_IDENTIFIER)
    assert (gold.span, gold.label, gold.score, gold.explanation) == (
        split,
        "incorrect",
        0.0,
        "the date is wrong",
    )
    assert AnnotationEvent.objects.filter(identifier=GOLD_IDENTIFIER, via="page").count() == 1


def test_a_new_label_typed_in_becomes_gold_where_no_config_offers_labels(client):
    span = SpanFactory(name="split")
    for name, label in (("ann", "yes"), ("bob", "no")):
        reviewer_annotation(
            SpanAnnotationFactory, span=span, user=UserFactory(username=name), name="ok", label=label
        )
    signed_in(client)

    client.post(
        reverse("web:gold-set", args=[span.project.pk]),
        {
            "annotation": "ok",
            "row": span.pk,
            "gold_label": "yes",
            "gold_new_label": "maybe",
            "reason": "both half right",
        },
    )

    assert SpanAnnotation.objects.get(identifier=GOLD_IDENTIFIER).label == "maybe"


def test_an_annotator_may_not_set_gold_or_promote(client, project):
    split = SpanAnnotation.objects.filter(span__name="split").first().span
    signed_in(client, User.Role.ANNOTATOR, "ann")

    gold = client.post(
        reverse("web:gold-set", args=[project.pk]),
        {"annotation": "correctness", "row": split.pk, "gold_label": "correct", "reason": "mine"},
    )
    promote = client.post(
        reverse("web:gold-promote", args=[project.pk]), {"annotation": "correctness", "threshold": "2"}
    )

    assert (gold.status_code, promote.status_code) == (403, 403)
    assert not SpanAnnotation.objects.filter(identifier=GOLD_IDENTIFIER).exists()


def test_promotion_says_how_many_rows_first_then_promotes_them_in_one_action(client, project):
    url = reverse("web:gold-promote", args=[project.pk])
    signed_in(client)

    preview = client.get(url, {"annotation": "correctness", "threshold": "2"})
    too_few = client.get(url, {"annotation": "correctness", "threshold": "1"})
    done = client.post(url, {"annotation": "correctness", "threshold": "2"})

    assert (
        "1 span without gold has all of at least 2 raters agreeing on correctness."
        in preview.content.decode()
    )
    assert "Promote 1 span to gold" in preview.content.decode()
    assert too_few.status_code == 422
    assert "threshold" in too_few.content.decode()
    assert "1 row promoted to gold." in done.content.decode()
    assert list(
        SpanAnnotation.objects.filter(identifier=GOLD_IDENTIFIER).values_list("span__name", "label")
    ) == [("same", "correct")]


def test_the_disagreeing_rows_go_to_a_queue_of_the_project_on_the_server(client, project):
    queue = AnnotationQueueFactory(project=project, name="Second look")
    signed_in(client, User.Role.ANNOTATOR, "ann")
    page = disagreements(client, project).content.decode()

    response = client.post(
        reverse("web:disagreements-to-queue", args=[project.pk]),
        {"annotation": "correctness", "target": "span", "queue": queue.pk},
        follow=True,
    )

    assert "Send the 1 span to" in page
    assert "Second look: 1 row added, 0 already in the queue." in response.content.decode()
    assert list(QueueItem.objects.filter(queue=queue).values_list("span__name", flat=True)) == ["split"]


def test_a_queue_of_another_project_is_refused_by_name(client, project):
    queue = AnnotationQueueFactory(project=ProjectFactory())
    signed_in(client)

    response = client.post(
        reverse("web:disagreements-to-queue", args=[project.pk]),
        {"annotation": "correctness", "queue": queue.pk},
        follow=True,
    )

    assert "Queue: choose one of the project&#x27;s queues." in response.content.decode()
    assert not QueueItem.objects.exists()


def test_the_judge_alignment_tab_shows_the_matrix_figures_weeks_and_both_explanations(client, project):
    for span in project.spans.all():
        SpanAnnotationFactory(
            span=span, annotator_kind="LLM", identifier="", label="correct", explanation="the judge is sure"
        )
    signed_in(client, User.Role.VIEWER, "vera")

    page = client.get(reverse("web:judge-alignment", args=[project.pk]), {"annotation": "correctness"})
    bad_window = client.get(
        reverse("web:judge-alignment", args=[project.pk]), {"annotation": "correctness", "since": "soon"}
    )

    text = page.content.decode()
    assert "LLM against the humans on 1 span" in text
    assert "left out: 1 where the reviewers are tied" in text
    assert 'id="confusion-matrix"' in text
    assert 'id="alignment-weeks"' in text
    assert "since must be a date, YYYY-MM-DD: got &#x27;soon&#x27;" in bad_window.content.decode()


def test_the_judge_alignment_tab_and_the_disagreements_cost_the_same_queries_for_few_rows_or_many(client):
    def queries(rows: int) -> list[int]:
        project = ProjectFactory()
        annotation_config_assign(project=project, config=AnnotationConfigFactory())
        reviewers = [UserFactory(), UserFactory()]
        for i in range(rows):
            span = SpanFactory(project=project)
            for j, user in enumerate(reviewers):
                label = "correct" if (i + j) % 3 else "incorrect"
                reviewer_annotation(SpanAnnotationFactory, span=span, user=user, label=label)
            SpanAnnotationFactory(span=span, annotator_kind="LLM", identifier="", label="correct")
            SpanAnnotationFactory(span=span, identifier=GOLD_IDENTIFIER, label="correct")
        counts = []
        for route in ("web:judge-alignment", "web:disagreements"):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(reverse(route, args=[project.pk]), {"annotation": "correctness"})
            assert response.status_code == 200
            counts.append(len(captured))
        return counts

    signed_in(client)

    assert queries(3) == queries(12)


def test_a_score_becomes_gold_for_a_continuous_config_and_a_score_that_is_not_a_number_is_named(client):
    span = SpanFactory()
    config = AnnotationConfigFactory(
        name="helpfulness", type="CONTINUOUS", values=[], lower_bound=0, upper_bound=1
    )
    annotation_config_assign(project=span.project, config=config)
    for name, score in (("ann", 0.2), ("bob", 0.9)):
        user = UserFactory(username=name)
        reviewer_annotation(
            SpanAnnotationFactory, span=span, user=user, name="helpfulness", label=None, score=score
        )
    url = reverse("web:gold-set", args=[span.project.pk])
    form = {"annotation": "helpfulness", "row": span.pk, "reason": "somewhere between"}
    signed_in(client)

    bad = client.post(url, {**form, "gold_score": "high"})
    page = client.get(reverse("web:disagreements", args=[span.project.pk]), {"annotation": "helpfulness"})
    client.post(url, {**form, "gold_score": "0.6"})

    assert (bad.status_code, bad.content.decode()) == (422, "gold_score: must be a number")
    assert (
        'name="gold_score" required value="0.2"' in page.content.decode()
        or "gold_score" in page.content.decode()
    )
    assert SpanAnnotation.objects.get(identifier=GOLD_IDENTIFIER).score == 0.6
