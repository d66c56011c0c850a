"""POST /v1/spans (PHOENIX_COMPAT.md §3.4): the multipart table answer, its errors, and hostile input.

Whatever a caller sends, the answer is a table or a 4xx naming the problem: never a 500, never SQL.
"""

import json

import pytest

from phoenix_annot.tracing.models import Span
from tests.factories import SpanAnnotationFactory, SpanFactory
from tests.filtering.time_limit import TIME_LIMIT_QUERIES

pytestmark = pytest.mark.django_db


def post_query(api, body, *, project: str = "p"):
    return api.post(f"/v1/spans?project_name={project}", json.dumps(body))


def table(response) -> dict:
    assert response.status_code == 200, response.content[:300]
    boundary = response["Content-Type"].split("boundary=")[1]
    part = response.content.decode().split(f"--{boundary}")[1]
    return json.loads(part.split("\r\n\r\n", 1)[1])


@pytest.fixture
def spans(db) -> list[Span]:
    rows = [SpanFactory(trace__project__name="p", name=f"span-{n}") for n in range(3)]
    SpanAnnotationFactory(span=rows[0], label="correct")
    SpanAnnotationFactory(span=rows[1], label="incorrect")
    return rows


def test_a_filter_on_an_annotation_label_answers_the_matching_spans_as_table_json(api, spans):
    response = post_query(
        api, {"queries": [{"filter": {"condition": "annotations['correctness'].label == 'correct'"}}]}
    )

    data = table(response)
    assert response["Content-Type"].startswith("multipart/mixed; boundary=")
    assert [row["0_context.span_id"] for row in data["data"]] == [spans[0].span_id]
    assert data["schema"]["primaryKey"] == ["0_context.span_id"]


def test_limit_and_time_range_bound_the_rows_newest_first(api, spans):
    limited = table(post_query(api, {"queries": [{}], "limit": 2}))
    after = table(
        post_query(api, {"queries": [{}], "start_time": spans[1].start_time.isoformat(), "end_time": None})
    )

    assert [row["1_name"] for row in limited["data"]] == ["span-2", "span-1"]
    assert [row["1_name"] for row in after["data"]] == ["span-2", "span-1"]


def test_an_unknown_project_answers_an_empty_table(api, spans):
    assert table(post_query(api, {"queries": [{}]}, project="nope"))["data"] == []


def test_no_queries_is_a_404(api):
    response = post_query(api, {"queries": []})

    assert (response.status_code, response.content.decode()) == (404, "No queries were given")


@pytest.mark.parametrize(
    "condition",
    [
        pytest.param("__import__('os').system('true')", id="import"),
        pytest.param("name.__class__.__mro__", id="dunder attribute"),
        pytest.param("().__class__.__bases__[0].__subclasses__()", id="subclasses walk"),
        pytest.param("annotations['x'].__class__", id="dunder on annotation"),
        pytest.param("(lambda: 1)()", id="lambda"),
        pytest.param("[x for x in range(10)]", id="list comprehension"),
        pytest.param("{x: 1 for x in 'a'}", id="dict comprehension"),
        pytest.param("eval('1') == 1", id="eval"),
        pytest.param("getattr(name, 'x')", id="getattr"),
        pytest.param("name.startswith('a')", id="method call"),
        pytest.param("f'{name}' == 'x'", id="f-string"),
        pytest.param("name := 'x'", id="walrus"),
        pytest.param("name == 'a' * 10**9", id="huge string product"),
        pytest.param("10**10**10 > latency_ms", id="huge power"),
        pytest.param("9" * 5000 + " > latency_ms", id="5000 digit literal"),
        pytest.param("latency_ms > 1e309", id="infinite float"),
        pytest.param("name == '" + "a" * 20_000 + "'", id="20k string"),
        pytest.param("(" * 5000 + "name == 'x'" + ")" * 5000, id="deep parentheses"),
        pytest.param("not " * 2400 + "name == 'x'", id="deep not"),
        pytest.param("attributes['a']" + "[0]" * 2000, id="deep subscripts"),
        pytest.param(" or ".join(["latency_ms > 1"] * 500), id="many comparisons"),
        pytest.param("name == 'x'; DROP TABLE tracing_span; --", id="sql statement"),
        pytest.param("name == 'x' or 1=1", id="sql tautology"),
        pytest.param("1; DELETE FROM tracing_span", id="sql delete"),
        pytest.param("name == 'x\\x00'", id="NUL in string"),
        pytest.param("name == b'x'", id="bytes"),
        pytest.param("latency_ms // 2 > 1", id="floor division"),
        pytest.param("name", id="not a condition"),
        pytest.param("start_time > '9999-12-31T23:59:59-01:00'", id="time past what UTC can hold"),
    ],
)
def test_hostile_filters_are_422s_that_say_why(api, spans, condition):
    response = post_query(api, {"queries": [{"filter": {"condition": condition}}]})

    assert response.status_code == 422
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode().startswith("Invalid query: ")
    assert Span.objects.count() == 3


def test_a_key_of_more_digits_than_int_reads_is_a_key_not_an_array_index(api, spans):
    condition = f"attributes['documents']['{'1' * 5000}'] == 'x'"

    response = post_query(api, {"queries": [{"filter": {"condition": condition}}]})

    assert table(response)["data"] == []


def test_sql_in_a_string_literal_is_only_a_string(api, spans):
    response = post_query(api, {"queries": [{"filter": {"condition": "name == \"x' OR '1'='1\""}}]})

    assert table(response)["data"] == []
    assert Span.objects.count() == 3


def test_a_select_of_a_python_attribute_name_reads_nothing_from_the_span_object(api, spans):
    response = post_query(api, {"queries": [{"select": {"leak": {"key": "__class__"}}}]})

    assert {row.get("1_leak") for row in table(response)["data"]} == {None}


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ({"filter": "name == 'x'"}, ["body", "queries", 0, "filter"]),
        ({"select": ["name"]}, ["body", "queries", 0, "select"]),
        ({"select": {"a": "name"}}, ["body", "queries", 0, "select", "a"]),
        ({"rename": ["a"]}, ["body", "queries", 0, "rename"]),
        ({"concat": "x"}, ["body", "queries", 0, "concat"]),
        ({"explode": {"key": "a", "kwargs": []}}, ["body", "queries", 0, "explode", "kwargs"]),
        (1, ["body", "queries", 0]),
    ],
)
def test_malformed_queries_are_422s_pointing_at_the_field(api, spans, query, loc):
    response = post_query(api, {"queries": [query]})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"queries": [{}], "limit": 0}, ["body", "limit"]),
        ({"queries": [{}], "limit": 100_001}, ["body", "limit"]),
        ({"queries": [{}], "start_time": "yesterday"}, ["body", "start_time"]),
        ({"queries": [{}] * 21}, ["body", "queries"]),
        ({"queries": "x"}, ["body", "queries"]),
    ],
)
def test_bad_query_bodies_are_422s(api, body, loc):
    response = post_query(api, body)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_a_projection_that_is_not_a_path_is_an_invalid_query(api, spans):
    response = post_query(api, {"queries": [{"select": {"a": {"key": "name + 1"}}}]})

    assert response.status_code == 422
    assert response.content.decode().startswith("Invalid query: a: expected a name or attribute path")


def test_a_path_through_a_list_with_a_superscript_digit_reads_nothing_rather_than_failing(api, spans):
    Span.objects.update(attributes={"retrieval": {"documents": [{"id": "d1"}]}})

    response = post_query(api, {"queries": [{"select": {"a": {"key": "retrieval.documents.²"}}}]})

    assert {row.get("1_a") for row in table(response)["data"]} == {None}


def test_a_query_takes_a_fixed_number_of_database_queries(api, spans, django_assert_max_num_queries):
    for _ in range(20):
        SpanFactory(trace__project__name="p")

    with django_assert_max_num_queries(2 + TIME_LIMIT_QUERIES):
        response = post_query(api, {"queries": [{"filter": {"condition": "annotations['correctness']"}}]})

    assert len(table(response)["data"]) == 2


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"concat": {"key": "retrieval.documents", "kwargs": {"reference": "document.content + 1"}}},
            "Invalid query: concat.reference: expected a name or attribute path",
        ),
        (
            {"explode": {"key": "retrieval.documents", "primary_index_key": "name()"}},
            "Invalid query: explode.primary_index_key: expected a name or attribute path",
        ),
    ],
)
def test_a_list_field_or_index_that_is_not_a_path_is_an_invalid_query_naming_it(api, spans, query, message):
    response = post_query(api, {"queries": [query]})

    assert response.status_code == 422
    assert response.content.decode().startswith(message)


def documents(*contents: str) -> dict:
    return {"retrieval": {"documents": [{"document": {"content": content}} for content in contents]}}


def test_the_limit_of_a_concat_counts_only_spans_holding_the_list(api, spans):
    Span.objects.filter(pk=spans[0].pk).update(attributes=documents("a", "b"))

    response = post_query(
        api,
        {
            "queries": [
                {"concat": {"key": "retrieval.documents", "kwargs": {"reference": "document.content"}}}
            ],
            "limit": 1,
        },
    )

    assert table(response)["data"] == [{"0_context.span_id": spans[0].span_id, "1_reference": "a\n\nb"}]


def test_rename_relabels_columns_but_never_the_index(api, spans):
    response = post_query(
        api,
        {
            "queries": [
                {"select": {"name": {"key": "name"}}, "rename": {"context.span_id": "id", "name": "span"}}
            ]
        },
    )

    data = table(response)
    assert [field["name"] for field in data["schema"]["fields"]] == ["0_context.span_id", "1_span"]
    assert data["schema"]["primaryKey"] == ["0_context.span_id"]
    assert {row["0_context.span_id"] for row in data["data"]} == {span.span_id for span in spans}


def test_an_explode_with_a_concat_takes_a_fixed_number_of_database_queries(
    api, spans, django_assert_max_num_queries
):
    for n in range(20):
        SpanFactory(trace__project__name="p", attributes=documents(f"doc {n}", "other"))
    query = {
        "explode": {"key": "retrieval.documents", "kwargs": {"text": "document.content"}},
        "concat": {"key": "retrieval.documents", "kwargs": {"all": "document.content"}},
    }

    with django_assert_max_num_queries(2 + TIME_LIMIT_QUERIES):
        response = post_query(api, {"queries": [query]})

    assert len(table(response)["data"]) == 40


def test_missing_cells_are_left_out_of_the_table_and_big_integers_stay_exact(api, spans):
    Span.objects.filter(pk=spans[0].pk).update(attributes={"big": 2**70})

    response = post_query(api, {"queries": [{"select": {"big": {"key": "big"}}}]})

    data = table(response)
    assert data["schema"]["fields"][1] == {"name": "1_big", "type": "number"}
    assert [row.get("1_big") for row in data["data"]] == [None, None, 2**70]
    assert [len(row) for row in data["data"]] == [1, 1, 2]
