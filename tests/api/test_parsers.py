"""JSON bodies of /v1 REST routes: size-limited (PHOENIX_ANNOT_API_MAX_BODY_BYTES) and strictly parsed."""

import io
import json

import pytest
from django.test import RequestFactory

from phoenix_annot.annotations.models import SpanAnnotation
from phoenix_annot.api.parsers import BodyTooLarge, SizeLimitedJSONParser
from phoenix_annot.datasets.models import Dataset
from tests.factories import SpanFactory

pytestmark = pytest.mark.django_db


def annotations_body(span_id: str, explanation: str = "") -> dict:
    item = {
        "span_id": span_id,
        "name": "tone",
        "annotator_kind": "HUMAN",
        "result": {"explanation": explanation},
    }
    return {"data": [item]}


def test_a_body_over_the_limit_is_a_413_and_nothing_is_written(api, settings):
    span = SpanFactory()
    settings.API_MAX_BODY_BYTES = 200

    response = api.post("/v1/span_annotations?sync=true", annotations_body(span.span_id, "x" * 200))

    assert (response.status_code, response.content.decode()) == (
        413,
        "Request body is larger than the 200 byte limit (PHOENIX_ANNOT_API_MAX_BODY_BYTES)",
    )
    assert response["Content-Type"].startswith("text/plain")
    assert not SpanAnnotation.objects.exists()


def test_a_body_at_the_limit_is_read(api, settings):
    span = SpanFactory()
    body = json.dumps(annotations_body(span.span_id, "fits"))
    settings.API_MAX_BODY_BYTES = len(body)

    response = api.post("/v1/span_annotations?sync=true", body)

    assert response.status_code == 200


def test_ten_thousand_annotations_in_one_body_past_djangos_form_limit_are_stored(api, settings):
    span = SpanFactory()
    result = {"explanation": "x" * 300}
    items = [
        {"span_id": span.span_id, "name": f"n{i}", "annotator_kind": "LLM", "result": result}
        for i in range(10_000)
    ]
    body = json.dumps({"data": items})
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = api.post("/v1/span_annotations?sync=true", body)

    assert response.status_code == 200, response.content[:200]
    assert SpanAnnotation.objects.count() == 10_000


def test_a_dataset_upload_past_djangos_form_limit_is_stored(api, settings):
    inputs = [{"question": f"{i} " + "x" * 250} for i in range(10_000)]
    body = json.dumps({"name": "big", "inputs": inputs})
    assert len(body) > 2_700_000 > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = api.post("/v1/datasets/upload?sync=true", body)

    assert response.status_code == 200, response.content[:200]
    assert response.json()["data"]["num_created_examples"] == 10_000


def test_the_limit_holds_while_reading_when_content_length_understates_the_body(settings):
    settings.API_MAX_BODY_BYTES = 10
    request = RequestFactory().post("/", b"", content_type="application/json")

    with pytest.raises(BodyTooLarge, match="larger than the 10 byte limit"):
        SizeLimitedJSONParser().parse(io.BytesIO(b'{"a": "' + b"x" * 20 + b'"}'), None, {"request": request})


def test_dataset_uploads_keep_their_own_larger_limit(api, settings):
    settings.API_MAX_BODY_BYTES = 100

    response = api.post("/v1/datasets/upload?sync=true", {"name": "big", "inputs": [{"q": "x" * 200}]})

    assert response.status_code == 200
    assert Dataset.objects.filter(name="big").exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "JSON parse error - Expecting property name enclosed in double quotes"),
        (b'{"data": [', "JSON parse error - Expecting value"),
        (b'{"data": [{"result": {"score": NaN}}]}', "Out of range float values are not JSON compliant"),
        (b"\xff\xfe", "JSON parse error"),
    ],
)
def test_malformed_json_is_a_400_that_names_the_problem(api, body, reason):
    response = api.post("/v1/span_annotations", body, content_type="application/json")

    assert response.status_code == 400
    assert reason in response.content.decode()
    assert response["Content-Type"].startswith("text/plain")


def test_a_body_that_is_not_json_is_a_415(api):
    response = api.post(
        "/v1/span_annotations", b"span_id=a", content_type="application/x-www-form-urlencoded"
    )

    assert (response.status_code, response.content.decode()) == (
        415,
        'Unsupported media type "application/x-www-form-urlencoded" in request.',
    )
