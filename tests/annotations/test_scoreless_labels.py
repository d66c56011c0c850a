"""Beyond Phoenix (its open issue on session outcome review): a categorical label may carry no score, such
as `unknown`, and a label without a score is left out of mean scores instead of counting as a midpoint."""

import pytest

from phoenix_annot.annotations.configs import annotation_config_create
from phoenix_annot.annotations.models import AnnotationSource
from phoenix_annot.annotations.services import AnnotationWrite, session_annotations_upsert
from phoenix_annot.filtering.feedback import feedback_rollups
from phoenix_annot.tracing.models import Span
from tests.factories import SessionFactory, SpanAnnotationFactory, SpanFactory

pytestmark = pytest.mark.django_db

OUTCOMES = [{"label": "resolved", "score": 1.0}, {"label": "failed", "score": 0.0}, {"label": "unknown"}]


def test_a_categorical_config_may_hold_a_label_without_a_score():
    config = annotation_config_create(name="outcome", type="CATEGORICAL", values=OUTCOMES)

    assert config.values[2] == {"label": "unknown", "score": None}


def test_a_session_may_be_labelled_with_a_scoreless_label_of_its_projects_config():
    session = SessionFactory()
    annotation_config_create(name="outcome", type="CATEGORICAL", values=OUTCOMES).projects.add(
        session.project
    )

    [pk] = session_annotations_upsert(
        writes=[
            AnnotationWrite(
                target_id=session.session_id, name="outcome", annotator_kind="HUMAN", label="unknown"
            )
        ],
        source=AnnotationSource.API,
        user=None,
    )

    assert session.annotations.get(pk=pk).score is None


def test_the_mean_score_of_a_roll_up_leaves_scoreless_labels_out_rather_than_counting_a_midpoint():
    resolved, unknown = SpanFactory(), SpanFactory()
    SpanAnnotationFactory(span=resolved, name="outcome", label="resolved", score=1.0)
    SpanAnnotationFactory(span=unknown, name="outcome", label="unknown", score=None)

    [rollup] = feedback_rollups(Span.objects.all())

    assert rollup.mean_score == 1.0
    assert rollup.label_fractions == {"resolved": 0.5, "unknown": 0.5}


def test_the_api_stores_a_config_value_without_a_score_as_null(client, settings):
    settings.V1_AUTH_REQUIRED = False

    response = client.post(
        "/v1/annotation_configs",
        {"name": "outcome", "type": "CATEGORICAL", "values": OUTCOMES},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["data"]["values"][2] == {"label": "unknown", "score": None}
