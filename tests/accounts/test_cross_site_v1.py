"""A web page open in the reviewer's browser must not write to /v1 without a key (the demo runs with /v1
authentication off), while exporters and clients, which send no Origin, keep working."""

import json

import pytest
from django.test import Client

from phoenix_annot.accounts.middleware import CROSS_SITE_REFUSED
from phoenix_annot.annotations.models import SpanAnnotation
from phoenix_annot.datasets.models import Dataset
from phoenix_annot.tracing.models import Span
from tests.api.conftest import client_for_role
from tests.datasets.multipart import CONTENT_TYPE, field, file_part, multipart
from tests.factories import SpanFactory

pytestmark = pytest.mark.django_db

EVIL = "https://evil.example"


def upload_from(client: Client, **headers: str):
    body = multipart(
        field("name", "planted"),
        field("action", "create"),
        field("input_keys[]", "q"),
        file_part(b"q\nhello\n"),
    )
    return client.post("/v1/datasets/upload?sync=true", body, content_type=CONTENT_TYPE, **headers)


def annotate_from(client: Client, span: Span, **headers: str):
    body = {
        "data": [
            {
                "span_id": span.span_id,
                "name": "correctness",
                "annotator_kind": "HUMAN",
                "result": {"label": "planted"},
            }
        ]
    }
    return client.post(
        "/v1/span_annotations?sync=true", json.dumps(body), content_type="application/json", **headers
    )


def assert_refused(response) -> None:
    assert response.status_code == 403
    assert response.content.decode() == CROSS_SITE_REFUSED


def test_a_page_on_another_site_cannot_upload_a_dataset_to_the_demo_server(v1_auth_off):
    response = upload_from(Client(), HTTP_ORIGIN=EVIL, HTTP_SEC_FETCH_SITE="cross-site")

    assert_refused(response)
    assert not Dataset.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": EVIL},
        {"HTTP_ORIGIN": "null"},  # a sandboxed frame or a file:// page
        {"HTTP_ORIGIN": "http://testserver:8080"},  # another port is another origin
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
    ],
    ids=["foreign origin", "null origin", "other port", "sec-fetch-site"],
)
def test_a_cross_site_request_cannot_write_annotations_with_auth_off(v1_auth_off, headers):
    span = SpanFactory()

    response = annotate_from(Client(), span, **headers)

    assert_refused(response)
    assert not SpanAnnotation.objects.exists()


def test_a_cross_site_request_cannot_send_spans_with_auth_off(v1_auth_off):
    response = Client().post("/v1/traces", b"{}", content_type="application/json", HTTP_ORIGIN=EVIL)

    assert_refused(response)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_ORIGIN": "http://testserver", "HTTP_SEC_FETCH_SITE": "same-origin"},
        {"HTTP_ORIGIN": "http://localhost:5173", "HTTP_SEC_FETCH_SITE": "same-site"},
    ],
    ids=["exporter or client, no origin", "this site", "an allowed origin"],
)
def test_requests_without_an_origin_from_this_site_or_an_allowed_origin_still_write(
    v1_auth_off, settings, headers
):
    settings.V1_ALLOWED_ORIGINS = ["http://localhost:5173"]
    span = SpanFactory()

    response = annotate_from(Client(), span, **headers)

    assert response.status_code == 200, response.content
    assert SpanAnnotation.objects.get().label == "planted"


def test_a_request_with_an_api_key_is_left_to_authentication_whatever_its_origin(settings):
    settings.V1_AUTH_REQUIRED = True
    span = SpanFactory()

    response = annotate_from(client_for_role("ANNOTATOR"), span, HTTP_ORIGIN=EVIL)

    assert response.status_code == 200, response.content
    assert SpanAnnotation.objects.exists()
