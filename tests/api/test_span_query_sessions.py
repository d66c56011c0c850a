"""POST /v1/spans (get_spans_dataframe) with `session_annotations[...]`, ours beyond Phoenix 20.26.1."""

import pytest

from phoenix_annot.tracing.models import Span
from tests.api.test_span_query import post_query, table
from tests.factories import ProjectFactory, SessionAnnotationFactory, conversation

pytestmark = pytest.mark.django_db


def test_a_session_annotation_condition_answers_the_spans_of_the_judged_conversations(api):
    project = ProjectFactory(name="p")
    failed = conversation(project, [("q", "a"), ("q2", "a2")], minute=0)
    conversation(project, [("q", "a")], minute=1)
    SessionAnnotationFactory(session=failed, name="outcome", label="failed")
    condition = "session_annotations['outcome'].label == 'failed' and parent_id is None"

    data = table(post_query(api, {"queries": [{"filter": {"condition": condition}}]}))

    # The root span of each of its two turns.
    assert sorted(row["1_name"] for row in data["data"]) == ["support_answer", "support_answer"]
    roots = Span.objects.filter(trace__session=failed, parent_id__isnull=True)
    assert {row["0_context.span_id"] for row in data["data"]} == set(roots.values_list("span_id", flat=True))


def test_a_misspelt_session_annotations_accessor_is_a_422_naming_what_takes_subscripts(api):
    project = ProjectFactory(name="p")
    conversation(project, [("q", "a")])

    response = post_query(
        api, {"queries": [{"filter": {"condition": "session_annotation['x'].label == 'y'"}}]}
    )

    assert response.status_code == 422
    assert "session_annotations[...] take subscripts. Did you mean session_annotations[...]?" in (
        response.content.decode()
    )
