"""Dataset exports as streamed lines (PHOENIX_COMPAT.md §3.7): CSV, JSONL, OpenAI fine-tuning and evals JSONL.

Each function takes the revisions of one version (`selectors.example_revisions_at_version`) and reads them
with `.iterator()`, so memory stays flat however large the dataset. The CSV and the fine-tuning report read
them twice (the columns, or the skipped count, must be known before the first line goes out): twice the
database work, in exchange for never holding the dataset in memory. A version's rows never change, so both
passes see the same rows.

CSV cells are for spreadsheets, which run a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
return as a formula: text from an application's end users (span input and output) or a label could then
run on the reviewer's machine. Such text cells are written with a leading `'`, as OWASP advises; the JSONL
exports stay exact.
"""

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db.models import QuerySet

from phoenix_annot.core.batching import chunks
from phoenix_annot.core.globalid import to_global_id

from .models import ExampleRevision
from .selectors import split_names_by_example

SECTIONS = ("input", "output", "metadata")
# The metadata key "label from gold" writes an example's gold labels under (spans.py).
GOLD_KEY = "gold"
CHUNK_SIZE = 500
# What a spreadsheet reads as the start of a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ChatReport(NamedTuple):
    """How many examples an OpenAI export writes, and how many it leaves out for not being chats."""

    chat_rows: int
    skipped_rows: int


ChatRow = Callable[[ExampleRevision], dict[str, Any] | None]


def example_ids(revision: ExampleRevision) -> tuple[str, str]:
    """The wire `id` (the uploader's id when there is one) and `node_id` of a revision's example."""
    node_id = to_global_id("DatasetExample", revision.example_id)
    return revision.external_id or node_id, node_id


def with_gold(revisions: QuerySet[ExampleRevision]) -> QuerySet[ExampleRevision]:
    """Only the examples with a gold value: those added with "label from gold" from a row that had a gold
    label (spans.py), whatever the export."""
    return revisions.filter(metadata__has_key=GOLD_KEY)


def csv_lines(revisions: QuerySet[ExampleRevision]) -> Iterator[str]:
    """`id`, `node_id`, then `input.<k>`, `output.<k>`, `metadata.<k>` (nested keys joined by `.`, sorted
    within each section so the columns do not depend on the database's JSON key order), then, as Phoenix
    writes it when any example is in a split, `splits` (a JSON list of names)."""
    columns: dict[str, set[str]] = {section: set() for section in SECTIONS}
    any_split = False
    for revision, splits in _rows_with_splits(revisions):
        any_split = any_split or bool(splits)
        for section in SECTIONS:
            columns[section].update(_flattened(getattr(revision, section)))
    header = ["id", "node_id"] + [
        f"{section}.{key}" for section in SECTIONS for key in sorted(columns[section])
    ]
    yield _csv_line([*header, "splits"] if any_split else header)
    for revision, splits in _rows_with_splits(revisions):
        cells = {
            f"{section}.{key}": value
            for section in SECTIONS
            for key, value in _flattened(getattr(revision, section)).items()
        }
        row = [*map(_csv_cell, example_ids(revision)), *(_csv_cell(cells.get(name)) for name in header[2:])]
        yield _csv_line([*row, _csv_cell(splits)] if any_split else row)


def jsonl_lines(revisions: QuerySet[ExampleRevision]) -> Iterator[str]:
    for revision, splits in _rows_with_splits(revisions):
        example_id, node_id = example_ids(revision)
        yield _json_line(
            {
                "id": example_id,
                "node_id": node_id,
                "input": revision.input,
                "output": revision.output,
                "metadata": revision.metadata,
                "splits": splits,
            }
        )


def openai_ft_report(revisions: QuerySet[ExampleRevision]) -> ChatReport:
    return _chat_report(revisions, _ft_row)


def openai_ft_lines(revisions: QuerySet[ExampleRevision]) -> Iterator[str]:
    """`{"messages": input.messages + output.messages}` (+ `tools`), one line per chat example.

    Unlike Phoenix, an example that is not a chat (no messages, or no assistant turn to learn) is left out
    rather than written with empty messages, which OpenAI rejects; `openai_ft_report` counts them.
    """
    return _chat_lines(revisions, _ft_row)


def openai_evals_report(revisions: QuerySet[ExampleRevision]) -> ChatReport:
    return _chat_report(revisions, _evals_row)


def openai_evals_lines(revisions: QuerySet[ExampleRevision]) -> Iterator[str]:
    """`{"messages": input.messages, "ideal": <content of the last output message>}` as Phoenix writes it.

    Unlike Phoenix, an example without input messages or without a text answer to hold them to is left out
    rather than written as `{"messages": [], "ideal": ""}`; `openai_evals_report` counts them.
    """
    return _chat_lines(revisions, _evals_row)


@dataclass(frozen=True)
class ExportFormat:
    """One download of the dataset page: how it is written, and the type and file name it is saved as."""

    label: str
    lines: Callable[[QuerySet[ExampleRevision]], Iterator[str]]
    content_type: str
    extension: str
    suffix: str = ""

    def filename(self, dataset_name: str, version_number: int, split_name: str | None = None) -> str:
        """`<dataset>-v<N>[-<split>]<suffix>.<extension>`, with what a file system or a shell would trip on
        replaced."""
        stem = _safe(dataset_name) or "dataset"
        split = f"-{_safe(split_name) or 'split'}" if split_name is not None else ""
        return f"{stem}-v{version_number}{split}{self.suffix}.{self.extension}"


# Runs of anything but letters, digits, `.` and `_` (path separators, quotes, spaces, control characters),
# each written as one `-`.
UNSAFE_IN_FILENAME = re.compile(r"[^\w.]+")
EXPORT_FORMATS = {
    "csv": ExportFormat("CSV", csv_lines, "text/csv; charset=utf-8", "csv"),
    "jsonl": ExportFormat("JSONL", jsonl_lines, "application/jsonl", "jsonl"),
    "openai-fine-tuning": ExportFormat(
        "OpenAI fine-tuning JSONL", openai_ft_lines, "application/jsonl", "jsonl", "-openai-fine-tuning"
    ),
    "openai-evals": ExportFormat(
        "OpenAI evals JSONL", openai_evals_lines, "application/jsonl", "jsonl", "-openai-evals"
    ),
}


def _safe(name: str) -> str:
    return UNSAFE_IN_FILENAME.sub("-", name).strip("-.")


def _rows(revisions: QuerySet[ExampleRevision]) -> Iterator[ExampleRevision]:
    return revisions.iterator(chunk_size=CHUNK_SIZE)


def _rows_with_splits(revisions: QuerySet[ExampleRevision]) -> Iterator[tuple[ExampleRevision, list[str]]]:
    """Each revision with its example's split names (sorted), one query for the names of a chunk of rows."""
    for chunk in chunks(_rows(revisions), CHUNK_SIZE):
        names = split_names_by_example(revision.example_id for revision in chunk)
        for revision in chunk:
            yield revision, names.get(revision.example_id, [])


def _chat_report(revisions: QuerySet[ExampleRevision], chat_row: ChatRow) -> ChatReport:
    chat_rows = skipped_rows = 0
    for revision in _rows(revisions):
        if chat_row(revision) is None:
            skipped_rows += 1
        else:
            chat_rows += 1
    return ChatReport(chat_rows, skipped_rows)


def _chat_lines(revisions: QuerySet[ExampleRevision], chat_row: ChatRow) -> Iterator[str]:
    for revision in _rows(revisions):
        if (row := chat_row(revision)) is not None:
            yield _json_line(row)


def _ft_row(revision: ExampleRevision) -> dict[str, Any] | None:
    messages = _list(revision.input.get("messages")) + _list(revision.output.get("messages"))
    if not _are_messages(messages) or not any(message["role"] == "assistant" for message in messages):
        return None
    row: dict[str, Any] = {"messages": messages}
    if tools := revision.input.get("tools"):
        row["tools"] = tools
    return row


def _evals_row(revision: ExampleRevision) -> dict[str, Any] | None:
    messages = _list(revision.input.get("messages"))
    output_messages = _list(revision.output.get("messages"))
    last = output_messages[-1] if output_messages and isinstance(output_messages[-1], dict) else {}
    ideal = last.get("content")
    if not messages or not _are_messages(messages) or not isinstance(ideal, str):
        return None
    return {"messages": messages, "ideal": ideal}


def _are_messages(messages: list[Any]) -> bool:
    return all(isinstance(message, dict) and isinstance(message.get("role"), str) for message in messages)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _flattened(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict) and item:
            flat.update(_flattened(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = item
    return flat


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return "" if value is None else value


def _csv_line(cells: Iterable[Any]) -> str:
    buffer = io.StringIO()
    # The writer quotes a cell holding a character of its line terminator, and only those: with "\r\n" a
    # lone carriage return is quoted too, where it would otherwise end the row early in any reader. The
    # file's rows still end in "\n".
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue().removesuffix("\r\n") + "\n"


def _json_line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"
