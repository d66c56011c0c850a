import gzip
import io
import zlib

import pytest
from django.core.exceptions import ValidationError

from phoenix_annot.datasets.uploads import (
    FilePart,
    TableKeys,
    UploadLimits,
    UploadTooLarge,
    json_values_bound,
    multipart_read,
    table_columns,
)
from tests.datasets.multipart import CONTENT_TYPE, field, file_part, multipart

LIMITS = UploadLimits(file_bytes=10_000_000, examples=10_000, values=100_000)


def table_file(
    content: bytes, content_type: str = "text/csv", content_encoding: str | None = None
) -> FilePart:
    return FilePart("data.csv", content_type, content_encoding, io.BytesIO(content))


def csv_file(content: bytes, content_encoding: str | None = None) -> FilePart:
    return table_file(content, content_encoding=content_encoding)


def jsonl_file(content: bytes) -> FilePart:
    return table_file(content, "application/jsonl")


def keys(input=(), output=(), metadata=(), **rest) -> TableKeys:
    return TableKeys(input=frozenset(input), output=frozenset(output), metadata=frozenset(metadata), **rest)


def rows(file: FilePart, *names: str) -> list[dict]:
    """Every row of `file`, as the input its columns `names` make."""
    return table_columns(file, keys(input=names), limits=LIMITS).inputs


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
    file = form.files["file"]
    assert (file.filename, file.content_type, file.content_encoding) == ("dataframe.csv", "text/csv", "gzip")
    assert file.content.read() == compressed


def test_multipart_without_a_boundary_is_refused():
    with pytest.raises(ValidationError, match="no boundary"):
        multipart_read(io.BytesIO(b""), content_type="multipart/form-data")


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [(None, bytes), ("gzip", gzip.compress), ("GZIP", gzip.compress), ("deflate", zlib.compress)],
)
def test_csv_is_read_whatever_its_content_encoding(encoding, compress):
    file = csv_file(compress('\ufeffq,a\nwhy?,"because, well"\n'.encode()), encoding)

    assert rows(file, "q", "a") == [{"q": "why?", "a": "because, well"}]


def test_csv_rows_keep_quoted_line_breaks_and_end_at_any_newline():
    file = csv_file(b'q,a\r\n"two\r\nlines",x\rnext,a\xe2\x80\xa8b\n')

    assert rows(file, "q", "a") == [{"q": "two\r\nlines", "a": "x"}, {"q": "next", "a": "a\u2028b"}]


def test_a_file_is_read_across_many_blocks_and_compressed_blocks():
    content = b"q\n" + b"".join(b"%d\n" % number for number in range(100_000))

    limits = UploadLimits(file_bytes=len(content), examples=100_000, values=1_000_000)

    for file in (csv_file(content), csv_file(gzip.compress(content), "gzip")):
        assert table_columns(file, keys(input=["q"]), limits=limits).inputs[-1] == {"q": "99999"}


def test_a_gzip_file_of_several_members_is_read_whole():
    file = csv_file(gzip.compress(b"q\n1\n") + gzip.compress(b"2\n"), "gzip")

    assert rows(file, "q") == [{"q": "1"}, {"q": "2"}]


def test_jsonl_rows_keep_their_json_types_and_columns_are_their_union():
    file = jsonl_file(b'{"q": 1, "tags": ["x"]}\n\n{"q": 2, "extra": null}\n')

    assert rows(file, "q", "tags", "extra") == [{"q": 1, "tags": ["x"]}, {"q": 2, "extra": None}]


def test_a_jsonl_key_no_row_has_is_refused():
    with pytest.raises(ValidationError, match=r"input keys not found in column headers: \{'nope'\}"):
        rows(jsonl_file(b'{"q": 1}\n{"a": 2}\n'), "q", "a", "nope")


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (table_file(b"x", "application/octet-stream"), "Invalid file content type: application/octet-stream"),
        (table_file(b"x", "application/x-pandas-pyarrow"), "PyArrow uploads are not supported"),
        (csv_file(b"q\n1\n", content_encoding="br"), "Invalid file content encoding: br"),
        (csv_file(b"not gzip at all", content_encoding="gzip"), "not valid gzip data"),
        (csv_file(gzip.compress(b"q\n1\n")[:-12], content_encoding="gzip"), "truncated"),
        (csv_file(b"q\n\xff\n"), "not UTF-8"),
        (csv_file(b""), "Missing CSV column header"),
        (csv_file(b"q,a,q\n1,2,3\n"), "Duplicated column header in CSV file: q"),
        (csv_file(b'q\n"unterminated\n' + b"x" * 200_000), "Invalid CSV"),
        (jsonl_file(b'{"q": 1}\n[1]\n'), "Line 2 of the JSONL file is not a JSON object"),
        (jsonl_file(b'{"q": NaN}\n'), "Line 1 of the JSONL file is not valid JSON"),
        (jsonl_file(b'{"q": "\xff"}\n'), "not UTF-8"),
    ],
)
def test_unreadable_files_are_refused_with_a_message_naming_the_problem(file, message):
    with pytest.raises(ValidationError, match=message):
        rows(file, "q")


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_a_file_larger_than_the_limit_once_decompressed_is_refused_naming_the_limit(encoding):
    content = b"q\n" + b"x" * 2000 + b"\n"
    compressed = gzip.compress(content) if encoding else content
    limits = UploadLimits(file_bytes=1000, examples=10, values=100)

    with pytest.raises(UploadTooLarge) as error:
        table_columns(csv_file(compressed, encoding), keys(input=["q"]), limits=limits)

    assert error.value.messages == [
        "The uploaded data is larger than 1000 bytes (a CSV or JSONL file once decompressed, or a "
        "JSON body; PHOENIX_ANNOT_DATASET_UPLOAD_MAX_FILE_BYTES)"
    ]


@pytest.mark.parametrize(
    "file",
    [csv_file(gzip.compress(b"a\n" + b"1\n" * 1_000_000), "gzip"), jsonl_file(b'{"a": 1}\n' * 1001)],
)
def test_more_rows_than_the_example_limit_are_refused_naming_the_limit(file):
    limits = UploadLimits(file_bytes=10_000_000, examples=1000, values=100_000)

    with pytest.raises(UploadTooLarge) as error:
        table_columns(file, keys(input=["a"]), limits=limits)

    assert error.value.messages == [
        "The upload has more than 1000 examples (PHOENIX_ANNOT_DATASET_UPLOAD_MAX_EXAMPLES)"
    ]


@pytest.mark.parametrize(
    ("file", "table_keys"),
    [
        (csv_file(b"a,b,c\n" + b"1,2,3\n" * 30), keys(input=["a"], output=["b", "c"])),
        (jsonl_file(b'{"a": {"b": [1, 2]}}\n' * 30), keys(input=["a"])),
        (jsonl_file(b'{"a": "x"}\n{"a": [' + b"0," * 200 + b"0]}\n"), keys(input=["a"])),
    ],
)
def test_more_values_than_the_limit_are_refused_naming_the_limit(file, table_keys):
    limits = UploadLimits(file_bytes=10_000_000, examples=1000, values=100)

    with pytest.raises(UploadTooLarge) as error:
        table_columns(file, table_keys, limits=limits)

    assert error.value.messages == [
        "The upload holds more than 100 values (JSON values or CSV cells, "
        "PHOENIX_ANNOT_DATASET_UPLOAD_MAX_VALUES)"
    ]


@pytest.mark.parametrize(
    ("text", "values"),
    [
        (b"{}", 2),
        (b'"a"', 1),
        (b"[1, 2, 3]", 4),
        (b'{"a": "x,y[{\\"", "b": [1, {"c": null}]}', 6),
    ],
)
def test_json_values_are_bounded_from_above_without_decoding(text, values):
    assert json_values_bound(text) == values


def test_columns_are_split_by_keys_and_blank_cells_are_left_out():
    file = csv_file(b"q,a,topic,span,id\nwhy?,because, ,00000000000000aa,ex-1\nhow?,,science,,\n")

    columns = table_columns(
        file,
        keys(input=["q"], output=["a"], metadata=["topic"], span_id="span", example_id="id"),
        limits=LIMITS,
    )

    assert columns.inputs == [{"q": "why?"}, {"q": "how?"}]
    assert columns.outputs == [{"a": "because"}, {}]
    assert columns.metadata == [{}, {"topic": "science"}]
    assert columns.span_ids == ["00000000000000aa", None]
    assert columns.example_ids == ["ex-1", None]
    assert columns.splits == []


def test_columns_no_key_names_are_left_empty_for_the_service_to_fill():
    columns = table_columns(csv_file(b"q\n1\n2\n"), keys(input=["q"]), limits=LIMITS)

    assert (columns.outputs, columns.metadata, columns.span_ids, columns.example_ids) == ([], [], [], [])


def test_split_columns_are_collected_for_the_service_to_judge():
    file = csv_file(b"q,split\n1,train\n")

    columns = table_columns(file, keys(input=["q"], split=frozenset({"split"})), limits=LIMITS)

    assert columns.splits == [["train"]]


def test_a_csv_split_cell_may_hold_a_json_list_of_names():
    file = csv_file(b'q,split\n1,"[""train"", ""test""]"\n2,\n3,[not json\n')

    columns = table_columns(file, keys(input=["q"], split=frozenset({"split"})), limits=LIMITS)

    assert columns.splits == [["train", "test"], [None], ["[not json"]]


def test_a_jsonl_split_value_may_be_a_list_and_a_number_is_read_as_its_text():
    file = jsonl_file(b'{"q": 1, "s": ["a", null]}\n{"q": 2, "s": 5}\n{"q": 3}\n')

    columns = table_columns(file, keys(input=["q"], split=frozenset({"s"})), limits=LIMITS)

    assert columns.splits == [["a", None], ["5"], [None]]


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
        table_columns(csv_file(b"q,a\n1,2\n"), table_keys, limits=LIMITS)

    assert error.value.messages == [message]
