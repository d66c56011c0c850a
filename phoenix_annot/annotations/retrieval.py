"""Retrieval metrics of a retriever span, from the relevance annotations of its retrieved documents.

What counts, written down once:
- A document's judgements are its annotations named `relevance` that have a score (a label alone judges
  nothing: the score is the relevance, as in Phoenix's document evaluations). When a human has judged the
  document, the mean of the human scores is its relevance (a reviewer corrects the LLM judge); otherwise
  the mean of the LLM and CODE scores.
- A document is relevant when its relevance is above 0. A document nobody judged counts as not relevant.
- k is the number of documents the span retrieved (`retrieval.documents`), judged or not.
- precision@k = relevant documents / k; hit = at least one relevant document;
  NDCG@k = DCG / ideal DCG, where DCG = sum over positions i (0-based) of gain_i / log2(i + 2), the gain
  is the relevance (negative ones count as 0), and the ideal DCG sorts the same gains best first. With no
  positive gain NDCG is 0.
- A span has metrics when at least one of its documents is judged; the Spans tab's roll-up and filters
  read only such spans.

`retrieval_metrics_refresh` keeps the stored `RetrievalMetrics` rows current; the annotation services call
it in the transaction of every document annotation write and delete, having locked the spans first
(`spans_lock`): two writers judging documents of one span at once would otherwise each store metrics
without the other's judgement.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from phoenix_annot.core.batching import BATCH_SIZE, chunks
from phoenix_annot.tracing.models import Span

from .locks import rows_lock
from .models import AnnotationConfig, AnnotationType, AnnotatorKind, DocumentAnnotation, RetrievalMetrics

RELEVANCE_NAME = "relevance"


@dataclass(frozen=True)
class RelevanceChoice:
    label: str
    score: float | None


# A document's relevance choices when the project has no categorical `relevance` config: the labels and
# scores the LLM relevance judges write, so a reviewer's judgement and theirs read alike.
DEFAULT_RELEVANCE_CHOICES = (RelevanceChoice("relevant", 1.0), RelevanceChoice("irrelevant", 0.0))


def relevance_choices(configs: Iterable[AnnotationConfig]) -> list[RelevanceChoice]:
    """The labels a reviewer picks a document's relevance from, with the score each stands for: those of
    the categorical `relevance` config among the project's `configs`, else the defaults."""
    config = next((c for c in configs if c.name == RELEVANCE_NAME), None)
    if config is None or config.type != AnnotationType.CATEGORICAL:
        return list(DEFAULT_RELEVANCE_CHOICES)
    return [RelevanceChoice(value["label"], value.get("score")) for value in config.values]


@dataclass(frozen=True)
class Judgement:
    """One scored relevance annotation of a document."""

    position: int
    annotator_kind: str
    score: float


@dataclass(frozen=True)
class RetrievalScores:
    document_count: int
    judged_count: int
    relevant_count: int
    precision: float
    ndcg: float
    hit: bool


def document_relevances(document_count: int, judgements: Iterable[Judgement]) -> list[float | None]:
    """Each position's relevance (None when nobody judged it): the mean human score, else the mean score."""
    by_position: dict[int, list[Judgement]] = defaultdict(list)
    for judgement in judgements:
        by_position[judgement.position].append(judgement)
    relevances: list[float | None] = []
    for position in range(document_count):
        found = by_position.get(position, [])
        human = [j.score for j in found if j.annotator_kind == AnnotatorKind.HUMAN]
        scores = human or [j.score for j in found]
        relevances.append(sum(scores) / len(scores) if scores else None)
    return relevances


def retrieval_scores(relevances: Sequence[float | None]) -> RetrievalScores | None:
    """precision@k, NDCG@k and hit for k = len(relevances); None when no document is judged."""
    judged = [r for r in relevances if r is not None]
    if not judged:
        return None
    k = len(relevances)
    gains = [max(r or 0.0, 0.0) for r in relevances]
    ideal = _dcg(sorted(gains, reverse=True))
    relevant = sum(r > 0 for r in judged)
    return RetrievalScores(
        document_count=k,
        judged_count=len(judged),
        relevant_count=relevant,
        precision=relevant / k,
        ndcg=_dcg(gains) / ideal if ideal > 0 else 0.0,
        hit=relevant > 0,
    )


def _dcg(gains: Sequence[float]) -> float:
    return sum(gain / math.log2(position + 2) for position, gain in enumerate(gains))


def document_count(documents: Any) -> int:
    """How many documents a span's `retrieval.documents` attribute holds."""
    return len(documents) if isinstance(documents, list) else 0


def spans_lock(span_pks: Iterable[int]) -> None:
    """Lock these spans until the transaction ends, in pk order so that writers locking overlapping sets
    cannot deadlock. Taken before the annotations are written, a writer's metrics are computed once the
    writers before it have committed, from all of their judgements (each statement of a PostgreSQL
    transaction reads what is committed when it starts)."""
    rows_lock(Span, span_pks)


def retrieval_metrics_refresh(*, span_pks: Iterable[int]) -> None:
    """Recompute the stored metrics of these spans from their relevance annotations, deleting the rows of
    spans left with no judged document. Run it in the transaction that changed the annotations, which
    locked the spans (`spans_lock`) before changing them; it locks them too, for a caller that did not."""
    span_pks = sorted(set(span_pks))
    spans_lock(span_pks)
    for chunk in chunks(span_pks):
        spans = Span.objects.filter(pk__in=chunk).values_list(
            "pk", "project_id", "attributes__retrieval__documents"
        )
        judgements: dict[int, list[Judgement]] = defaultdict(list)
        for span_pk, position, kind, score in DocumentAnnotation.objects.filter(
            span_id__in=chunk, name=RELEVANCE_NAME, score__isnull=False
        ).values_list("span_id", "document_position", "annotator_kind", "score"):
            judgements[span_pk].append(Judgement(position, kind, score))
        rows = []
        for span_pk, project_id, documents in spans:
            scores = retrieval_scores(document_relevances(document_count(documents), judgements[span_pk]))
            if scores is not None:
                rows.append(RetrievalMetrics(span_id=span_pk, project_id=project_id, **asdict(scores)))
        RetrievalMetrics.objects.filter(span_id__in=chunk).exclude(
            span_id__in=[row.span_id for row in rows]
        ).delete()
        RetrievalMetrics.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["span"],
            update_fields=[
                "document_count",
                "judged_count",
                "relevant_count",
                "precision",
                "ndcg",
                "hit",
            ],
            batch_size=BATCH_SIZE,
        )
