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

# Images a message carries are shown only from these addresses: inline data, or the web. Anything else
# (`javascript:`, a local file, a bucket path) is an `[image]` marker.
SAFE_IMAGE_PREFIXES = ("data:image/", "https://", "http://")


@dataclass(frozen=True)
class Part:
    """One piece of a message: text, or an image (`image_src` empty when it cannot be shown safely)."""

    text: str = ""
    is_image: bool = False
    image_src: str = ""


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Message:
    role: str
    parts: list[Part]
    tool_calls: list[ToolCall] = field(default_factory=list)
    # A tool message answers one call: its id, and the name of the tool called when the call is shown.
    tool_call_id: str = ""
    tool_name: str = ""


@dataclass(frozen=True)
class Tool:
    """A tool offered to the model."""

    name: str
    description: str
    parameters: str


@dataclass(frozen=True)
class PromptTemplate:
    template: str
    variables: list[tuple[str, str]]
    version: str


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
    tools: list[Tool]
    prompt_template: PromptTemplate | None
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
    input_messages, output_messages = chat_display(
        openinference.input_messages(attributes, events), openinference.output_messages(attributes, events)
    )
    return SpanDisplay(
        input=input_text,
        input_is_json=input_is_json,
        output=output_text,
        output_is_json=output_is_json,
        input_messages=input_messages,
        output_messages=output_messages,
        tools=[_tool(item) for item in openinference.tools(attributes)],
        prompt_template=_prompt_template(_dict(openinference.at(attributes, "llm", "prompt_template"))),
        documents=_documents(_dict(attributes.get("retrieval")).get("documents")),
        tool={key: _text(value) for key, value in openinference.tool(attributes).items()},
        attributes=[(key, _text(value)) for key, value in sorted(flatten_attributes(attributes).items())],
        exceptions=[e for e in events if isinstance(e, dict) and e.get("name") == "exception"],
        other_events=[e for e in events if isinstance(e, dict) and e.get("name") != "exception"],
    )


def chat_display(*chats: list[dict[str, Any]]) -> list[list[Message]]:
    """OpenAI chat messages as the pages show them (a span's, a dataset example's): a tool result is named
    after the call it answers, whichever of the chats made the call."""
    tool_names = {
        call.get("id"): _dict(call.get("function")).get("name") or ""
        for chat in chats
        for message in chat
        for call in _list(message.get("tool_calls"))
    }
    return [_messages(chat, tool_names) for chat in chats]


def _pretty(value: str, mime_type: str) -> tuple[str, bool]:
    if "json" not in mime_type and not value.lstrip().startswith(("{", "[")):
        return value, False
    try:
        return json.dumps(json.loads(value), indent=2, ensure_ascii=False), True
    except ValueError:
        return value, False


def _messages(chat: list[dict[str, Any]], tool_names: dict[Any, str]) -> list[Message]:
    return [
        Message(
            role=str(message.get("role") or ""),
            parts=_parts(message.get("content")),
            tool_calls=[
                ToolCall(
                    id=str(call.get("id") or ""),
                    name=_dict(call.get("function")).get("name") or "",
                    arguments=_arguments(call),
                )
                for call in _list(message.get("tool_calls"))
            ],
            tool_call_id=str(message.get("tool_call_id") or ""),
            tool_name=tool_names.get(message.get("tool_call_id"), "") if message.get("tool_call_id") else "",
        )
        for message in chat
    ]


def _parts(content: Any) -> list[Part]:
    """A message's content as text and images, in order; OpenAI content parts or plain text."""
    if not isinstance(content, list):
        text = openinference.message_text({"content": content})
        return [Part(text=text)] if text else []
    parts = []
    for part in _list(content):
        if part.get("type") == "text":
            parts.append(Part(text=str(part.get("text") or "")))
        elif part.get("type") == "image_url":
            url = _dict(part.get("image_url")).get("url")
            safe = isinstance(url, str) and url.startswith(SAFE_IMAGE_PREFIXES)
            parts.append(Part(is_image=True, image_src=url if safe else ""))
    return parts


def _tool(item: Any) -> Tool:
    """An OpenAI `tools` entry (or a bare JSON schema of one) as its name, description and parameters."""
    if not isinstance(item, dict):
        return Tool(name="", description="", parameters=_text(item))
    function = _dict(item.get("function")) or item
    parameters = function.get("parameters")
    return Tool(
        name=str(function.get("name") or ""),
        description=str(function.get("description") or ""),
        parameters="" if parameters is None else _text(parameters),
    )


def _prompt_template(raw: dict[str, Any]) -> PromptTemplate | None:
    if not raw.get("template"):
        return None
    variables = openinference.json_object(raw.get("variables"))
    return PromptTemplate(
        template=_text(raw["template"]),
        variables=[(str(key), _text(value)) for key, value in variables.items()],
        version=_text(raw.get("version") or ""),
    )


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
