"""The real arize-phoenix-client's span query with `session_annotations[...]` (ours beyond Phoenix 20.26.1,
which answers such a query with a 422 "invalid expression")."""

import pytest
from phoenix.client.types.spans import SpanQuery

from tests.compat.conftest import PROJECT
from tests.compat.test_sessions_client import chats  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)


def test_get_spans_dataframe_keeps_the_spans_of_the_sessions_an_annotation_judged(phoenix, chats):  # noqa: F811
    phoenix.sessions.add_session_annotation(
        session_id="support-1", annotation_name="outcome", label="failed", score=0.0, sync=True
    )
    query = (
        SpanQuery()
        .where("session_annotations['outcome'].label == 'failed' and span_kind == 'CHAIN'")
        .select("input.value")
    )

    frame = phoenix.spans.get_spans_dataframe(query=query, project_identifier=PROJECT)

    assert sorted(frame["input.value"]) == ["question 1", "question 2", "question 3"]
