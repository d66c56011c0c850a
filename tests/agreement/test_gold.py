"""Adjudication: who may write `gold`, through the pages' service and /v1, and what promotion writes."""

import pytest
from django.core.exceptions import ValidationError

from phoenix_annot.accounts.models import User
from phoenix_annot.accounts.services import api_key_create
from phoenix_annot.agreement.coefficients import Level
from phoenix_annot.agreement.gold import Promotion, gold_promote_agreeing, gold_set
from phoenix_annot.agreement.ratings import RatingQuery, Target
from phoenix_annot.agreement.report import agreement_report
from phoenix_annot.annotations.configs import annotation_config_assign
from phoenix_annot.annotations.models import GOLD_IDENTIFIER, AnnotationEvent, SpanAnnotation
from phoenix_annot.annotations.ownership import NotYours
from phoenix_annot.tracing.models import Project, Span
from tests.accounts.factories import ProjectMembershipFactory
from tests.api.conftest import V1Client
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    UserFactory,
    reviewer_annotation,
)

pytestmark = pytest.mark.django_db


def gold_rows() -> list[tuple[str, str | None, float | None, str | None, str]]:
    return list(
        SpanAnnotation.objects.filter(identifier=GOLD_IDENTIFIER)
        .order_by("span__name")
        .values_list("span__name", "label", "score", "explanation", "user__username")
    )


def set_gold(span: Span, user: User, label: str = "correct", reason: str = "the answer cites the doc"):
    return gold_set(
        target=Target.SPAN, row=span, name="correctness", label=label, score=None, reason=reason, user=user
    )


def correctness_on(project: Project) -> None:
    annotation_config_assign(project=project, config=AnnotationConfigFactory())


def test_an_admin_sets_gold_with_its_reason_and_the_configs_score_and_the_history_records_it():
    span = SpanFactory(name="answer")
    correctness_on(span.project)
    admin = UserFactory(username="ada", role=User.Role.ADMIN)

    set_gold(span, admin)

    assert gold_rows() == [("answer", "correct", 1.0, "the answer cites the doc", "ada")]
    event = AnnotationEvent.objects.get(identifier=GOLD_IDENTIFIER)
    assert (event.action, event.user, event.after["explanation"]) == (
        "create",
        admin,
        "the answer cites the doc",
    )


def test_a_gold_value_needs_a_reason_and_a_value_each_named():
    span = SpanFactory()
    admin = UserFactory(role=User.Role.ADMIN)

    with pytest.raises(ValidationError) as no_reason:
        set_gold(span, admin, reason="  ")
    with pytest.raises(ValidationError) as no_value:
        gold_set(
            target=Target.SPAN, row=span, name="correctness", label=None, score=None, reason="r", user=admin
        )

    assert list(no_reason.value.message_dict) == ["reason"]
    assert list(no_value.value.message_dict) == ["label"]
    assert gold_rows() == []


def test_an_annotator_without_the_right_may_not_write_gold_and_a_member_given_it_replaces_anothers():
    span = SpanFactory(name="answer")
    correctness_on(span.project)
    annotator = UserFactory(username="ann")
    adjudicator = UserFactory(username="judy")
    ProjectMembershipFactory(project=span.project, user=adjudicator, can_adjudicate=True)
    ProjectMembershipFactory(project=span.project, user=annotator)
    set_gold(span, UserFactory(username="ada", role=User.Role.ADMIN), label="incorrect")

    with pytest.raises(NotYours) as refused:
        set_gold(span, annotator)
    set_gold(span, adjudicator, reason="on second reading it is right")

    assert "the identifier 'gold' is reserved to the project's adjudicators" in str(refused.value)
    assert gold_rows() == [("answer", "correct", 1.0, "on second reading it is right", "judy")]


def test_v1_refuses_gold_to_an_annotator_naming_the_rule_and_writes_nothing_of_the_batch(settings):
    settings.V1_AUTH_REQUIRED = True
    span = SpanFactory()
    other = SpanFactory(project=span.project, trace__project=span.project)
    annotator = UserFactory(username="ann")
    ProjectMembershipFactory(project=span.project, user=UserFactory(), can_adjudicate=True)
    ProjectMembershipFactory(project=span.project, user=annotator)
    _key, raw = api_key_create(user=annotator, name="k")
    body = {
        "data": [
            {"span_id": other.span_id, "name": "tone", "annotator_kind": "HUMAN", "result": {"label": "ok"}},
            {
                "span_id": span.span_id,
                "name": "tone",
                "annotator_kind": "HUMAN",
                "identifier": "gold",
                "result": {"label": "ok"},
            },
        ]
    }

    response = V1Client(HTTP_AUTHORIZATION=f"Bearer {raw}").post("/v1/span_annotations", body)

    assert response.status_code == 403
    assert "data[1]" in response.content.decode()
    assert "reserved to the project's adjudicators" in response.content.decode()
    assert not SpanAnnotation.objects.exists()


def test_v1_lets_an_adjudicator_of_the_project_write_gold_and_nobody_on_a_span_not_stored_yet(settings):
    settings.V1_AUTH_REQUIRED = True
    span = SpanFactory(name="answer")
    judy = UserFactory(username="judy")
    ProjectMembershipFactory(project=span.project, user=judy, can_adjudicate=True)
    _key, raw = api_key_create(user=judy, name="k")
    client = V1Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def gold_of(span_id: str):
        row = {"span_id": span_id, "name": "tone", "annotator_kind": "HUMAN", "identifier": "gold"}
        return client.post("/v1/span_annotations?sync=false", {"data": [{**row, "result": {"label": "ok"}}]})

    stored, waiting = gold_of(span.span_id), gold_of("0123456789abcdef")

    assert stored.status_code == 200
    assert gold_rows() == [("answer", "ok", None, None, "judy")]
    assert waiting.status_code == 403


def test_gold_is_never_one_of_the_raters():
    span = SpanFactory()
    users = [UserFactory(username=name) for name in ("a", "b")]
    for user, label in zip(users, ("correct", "incorrect"), strict=True):
        reviewer_annotation(SpanAnnotationFactory, span=span, user=user, label=label)
    set_gold(span, UserFactory(role=User.Role.ADMIN))

    report = agreement_report(
        RatingQuery(name="correctness", target=Target.SPAN, level=Level.NOMINAL, rows=Span.objects.all())
    )

    assert [rater.name for rater in report.raters] == ["a", "b"]


def test_promotion_writes_gold_where_all_raters_agree_and_are_at_least_the_threshold_and_keeps_gold_set():
    project = ProjectFactory()
    correctness_on(project)
    users = [UserFactory(username=name) for name in ("a", "b", "c")]
    rows = {
        "three agree": ("correct", "correct", "correct"),
        "two agree": ("incorrect", "incorrect", None),
        "differ": ("correct", "incorrect", "correct"),
        "already gold": ("correct", "correct", "correct"),
    }
    for name, labels in rows.items():
        span = SpanFactory(project=project, name=name)
        for user, label in zip(users, labels, strict=True):
            if label:
                reviewer_annotation(SpanAnnotationFactory, span=span, user=user, label=label)
    admin = UserFactory(username="ada", role=User.Role.ADMIN)
    set_gold(Span.objects.get(name="already gold"), admin, label="incorrect", reason="checked")
    query = RatingQuery(name="correctness", target=Target.SPAN, level=Level.NOMINAL, rows=Span.objects.all())

    assert Promotion(project, query, threshold=2).count() == 2
    assert Promotion(project, query, threshold=3).count() == 1
    promoted = gold_promote_agreeing(promotion=Promotion(project, query, threshold=3), user=admin)

    assert promoted == 1
    assert gold_rows() == [
        ("already gold", "incorrect", 0.0, "checked", "ada"),
        ("three agree", "correct", 1.0, "All 3 raters agree.", "ada"),
    ]
    with pytest.raises(ValidationError) as low:
        gold_promote_agreeing(promotion=Promotion(project, query, threshold=1), user=admin)
    assert list(low.value.message_dict) == ["threshold"]


def test_promotion_by_an_annotator_without_the_right_writes_nothing():
    project = ProjectFactory()
    span = SpanFactory(project=project)
    for user in (UserFactory(username="a"), UserFactory(username="b")):
        reviewer_annotation(SpanAnnotationFactory, span=span, user=user, label="correct")
    query = RatingQuery(name="correctness", target=Target.SPAN, level=Level.NOMINAL, rows=Span.objects.all())

    with pytest.raises(NotYours):
        gold_promote_agreeing(promotion=Promotion(project, query, threshold=2), user=UserFactory())

    assert gold_rows() == []
