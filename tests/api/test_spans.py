import json
import math
from datetime import timedelta

import pytest

from phoenix_annot.api.views import spans as spans_views
from phoenix_annot.api.views.spans import TraceListParams
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import spans_ingest
from phoenix_annot.tracing.models import Span, Trace
from tests.factories import BASE_TIME, ProjectFactory, SpanAnnotationFactory, SpanFactory, TraceFactory
from tests.ingest.builders import export_request, otlp_span

pytestmark = pytest.mark.django_db


def ingest(*spans, project: str = "p"):
    spans_ingest(
        records=decode_request(export_request(*spans, resource={"openinference.project.name": project}))
    )


def llm_span(**overrides):
    attributes = {
        "openinference.span.kind": "llm",
        "input.value": "hi",
        "llm.token_count.prompt": 10,
        "llm.input_messages.0.message.role": "user",
        "tag.tags": ["a", "b"],
        "llm.model_name": "gpt-4o",
    }
    return otlp_span(name="ChatCompletion", attributes=attributes, **overrides)


def test_spans_come_back_with_flattened_attributes_and_the_kind_taken_out(api):
    ingest(llm_span(trace_id=1, span_id=1))
    span = Span.objects.get()

    data = api.get("/v1/projects/p/spans").json()

    assert data["next_cursor"] is None
    assert data["data"] == [
        {
            "id": to_global_id("Span", span.pk),
            "name": "ChatCompletion",
            "context": {"trace_id": f"{1:032x}", "span_id": f"{1:016x}"},
            "span_kind": "LLM",
            "parent_id": None,
            "start_time": "2026-01-01T12:00:00+00:00",
            "end_time": "2026-01-01T12:00:00.250000+00:00",
            "status_code": "UNSET",
            "status_message": "",
            "attributes": {
                "input.value": "hi",
                "llm.token_count.prompt": 10,
                "llm.token_count.total": 10,
                "llm.input_messages.0.message.role": "user",
                "llm.model_name": "gpt-4o",
                "tag.tags": ["a", "b"],
            },
            "events": [],
        }
    ]


def test_spans_are_paged_newest_first(api):
    ingest(*[otlp_span(trace_id=1, span_id=n) for n in range(1, 6)])

    first = api.get("/v1/projects/p/spans?limit=2").json()
    rest = api.get(f"/v1/projects/p/spans?limit=10&cursor={first['next_cursor']}").json()

    assert [s["context"]["span_id"][-1] for s in first["data"]] == ["5", "4"]
    assert [s["context"]["span_id"][-1] for s in rest["data"]] == ["3", "2", "1"]


def test_span_filters_narrow_the_list(api):
    ingest(
        llm_span(trace_id=1, span_id=1),
        otlp_span(
            trace_id=1,
            span_id=2,
            parent_id=1,
            name="retrieve",
            attributes={"openinference.span.kind": "RETRIEVER"},
            status_code=2,
        ),
        otlp_span(trace_id=2, span_id=3, name="other"),
    )

    def span_ids(query: str) -> list[str]:
        return sorted(
            s["context"]["span_id"][-1] for s in api.get(f"/v1/projects/p/spans?{query}").json()["data"]
        )

    assert span_ids("span_kind=llm") == ["1"]
    assert span_ids("status_code=error") == ["2"]
    assert span_ids("parent_id=null") == ["1", "3"]
    assert span_ids(f"trace_id={2:032x}") == ["3"]
    assert span_ids("name=retrieve&name=other") == ["2", "3"]
    assert span_ids("attribute=llm.model_name:gpt-4o") == ["1"]
    assert span_ids("attribute=llm.token_count.prompt:10") == ["1"]
    assert span_ids("attribute=llm.model_name:gpt-4o&attribute=llm.token_count.prompt:11") == []
    assert span_ids("start_time=2026-01-01T12:00:00&end_time=2026-01-01T12:00:01Z") == ["1", "2", "3"]
    assert span_ids("end_time=2026-01-01T12:00:00Z") == []


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("span_kind=banana", "Invalid span_kind values: ['banana']"),
        ("status_code=fine", "Invalid status_code values: ['fine']"),
        ("attribute=nocolon", "Invalid attribute 'nocolon': expected format 'key:value'"),
        ("attribute=k:null", "must be a string, number or boolean"),
        ("limit=1001", "less than or equal to 1000"),
        ("start_time=yesterday", "valid datetime"),
    ],
)
def test_bad_span_filters_are_422s(api, query, text):
    ProjectFactory(name="p")

    response = api.get(f"/v1/projects/p/spans?{query}")

    assert response.status_code == 422
    assert text in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/v1/projects/p/spans?start_time=9999-12-31T23:59:59-01:00",
        "/v1/projects/p/traces?end_time=0001-01-01T00:00:00%2B01:00",
    ],
)
def test_a_time_filter_that_utc_cannot_hold_is_a_422_not_a_500(api, url):
    ProjectFactory(name="p")

    response = api.get(url)

    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "datetime_parsing"


def test_an_attribute_filter_on_nan_matches_the_text_a_nan_attribute_is_stored_as(api):
    ingest(otlp_span(trace_id=1, span_id=1, attributes={"eval.score": math.nan}))
    ingest(otlp_span(trace_id=2, span_id=2, attributes={"eval.score": 0.5}))

    nan = api.get("/v1/projects/p/spans?attribute=eval.score:NaN")
    huge = api.get(f"/v1/projects/p/spans?attribute=eval.score:{'9' * 400}")

    assert [span["context"]["span_id"] for span in nan.json()["data"]] == [f"{1:016x}"]
    assert (huge.status_code, huge.json()["data"]) == (200, [])


def log_body(span_id: str = "a" * 16, **overrides):
    span = {
        "name": "logged",
        "context": {"trace_id": "b" * 32, "span_id": span_id},
        "span_kind": "chain",
        "start_time": "2026-01-01T00:00:00+00:00",
        "end_time": "2026-01-01T00:00:01+00:00",
        "attributes": {"input.value": "q", "metadata": {"topic": "x"}},
        **overrides,
    }
    return {"data": [span]}


def test_spans_logged_as_json_are_stored_in_a_project_created_by_name(api):
    response = api.post("/v1/projects/new-project/spans", log_body())

    assert (response.status_code, response.json()) == (202, {"total_received": 1, "total_queued": 1})
    span = Span.objects.get()
    assert (span.project.name, span.span_kind, span.input_value, span.latency_ms) == (
        "new-project",
        "CHAIN",
        "q",
        1000.0,
    )
    assert span.attributes["metadata"] == {"topic": "x"}


def test_logging_a_duplicate_span_refuses_the_whole_request(api):
    api.post("/v1/projects/p/spans", log_body())

    response = api.post("/v1/projects/p/spans", {"data": [*log_body()["data"], *log_body("c" * 16)["data"]]})

    assert response.status_code == 400
    body = json.loads(response.content)
    assert (body["total_duplicates"], body["duplicate_spans"]) == (
        1,
        [{"span_id": "a" * 16, "trace_id": "b" * 32}],
    )
    assert Span.objects.count() == 1


def test_a_logged_attribute_key_with_a_superscript_digit_is_stored_as_a_key_not_an_index(api):
    response = api.post("/v1/projects/p/spans", log_body(attributes={"retrieval.documents.²": "x"}))

    assert response.status_code == 202
    assert Span.objects.get().attributes == {
        "retrieval": {"documents": {"²": "x"}},
        "openinference": {"span": {"kind": "CHAIN"}},
    }


def test_naive_timestamps_are_refused(api):
    response = api.post("/v1/projects/p/spans", log_body(start_time="2026-01-01T00:00:00"))

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "data", 0, "start_time"]


def test_a_span_is_deleted_by_otel_id_or_global_id_and_an_emptied_trace_goes_too(api):
    ingest(otlp_span(trace_id=1, span_id=1), otlp_span(trace_id=1, span_id=2, parent_id=1, status_code=2))
    child, root = Span.objects.order_by("-span_id")

    assert api.delete(f"/v1/spans/{child.span_id}").status_code == 204
    assert (Trace.objects.get().span_count, Trace.objects.get().error_count) == (1, 0)
    assert api.delete(f"/v1/spans/{to_global_id('Span', root.pk)}").status_code == 204
    assert not Trace.objects.exists()
    missing = api.delete("/v1/spans/ffffffffffffffff")
    assert (missing.status_code, missing.content.decode()) == (
        404,
        "Span with span_id 'ffffffffffffffff' not found",
    )


def test_traces_list_sorts_by_latency_pages_by_cursor_and_includes_spans(api):
    for t in range(1, 4):
        ingest(otlp_span(trace_id=t, span_id=t, duration_ns=t * 1_000_000, status_code=2 if t == 2 else 0))

    first = api.get("/v1/projects/p/traces?sort=latency_ms&order=asc&limit=2&include_spans=true").json()
    rest = api.get(f"/v1/projects/p/traces?sort=latency_ms&order=asc&cursor={first['next_cursor']}").json()
    errors = api.get("/v1/projects/p/traces?error=true").json()

    assert [t["trace_id"][-1] for t in first["data"]] == ["1", "2"]
    assert first["data"][0]["spans"][0]["span_id"] == f"{1:016x}"
    assert [t["trace_id"][-1] for t in rest["data"]] == ["3"]
    assert rest["data"][0]["spans"] is None
    assert [t["trace_id"][-1] for t in errors["data"]] == ["2"]


def test_nul_characters_in_logged_attributes_and_events_are_dropped_so_postgresql_can_store_them(api):
    body = log_body(
        attributes={"metadata": {"k\x00ey": "va\x00lue", "list": ["a\x00"]}},
        events=[{"name": "e", "timestamp": "2026-01-01T00:00:00+00:00", "attributes": {"x": "y\x00"}}],
    )

    response = api.post("/v1/projects/p/spans", body)

    assert response.status_code == 202
    span = Span.objects.get()
    assert span.attributes["metadata"] == {"key": "value", "list": ["a"]}
    assert span.events[0]["attributes"] == {"x": "y"}


@pytest.mark.parametrize(
    ("path", "param", "value"),
    [
        ("/v1/projects/p/spans", "attribute", 'metadata.topic:"x\x00"'),
        ("/v1/projects/p/spans", "name", "a\x00"),
        ("/v1/projects/p/span_annotations", "identifier", "\x00"),
        ("/v1/projects/p/trace_annotations", "identifier", "id\x00"),
        ("/v1/projects/p/span_annotations", "include_annotation_names", "n\x00"),
    ],
)
def test_a_nul_character_in_a_query_parameter_is_a_422_naming_it(api, path, param, value):
    params = {param: value, "span_ids": "a" * 16, "trace_ids": "b" * 32}

    response = api.get(path, params)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", param]
    assert "NUL" in response.json()["detail"][0]["msg"]


def test_every_filter_of_the_review_page_works_in_the_span_list(api):
    ingest(llm_span(trace_id=1, span_id=1), otlp_span(trace_id=2, span_id=2, name="other"))
    judged = Span.objects.get(span_id=f"{1:016x}")
    SpanAnnotationFactory(span=judged, name="correctness", label="correct")

    def span_ids(query: str) -> list[str]:
        response = api.get(f"/v1/projects/p/spans?{query}")
        assert response.status_code == 200, response.content
        return [s["context"]["span_id"][-1] for s in response.json()["data"]]

    assert span_ids("annotation_name=correctness&label=correct") == ["1"]
    assert span_ids("missing_annotation=correctness") == ["2"]
    assert span_ids("condition=span_kind == 'LLM'") == ["1"]
    assert span_ids("name_contains=OTH") == ["2"]
    assert span_ids("q=hi") == ["1"]


def test_a_page_filter_refused_in_the_api_is_a_422_naming_it(api):
    ProjectFactory(name="p")

    label = api.get("/v1/projects/p/spans?label=correct")
    condition = api.get("/v1/projects/p/spans?condition=name ==")

    assert (label.status_code, condition.status_code) == (422, 422)
    assert label.json()["detail"] == [
        {
            "type": "value_error",
            "loc": ["query", "label"],
            "msg": "Choose an annotation name to filter on.",
            "input": "correct",
        }
    ]
    assert condition.json()["detail"][0]["loc"] == ["query", "condition"]


def test_the_span_list_documents_every_span_filter_parameter(client):
    document = client.get("/openapi.json").json()

    operation = document["paths"]["/v1/projects/{identifier}/spans"]["get"]
    documented = {parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "query"}

    assert documented == {*SpanFilter.base_filters, "cursor", "limit"}


def test_the_trace_list_reads_and_documents_one_declaration_of_its_parameters(client):
    document = client.get("/openapi.json").json()

    operation = document["paths"]["/v1/projects/{identifier}/traces"]["get"]
    documented = {parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "query"}

    assert documented == set(TraceListParams().fields)


@pytest.mark.parametrize(
    ("query", "expected"), [("", ["1", "2"]), ("error=false", ["1"]), ("error=TRUE", ["2"])]
)
def test_an_absent_error_parameter_is_no_filter_not_false(api, query, expected):
    ingest(otlp_span(trace_id=1, span_id=1), otlp_span(trace_id=2, span_id=2, status_code=2))

    response = api.get(f"/v1/projects/p/traces?{query}")

    assert sorted(trace["trace_id"][-1] for trace in response.json()["data"]) == expected


def _trace_of(spans: int, *, project, second: int) -> Trace:
    trace = TraceFactory(project=project, start_time=BASE_TIME + timedelta(seconds=second))
    SpanFactory.create_batch(spans, trace=trace)
    return trace


def test_a_page_of_traces_with_spans_ends_before_the_trace_that_would_pass_the_span_cap(api, monkeypatch):
    monkeypatch.setattr(spans_views, "MAX_SPANS_PER_TRACE_PAGE", 5)
    project = ProjectFactory(name="p")
    newest, middle, oldest = (_trace_of(n, project=project, second=s) for n, s in ((3, 3), (3, 2), (1, 1)))
    url = "/v1/projects/p/traces?limit=3&include_spans=true"

    first = api.get(url).json()
    rest = api.get(f"{url}&cursor={first['next_cursor']}").json()

    assert [(t["trace_id"], len(t["spans"])) for t in first["data"]] == [(newest.trace_id, 3)]
    assert first["next_cursor"] == to_global_id("Trace", middle.pk)
    assert [(t["trace_id"], len(t["spans"])) for t in rest["data"]] == [
        (middle.trace_id, 3),
        (oldest.trace_id, 1),
    ]
    assert rest["next_cursor"] is None


def test_a_first_trace_with_more_spans_than_the_cap_lists_its_earliest(api, monkeypatch):
    monkeypatch.setattr(spans_views, "MAX_SPANS_PER_TRACE_PAGE", 5)
    project = ProjectFactory(name="p")
    big = TraceFactory(project=project)
    spans = [
        SpanFactory(trace=big, start_time=big.start_time + timedelta(milliseconds=n), span_id=f"{n + 1:016x}")
        for n in range(8)
    ]
    older = _trace_of(1, project=project, second=-10)

    page = api.get("/v1/projects/p/traces?include_spans=true").json()

    assert [span["span_id"] for span in page["data"][0]["spans"]] == [s.span_id for s in spans[:5]]
    assert page["next_cursor"] == to_global_id("Trace", older.pk)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/projects/a%00b"),
        ("get", "/v1/projects/a%00b/spans"),
        ("get", "/v1/projects/a%00b/traces"),
        ("get", "/v1/projects/a%00b/sessions"),
        ("get", "/v1/projects/a%00b/span_annotations?span_ids=x"),
        ("get", "/v1/projects/a%00b/trace_annotations?trace_ids=x"),
        ("get", "/v1/annotation_configs/a%00b"),
        ("delete", "/v1/spans/a%00b"),
    ],
)
def test_a_nul_in_a_path_identifier_is_a_404_in_plain_text_not_a_database_error(api, method, path):
    api.raise_request_exception = False

    response = getattr(api, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "NUL" in response.content.decode()
