"""How a span becomes dataset example content (PHOENIX_COMPAT.md §6, "Select rows → Add to dataset").

Pure functions over a span's nested OpenInference attributes; the service fetches the spans and their
annotations. LLM messages come out in OpenAI chat shape so the fine-tuning export can use them as they are.
"""

import json
from collections.abc import Iterable
from typing import Any

from phoenix_annot.annotations.models import SpanAnnotation
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.tracing.models import Span, SpanKind

JSON_MIME_TYPE = "application/json"


def example_input(span: Span) -> dict[str, Any]:
    if span.span_kind != SpanKind.LLM:
        return _io_value(span.attributes, "input")
    llm = _at(span.attributes, "llm")
    messages = _messages(_at(llm, "input_messages"))
    value = {"messages": messages} if messages else _io_value(span.attributes, "input")
    if tools := _tools(_at(llm, "tools")):
        value["tools"] = tools
    # Template variables become top-level keys (Phoenix #7722), but never hide the messages or tools.
    variables = _json_object(_at(llm, "prompt_template", "variables"))
    return {**variables, **value}


def example_output(span: Span) -> dict[str, Any]:
    if span.span_kind == SpanKind.LLM and (
        messages := _messages(_at(span.attributes, "llm", "output_messages"))
    ):
        return {"messages": messages}
    if span.span_kind == SpanKind.RETRIEVER and (documents := _documents(span.attributes)) is not None:
        return {"documents": documents}
    return _io_value(span.attributes, "output")


def example_metadata(span: Span, annotations: Iterable[SpanAnnotation]) -> dict[str, Any]:
    """The span's `metadata` attribute, its kind, and a snapshot of `annotations` (notes already left out)."""
    raw = _at(span.attributes, "metadata")
    metadata = raw if isinstance(raw, dict) else ({} if raw is None else {"metadata": raw})
    snapshot: dict[str, list[dict[str, Any]]] = {}
    for annotation in annotations:
        snapshot.setdefault(annotation.name, []).append(_annotation(annotation))
    return {**metadata, "span_kind": span.span_kind, "annotations": snapshot}


def _annotation(annotation: SpanAnnotation) -> dict[str, Any]:
    user = annotation.user
    return {
        "label": annotation.label,
        "score": annotation.score,
        "explanation": annotation.explanation,
        "metadata": annotation.metadata,
        "annotator_kind": annotation.annotator_kind,
        "user_id": to_global_id("User", user.pk) if user else None,
        "username": user.username if user else None,
        "email": user.email if user else None,
    }


def _at(node: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _io_value(attributes: dict[str, Any], kind: str) -> dict[str, Any]:
    value = _at(attributes, kind, "value")
    if value is None:
        return {}
    if isinstance(value, str) and _at(attributes, kind, "mime_type") == JSON_MIME_TYPE:
        try:
            value = json.loads(value)
        except ValueError:
            # A mislabelled mime type must not lose the text.
            return {kind: value}
        if isinstance(value, dict):
            return value
    return {kind: value}


def _json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _dicts(items: Any) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _messages(items: Any) -> list[dict[str, Any]]:
    return [_message(message) for item in _dicts(items) if isinstance(message := item.get("message"), dict)]


def _message(message: dict[str, Any]) -> dict[str, Any]:
    chat: dict[str, Any] = {"role": message.get("role")}
    if (content := message.get("content")) is not None:
        chat["content"] = content
    elif parts := _content_parts(message.get("contents")):
        chat["content"] = parts
    for key in ("name", "tool_call_id"):
        if message.get(key) is not None:
            chat[key] = message[key]
    name, arguments = message.get("function_call_name"), message.get("function_call_arguments_json")
    if name is not None or arguments is not None:
        chat["function_call"] = {"name": name, "arguments": arguments}
    if calls := [_tool_call(call) for call in _dicts(message.get("tool_calls"))]:
        chat["tool_calls"] = calls
    return chat


def _tool_call(item: dict[str, Any]) -> dict[str, Any]:
    call_id = _at(item, "tool_call", "id")
    function = {
        "name": _at(item, "tool_call", "function", "name"),
        "arguments": _at(item, "tool_call", "function", "arguments"),
    }
    return {**({"id": call_id} if call_id is not None else {}), "type": "function", "function": function}


def _content_parts(items: Any) -> list[dict[str, Any]]:
    """Multimodal `message.contents` as OpenAI content parts."""
    parts: list[dict[str, Any]] = []
    for item in _dicts(items):
        kind = _at(item, "message_content", "type")
        if kind == "text":
            parts.append({"type": "text", "text": _at(item, "message_content", "text")})
        elif kind == "image":
            url = _at(item, "message_content", "image", "image", "url")
            parts.append({"type": "image_url", "image_url": {"url": url}})
    return parts


def _tools(items: Any) -> list[Any]:
    schemas = [_at(item, "tool", "json_schema") for item in _dicts(items)]
    return [_json_object(schema) or schema for schema in schemas if schema is not None]


def _documents(attributes: dict[str, Any]) -> list[dict[str, Any]] | None:
    """`retrieval.documents.N.document` unwrapped, or None when they are not all documents."""
    items = _at(attributes, "retrieval", "documents")
    if not isinstance(items, list):
        return None
    documents = [_at(item, "document") for item in items]
    return documents if all(isinstance(document, dict) and document for document in documents) else None
