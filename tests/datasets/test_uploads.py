import gzip
import io
import zlib

import pytest
from django.core.exceptions import ValidationError

from phoenix_annot.datasets import uploads
from phoenix_annot.datasets.uploads import FilePart, TableKeys, multipart_read, table_columns, table_read
from tests.datasets.multipart import CONTENT_TYPE, field, file_part, multipart


def csv_file(content: bytes, content_encoding: str | None = None) -> FilePart:
    return FilePart(
        filename="data.csv", content_type="text/csv", content_encoding=content_encoding, content=content
    )


def keys(input=(), output=(), metadata=(), **rest) -> TableKeys:
    return TableKeys(input=frozenset(input), output=frozenset(output), metadata=frozenset(metadata), **rest)


def test_multipart_keeps_repeated_fields_and_the_file_parts_own_encoding_header():
    compressed = gzip.compress(b"q,a\n1,2\n")
    body = multipart(
        field("name", "qa"),
        field("input_keys[]", "q"),
        field("input_keys[]", "z"),
        file_part(compressed, content_encoding="gzip"),
    )

    form = multipart_read(io.BytesIO(body), content_type=CONTENT_TYPE)

    assert form.fields == {"name": ["qa"], "input_keys[]": ["q", "z"]}
    assert form.files["file"] == FilePart("dataframe.csv", "text/csv", "gzip", compressed)


def test_multipart_without_a_boundary_is_refused():
    with pytest.raises(ValidationError, match="no boundary"):
        multipart_read(io.BytesIO(b""), content_type="multipart/form-data")


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [(None, bytes), ("gzip", gzip.compress), ("GZIP", gzip.compress), ("deflate", zlib.compress)],
)
def test_csv_is_read_whatever_its_content_encoding(encoding, compress):
    file = FilePart("d.csv", "text/csv", encoding, compress('\ufeffq,a\nwhy?,"because, well"\n'.encode()))

    assert table_read(file) == (["q", "a"], [{"q": "why?", "a": "because, well"}])


def test_jsonl_rows_keep_their_json_types_and_columns_are_their_union():
    file = FilePart(
        "d.jsonl", "application/jsonl", None, b'{"q": 1, "tags": ["x"]}\n\n{"q": 2, "extra": null}\n'
    )

    assert table_read(file) == (["q", "tags", "extra"], [{"q": 1, "tags": ["x"]}, {"q": 2, "extra": None}])


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (
            FilePart("d.bin", "application/octet-stream", None, b"x"),
            "Invalid file content type: application/octet-stream",
        ),
        (
            FilePart("d.arrow", "application/x-pandas-pyarrow", None, b"x"),
            "PyArrow uploads are not supported",
        ),
        (csv_file(b"q\n1\n", content_encoding="br"), "Invalid file content encoding: br"),
        (csv_file(b"not gzip at all", content_encoding="gzip"), "not valid gzip data"),
        (csv_file(gzip.compress(b"q\n1\n")[:-12], content_encoding="gzip"), "truncated"),
        (csv_file(b"q\n\xff\n"), "not UTF-8"),
        (csv_file(b""), "Missing CSV column header"),
        (csv_file(b"q,a,q\n1,2,3\n"), "Duplicated column header in CSV file: q"),
        (csv_file(b'q\n"unterminated\n' + b"x" * 200_000), "Invalid CSV"),
        (
            FilePart("d.jsonl", "application/jsonl", None, b'{"q": 1}\n[1]\n'),
            "Line 2 of the JSONL file is not a JSON object",
        ),
        (
            FilePart("d.jsonl", "application/jsonl", None, b'{"q": NaN}\n'),
            "Line 1 of the JSONL file is not valid JSON",
        ),
    ],
)
def test_unreadable_files_are_refused_with_a_message_naming_the_problem(file, message):
    with pytest.raises(ValidationError, match=message):
        table_read(file)


def test_a_file_that_inflates_past_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_FILE_BYTES", 1000)
    bomb = gzip.compress(b"q\n" + b"1\n" * 10_000)

    with pytest.raises(ValidationError, match="larger than"):
        table_read(csv_file(bomb, content_encoding="gzip"))


def test_columns_are_split_by_keys_and_blank_cells_are_left_out():
    rows = [
        {"q": "why?", "a": "because", "topic": " ", "span": "00000000000000aa", "id": "ex-1"},
        {"q": "how?", "a": "", "topic": "science", "span": "", "id": ""},
    ]

    columns = table_columns(
        ["q", "a", "topic", "span", "id"],
        rows,
        keys(input=["q"], output=["a"], metadata=["topic"], span_id="span", example_id="id"),
    )

    assert columns.inputs == [{"q": "why?"}, {"q": "how?"}]
    assert columns.outputs == [{"a": "because"}, {}]
    assert columns.metadata == [{}, {"topic": "science"}]
    assert columns.span_ids == ["00000000000000aa", None]
    assert columns.example_ids == ["ex-1", None]
    assert columns.splits == [[], []]


def test_split_columns_are_collected_for_the_service_to_judge():
    columns = table_columns(
        ["q", "split"], [{"q": "1", "split": "train"}], keys(input=["q"], split=frozenset({"split"}))
    )

    assert columns.splits == [["train"]]


@pytest.mark.parametrize(
    ("table_keys", "message"),
    [
        (keys(input=["q"], output=["q"]), "input_keys and output_keys have overlap: {'q'}"),
        (keys(input=["q"], metadata=["q"]), "input_keys and metadata_keys have overlap: {'q'}"),
        (keys(output=["a"], metadata=["a"]), "output_keys and metadata_keys have overlap: {'a'}"),
        (keys(input=["q", "nope", "gone"]), "input keys not found in column headers: {'gone', 'nope'}"),
        (keys(output=["nope"]), "output keys not found in column headers: {'nope'}"),
        (keys(span_id="nope"), "span_id keys not found in column headers: {'nope'}"),
        (keys(example_id="nope"), "example_id keys not found in column headers: {'nope'}"),
        (keys(split=frozenset({"nope"})), "split keys not found in column headers: {'nope'}"),
    ],
)
def test_keys_must_be_distinct_and_exist_in_the_table(table_keys, message):
    with pytest.raises(ValidationError) as error:
        table_columns(["q", "a"], [{"q": "1", "a": "2"}], table_keys)

    assert error.value.messages == [message]
