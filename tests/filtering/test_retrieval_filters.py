"""The Spans tab's retrieval filters (SpanFilter, so the page and /v1 read them alike) and its roll-up of
the retrieval metrics over the filter."""

import pytest
from django.http import QueryDict

from phoenix_annot.annotations.services import AnnotationWrite, document_annotations_upsert
from phoenix_annot.filtering.feedback import count_and_retrieval_rollup
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.tracing.models import Span
from tests.api.conftest import V1Client
from tests.factories import ProjectFactory, SpanFactory, TraceFactory, UserFactory, retriever_span
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db


def retriever(project, name: str, relevances: list[float | None]) -> Span:
    """A retriever span of len(relevances) documents, judged by an LLM where the relevance is not None."""
    span = retriever_span(project, len(relevances), name=name)
    writes = [
        AnnotationWrite(span.span_id, "relevance", "LLM", score=score, document_position=position)
        for position, score in enumerate(relevances)
        if score is not None
    ]
    if writes:
        document_annotations_upsert(writes=writes, source="API", user=None)
    return span


@pytest.fixture
def retrievers() -> dict[str, Span]:
    project = ProjectFactory(name="rag")
    return {
        # precision 1/2, NDCG 1 (the relevant one first)
        "first-good": retriever(project, "first-good", [1.0, 0.0]),
        # precision 1/2, NDCG 1/log2(3) = 0.63
        "second-good": retriever(project, "second-good", [0.0, 1.0]),
        # precision 0, NDCG 0, no hit
        "none-good": retriever(project, "none-good", [0.0, 0.0, None]),
        # no judged document: no metrics, in neither yes nor no
        "unjudged": retriever(project, "unjudged", [None, None]),
        "llm": SpanFactory(trace=TraceFactory(project=project), name="llm"),
    }


def filtered(data: dict) -> set[str]:
    spans = SpanFilter(QueryDict(mutable=True) | data, queryset=Span.objects.all())
    assert spans.is_valid(), spans.errors
    return set(spans.qs.values_list("name", flat=True))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"retrieval_hit": "true"}, {"first-good", "second-good"}),
        ({"retrieval_hit": "false"}, {"none-good"}),
        (
            {"retrieval_hit": "unknown"},
            {"first-good", "second-good", "none-good", "unjudged", "llm", "answer"},
        ),
        ({"ndcg_below": "0.7"}, {"second-good", "none-good"}),
        ({"ndcg_below": "0.5"}, {"none-good"}),
        ({"ndcg_below": "0.7", "retrieval_hit": "true"}, {"second-good"}),
    ],
)
def test_retrieval_filters_keep_the_judged_retriever_spans_that_match(retrievers, data, expected):
    assert filtered(data) == expected


@pytest.mark.parametrize(
    ("data", "field"), [({"retrieval_hit": "maybe"}, "retrieval_hit"), ({"ndcg_below": "x"}, "ndcg_below")]
)
def test_a_bad_retrieval_filter_value_is_an_error_naming_the_field(data, field):
    spans = SpanFilter(QueryDict(mutable=True) | data, queryset=Span.objects.all())

    assert not spans.is_valid()
    assert list(spans.errors) == [field]


def test_the_roll_up_averages_the_judged_retriever_spans_of_the_filter(retrievers):
    project = retrievers["llm"].project
    elsewhere = retriever(ProjectFactory(name="elsewhere"), "elsewhere", [1.0])
    spans = Span.objects.filter(project=project)

    whole = count_and_retrieval_rollup(spans, project=project, whole_project=True)
    joined = count_and_retrieval_rollup(spans, project=project, whole_project=False)
    total, hits_only = count_and_retrieval_rollup(
        spans.filter(name__in=["first-good", "second-good", "unjudged"]), project=project, whole_project=False
    )

    count, rollup = whole
    # Averaged in another order, the two may differ in the last bits.
    assert joined[0] == count
    assert (joined[1].span_count, joined[1].hit_count) == (rollup.span_count, rollup.hit_count)
    assert (joined[1].mean_precision, joined[1].mean_ndcg) == pytest.approx(
        (rollup.mean_precision, rollup.mean_ndcg)
    )
    # 4 retrievers under their CHAIN roots, and the LLM span.
    assert count == 9
    assert (rollup.span_count, rollup.hit_count, rollup.miss_count) == (3, 2, 1)
    assert rollup.mean_precision == pytest.approx((0.5 + 0.5 + 0) / 3)
    assert rollup.mean_ndcg == pytest.approx((1 + 0.63093 + 0) / 3, abs=1e-5)
    assert rollup.hit_rate == pytest.approx(2 / 3)
    assert (total, hits_only.span_count, hits_only.hit_rate) == (3, 2, 1.0)
    assert (
        count_and_retrieval_rollup(
            Span.objects.filter(project=elsewhere.project), project=elsewhere.project, whole_project=True
        )[1].span_count
        == 1
    )


def test_a_retrieval_filter_counts_its_spans_and_rolls_them_up_in_two_queries(
    retrievers, django_assert_num_queries
):
    project = retrievers["llm"].project
    spans = SpanFilter(QueryDict("retrieval_hit=true"), queryset=Span.objects.filter(project=project))
    assert spans.is_valid()

    with django_assert_num_queries(2):
        total, rollup = count_and_retrieval_rollup(spans.qs, project=project, whole_project=False)

    assert (total, rollup.span_count, rollup.hit_rate) == (2, 2, 1.0)


def test_a_project_without_metrics_is_counted_without_joining_them(django_assert_num_queries):
    span = SpanFactory(span_kind="LLM")

    with django_assert_num_queries(2) as queries:
        total, rollup = count_and_retrieval_rollup(
            Span.objects.filter(span_kind="LLM"), project=span.project, whole_project=False
        )

    assert (total, rollup.span_count, rollup.hit_rate) == (1, 0, None)
    assert "retrievalmetrics" not in queries.captured_queries[-1]["sql"]


def test_the_roll_up_of_spans_without_judgements_is_empty(retrievers):
    project = retrievers["llm"].project
    unjudged = Span.objects.filter(name__in=["unjudged", "llm"])

    total, rollup = count_and_retrieval_rollup(unjudged, project=project, whole_project=False)

    assert (total, rollup.span_count, rollup.mean_ndcg, rollup.hit_rate) == (2, 0, None, None)


@pytest.mark.parametrize(
    ("data", "narrows"),
    [
        ({}, False),
        ({"retrieval_hit": "unknown", "span_kind": "", "condition": " "}, False),
        ({"retrieval_hit": "false"}, True),
        ({"ndcg_below": "0"}, True),
        ({"span_kind": "LLM"}, True),
        ({"span_kind": "NOPE"}, False),
    ],
)
def test_a_filterset_narrows_when_a_valid_filter_is_set(data, narrows):
    assert SpanFilter(QueryDict(mutable=True) | data, queryset=Span.objects.all()).narrows() is narrows


def test_the_spans_tab_shows_the_roll_up_for_its_filter(client, retrievers):
    project = retrievers["llm"].project
    client.force_login(UserFactory())

    everything = client.get(f"/projects/{project.pk}/", **HTMX).content.decode()
    misses = client.get(f"/projects/{project.pk}/?retrieval_hit=false", **HTMX).content.decode()
    nothing_judged = client.get(f"/projects/{project.pk}/?span_kind=LLM", **HTMX).content.decode()

    assert "3 retriever spans with judged documents" in everything
    assert 'data-metric="ndcg">0.54</strong>' in everything
    assert 'data-metric="hit-rate">67%</strong>' in everything
    assert "1 retriever span with judged documents" in misses
    assert 'data-metric="hit-rate">0%</strong>' in misses
    assert 'data-rollup="retrieval"' not in nothing_judged


def test_the_spans_api_takes_the_same_retrieval_filters(v1_auth_off, retrievers):
    project = retrievers["llm"].project
    api = V1Client()

    data = api.get(f"/v1/projects/{project.name}/spans?retrieval_hit=false").json()["data"]
    refused = api.get(f"/v1/projects/{project.name}/spans?retrieval_hit=maybe")

    assert [span["name"] for span in data] == ["none-good"]
    assert refused.status_code == 422
    assert "retrieval_hit" in refused.content.decode()
