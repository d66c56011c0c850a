"""Reading an uploaded table (CSV or JSONL, maybe compressed) into the columns `dataset_upload` takes.

Pure functions over bytes; errors are ValidationErrors whose message names the problem, for a 422.
"""

import codecs
import csv
import io
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.core.exceptions import ValidationError
from django.http.multipartparser import FILE, ChunkIter, LazyStream, MultiPartParserError, Parser
from django.utils.http import parse_header_parameters

# A decompressed file this large becomes several times that in Python objects.
MAX_FILE_BYTES = 64 * 1024 * 1024
CSV = "text/csv"
JSONL = "application/jsonl"
PYARROW = "application/x-pandas-pyarrow"
# zlib's wbits for each Content-Encoding: gzip wrapper, zlib wrapper.
DECOMPRESSORS: dict[str, Callable[[], Any]] = {
    "gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "deflate": lambda: zlib.decompressobj(zlib.MAX_WBITS),
}


@dataclass(frozen=True)
class FilePart:
    filename: str
    content_type: str
    content_encoding: str | None
    content: bytes


@dataclass
class MultipartForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, FilePart] = field(default_factory=dict)


@dataclass(frozen=True)
class TableKeys:
    """Which columns of an uploaded table go where (the form's `*_keys[]` and `*_key` fields)."""

    input: frozenset[str]
    output: frozenset[str]
    metadata: frozenset[str]
    split: frozenset[str] = frozenset()
    span_id: str | None = None
    example_id: str | None = None


@dataclass
class TableColumns:
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    metadata: list[dict[str, Any]] = field(default_factory=list)
    span_ids: list[str | None] = field(default_factory=list)
    example_ids: list[str | None] = field(default_factory=list)
    splits: list[Any] = field(default_factory=list)


def multipart_read(stream: BinaryIO, *, content_type: str) -> MultipartForm:
    """Every part of a multipart/form-data body, keeping each file part's own Content-Encoding header.

    Django's own parser drops part headers other than Content-Type, and the client gzips its CSV with a
    part-level `Content-Encoding: gzip`. The caller bounds the body's size before calling this.
    """
    boundary = parse_header_parameters(content_type)[1].get("boundary", "")
    if not boundary:
        raise ValidationError("The multipart/form-data Content-Type has no boundary")
    form = MultipartForm()
    try:
        for item_type, headers, part in Parser(LazyStream(ChunkIter(stream)), boundary.encode("latin-1")):
            disposition = headers.get("content-disposition", ("", {}))[1]
            name = disposition.get("name", b"").decode(errors="replace")
            content = part.read()
            if item_type == FILE:
                encoding = headers.get("content-encoding")
                form.files[name] = FilePart(
                    filename=disposition.get("filename", b"").decode(errors="replace"),
                    content_type=headers.get("content-type", ("", {}))[0].strip(),
                    content_encoding=encoding[0].strip() if encoding else None,
                    content=content,
                )
            elif name:
                form.fields.setdefault(name, []).append(content.decode(errors="replace"))
    except (MultiPartParserError, UnicodeEncodeError) as exc:
        raise ValidationError(f"Malformed multipart/form-data body: {exc}") from None
    return form


def table_read(file: FilePart) -> tuple[list[str], list[dict[str, Any]]]:
    """The column headers and rows of an uploaded CSV or JSONL file."""
    content_type = file.content_type.split(";")[0].strip().lower()
    if content_type == PYARROW:
        raise ValidationError("PyArrow uploads are not supported; upload the table as CSV or JSONL")
    if content_type not in (CSV, JSONL):
        raise ValidationError(f"Invalid file content type: {file.content_type}")
    text = _decoded(_decompressed(file.content, file.content_encoding))
    return _csv_table(text) if content_type == CSV else _jsonl_table(text)


def table_columns(headers: list[str], rows: list[dict[str, Any]], keys: TableKeys) -> TableColumns:
    """Each row split into input, output and metadata by `keys`; blank CSV cells are left out."""
    _check_keys(headers, keys)
    columns = TableColumns()
    for row in rows:
        columns.inputs.append(_pick(row, keys.input))
        columns.outputs.append(_pick(row, keys.output))
        columns.metadata.append(_pick(row, keys.metadata))
        columns.span_ids.append(_cell(row, keys.span_id))
        columns.example_ids.append(_cell(row, keys.example_id))
        columns.splits.append([value for key in sorted(keys.split) if (value := _cell(row, key))])
    return columns


def _decompressed(content: bytes, encoding: str | None) -> bytes:
    if encoding is None or encoding.strip().lower() in ("", "identity", "none"):
        if len(content) > MAX_FILE_BYTES:
            raise _too_large()
        return content
    factory = DECOMPRESSORS.get(encoding.strip().lower())
    if factory is None:
        raise ValidationError(f"Invalid file content encoding: {encoding}")
    decompressor = factory()
    try:
        # max_length stops a small bomb from inflating past the limit in memory.
        data = decompressor.decompress(content, MAX_FILE_BYTES + 1)
    except zlib.error as exc:
        raise ValidationError(f"The file is not valid {encoding} data: {exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _too_large()
    if not decompressor.eof:
        raise ValidationError(f"The {encoding} data of the file is truncated")
    return data


def _too_large() -> ValidationError:
    return ValidationError(f"The uploaded file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")


def _decoded(data: bytes) -> str:
    try:
        # utf-8-sig: spreadsheet exports start with a byte order mark.
        return codecs.decode(data, "utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"The file is not UTF-8 text: {exc}") from None


def _csv_table(text: str) -> tuple[list[str], list[dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        headers = reader.fieldnames
        if not headers:
            raise ValidationError("Missing CSV column header")
        if duplicated := sorted({header for header in headers if headers.count(header) > 1}):
            raise ValidationError(f"Duplicated column header in CSV file: {', '.join(duplicated)}")
        return list(headers), list(reader)
    except csv.Error as exc:
        raise ValidationError(f"Invalid CSV on line {reader.line_num}: {exc}") from None


def _jsonl_table(text: str) -> tuple[list[str], list[dict[str, Any]]]:
    headers: dict[str, None] = {}
    rows = []
    for number, line in _numbered_lines(text):
        try:
            row = json.loads(line, parse_constant=_reject_constant)
        except ValueError as exc:
            raise ValidationError(f"Line {number} of the JSONL file is not valid JSON: {exc}") from None
        if not isinstance(row, dict):
            raise ValidationError(f"Line {number} of the JSONL file is not a JSON object")
        headers.update(dict.fromkeys(row))
        rows.append(row)
    return list(headers), rows


def _numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    return ((number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip())


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_keys(headers: list[str], keys: TableKeys) -> None:
    groups = {"input": keys.input, "output": keys.output, "metadata": keys.metadata}
    for first, second in (("input", "output"), ("input", "metadata"), ("output", "metadata")):
        if overlap := groups[first] & groups[second]:
            raise ValidationError(f"{first}_keys and {second}_keys have overlap: {_braced(overlap)}")
    groups |= {
        "split": keys.split,
        "span_id": frozenset({keys.span_id} - {None}),
        "example_id": frozenset({keys.example_id} - {None}),
    }
    for description, wanted in groups.items():
        if missing := wanted - set(headers):
            raise ValidationError(f"{description} keys not found in column headers: {_braced(missing)}")


def _braced(names: frozenset[str]) -> str:
    return "{" + ", ".join(repr(name) for name in sorted(names)) + "}"


def _pick(row: dict[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    return {key: row[key] for key in sorted(keys) if key in row and not _blank(row[key])}


def _cell(row: dict[str, Any], key: str | None) -> Any:
    value = row.get(key) if key else None
    return None if _blank(value) else value


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()
