"""Retrieval metrics: the arithmetic on worked examples, and the stored row following every document
annotation write and delete (services, pending annotations at ingest, the admin)."""

import math

import pytest
from django.core.exceptions import ValidationError

from phoenix_annot.annotations.models import DocumentAnnotation, RetrievalMetrics, reviewer_identifier
from phoenix_annot.annotations.retrieval import (
    Judgement,
    document_relevances,
    retrieval_scores,
)
from phoenix_annot.annotations.services import (
    AnnotationWrite,
    annotation_delete,
    annotations_delete,
    document_annotation_upsert,
    document_annotations_upsert,
    document_relevance_set,
    pending_annotations_apply,
)
from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import spans_ingest
from tests.factories import AnnotationConfigFactory, DocumentAnnotationFactory, SpanFactory, UserFactory
from tests.ingest.builders import export_request, otlp_span


def documents(count: int) -> dict:
    return {"retrieval": {"documents": [{"document": {"content": f"doc {n}"}} for n in range(count)]}}


class TestArithmetic:
    def test_binary_relevance_gives_precision_ndcg_and_hit_as_computed_by_hand(self):
        # DCG = 1/log2(2) + 0 + 1/log2(4) = 1.5; ideal [1, 1, 0]: 1 + 1/log2(3) = 1.63093.
        scores = retrieval_scores([1.0, 0.0, 1.0])

        assert (scores.document_count, scores.judged_count, scores.relevant_count) == (3, 3, 2)
        assert (scores.precision, scores.hit) == (2 / 3, True)
        assert scores.ndcg == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
        assert round(scores.ndcg, 4) == 0.9197

    def test_graded_relevance_gives_the_textbook_ndcg(self):
        # The usual worked example: gains 3 2 3 0 1 2 give DCG 6.861, ideal 3 3 2 2 1 0 gives 7.141.
        scores = retrieval_scores([3.0, 2.0, 3.0, 0.0, 1.0, 2.0])

        assert round(scores.ndcg, 3) == 0.961
        assert (scores.precision, scores.relevant_count, scores.hit) == (5 / 6, 5, True)

    def test_an_unjudged_document_counts_in_k_as_not_relevant(self):
        # k = 4; the one relevant document is third: DCG = 1/log2(4) = 0.5, ideal 1.
        scores = retrieval_scores([0.0, None, 1.0, None])

        assert (scores.document_count, scores.judged_count, scores.relevant_count) == (4, 2, 1)
        assert (scores.precision, scores.ndcg) == (0.25, 0.5)

    def test_nothing_relevant_is_no_hit_and_an_ndcg_of_zero(self):
        scores = retrieval_scores([0.0, 0.0, -1.0])

        assert (scores.precision, scores.ndcg, scores.hit) == (0.0, 0.0, False)

    def test_a_span_with_no_judged_document_has_no_metrics(self):
        assert retrieval_scores([None, None]) is None
        assert retrieval_scores([]) is None

    def test_a_humans_judgement_outweighs_the_llm_judges(self):
        judgements = [
            Judgement(0, "LLM", 1.0),
            Judgement(0, "HUMAN", 0.0),
            Judgement(1, "LLM", 1.0),
            Judgement(1, "CODE", 0.0),
            Judgement(2, "HUMAN", 1.0),
            Judgement(2, "HUMAN", 0.0),
        ]

        assert document_relevances(4, judgements) == [0.0, 0.5, 0.5, None]


@pytest.mark.django_db
class TestStoredMetrics:
    def test_a_bulk_document_write_stores_the_spans_metrics(self):
        span = SpanFactory(span_kind="RETRIEVER", attributes=documents(4))

        document_annotations_upsert(
            writes=[
                AnnotationWrite(span.span_id, "relevance", "LLM", score=score, document_position=position)
                for position, score in [(0, 0.0), (2, 1.0)]
            ],
            source="API",
            user=None,
        )

        stored = RetrievalMetrics.objects.get(span=span)
        assert (stored.project_id, stored.document_count, stored.judged_count) == (span.project_id, 4, 2)
        assert (stored.precision, stored.ndcg, stored.hit) == (0.25, 0.5, True)

    def test_a_label_without_a_score_and_other_names_judge_nothing(self):
        span = SpanFactory(span_kind="RETRIEVER", attributes=documents(2))
        DocumentAnnotationFactory(span=span, label="relevant", score=None)
        DocumentAnnotationFactory(span=span, name="helpfulness", identifier="x")

        document_annotations_upsert(
            writes=[AnnotationWrite(span.span_id, "other", "LLM", score=1.0, document_position=1)],
            source="API",
            user=None,
        )

        assert not RetrievalMetrics.objects.exists()

    def test_a_reviewers_write_updates_the_metrics_in_the_same_transaction(self):
        reviewer = UserFactory()
        span = SpanFactory(span_kind="RETRIEVER", attributes=documents(2))
        DocumentAnnotationFactory(span=span, document_position=0, annotator_kind="LLM", score=1.0)

        document_annotation_upsert(
            span=span,
            document_position=0,
            name="relevance",
            identifier=f"px-app:{reviewer.pk}",
            label="irrelevant",
            score=0.0,
            annotator_kind="HUMAN",
            source="APP",
            user=None,
        )

        assert RetrievalMetrics.objects.get(span=span).hit is False

    def test_a_reviewers_write_to_a_position_the_span_lacks_is_refused_naming_the_field(self):
        span = SpanFactory(span_kind="RETRIEVER", attributes=documents(2))

        with pytest.raises(ValidationError) as refused:
            document_annotation_upsert(
                span=span,
                document_position=2,
                name="relevance",
                score=1.0,
                annotator_kind="HUMAN",
                source="APP",
            )

        assert "document_position" in refused.value.message_dict
        assert not DocumentAnnotation.objects.exists()

    def test_deleting_the_last_judgement_removes_the_row_and_deleting_one_recomputes_it(self):
        user = UserFactory()
        span = SpanFactory(span_kind="RETRIEVER", attributes=documents(2))
        first = document_annotation_upsert(
            span=span, document_position=0, name="relevance", score=1.0, annotator_kind="HUMAN", source="APP"
        )
        document_annotation_upsert(
            span=span, document_position=1, name="relevance", score=0.0, annotator_kind="HUMAN", source="APP"
        )

        annotation_delete(annotation=first, user=None)
        assert RetrievalMetrics.objects.get(span=span).judged_count == 1
        assert RetrievalMetrics.objects.get(span=span).hit is False

        annotations_delete(annotations=DocumentAnnotation.objects.all(), user=user)
        assert RetrievalMetrics.objects.filter(span=span).exists()  # not theirs: nothing deleted
        annotations_delete(annotations=DocumentAnnotation.objects.all(), user=None)
        assert not RetrievalMetrics.objects.filter(span=span).exists()

    def test_a_waiting_annotation_applied_at_ingest_stores_the_metrics(self):
        document_annotations_upsert(
            writes=[AnnotationWrite("00000000000000aa", "relevance", "LLM", score=1.0, document_position=1)],
            source="API",
            user=None,
            keep_missing=True,
        )
        span = otlp_span(
            span_id=0xAA,
            attributes={
                "openinference.span.kind": "RETRIEVER",
                "retrieval.documents.0.document.content": "a",
                "retrieval.documents.1.document.content": "b",
            },
        )

        spans_ingest(records=decode_request(export_request(span)))

        stored = RetrievalMetrics.objects.get(span__span_id="00000000000000aa")
        # The relevant document is second of two: DCG 1/log2(3), ideal 1.
        assert (stored.precision, stored.ndcg) == (0.5, pytest.approx(1 / math.log2(3)))
        assert pending_annotations_apply(span_ids=["00000000000000aa"], trace_ids=[]) == 0

    def test_an_admin_deleting_judgements_in_the_admin_list_recomputes_the_metrics(
        self, admin_client_logged_in
    ):
        span = SpanFactory(span_kind="RETRIEVER", attributes=documents(2))
        document_annotation_upsert(
            span=span, document_position=0, name="relevance", score=1.0, annotator_kind="LLM", source="API"
        )

        response = admin_client_logged_in.post(
            "/admin/annotations/documentannotation/",
            {
                "action": "delete_selected",
                "_selected_action": [DocumentAnnotation.objects.get().pk],
                "post": "yes",
            },
        )

        assert response.status_code == 302
        assert not RetrievalMetrics.objects.exists()

    def test_an_admin_can_delete_a_judged_retriever_span_with_its_metrics(self, admin_client_logged_in):
        span = SpanFactory(span_kind="RETRIEVER", attributes=documents(1))
        document_annotation_upsert(
            span=span, document_position=0, name="relevance", score=1.0, annotator_kind="LLM", source="API"
        )

        response = admin_client_logged_in.post(f"/admin/tracing/span/{span.pk}/delete/", {"post": "yes"})

        assert response.status_code == 302
        assert not RetrievalMetrics.objects.exists()

    def test_a_reviewers_relevance_is_one_of_the_choices_with_its_score(self):
        reviewer = UserFactory()
        span = SpanFactory(span_kind="RETRIEVER", attributes=documents(2))
        AnnotationConfigFactory(
            name="relevance", values=[{"label": "on topic", "score": 2.0}, {"label": "off", "score": 0.0}]
        ).projects.add(span.project)

        saved = document_relevance_set(span=span, document_position=1, label="on topic", user=reviewer)
        with pytest.raises(ValidationError) as refused:
            document_relevance_set(span=span, document_position=0, label="relevant", user=reviewer)

        assert (saved.name, saved.score, saved.identifier) == (
            "relevance",
            2.0,
            reviewer_identifier(reviewer.pk),
        )
        assert refused.value.message_dict == {"label": ["choose one of on topic, off."]}
        assert RetrievalMetrics.objects.get(span=span).ndcg == pytest.approx(1 / math.log2(3))
