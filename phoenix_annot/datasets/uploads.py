"""Reading an uploaded table (CSV or JSONL, maybe compressed) into the columns `dataset_upload` takes.

The file is read as a stream: spooled off the request, then decompressed a block at a time, decoded and split
into rows as it goes; each row is kept only as the values its keys pick. So parsing holds one row at a time,
and what an upload costs in all is bounded by three limits, on the decompressed bytes, on the examples and
on the values they hold (each JSON value or CSV cell is a Python object of 50 bytes or more, however few
bytes it took in the file), checked while the rows arrive: past one, `UploadTooLarge` (a 413) names it, long
before a small compressed file can inflate into gigabytes. Other errors are ValidationErrors naming the
problem, for a 422.
"""

import csv
import io
import json
import re
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from django.core.exceptions import ValidationError
from django.http.multipartparser import FILE, ChunkIter, LazyStream, MultiPartParserError, Parser
from django.utils.http import parse_header_parameters

CSV = "text/csv"
JSONL = "application/jsonl"
PYARROW = "application/x-pandas-pyarrow"
READ_BLOCK_BYTES = 64 * 1024
# A file part up to this size stays in memory; a larger one goes to a temporary file until it is read.
SPOOL_IN_MEMORY_BYTES = 1024 * 1024
# zlib's wbits for each Content-Encoding: gzip wrapper, zlib wrapper.
DECOMPRESSORS: dict[str, Callable[[], Any]] = {
    "gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "deflate": lambda: zlib.decompressobj(zlib.MAX_WBITS),
}
IDENTITY = ("", "identity", "none")
# A JSON string, escapes included (the unrolled form, which a regex engine runs without backtracking).
JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


class UploadTooLarge(ValidationError):
    """An upload past one of the limits; the message names the limit and its setting."""


@dataclass(frozen=True)
class UploadLimits:
    file_bytes: int
    examples: int
    values: int

    def check_bytes(self, count: int) -> None:
        """`count` bytes of a CSV or JSONL file once decompressed, or of a JSON body."""
        if count > self.file_bytes:
            raise UploadTooLarge(
                f"The uploaded data is larger than {self.file_bytes} bytes (a CSV or JSONL file once "
                "decompressed, or a JSON body; PHOENIX_ANNOT_DATASET_UPLOAD_MAX_FILE_BYTES)"
            )

    def check_examples(self, count: int) -> None:
        if count > self.examples:
            raise UploadTooLarge(
                f"The upload has more than {self.examples} examples "
                "(PHOENIX_ANNOT_DATASET_UPLOAD_MAX_EXAMPLES)"
            )

    def check_values(self, count: int) -> None:
        if count > self.values:
            raise UploadTooLarge(
                f"The upload holds more than {self.values} values (JSON values or CSV cells, "
                "PHOENIX_ANNOT_DATASET_UPLOAD_MAX_VALUES)"
            )


@dataclass(frozen=True)
class FilePart:
    filename: str
    content_type: str
    content_encoding: str | None
    content: IO[bytes]


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
    """One item per row in `inputs`; the other columns are empty when no key names them (the service then
    reads them as absent), so a file of a million tiny rows costs no million empty dicts."""

    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    metadata: list[dict[str, Any]] = field(default_factory=list)
    span_ids: list[str | None] = field(default_factory=list)
    example_ids: list[str | None] = field(default_factory=list)
    splits: list[Any] = field(default_factory=list)


def multipart_read(stream: BinaryIO, *, content_type: str) -> MultipartForm:
    """Every part of a multipart/form-data body, keeping each file part's own Content-Encoding header.

    Django's own parser drops part headers other than Content-Type, and the client gzips its CSV with a
    part-level `Content-Encoding: gzip`. File parts are spooled, not read into memory; the caller bounds the
    body's size before calling this.
    """
    boundary = parse_header_parameters(content_type)[1].get("boundary", "")
    if not boundary:
        raise ValidationError("The multipart/form-data Content-Type has no boundary")
    form = MultipartForm()
    try:
        for item_type, headers, part in Parser(LazyStream(ChunkIter(stream)), boundary.encode("latin-1")):
            disposition = headers.get("content-disposition", ("", {}))[1]
            name = disposition.get("name", b"").decode(errors="replace")
            if item_type == FILE:
                encoding = headers.get("content-encoding")
                form.files[name] = FilePart(
                    filename=disposition.get("filename", b"").decode(errors="replace"),
                    content_type=headers.get("content-type", ("", {}))[0].strip(),
                    content_encoding=encoding[0].strip() if encoding else None,
                    content=_spooled(part),
                )
            elif name:
                form.fields.setdefault(name, []).append(part.read().decode(errors="replace"))
    except (MultiPartParserError, UnicodeEncodeError) as exc:
        raise ValidationError(f"Malformed multipart/form-data body: {exc}") from None
    return form


def table_columns(file: FilePart, keys: TableKeys, *, limits: UploadLimits) -> TableColumns:
    """Each row of an uploaded CSV or JSONL file split into input, output and metadata by `keys`; blank CSV
    cells are left out."""
    content_type = file.content_type.split(";")[0].strip().lower()
    if content_type == PYARROW:
        raise ValidationError("PyArrow uploads are not supported; upload the table as CSV or JSONL")
    if content_type not in (CSV, JSONL):
        raise ValidationError(f"Invalid file content type: {file.content_type}")
    _check_overlap(keys)
    text = _text(file, limits)
    try:
        headers: dict[str, None] = {}
        rows = _csv_rows(text, headers) if content_type == CSV else _jsonl_rows(text, headers)
        columns = _columns(rows, keys, limits)
    except UnicodeDecodeError as exc:
        raise ValidationError(f"The file is not UTF-8 text: {exc}") from None
    _check_keys(list(headers), keys)
    return columns


def json_values_bound(text: bytes) -> int:
    """At most how many values (containers included) the JSON `text` holds, counted without decoding it:
    each value but the first of a container follows a comma."""
    skeleton = JSON_STRING.sub(b"0", text)
    return 1 + skeleton.count(b",") + skeleton.count(b"{") + skeleton.count(b"[")


def _spooled(part: Iterable[bytes]) -> IO[bytes]:
    # The view closes it once the file is read.
    content = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
    for chunk in part:
        content.write(chunk)
    content.seek(0)
    return content


def _text(file: FilePart, limits: UploadLimits) -> io.TextIOWrapper:
    """The file as text, decompressed as it is read; newline="" leaves quoted line breaks to the CSV
    reader and ends rows at \n, \r or \r\n only."""
    blocks = _counted(_decompressed(file.content, file.content_encoding), limits)
    # utf-8-sig: spreadsheet exports start with a byte order mark.
    return io.TextIOWrapper(io.BufferedReader(_BlockReader(blocks)), encoding="utf-8-sig", newline="")


def _decompressed(source: IO[bytes], encoding: str | None) -> Iterator[bytes]:
    """The file's bytes in blocks of at most READ_BLOCK_BYTES, however well they were compressed."""
    name = (encoding or "").strip().lower()
    if name in IDENTITY:
        yield from iter(lambda: source.read(READ_BLOCK_BYTES), b"")
        return
    factory = DECOMPRESSORS.get(name)
    if factory is None:
        raise ValidationError(f"Invalid file content encoding: {encoding}")
    decompressor = factory()
    while True:
        data = decompressor.unconsumed_tail or decompressor.unused_data or source.read(READ_BLOCK_BYTES)
        if not data:
            if decompressor.eof:
                return
            raise ValidationError(f"The {encoding} data of the file is truncated")
        if decompressor.eof:
            # A gzip file may hold several members back to back; each gets its own decompressor.
            decompressor = factory()
        try:
            block = decompressor.decompress(data, READ_BLOCK_BYTES)
        except zlib.error as exc:
            raise ValidationError(f"The file is not valid {encoding} data: {exc}") from None
        if block:
            yield block


def _counted(blocks: Iterator[bytes], limits: UploadLimits) -> Iterator[bytes]:
    total = 0
    for block in blocks:
        total += len(block)
        limits.check_bytes(total)
        yield block


class _BlockReader(io.RawIOBase):
    """A readable binary stream over an iterator of non-empty blocks."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self.blocks = blocks
        self.pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self.pending:
            self.pending = memoryview(next(self.blocks, b""))
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


def _csv_rows(text: io.TextIOWrapper, headers: dict[str, None]) -> Iterator[dict[str, Any]]:
    reader = csv.DictReader(text)
    try:
        names = reader.fieldnames
        if not names:
            raise ValidationError("Missing CSV column header")
        if duplicated := sorted({name for name in names if names.count(name) > 1}):
            raise ValidationError(f"Duplicated column header in CSV file: {', '.join(duplicated)}")
        headers.update(dict.fromkeys(names))
        yield from reader
    except csv.Error as exc:
        raise ValidationError(f"Invalid CSV on line {reader.line_num}: {exc}") from None


def _jsonl_rows(text: io.TextIOWrapper, headers: dict[str, None]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line, parse_constant=_reject_constant)
        except ValueError as exc:
            raise ValidationError(f"Line {number} of the JSONL file is not valid JSON: {exc}") from None
        if not isinstance(row, dict):
            raise ValidationError(f"Line {number} of the JSONL file is not a JSON object")
        headers.update(dict.fromkeys(row))
        yield row


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _columns(rows: Iterator[dict[str, Any]], keys: TableKeys, limits: UploadLimits) -> TableColumns:
    columns = TableColumns()
    sections = [(columns.inputs, sorted(keys.input))]
    sections += [
        (column, sorted(wanted))
        for column, wanted in ((columns.outputs, keys.output), (columns.metadata, keys.metadata))
        if wanted
    ]
    split_keys = sorted(keys.split)
    values = 0
    for count, row in enumerate(rows, start=1):
        limits.check_examples(count)
        for column, wanted in sections:
            picked = {key: row[key] for key in wanted if key in row and not _blank(row[key])}
            values += 1 + sum(map(_value_count, picked.values()))
            column.append(picked)
        limits.check_values(values)
        if keys.span_id:
            columns.span_ids.append(_cell(row, keys.span_id))
        if keys.example_id:
            columns.example_ids.append(_cell(row, keys.example_id))
        if split_keys:
            columns.splits.append([name for key in split_keys for name in _split_cell(_cell(row, key))])
    return columns


def _split_cell(value: Any) -> list[Any]:
    """The split names in a split column's cell: a name, or a JSON list of names (a CSV cell holds the list
    as text); a JSONL number is read as its text, as Phoenix does."""
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    if isinstance(value, list):
        return [item if isinstance(item, str) or item is None else json.dumps(item) for item in value]
    if value is None or isinstance(value, str):
        return [value]
    return [json.dumps(value)]


def _value_count(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(map(_value_count, value.values()))
    if isinstance(value, list):
        return 1 + sum(map(_value_count, value))
    return 1


def _check_overlap(keys: TableKeys) -> None:
    groups = {"input": keys.input, "output": keys.output, "metadata": keys.metadata}
    for first, second in (("input", "output"), ("input", "metadata"), ("output", "metadata")):
        if overlap := groups[first] & groups[second]:
            raise ValidationError(f"{first}_keys and {second}_keys have overlap: {_braced(overlap)}")


def _check_keys(headers: list[str], keys: TableKeys) -> None:
    groups = {
        "input": keys.input,
        "output": keys.output,
        "metadata": keys.metadata,
        "split": keys.split,
        "span_id": frozenset({keys.span_id} - {None}),
        "example_id": frozenset({keys.example_id} - {None}),
    }
    for description, wanted in groups.items():
        if missing := wanted - set(headers):
            raise ValidationError(f"{description} keys not found in column headers: {_braced(missing)}")


def _braced(names: frozenset[str]) -> str:
    return "{" + ", ".join(repr(name) for name in sorted(names)) + "}"


def _cell(row: dict[str, Any], key: str) -> Any:
    value = row.get(key)
    return None if _blank(value) else value


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()
