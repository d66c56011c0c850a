"""The History disclosure of the trace and session pages: who changed what, when, through what, newest
first, capped; reloaded from its own address after each change on the page."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from phoenix_annot.annotations.models import reviewer_identifier
from phoenix_annot.annotations.services import span_annotation_upsert, trace_annotation_upsert
from phoenix_annot.web.selectors.history import HISTORY_LIMIT, span_history
from tests.annotations.factories import AnnotationEventFactory
from tests.factories import (
    AnnotationConfigFactory,
    SessionAnnotationFactory,
    SessionFactory,
    SpanFactory,
    UserFactory,
    retriever_span,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def reviewer():
    return UserFactory(username="ada", role="VIEWER")


@pytest.fixture
def client(reviewer) -> Client:
    client = Client()
    client.force_login(reviewer)
    return client


def events_shown(page: str) -> list[str]:
    """The History's events as the page says them, one line each, tags and spacing dropped."""
    items = re.findall(r'<li data-action="\w+">(.*?)</li>', page, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def label(span, user, value: str) -> None:
    span_annotation_upsert(
        span=span,
        name="correctness",
        identifier=reviewer_identifier(user.pk),
        label=value,
        annotator_kind="HUMAN",
        source="APP",
        user=user,
    )


def test_the_trace_page_lists_the_spans_and_the_traces_events_newest_first_and_no_other_spans(client):
    span, grace = SpanFactory(), UserFactory(username="grace")
    label(span, grace, "correct")
    label(span, grace, "incorrect")
    trace_annotation_upsert(
        trace=span.trace, name="user_feedback", label="up", annotator_kind="HUMAN", source="API", via="api"
    )
    label(SpanFactory(trace=span.trace), grace, "elsewhere")

    page = client.get(f"/traces/{span.trace.trace_id}/?span={span.span_id}").content.decode()

    assert events_shown(page) == [
        AnyText("user_feedback on the trace created by no user via API", "label up annotator_kind HUMAN"),
        AnyText("correctness on the span changed by grace via page", "label correct → incorrect"),
        AnyText("correctness on the span created by grace via page", "label correct"),
    ]
    assert 'id="history-count">(3)' in page


class AnyText:
    """Equal to a text holding these parts in order, whatever stands between them (a time)."""

    def __init__(self, *parts: str) -> None:
        self.parts = parts

    def __eq__(self, text: object) -> bool:
        return isinstance(text, str) and re.fullmatch(".*".join(map(re.escape, self.parts)) + ".*", text)

    def __repr__(self) -> str:
        return f"AnyText{self.parts}"


def test_a_documents_relevance_shows_in_its_spans_history_by_position(client):
    span = retriever_span(SpanFactory().project, 3)
    AnnotationEventFactory(span=span, target_kind="document", document_position=2, name="relevance")

    page = client.get(f"/traces/{span.trace.trace_id}/?span={span.span_id}").content.decode()

    assert events_shown(page)[0].startswith("relevance on the document #2 created")


def test_past_the_cap_the_history_says_how_many_it_leaves_out(client):
    span = SpanFactory()
    AnnotationEventFactory.create_batch(HISTORY_LIMIT + 12, span=span)

    page = client.get(f"/traces/{span.trace.trace_id}/?span={span.span_id}").content.decode()

    assert len(events_shown(page)) == HISTORY_LIMIT
    assert f"The last {HISTORY_LIMIT} of {HISTORY_LIMIT + 12} changes, newest first." in page


def test_the_history_is_read_in_one_query_whatever_its_length():
    span = SpanFactory()
    AnnotationEventFactory.create_batch(HISTORY_LIMIT + 1, span=span, user=UserFactory())

    with CaptureQueriesContext(connection) as queries:
        history = span_history(trace=span.trace, span=span)
        [row.event.user.username for row in history.rows]

    assert len(queries) == 1
    assert (len(history.rows), history.total, history.capped) == (HISTORY_LIMIT, HISTORY_LIMIT + 1, True)


def test_the_trace_page_costs_the_same_queries_whatever_the_length_of_the_history(client):
    span = SpanFactory()
    url = f"/traces/{span.trace.trace_id}/?span={span.span_id}"
    AnnotationEventFactory(span=span, user=UserFactory())
    with CaptureQueriesContext(connection) as one_event:
        client.get(url)
    AnnotationEventFactory.create_batch(60, span=span, user=UserFactory())

    with CaptureQueriesContext(connection) as sixty_one:
        client.get(url)

    assert len(sixty_one) == len(one_event)


def test_the_disclosure_reloads_from_its_own_address_when_an_annotation_changes(client):
    span = SpanFactory()
    page = client.get(f"/traces/{span.trace.trace_id}/?span={span.span_id}").content.decode()
    url = re.search(r'id="history-body" hx-get="([^"]+)" hx-trigger="annotations-changed from:body"', page)
    assert url is not None
    AnnotationEventFactory(span=span, name="tone")

    fragment = client.get(url.group(1).replace("&amp;", "&"), **HTMX).content.decode()

    assert "<html" not in fragment
    assert events_shown(fragment)[0].startswith("tone on the span created")
    assert 'id="history-count">(1)' in fragment


def test_saving_a_label_or_a_documents_relevance_tells_the_page_that_annotations_changed():
    writer = Client()
    writer.force_login(UserFactory())
    span = retriever_span(SpanFactory().project, 2)
    AnnotationConfigFactory(name="correctness").projects.add(span.project)

    labelled = writer.post(
        f"/annotate/span/{span.span_id}/", {"name": "correctness", "label": "correct"}, **HTMX
    )
    judged = writer.post(f"/annotate/document/{span.span_id}/0/", {"label": "relevant"}, **HTMX)

    assert "annotations-changed" in labelled["HX-Trigger"]
    assert "annotations-changed" in judged["HX-Trigger"]


def test_the_session_page_lists_the_sessions_events(client):
    session = SessionFactory()
    AnnotationEventFactory(
        span=SpanFactory(),
        target_kind="session",
        target_pk=session.pk,
        target_key=session.session_id,
        name="resolved",
    )
    SessionAnnotationFactory(session=session)

    page = client.get(f"/sessions/{session.pk}/").content.decode()
    fragment = client.get(f"/sessions/{session.pk}/?history=1", **HTMX).content.decode()

    assert events_shown(page)[0].startswith("resolved on the session created")
    assert events_shown(fragment) == events_shown(page)
