"""A filter whose query runs past FILTER_TIMEOUT_MS is stopped and answered with a message (PostgreSQL)."""

import pytest
from django.db import connection
from django.test import Client

from tests.factories import SpanFactory, UserFactory
from tests.web.conftest import HTMX

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no statement timeout"),
]

SLOW = "cumulative_token_count.total > 0"


@pytest.fixture
def reviewer_client() -> Client:
    client = Client()
    client.force_login(UserFactory())
    return client


@pytest.fixture
def slow_project(settings):
    """A chain of spans deep enough that summing each one's subtree takes well over a millisecond."""
    settings.FILTER_TIMEOUT_MS = 1
    spans = [SpanFactory(trace__project__name="p", llm_token_count_total=1)]
    for _ in range(150):
        spans.append(SpanFactory(trace=spans[0].trace, parent_id=spans[-1].span_id, llm_token_count_total=1))
    return spans[0].project


def test_the_review_page_answers_a_filter_that_ran_too_long_with_a_422_saying_so(
    reviewer_client, slow_project
):
    response = reviewer_client.get(f"/projects/{slow_project.pk}/", {"condition": SLOW}, **HTMX)

    assert response.status_code == 422
    assert "took longer than 0.001 s and was stopped" in response.content.decode()


def test_the_span_list_and_query_apis_answer_a_422_saying_so(client, v1_auth_off, slow_project):
    listed = client.get("/v1/projects/p/spans", {"condition": SLOW})
    body = {"queries": [{"filter": {"condition": SLOW}}]}
    queried = client.post("/v1/spans?project_name=p", body, content_type="application/json")

    for response in (listed, queried):
        assert response.status_code == 422
        assert "took longer than 0.001 s" in response.content.decode()


def test_after_a_stopped_filter_the_connection_has_no_time_limit_left(reviewer_client, slow_project):
    reviewer_client.get(f"/projects/{slow_project.pk}/", {"condition": SLOW})

    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"
