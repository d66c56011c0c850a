import gzip
import json
import math
import zlib

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from phoenix_annot.accounts.services import api_key_create, api_key_revoke
from phoenix_annot.core.batching import BATCH_SIZE
from phoenix_annot.tracing.models import Project, Span, Trace
from tests.factories import UserFactory
from tests.ingest.builders import export_request, otlp_span

pytestmark = pytest.mark.django_db
PROTOBUF = "application/x-protobuf"


def post_otlp(body: bytes | ExportTraceServiceRequest, *, content_type: str = PROTOBUF, **headers: str):
    if isinstance(body, ExportTraceServiceRequest):
        body = body.SerializeToString()
    return Client().post("/v1/traces", data=body, content_type=content_type, **headers)


def rag_trace(trace_id: int = 1) -> ExportTraceServiceRequest:
    base = trace_id * 10
    return export_request(
        otlp_span(
            trace_id=trace_id, span_id=base + 1, name="rag", attributes={"openinference.span.kind": "CHAIN"}
        ),
        otlp_span(
            trace_id=trace_id,
            span_id=base + 2,
            parent_id=base + 1,
            name="retrieve",
            attributes={"openinference.span.kind": "RETRIEVER"},
        ),
        otlp_span(
            trace_id=trace_id,
            span_id=base + 3,
            parent_id=base + 1,
            name="generate",
            status_code=2,
            attributes={
                "openinference.span.kind": "LLM",
                "llm.token_count.prompt": 100,
                "llm.token_count.completion": 20,
            },
        ),
        resource={"openinference.project.name": "rag-app"},
    )


def assert_nothing_stored() -> None:
    assert Span.objects.count() == 0
    assert Trace.objects.count() == 0
    assert list(Project.objects.values_list("name", flat=True)) == ["default"]


@pytest.fixture(autouse=True)
def _auth_off_unless_a_test_turns_it_on(v1_auth_off):
    """Most tests here are about decoding; the auth tests switch it back on."""


def test_a_protobuf_request_is_stored_and_answered_with_an_empty_protobuf_response():
    response = post_otlp(rag_trace())

    assert response.status_code == 200
    assert response["Content-Type"] == PROTOBUF
    assert response.content == b""
    spans = {span.name: span for span in Span.objects.select_related("project", "trace")}
    assert set(spans) == {"rag", "retrieve", "generate"}
    assert spans["rag"].project.name == "rag-app"
    assert spans["retrieve"].parent_id == spans["rag"].span_id
    assert spans["generate"].span_kind == "LLM"


def test_trace_rollups_count_spans_errors_tokens_and_name_the_root():
    post_otlp(rag_trace())

    trace = Trace.objects.get()
    assert trace.span_count == 3
    assert trace.error_count == 1
    assert trace.llm_token_count_prompt == 100
    assert trace.llm_token_count_total == 120
    assert trace.root_span_name == "rag"
    assert trace.latency_ms == 250.0


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("deflate", lambda b: zlib.compress(b, wbits=-15))],
    ids=["gzip", "deflate-zlib", "deflate-raw"],
)
def test_compressed_requests_are_accepted(encoding, compress):
    response = post_otlp(compress(rag_trace().SerializeToString()), HTTP_CONTENT_ENCODING=encoding)

    assert response.status_code == 200
    assert Span.objects.count() == 3


def test_a_gzip_body_of_several_members_is_read_whole():
    first, second = rag_trace(1).SerializeToString(), rag_trace(2).SerializeToString()

    response = post_otlp(gzip.compress(first) + gzip.compress(second), HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 200
    assert Span.objects.count() == 6


def test_an_otlp_json_request_is_stored_and_answered_in_json():
    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "json span",
                                "startTimeUnixNano": "1767268800000000000",
                                "endTimeUnixNano": "1767268800500000000",
                            }
                        ]
                    }
                ]
            }
        ]
    }

    response = post_otlp(json.dumps(body).encode(), content_type="application/json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {}
    span = Span.objects.get()
    assert (span.name, span.project.name, span.latency_ms) == ("json span", "default", 500.0)


def test_resending_the_same_request_stores_nothing_twice():
    post_otlp(rag_trace())
    response = post_otlp(rag_trace())

    assert response.status_code == 200
    assert Span.objects.count() == 3
    assert Trace.objects.get().span_count == 3


def test_a_trace_split_over_several_requests_ends_up_complete():
    whole = rag_trace()
    spans = list(whole.resource_spans[0].scope_spans[0].spans)
    for span in reversed(spans):
        post_otlp(export_request(span, resource={"openinference.project.name": "rag-app"}))

    trace = Trace.objects.get()
    assert trace.span_count == 3
    assert trace.root_span_name == "rag"
    assert trace.llm_token_count_total == 120
    assert Span.objects.filter(trace=trace).count() == 3


def test_later_spans_of_a_trace_stay_in_the_project_where_the_trace_began():
    post_otlp(export_request(otlp_span(span_id=1), resource={"openinference.project.name": "first"}))
    post_otlp(
        export_request(otlp_span(span_id=2, parent_id=1), resource={"openinference.project.name": "second"})
    )

    assert set(Span.objects.values_list("project__name", flat=True)) == {"first"}


def test_the_x_project_name_header_wins_over_the_resource_attribute():
    response = post_otlp(rag_trace(), HTTP_X_PROJECT_NAME="from-header")

    assert response.status_code == 200
    assert set(Span.objects.values_list("project__name", flat=True)) == {"from-header"}
    assert not Project.objects.filter(name="rag-app").exists()


def test_spans_without_a_project_go_to_the_default_project():
    post_otlp(export_request(otlp_span()))

    assert Span.objects.get().project.name == "default"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/grpc", "multipart/form-data; boundary=x"]
)
def test_an_unsupported_content_type_is_a_415_and_stores_nothing(content_type):
    response = post_otlp(rag_trace(), content_type=content_type)

    assert response.status_code == 415
    assert "Unsupported content type" in response.content.decode()
    assert_nothing_stored()


def test_an_unsupported_content_encoding_is_a_415():
    response = post_otlp(rag_trace(), HTTP_CONTENT_ENCODING="br")

    assert response.status_code == 415
    assert response.content.decode().startswith("Unsupported content encoding: br")
    assert_nothing_stored()


def test_undecodable_protobuf_is_a_422_with_a_message_and_stores_nothing():
    response = post_otlp(b"\x0a\xff\xff\xff\xff\x0f garbage")

    assert response.status_code == 422
    assert response["Content-Type"].startswith("text/plain")
    assert "Request body is invalid ExportTraceServiceRequest" in response.content.decode()
    assert_nothing_stored()


@pytest.mark.parametrize(
    "body", [b"not gzip at all", gzip.compress(b"x" * 1000, mtime=0)[:-20]], ids=["not-gzip", "truncated"]
)
def test_corrupt_or_truncated_gzip_is_a_400_and_stores_nothing(body):
    response = post_otlp(body, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 400
    assert "Request body is not valid gzip data" in response.content.decode()
    assert_nothing_stored()


@pytest.mark.parametrize("content_type", [PROTOBUF, "application/json"])
def test_an_empty_body_is_a_400_never_a_200_the_exporter_takes_for_stored_spans(content_type):
    # Django's test client drops the content type of an empty body; a server keeps it.
    response = post_otlp(b"", content_type=content_type, CONTENT_TYPE=content_type)

    assert response.status_code == 400
    assert response.content.decode() == "Request body is empty; send an ExportTraceServiceRequest"


def test_a_body_over_the_limit_is_a_413(settings):
    settings.OTLP_MAX_BODY_BYTES = 100
    body = rag_trace().SerializeToString()
    assert len(body) > 100

    response = post_otlp(body)

    assert response.status_code == 413
    assert "larger than the 100 byte limit" in response.content.decode()
    assert_nothing_stored()


def test_a_gzip_bomb_is_refused_with_a_413_by_its_decompressed_size(settings):
    settings.OTLP_MAX_BODY_BYTES = 1024 * 1024
    bomb = gzip.compress(b"\x00" * (50 * 1024 * 1024))
    assert len(bomb) < 100 * 1024

    response = post_otlp(bomb, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 413
    assert_nothing_stored()


def test_one_bad_id_refuses_the_whole_request_with_a_400_naming_the_span():
    good = rag_trace()
    bad = otlp_span(trace_id=9, span_id=99, name="broken-span")
    bad.span_id = b"\x01\x02\x03"
    good.resource_spans[0].scope_spans[0].spans.append(bad)

    response = post_otlp(good)

    assert response.status_code == 400
    assert "Span 'broken-span'" in response.content.decode()
    assert "invalid span_id" in response.content.decode()
    assert_nothing_stored()


def test_a_database_failure_midway_stores_nothing(monkeypatch):
    def fail(*args, **kwargs):
        from django.db import IntegrityError

        raise IntegrityError("simulated failure after traces were written")

    monkeypatch.setattr("phoenix_annot.ingest.services.trace_rollups_refresh", fail)

    response = post_otlp(rag_trace())

    assert response.status_code == 422
    assert "nothing was stored" in response.content.decode()
    assert_nothing_stored()


def test_a_database_outage_is_a_retryable_503(monkeypatch):
    def fail(*args, **kwargs):
        from django.db import OperationalError

        raise OperationalError("connection refused")

    monkeypatch.setattr("phoenix_annot.ingest.views.spans_ingest", fail)

    response = post_otlp(rag_trace())

    assert response.status_code == 503
    assert response["Retry-After"] == "1"


def test_get_is_not_allowed():
    assert Client().get("/v1/traces").status_code == 405


class TestAuthentication:
    @pytest.fixture(autouse=True)
    def _auth_on(self, settings):
        settings.V1_AUTH_REQUIRED = True

    def test_a_request_without_a_key_is_a_401_and_stores_nothing(self):
        response = post_otlp(rag_trace())

        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in response.content.decode()
        assert_nothing_stored()

    def test_a_wrong_key_is_a_401(self):
        api_key_create(user=UserFactory(), name="ci")

        response = post_otlp(rag_trace(), HTTP_AUTHORIZATION="Bearer pa_not-the-key")

        assert response.status_code == 401
        assert response.content.decode() == "Invalid token"
        assert_nothing_stored()

    def test_a_valid_bearer_key_is_accepted(self):
        _key, raw = api_key_create(user=UserFactory(), name="ci")

        response = post_otlp(rag_trace(), HTTP_AUTHORIZATION=f"Bearer {raw}")

        assert response.status_code == 200
        assert Span.objects.count() == 3

    def test_the_legacy_api_key_header_is_accepted(self):
        _key, raw = api_key_create(user=UserFactory(), name="ci")

        assert post_otlp(rag_trace(), HTTP_API_KEY=raw).status_code == 200

    def test_a_revoked_key_is_refused_at_once(self):
        key, raw = api_key_create(user=UserFactory(), name="ci")
        api_key_revoke(api_key=key)

        assert post_otlp(rag_trace(), HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401

    def test_a_viewer_key_may_not_ingest(self):
        _key, raw = api_key_create(user=UserFactory(role="VIEWER"), name="ci")

        response = post_otlp(rag_trace(), HTTP_AUTHORIZATION=f"Bearer {raw}")

        assert response.status_code == 403
        assert response.content.decode() == "Viewers cannot perform this action."
        assert_nothing_stored()


def test_queries_are_a_constant_few_plus_one_multi_row_insert_per_batch_of_spans():
    many = export_request(
        *[
            otlp_span(trace_id=t, span_id=t * 10 + s, parent_id=None if s == 0 else t * 10)
            for t in range(1, 101)
            for s in range(4)
        ]
    )
    span_fields = [f for f in Span._meta.concrete_fields if not f.primary_key]
    rows_per_insert = min(BATCH_SIZE, connection.ops.bulk_batch_size(span_fields, [None] * 400))

    with CaptureQueriesContext(connection) as captured:
        response = post_otlp(many)

    assert response.status_code == 200
    assert Span.objects.count() == 400
    span_inserts = [q for q in captured.captured_queries if 'INTO "tracing_span"' in q["sql"]]
    assert len(span_inserts) == math.ceil(400 / rows_per_insert)
    # The queue rules' lookup and the per-project access check of the projects written are one query each;
    # PostgreSQL's COPY into a staging table takes one statement more than SQLite's INSERT.
    assert len(captured.captured_queries) - len(span_inserts) <= 16


def test_values_postgresql_cannot_hold_are_made_storable():
    span = otlp_span(
        name="odd\x00values",
        attributes={
            "input.value": "a\x00b",
            "score": float("inf"),
            "metadata": '{"k": "\\ud800 and \\u0000"}',
        },
    )

    response = post_otlp(export_request(span))

    assert response.status_code == 200
    stored = Span.objects.get()
    assert (stored.name, stored.input_value, stored.attributes["score"]) == ("oddvalues", "ab", "inf")
    assert stored.attributes["metadata"] == {"k": "? and "}
