"""ChunkedRequestBody, driven as a WSGI server drives phoenix_annot.wsgi.application."""

import io
from typing import Any

import pytest

from phoenix_annot.tracing.models import Span
from phoenix_annot.wsgi import application
from tests.ingest.builders import export_request, otlp_span

# Called as a server calls it, the application closes the connection at the end of each request, as the
# test client does not: a test transaction would not survive that.
pytestmark = pytest.mark.django_db(transaction=True)

BODY = export_request(otlp_span(span_id=7, name="chunked")).SerializeToString()


def call(body: bytes, *, chunked: bool, input_terminated: bool) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v1/traces",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_TYPE": "application/x-protobuf",
    }
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = input_terminated
    else:
        environ["CONTENT_LENGTH"] = str(len(body))
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer.update(status=status, headers=dict(headers))

    content = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], content


@pytest.fixture(autouse=True)
def v1_open(v1_auth_off: None) -> None:
    pass


def test_a_chunked_body_the_server_decoded_reaches_the_view_whole() -> None:
    status, _, _ = call(BODY, chunked=True, input_terminated=True)

    assert status.startswith("200")
    assert Span.objects.filter(name="chunked").count() == 1


def test_a_chunked_body_under_a_server_that_cannot_decode_it_is_a_411_that_closes_the_connection() -> None:
    status, headers, content = call(BODY, chunked=True, input_terminated=False)

    assert status == "411 Length Required"
    assert headers["Connection"] == "close"
    assert b"gunicorn" in content
    assert not Span.objects.exists()


def test_a_chunked_body_over_the_limit_is_a_413_naming_the_setting(settings: Any) -> None:
    settings.MAX_REQUEST_BODY_BYTES = len(BODY) - 1

    status, headers, content = call(BODY, chunked=True, input_terminated=True)

    assert status == "413 Content Too Large"
    assert headers["Connection"] == "close"
    assert b"PHOENIX_ANNOT_MAX_REQUEST_BODY_BYTES" in content
    assert not Span.objects.exists()


def test_a_body_with_content_length_passes_through_untouched(settings: Any) -> None:
    settings.MAX_REQUEST_BODY_BYTES = 1

    status, _, _ = call(BODY, chunked=False, input_terminated=False)

    assert status.startswith("200")
    assert Span.objects.filter(name="chunked").count() == 1
