"""The trace page's list walk, its save confirmations with Undo, and what it shows of a span."""

import html
import re
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from phoenix_annot.annotations.models import SpanAnnotation
from phoenix_annot.web.selectors.traces import ListRow, trace_for_review, trace_neighbours
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceFactory,
    UserFactory,
)
from tests.filtering.time_limit import TIME_LIMIT_QUERIES
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db


def llm_spans(count: int, project_name: str = "walk") -> list:
    """LLM spans of their own traces under a CHAIN root, latencies rising as start times fall."""
    project = ProjectFactory(name=project_name)
    spans = []
    for n in range(count):
        root = SpanFactory(trace=TraceFactory(project=project), span_kind="CHAIN", name=f"chain-{n}")
        spans.append(
            SpanFactory(trace=root.trace, parent_id=root.span_id, name=f"llm-{n}", latency_ms=100.0 - n)
        )
    return spans


class TestListWalk:
    @pytest.mark.parametrize("count", [3, 40])
    def test_the_neighbours_take_two_queries_whatever_the_lists_size(self, reviewer, count):
        spans = llm_spans(count)
        middle = spans[1]
        review = trace_for_review(trace_id=middle.trace.trace_id, span_id=middle.span_id, user=reviewer)
        list_query = "span_kind=LLM&sort=latency_ms&dir=asc&tab=spans"

        with CaptureQueriesContext(connection) as queries:
            neighbours = trace_neighbours(review=review, list_query=list_query, user=reviewer)

        assert len(queries) == 2
        assert neighbours.next == ListRow(spans[0].trace.trace_id, spans[0].span_id)
        assert neighbours.previous == ListRow(spans[2].trace.trace_id, spans[2].span_id)

    def test_a_labelled_span_that_left_a_to_do_list_still_has_its_neighbours(self, reviewer):
        spans = llm_spans(3)
        SpanAnnotationFactory(span=spans[1], name="correctness")
        review = trace_for_review(trace_id=spans[1].trace.trace_id, span_id=spans[1].span_id, user=reviewer)

        neighbours = trace_neighbours(
            review=review, list_query="span_kind=LLM&missing_annotation=correctness&tab=spans", user=reviewer
        )

        assert (neighbours.previous.span_id, neighbours.next.span_id) == (spans[2].span_id, spans[0].span_id)

    def test_the_trace_page_with_a_list_takes_a_constant_number_of_queries(
        self, reviewer_client: Client, django_assert_max_num_queries
    ):
        spans = llm_spans(30)
        list_query = urlencode({"list": "span_kind=LLM&sort=tokens&tab=spans"})

        # 14: the History disclosure reads its events in one more; 17: the Corrected output editors read
        # the corrections, their history and the trace's root span (the span shown is not the root).
        with django_assert_max_num_queries(17 + TIME_LIMIT_QUERIES):
            response = reviewer_client.get(
                f"/traces/{spans[5].trace.trace_id}/?span={spans[5].span_id}&{list_query}"
            )

        assert response.status_code == 200

    def test_the_last_row_says_it_ends_the_list(self, reviewer_client: Client):
        (span,) = llm_spans(1)
        list_query = urlencode({"list": "span_kind=LLM&tab=spans"})

        html = reviewer_client.get(f"/traces/{span.trace.trace_id}/?span={span.span_id}&{list_query}").content
        assert "End of the list" in html.decode()
        assert 'data-key="j"' not in html.decode()


def annotate(client: Client, span, **values: str):
    return client.post(f"/annotate/span/{span.span_id}/", {"name": "correctness", **values}, **HTMX)


def undo_fields(response) -> dict[str, str]:
    """The hidden fields of the confirmation's Undo form."""
    page = response.content.decode()
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="(name|previous)" value="([^"]*)"', page)
    }


class TestUndo:
    def test_a_save_is_confirmed_by_name_and_label_with_an_undo(self, reviewer_client: Client):
        span = SpanFactory()
        AnnotationConfigFactory(name="correctness").projects.add(span.project)

        html = annotate(reviewer_client, span, label="correct").content.decode()

        assert 'id="review-toast" hx-swap-oob="innerHTML"' in html
        assert "Saved correctness = correct" in html
        assert f'hx-post="/annotate/span/{span.span_id}/undo/"' in html

    def test_undo_puts_back_the_previous_label_score_and_explanation_exactly(self, reviewer_client: Client):
        span = SpanFactory()
        AnnotationConfigFactory(name="correctness").projects.add(span.project)
        annotate(reviewer_client, span, label="incorrect", score="0.125", explanation="wrong plan")
        before = SpanAnnotation.objects.values("label", "score", "explanation", "metadata").get()

        saved = annotate(reviewer_client, span, label="correct")
        undone = reviewer_client.post(f"/annotate/span/{span.span_id}/undo/", undo_fields(saved), **HTMX)

        assert SpanAnnotation.objects.values("label", "score", "explanation", "metadata").get() == before
        assert "Undone: correctness is back to incorrect" in undone.content.decode()
        assert "data-undo" not in undone.content.decode()

    def test_undo_of_a_first_label_removes_only_the_reviewers_own(self, reviewer_client: Client):
        span = SpanFactory()
        theirs = SpanAnnotationFactory(span=span, user=UserFactory(), identifier="someone")

        saved = annotate(reviewer_client, span, label="correct")
        undone = reviewer_client.post(f"/annotate/span/{span.span_id}/undo/", undo_fields(saved), **HTMX)

        assert list(SpanAnnotation.objects.all()) == [theirs]
        assert "Undone: your correctness annotation is removed" in undone.content.decode()

    def test_an_undo_that_does_not_describe_an_annotation_changes_nothing(self, reviewer_client: Client):
        span = SpanFactory()
        annotate(reviewer_client, span, label="correct")

        response = reviewer_client.post(
            f"/annotate/span/{span.span_id}/undo/",
            {"name": "correctness", "previous": '{"label": "x"}'},
            **HTMX,
        )

        assert "This undo does not describe an annotation" in response.content.decode()
        assert SpanAnnotation.objects.get().label == "correct"

    def test_viewers_cannot_undo(self):
        client = Client()
        client.force_login(UserFactory(role="VIEWER"))
        span = SpanFactory()

        response = client.post(f"/annotate/span/{span.span_id}/undo/", {"name": "x", "previous": "null"})

        assert response.status_code == 403


class TestPanelMessages:
    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"name": "relevance", "score": "7"}, "<li>Score: 7.0 is above the upper bound 1.0 of"),
            ({"name": "relevance"}, "<li>An annotation needs a label, a score or an explanation.</li>"),
            ({"name": "relevance", "score": "many"}, "<li>Score: Enter a number.</li>"),
        ],
    )
    def test_a_refused_value_is_explained_in_the_panels_words(self, reviewer_client: Client, values, message):
        span = SpanFactory()
        AnnotationConfigFactory(name="relevance", type="CONTINUOUS", values=[], upper_bound=1).projects.add(
            span.project
        )

        page = reviewer_client.post(f"/annotate/span/{span.span_id}/", values, **HTMX).content.decode()

        assert message in page
        assert "score:" not in page and "result:" not in page
