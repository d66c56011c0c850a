"""Turn a span's attributes into what the span detail shows: text, messages, documents, the tool.

Messages and the tool come from `tracing.openinference`, the reader datasets use too, so a conversation
the page shows is the one an example gets, whether the span speaks OpenInference or GenAI.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from phoenix_annot.tracing import openinference
from phoenix_annot.tracing.attributes import flatten_attributes
from phoenix_annot.tracing.models import Span


@dataclass(frozen=True)
class Message:
    role: str
    content: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Document:
    id: str
    content: str
    score: float | None
    metadata: str


@dataclass(frozen=True)
class SpanDisplay:
    input: str
    input_is_json: bool
    output: str
    output_is_json: bool
    input_messages: list[Message]
    output_messages: list[Message]
    documents: list[Document]
    tool: dict[str, str]
    attributes: list[tuple[str, str]]
    exceptions: list[dict[str, Any]]
    other_events: list[dict[str, Any]]


def span_display(span: Span) -> SpanDisplay:
    attributes = span.attributes if isinstance(span.attributes, dict) else {}
    events = span.events if isinstance(span.events, list) else []
    input_text, input_is_json = _pretty(span.input_value, span.input_mime_type)
    output_text, output_is_json = _pretty(span.output_value, span.output_mime_type)
    return SpanDisplay(
        input=input_text,
        input_is_json=input_is_json,
        output=output_text,
        output_is_json=output_is_json,
        input_messages=_messages(openinference.input_messages(attributes, events)),
        output_messages=_messages(openinference.output_messages(attributes, events)),
        documents=_documents(_dict(attributes.get("retrieval")).get("documents")),
        tool={key: _text(value) for key, value in openinference.tool(attributes).items()},
        attributes=[(key, _text(value)) for key, value in sorted(flatten_attributes(attributes).items())],
        exceptions=[e for e in events if isinstance(e, dict) and e.get("name") == "exception"],
        other_events=[e for e in events if isinstance(e, dict) and e.get("name") != "exception"],
    )


def _pretty(value: str, mime_type: str) -> tuple[str, bool]:
    if "json" not in mime_type and not value.lstrip().startswith(("{", "[")):
        return value, False
    try:
        return json.dumps(json.loads(value), indent=2, ensure_ascii=False), True
    except ValueError:
        return value, False


def _messages(chat: list[dict[str, Any]]) -> list[Message]:
    return [
        Message(
            role=str(message.get("role") or ""),
            content=openinference.message_text(message),
            tool_calls=[
                {"name": _dict(call.get("function")).get("name") or "", "arguments": _arguments(call)}
                for call in _list(message.get("tool_calls"))
            ],
        )
        for message in chat
    ]


def _arguments(call: dict[str, Any]) -> str:
    arguments = _dict(call.get("function")).get("arguments")
    return "" if arguments is None else _text(arguments)


def _documents(raw: Any) -> list[Document]:
    documents = []
    for item in raw if isinstance(raw, list) else []:
        document = _dict(_dict(item).get("document"))
        score = document.get("score")
        documents.append(
            Document(
                id=str(document.get("id", "")),
                content=_text(document.get("content", "")),
                score=score if isinstance(score, int | float) else None,
                metadata=_text(document["metadata"]) if document.get("metadata") else "",
            )
        )
    return documents


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)
