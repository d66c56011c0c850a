"""Document relevance on the trace page: each retrieved document of a retriever span has its reviewer's
relevance control, shows its annotations, and the span shows its retrieval metrics."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from phoenix_annot.annotations.models import DocumentAnnotation, RetrievalMetrics, reviewer_identifier
from phoenix_annot.tracing.models import Span
from tests.factories import (
    AnnotationConfigFactory,
    DocumentAnnotationFactory,
    ProjectFactory,
    UserFactory,
    retriever_span,
)
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db


def retriever(count: int, project_name: str = "rag") -> Span:
    return retriever_span(ProjectFactory(name=project_name), count)


def page(client: Client, span: Span) -> str:
    response = client.get(f"/traces/{span.trace.trace_id}/?span={span.span_id}")
    assert response.status_code == 200
    return response.content.decode()


def relevance_post(client: Client, span: Span, position: int, label: str, **extra):
    return client.post(f"/annotate/document/{span.span_id}/{position}/", {"label": label}, **extra)


def test_each_document_has_relevance_choices_and_shows_everybodys_annotations(reviewer_client, reviewer):
    span = retriever(3)
    DocumentAnnotationFactory(
        span=span, document_position=0, annotator_kind="LLM", label="irrelevant", score=0.0
    )
    DocumentAnnotationFactory(
        span=span, document_position=0, identifier=reviewer_identifier(reviewer.pk), user=reviewer
    )
    other = UserFactory(username="alice")
    DocumentAnnotationFactory(
        span=span, document_position=1, identifier=reviewer_identifier(other.pk), user=other, label="relevant"
    )

    html = page(reviewer_client, span)

    assert html.count('data-document-form data-position="') == 3
    first = html[html.index('id="document-0"') : html.index('id="document-1"')]
    assert re.search(r'value="relevant" data-shortcut="1" checked', first)
    assert 'value="irrelevant" data-shortcut="2">' in first
    assert '<span class="who">you</span> relevance: relevant 1' in first
    assert '<span class="who">LLM</span> relevance: irrelevant 0' in first
    assert '<span class="who">alice</span> relevance: relevant' in html
    # Document 0: the reviewer's "relevant" outweighs the LLM's; document 1 relevant; document 2 unjudged.
    assert 'precision@3 <strong data-metric="precision">0.67</strong>' in html
    assert 'NDCG@3 <strong data-metric="ndcg">1.00</strong>' in html
    assert "(2 of 3 documents judged" in html


def test_a_categorical_relevance_config_gives_the_choices(reviewer_client):
    span = retriever(1)
    config = AnnotationConfigFactory(
        name="relevance",
        values=[
            {"label": "on topic", "score": 1.0},
            {"label": "partly", "score": 0.5},
            {"label": "off", "score": 0},
        ],
    )
    config.projects.add(span.project)

    html = page(reviewer_client, span)
    saved = relevance_post(reviewer_client, span, 0, "partly", **HTMX)

    assert 'value="partly" data-shortcut="2"' in html
    assert saved.status_code == 200
    assert DocumentAnnotation.objects.get().score == 0.5


def test_a_saved_relevance_is_the_reviewers_own_and_updates_the_metrics_in_the_fragment(
    reviewer_client, reviewer
):
    span = retriever(2)
    DocumentAnnotationFactory(
        span=span, document_position=0, annotator_kind="LLM", label="relevant", score=1.0
    )

    response = relevance_post(reviewer_client, span, 1, "relevant", **HTMX)

    html = response.content.decode()
    mine = DocumentAnnotation.objects.get(identifier=reviewer_identifier(reviewer.pk))
    assert (mine.document_position, mine.label, mine.score, mine.user, mine.annotator_kind, mine.source) == (
        1,
        "relevant",
        1.0,
        reviewer,
        "HUMAN",
        "APP",
    )
    assert DocumentAnnotation.objects.count() == 2
    assert RetrievalMetrics.objects.get(span=span).precision == 1.0
    assert "yours: <strong data-mine>relevant</strong>" in html
    assert (
        '<div id="retrieval-metrics" class="retrieval-metrics" aria-live="polite" hx-swap-oob="outerHTML">'
        in html
    )
    assert 'precision@2 <strong data-metric="precision">1.00</strong>' in html
    assert "Saved relevance = relevant for document #1" in html


def test_a_label_that_is_no_choice_is_explained_and_nothing_is_written(reviewer_client):
    span = retriever(2)

    response = relevance_post(reviewer_client, span, 0, "maybe", **HTMX)

    assert response.status_code == 200
    assert "Label: choose one of relevant, irrelevant." in response.content.decode()
    assert not DocumentAnnotation.objects.exists()


@pytest.mark.parametrize("position", [2, 99])
def test_a_document_the_span_does_not_have_is_a_404(reviewer_client, position):
    span = retriever(2)

    assert relevance_post(reviewer_client, span, position, "relevant", **HTMX).status_code == 404
    assert (
        reviewer_client.post("/annotate/document/00000000000000ff/0/", {"label": "relevant"}).status_code
        == 404
    )


def test_viewers_cannot_judge_documents():
    span = retriever(1)
    client = Client()
    client.force_login(UserFactory(role="VIEWER"))

    assert relevance_post(client, span, 0, "relevant").status_code == 403
    assert not DocumentAnnotation.objects.exists()


def test_without_htmx_a_save_returns_to_the_trace_page_on_the_span(reviewer_client):
    span = retriever(1)

    response = relevance_post(reviewer_client, span, 0, "irrelevant")

    assert response.status_code == 302
    assert response["Location"] == f"/traces/{span.trace.trace_id}/?span={span.span_id}"
    assert DocumentAnnotation.objects.get().label == "irrelevant"


def queries_for_page(client: Client, span: Span) -> int:
    with CaptureQueriesContext(connection) as queries:
        page(client, span)
    return len(queries)


def test_the_trace_page_of_a_retriever_span_takes_the_same_queries_for_2_or_20_documents(
    reviewer_client, reviewer
):
    spans = [retriever(count, project_name=f"rag-{count}") for count in (2, 20)]
    for span in spans:
        for position in range(len(span.attributes["retrieval"]["documents"])):
            DocumentAnnotationFactory(span=span, document_position=position, annotator_kind="LLM")
            DocumentAnnotationFactory(
                span=span,
                document_position=position,
                identifier=reviewer_identifier(reviewer.pk),
                user=reviewer,
            )

    small, large = (queries_for_page(reviewer_client, span) for span in spans)

    # 13 with the History disclosure's one; 16 with the Corrected output editors' (the corrections, their
    # history, the trace's root span).
    assert small == large == 16
