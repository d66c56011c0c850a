"""/v1 document annotations: Phoenix 20.26.1's write (texts read from a real Phoenix 20.26.1) and our read."""

import pytest

from phoenix_annot.annotations.models import DocumentAnnotation, PendingAnnotation
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import spans_ingest
from tests.factories import DocumentAnnotationFactory, SpanFactory
from tests.ingest.builders import export_request, otlp_span

pytestmark = pytest.mark.django_db

DOCUMENTS = {"retrieval": {"documents": [{"document": {"content": "a"}}, {"document": {"content": "b"}}]}}


@pytest.fixture
def retriever():
    return SpanFactory(span_kind="RETRIEVER", trace__project__name="rag", attributes=DOCUMENTS)


def relevance(span_id: str, position: int, **overrides) -> dict:
    return {
        "span_id": span_id,
        "document_position": position,
        "name": "relevance",
        "annotator_kind": "HUMAN",
        "result": {"label": "relevant", "score": 1.0},
        **overrides,
    }


def test_a_document_annotation_is_upserted_on_name_span_and_position(api, retriever):
    first = api.post("/v1/document_annotations?sync=true", {"data": [relevance(retriever.span_id, 1)]})
    again = api.post(
        "/v1/document_annotations?sync=true",
        {"data": [relevance(retriever.span_id, 1, result={"label": "irrelevant", "score": 0})]},
    )
    other = api.post("/v1/document_annotations?sync=true", {"data": [relevance(retriever.span_id, 0)]})

    stored = DocumentAnnotation.objects.get(document_position=1)
    assert first.json() == again.json() == {"data": [{"id": to_global_id("DocumentAnnotation", stored.pk)}]}
    assert (stored.label, stored.score) == ("irrelevant", 0.0)
    assert other.json()["data"][0]["id"] != first.json()["data"][0]["id"]
    assert DocumentAnnotation.objects.count() == 2


@pytest.mark.parametrize(
    ("position", "attributes", "text"),
    [
        (2, DOCUMENTS, "Document position 2 is out of bounds for span {span} (max: 1)"),
        (-1, DOCUMENTS, "Document position -1 is out of bounds for span {span} (max: 1)"),
        (0, {}, "Document position 0 is out of bounds for span {span} (max: -1)"),
    ],
)
def test_a_position_outside_the_spans_documents_is_phoenixs_422(api, position, attributes, text):
    span = SpanFactory(span_kind="RETRIEVER", attributes=attributes)

    response = api.post("/v1/document_annotations?sync=true", {"data": [relevance(span.span_id, position)]})

    assert (response.status_code, response.content.decode()) == (422, text.format(span=span.span_id))
    assert not DocumentAnnotation.objects.exists()


def test_a_non_empty_identifier_is_refused_with_or_without_sync(api, retriever):
    for url in ("/v1/document_annotations?sync=true", "/v1/document_annotations"):
        response = api.post(url, {"data": [relevance(retriever.span_id, 0, identifier="x")]})

        assert (response.status_code, response.content.decode()) == (
            422,
            "Non-empty identifier 'x' is not supported",
        )
    assert not DocumentAnnotation.objects.exists()
    assert not PendingAnnotation.objects.exists()


def test_an_unknown_span_with_sync_is_a_404_and_nothing_of_the_batch_is_stored(api, retriever):
    response = api.post(
        "/v1/document_annotations?sync=true",
        {"data": [relevance(retriever.span_id, 0), relevance("ffffffffffffffff", 0)]},
    )

    assert (response.status_code, response.content.decode()) == (
        404,
        "Spans with IDs ffffffffffffffff do not exist.",
    )
    assert not DocumentAnnotation.objects.exists()


def test_a_bad_position_in_a_batch_stores_nothing(api, retriever):
    response = api.post(
        "/v1/document_annotations?sync=true",
        {"data": [relevance(retriever.span_id, 0), relevance(retriever.span_id, 5)]},
    )

    assert response.status_code == 422
    assert not DocumentAnnotation.objects.exists()


def test_without_sync_an_annotation_of_a_span_not_stored_yet_waits_for_it(api):
    response = api.post("/v1/document_annotations", {"data": [relevance("00000000000000aa", 1)]})

    assert response.json() == {"data": []}
    span = otlp_span(
        span_id=0xAA,
        attributes={
            "openinference.span.kind": "RETRIEVER",
            "retrieval.documents.0.document.content": "a",
            "retrieval.documents.1.document.content": "b",
        },
    )
    spans_ingest(records=decode_request(export_request(span)))

    stored = DocumentAnnotation.objects.get()
    assert (stored.span.span_id, stored.document_position) == ("00000000000000aa", 1)
    assert not PendingAnnotation.objects.exists()


def test_a_waiting_annotation_whose_position_the_arrived_span_lacks_is_dropped_not_failing_the_ingest(api):
    api.post("/v1/document_annotations", {"data": [relevance("00000000000000aa", 3)]})

    spans_ingest(records=decode_request(export_request(otlp_span(span_id=0xAA))))

    assert not DocumentAnnotation.objects.exists()
    assert not PendingAnnotation.objects.exists()


@pytest.mark.parametrize(
    ("item", "loc"),
    [
        (
            {"span_id": "a" * 16, "name": "r", "annotator_kind": "HUMAN", "result": {"label": "x"}},
            "document_position",
        ),
        ({**relevance("a" * 16, 0), "document_position": "first"}, "document_position"),
        ({**relevance("a" * 16, 0), "annotator_kind": "ROBOT"}, "annotator_kind"),
    ],
)
def test_a_malformed_document_annotation_is_a_422_pointing_at_the_field(api, item, loc):
    response = api.post("/v1/document_annotations?sync=true", {"data": [item]})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "data", 0, loc]


def test_a_second_user_cannot_overwrite_the_first_users_document_annotation(keyed_client, retriever):
    first, second = keyed_client("ANNOTATOR"), keyed_client("ANNOTATOR")
    first.post("/v1/document_annotations?sync=true", {"data": [relevance(retriever.span_id, 0)]})

    response = second.post(
        "/v1/document_annotations?sync=true",
        {"data": [relevance(retriever.span_id, 0, result={"label": "irrelevant"})]},
    )

    assert response.status_code == 403
    assert "document 0" in response.content.decode()
    assert DocumentAnnotation.objects.get().label == "relevant"


def test_viewers_cannot_annotate_documents(keyed_client, retriever):
    response = keyed_client("VIEWER").post(
        "/v1/document_annotations?sync=true", {"data": [relevance(retriever.span_id, 0)]}
    )

    assert response.status_code == 403
    assert not DocumentAnnotation.objects.exists()


def test_document_annotations_read_back_like_span_annotations_with_their_position(api, retriever):
    stored = DocumentAnnotationFactory(span=retriever, document_position=1)

    response = api.get(f"/v1/projects/rag/document_annotations?span_ids={retriever.span_id}")

    assert response.json() == {
        "data": [
            {
                "id": to_global_id("DocumentAnnotation", stored.pk),
                "span_id": retriever.span_id,
                "document_position": 1,
                "name": "relevance",
                "annotator_kind": "HUMAN",
                "result": {"label": "relevant", "score": 1.0, "explanation": None},
                "metadata": {},
                "identifier": "",
                "source": "API",
                "user_id": None,
                "created_at": stored.created_at.isoformat(),
                "updated_at": stored.updated_at.isoformat(),
            }
        ],
        "next_cursor": None,
    }


def test_the_document_annotation_list_pages_newest_first(api, retriever):
    rows = [DocumentAnnotationFactory(span=retriever, document_position=position) for position in (0, 1)]

    first = api.get(f"/v1/projects/rag/document_annotations?span_ids={retriever.span_id}&limit=1").json()
    second = api.get(
        f"/v1/projects/rag/document_annotations?span_ids={retriever.span_id}&limit=1&cursor={first['next_cursor']}"
    ).json()

    assert [item["document_position"] for item in first["data"] + second["data"]] == [1, 0]
    assert first["next_cursor"] == to_global_id("DocumentAnnotation", rows[0].pk)
    assert second["next_cursor"] is None


def test_the_document_annotation_list_of_spans_not_in_the_project_is_a_404(api, retriever):
    response = api.get("/v1/projects/rag/document_annotations?span_ids=ffffffffffffffff")

    assert (response.status_code, response.content.decode()) == (
        404,
        "None of the supplied span_ids exist in this project",
    )


def test_the_document_annotation_list_takes_a_fixed_number_of_queries(
    api, retriever, django_assert_max_num_queries
):
    for position in range(2):
        for number in range(25):
            DocumentAnnotationFactory(span=retriever, document_position=position, identifier=f"run-{number}")

    with django_assert_max_num_queries(2):
        response = api.get(f"/v1/projects/rag/document_annotations?span_ids={retriever.span_id}&limit=100")

    assert len(response.json()["data"]) == 50
