"""get_spans_dataframe against our live server answers what real Phoenix 20.26.1 answered to the same span
queries on the same spans: the frame (index, columns, dtypes, rows) and the raw POST /v1/spans table.

Phoenix's answers were recorded by bench/span_query_vs_phoenix.py into phoenix_span_query_answers.json;
run it again to re-record (it needs Phoenix installed, these tests do not). Where we answer differently on
purpose, a test below says how and why, and checks everything else against the recording.
"""

import ast
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.span_query_corpus import PROJECT, QUERIES, describe_frame, describe_table, send_corpus

pytestmark = pytest.mark.django_db(transaction=True)

RECORDING = json.loads((Path(__file__).parent / "phoenix_span_query_answers.json").read_text())
ANSWERS = RECORDING["answers"]
# Queries whose answer differs from Phoenix's on purpose, each checked by its own test below.
DIFFERENT = {
    "explode documents",
    "explode input messages",
    "concat documents without fields",
    "concat with an empty separator",
    "explode input messages and concat the documents",
    "filter indexed by trace id",
}
DOCUMENTS_OF_SPAN_2 = "Phoenix is an observability tool.\n\nIt stores traces.\n\nIt runs evals."


@pytest.fixture
def corpus(live_server, transactional_db, v1_auth_off) -> None:
    send_corpus(live_server.url)


def answer(phoenix, url: str, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Our frame and raw table for one corpus query, described as the recording describes Phoenix's."""
    query = QUERIES[name]()
    assert query.to_dict() == ANSWERS[name]["request"]
    frame = phoenix.spans.get_spans_dataframe(query=query, project_identifier=PROJECT)
    response = httpx.post(
        f"{url}/v1/spans",
        params={"project_name": PROJECT},
        headers={"accept": "application/json"},
        json={"queries": [query.to_dict()], "limit": 1000},
    )
    assert response.status_code == 200, response.text
    boundary = response.headers["content-type"].split("boundary=")[1]
    part = response.text.split(f"--{boundary}")[1]
    return describe_frame(frame), describe_table(json.loads(part.split("\r\n\r\n", 1)[1]))


def in_column_order_by_name(frame: dict[str, Any]) -> dict[str, Any]:
    """A described frame with its columns, their dtypes and every row's cells sorted by column name."""
    order = sorted(range(len(frame["columns"])), key=lambda i: frame["columns"][i])
    width = len(frame["index"])
    return {
        **frame,
        "columns": [frame["columns"][i] for i in order],
        "dtypes": [frame["dtypes"][i] for i in order],
        "rows": sorted(([*row[:width], *(row[width + i] for i in order)] for row in frame["rows"]), key=repr),
    }


def by_name(table: dict[str, Any]) -> dict[str, Any]:
    """A described raw table with unprefixed column names, so that column order does not count."""

    def unprefixed(name: str) -> str:
        return name.split("_", 1)[1]

    return {
        "fields": sorted(
            ({**f, "name": unprefixed(f["name"])} for f in table["fields"]), key=lambda f: f["name"]
        ),
        "rows": sorted(
            ({unprefixed(key): value for key, value in row.items()} for row in table["rows"]),
            key=lambda row: json.dumps(row, sort_keys=True),
        ),
    }


def test_the_recording_covers_the_whole_corpus():
    assert list(ANSWERS) == list(QUERIES)
    assert RECORDING["server"] == "Phoenix 20.26.1"


@pytest.mark.parametrize("name", [name for name in QUERIES if name not in DIFFERENT])
def test_a_span_query_answers_the_frame_and_table_phoenix_answers(phoenix, live_server, corpus, name):
    frame, table = answer(phoenix, live_server.url, name)

    assert frame == ANSWERS[name]["frame"]
    assert table == ANSWERS[name]["table"]


@pytest.mark.parametrize("name", ["explode documents", "explode input messages"])
def test_fields_an_explode_finds_in_the_items_come_in_stored_order(phoenix, live_server, corpus, name):
    # Phoenix's order changes from one run to the next (score, content, id, then content, score, id for
    # the same documents); ours is the order we store them in. Names, dtypes and values are Phoenix's.
    frame, table = answer(phoenix, live_server.url, name)

    assert in_column_order_by_name(frame) == in_column_order_by_name(ANSWERS[name]["frame"])
    assert by_name(table) == by_name(ANSWERS[name]["table"])


def test_concat_without_fields_joins_each_item_as_python_prints_it(phoenix, live_server, corpus):
    # The items are printed as dicts, as Phoenix prints them; only the order of their keys differs.
    name = "concat documents without fields"
    frame, table = answer(phoenix, live_server.url, name)

    def items(described: dict[str, Any]) -> list[list[Any]]:
        return [
            [span, [ast.literal_eval(item) for item in joined.split("\n\n")]]
            for span, joined in described["rows"]
        ]

    assert {**frame, "rows": None} == {**ANSWERS[name]["frame"], "rows": None}
    assert items(frame) == items(ANSWERS[name]["frame"])
    assert table["fields"] == ANSWERS[name]["table"]["fields"]


def test_an_empty_concat_separator_joins_with_nothing(phoenix, live_server, corpus):
    # Phoenix reads an empty separator as none given and joins with "\n\n".
    name = "concat with an empty separator"
    frame, table = answer(phoenix, live_server.url, name)

    assert ANSWERS[name]["frame"]["rows"] == [
        ["0000000000000002", "d1\n\nd2\n\nd3"],
        ["0000000000000005", "d4\n\nd5"],
    ]
    assert frame == {
        **ANSWERS[name]["frame"],
        "rows": [["0000000000000002", "d1d2d3"], ["0000000000000005", "d4d5"]],
    }
    assert table["fields"] == ANSWERS[name]["table"]["fields"]


def test_a_span_holding_only_the_concatenated_list_keeps_its_span_id(phoenix, live_server, corpus):
    # Exploding one list and concatenating another: Phoenix gives the spans that hold only the
    # concatenated list a row with no span id and no position; ours names the span.
    name = "explode input messages and concat the documents"
    frame, table = answer(phoenix, live_server.url, name)
    theirs = ANSWERS[name]["frame"]

    assert {**frame, "rows": None} == {**theirs, "rows": None}
    assert [row for row in frame["rows"] if row[1] is not None] == [row for row in theirs["rows"] if row[0]]
    assert [row for row in frame["rows"] if row[1] is None] == [
        ["0000000000000002", None, DOCUMENTS_OF_SPAN_2, None],
        ["0000000000000005", None, "Un café naïf ☕", None],
    ]
    assert [row[2:] for row in theirs["rows"] if row[0] is None] == [
        [DOCUMENTS_OF_SPAN_2, None],
        ["Un café naïf ☕", None],
    ]
    assert table["fields"] == ANSWERS[name]["table"]["fields"]


def test_without_select_explode_or_concat_the_index_stays_the_span_id(phoenix, live_server, corpus):
    # As in Phoenix, `with_index` changes nothing in the default table. Its span columns are Phoenix's;
    # its attribute columns differ (see the README): a list of objects is numbered
    # (`attributes.llm.input_messages.0.message.content`), where Phoenix keeps one column of lists.
    name = "filter indexed by trace id"
    frame, _table = answer(phoenix, live_server.url, name)
    theirs = ANSWERS[name]["frame"]

    def spans_only(described: dict[str, Any]) -> dict[str, Any]:
        kept = [i for i, column in enumerate(described["columns"]) if not column.startswith("attributes.")]
        return {
            "index": described["index"],
            "columns": [described["columns"][i] for i in kept],
            "dtypes": [described["dtypes"][i] for i in kept],
            "rows": [[row[0], *(row[1 + i] for i in kept)] for row in described["rows"]],
        }

    assert frame["index"] == ["context.span_id"]
    assert spans_only(frame) == spans_only(theirs)
