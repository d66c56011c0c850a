"""The one reader of a span's conversation: messages, tools and tool calls, in OpenAI chat shape.

Spans describe a model call in one of two conventions, and everything that shows or reuses a conversation
(the trace page, dataset examples, the input/output columns filled at ingest) reads it through here:

- OpenInference: `llm.input_messages.N.message.*`, `llm.output_messages`, `llm.tools`, `tool.*`,
  `input.value` / `output.value`. When a span has these they win over anything below.
- OpenTelemetry GenAI semantic conventions: `gen_ai.input.messages`, `gen_ai.output.messages` and
  `gen_ai.system_instructions` (JSON with typed `parts`), `gen_ai.tool.definitions`, tool spans'
  `gen_ai.tool.call.arguments` / `gen_ai.tool.call.result`; and what older instrumentations still send:
  span events (`gen_ai.user.message`, `gen_ai.choice`, `gen_ai.content.prompt`, ...) and the indexed
  `gen_ai.prompt.N.*` / `gen_ai.completion.N.*` attributes.

Attributes are the nested form stored on `Span.attributes`. GenAI's `gen_ai.conversation.id` names the
conversation a span belongs to: it is what a session id is to OpenInference (`session.id`), and sessions
should read it as one.
"""

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

JSON_MIME_TYPE = "application/json"
TEXT_MIME_TYPE = "text/plain"
EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
CHOICE_EVENT = "gen_ai.choice"
# Older event bodies travel as span-event attributes; some SDKs wrap the body in this one attribute.
EVENT_BODY_ATTRIBUTE = "gen_ai.event.content"
PROMPT_EVENTS = {"gen_ai.content.prompt": "gen_ai.prompt", "gen_ai.content.completion": "gen_ai.completion"}


class Value(NamedTuple):
    """An `input.value` / `output.value` and its mime type."""

    text: str
    mime_type: str


def input_messages(attributes: dict[str, Any], events: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """What the model was sent, as OpenAI chat messages (system instructions first)."""
    if messages := _openinference_messages(at(attributes, "llm", "input_messages")):
        return messages
    if messages := _genai_messages(at(attributes, "gen_ai", "input", "messages")):
        return _system_instructions(attributes) + messages
    if messages := _chat_like(at(attributes, "gen_ai", "prompt")):
        return messages
    return _event_messages(events, output=False)


def output_messages(attributes: dict[str, Any], events: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """What the model answered, as OpenAI chat messages."""
    if messages := _openinference_messages(at(attributes, "llm", "output_messages")):
        return messages
    if messages := _genai_messages(at(attributes, "gen_ai", "output", "messages")):
        return messages
    if messages := _chat_like(at(attributes, "gen_ai", "completion")):
        return messages
    return _event_messages(events, output=True)


def tools(attributes: dict[str, Any]) -> list[Any]:
    """The tools offered to the model, as OpenAI `tools` entries."""
    schemas = [at(item, "tool", "json_schema") for item in _dicts(at(attributes, "llm", "tools"))]
    if found := [json_object(schema) or schema for schema in schemas if schema is not None]:
        return found
    return [_openai_tool(item) for item in _dicts(_json(at(attributes, "gen_ai", "tool", "definitions")))]


def tool(attributes: dict[str, Any]) -> dict[str, Any]:
    """The tool a TOOL span ran: `name`, `description`, `parameters` when known."""
    openinference = _dict(attributes.get("tool"))
    if found := {
        key: openinference[key] for key in ("name", "description", "parameters") if key in openinference
    }:
        return found
    genai = _dict(at(attributes, "gen_ai", "tool"))
    return {key: genai[key] for key in ("name", "description") if isinstance(genai.get(key), str)}


def genai_values(attributes: dict[str, Any], events: Sequence[Any]) -> tuple[Value | None, Value | None]:
    """`input.value` and `output.value` for a span that describes itself only in GenAI terms.

    A tool span's arguments and result; a model call's conversation as `{"messages": [...]}` JSON (as
    OpenInference's OpenAI instrumentation sends the request) and its reply's text; a pydantic-ai agent
    run's prompt and final result.
    """
    call = _dict(at(attributes, "gen_ai", "tool", "call"))
    if "arguments" in call or "result" in call:
        return _value(call.get("arguments")), _value(call.get("result"))
    if (history := at(attributes, "pydantic_ai", "all_messages")) is not None:
        return _agent_prompt(history), _value(attributes.get("final_result"))
    # Spans with OpenInference messages but no value keep none, as they would in Phoenix.
    has_openinference = _dict(attributes.get("llm")).keys() & {"input_messages", "output_messages"}
    inputs = [] if has_openinference else input_messages(attributes, events)
    outputs = [] if has_openinference else output_messages(attributes, events)
    return (_value({"messages": inputs}) if inputs else None, _reply(outputs) if outputs else None)


def fill_genai_values(attributes: dict[str, Any], events: Sequence[Any]) -> tuple[Value | None, Value | None]:
    """Give a span that lacks `input.value` / `output.value` the ones `genai_values` reads, in its attributes
    (so the /v1 API and datasets see what the table shows); returns the values filled, None for each kept."""
    lacks = [at(attributes, prefix, "value") is None for prefix in ("input", "output")]
    if not any(lacks):
        return None, None
    values = genai_values(attributes, events)
    filled = tuple(value if lack else None for value, lack in zip(values, lacks, strict=True))
    for prefix, value in zip(("input", "output"), filled, strict=True):
        node = attributes.setdefault(prefix, {}) if value else None
        # A scalar sent under this name is kept: the column still gets the value.
        if isinstance(node, dict):
            node.update({"value": value.text, "mime_type": value.mime_type})
    return filled[0], filled[1]


def message_text(message: dict[str, Any]) -> str:
    """A chat message's text: its content, or its text parts joined."""
    content = message.get("content")
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in _dicts(content) if part.get("type") == "text")
    return _text(content)


def _openinference_messages(items: Any) -> list[dict[str, Any]]:
    return [
        _openinference_message(message)
        for item in _dicts(items)
        if isinstance(message := item.get("message"), dict)
    ]


def _openinference_message(message: dict[str, Any]) -> dict[str, Any]:
    chat: dict[str, Any] = {"role": message.get("role")}
    if (content := message.get("content")) is not None:
        chat["content"] = content
    elif parts := _openinference_parts(message.get("contents")):
        chat["content"] = parts
    for key in ("name", "tool_call_id"):
        if message.get(key) is not None:
            chat[key] = message[key]
    name, arguments = message.get("function_call_name"), message.get("function_call_arguments_json")
    if name is not None or arguments is not None:
        chat["function_call"] = {"name": name, "arguments": arguments}
    calls = [_dict(item.get("tool_call")) for item in _dicts(message.get("tool_calls"))]
    if calls:
        chat["tool_calls"] = [
            _tool_call(call.get("id"), at(call, "function", "name"), at(call, "function", "arguments"))
            for call in calls
        ]
    return chat


def _openinference_parts(items: Any) -> list[dict[str, Any]]:
    """Multimodal `message.contents` as OpenAI content parts."""
    parts: list[dict[str, Any]] = []
    for item in _dicts(items):
        kind = at(item, "message_content", "type")
        if kind == "text":
            parts.append({"type": "text", "text": at(item, "message_content", "text")})
        elif kind == "image":
            parts.append(_image_part(at(item, "message_content", "image", "image", "url")))
    return parts


def _genai_messages(raw: Any) -> list[dict[str, Any]]:
    """GenAI messages (`{"role", "parts": [...]}`); each tool result becomes its own `tool` message."""
    chat: list[dict[str, Any]] = []
    for message in _dicts(_json(raw)):
        role, parts = message.get("role"), _dicts(message.get("parts"))
        content = [part for part in map(_genai_content_part, parts) if part is not None]
        calls = [
            _tool_call(part.get("id"), part.get("name"), part.get("arguments"))
            for part in parts
            if part.get("type") == "tool_call"
        ]
        results = [
            {
                "role": "tool",
                "tool_call_id": part.get("id"),
                "content": _text(part.get("response", part.get("result"))),
            }
            for part in parts
            if part.get("type") == "tool_call_response"
        ]
        if content or calls or not results:
            chat.append(_chat_message(role, content, calls))
        chat.extend(results)
    return chat


def _genai_content_part(part: dict[str, Any]) -> dict[str, Any] | None:
    kind = part.get("type")
    if kind == "text":
        return {"type": "text", "text": _text(part.get("content"))}
    if part.get("modality") != "image":
        return None
    if kind == "uri":
        return _image_part(part.get("uri"))
    if kind == "blob":
        return _image_part(f"data:{part.get('mime_type') or 'image/png'};base64,{part.get('content')}")
    return None


def _chat_message(role: Any, content: list[dict[str, Any]], calls: list[dict[str, Any]]) -> dict[str, Any]:
    chat: dict[str, Any] = {"role": role}
    if any(part["type"] != "text" for part in content):
        chat["content"] = content
    elif content:
        chat["content"] = "\n".join(part["text"] for part in content)
    if calls:
        chat["tool_calls"] = calls
    return chat


def _system_instructions(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    raw = _json(at(attributes, "gen_ai", "system_instructions"))
    if isinstance(raw, str):
        return [{"role": "system", "content": raw}]
    texts = [_text(part.get("content")) for part in _dicts(raw) if part.get("type") == "text"]
    return [{"role": "system", "content": "\n".join(texts)}] if texts else []


def _chat_like(raw: Any) -> list[dict[str, Any]]:
    """Messages already close to OpenAI's: `gen_ai.prompt.N.*` attributes, JSON prompts, event bodies."""
    return [
        _chat_like_message(message)
        for message in _dicts(_json(raw))
        if "role" in message or "content" in message
    ]


def _chat_like_message(message: dict[str, Any], role: str | None = None) -> dict[str, Any]:
    chat: dict[str, Any] = {"role": _role(message.get("role")) or role}
    content = (
        _json(message.get("content")) if _looks_like_parts(message.get("content")) else message.get("content")
    )
    if content is not None:
        chat["content"] = content if isinstance(content, str | list) else _text(content)
    for key in ("name", "tool_call_id"):
        if isinstance(message.get(key), str):
            chat[key] = message[key]
    if role == "tool" and isinstance(message.get("id"), str):
        chat["tool_call_id"] = message["id"]
    calls = [
        _tool_call(
            call.get("id"),
            at(call, "function", "name") or call.get("name"),
            at(call, "function", "arguments") if "function" in call else call.get("arguments"),
        )
        for call in _dicts(_json(message.get("tool_calls")))
    ]
    if calls:
        chat["tool_calls"] = calls
    return chat


def _event_messages(events: Sequence[Any], *, output: bool) -> list[dict[str, Any]]:
    chat: list[dict[str, Any]] = []
    for event in _dicts(list(events)):
        name, attributes = event.get("name"), _dict(event.get("attributes"))
        body = json_object(attributes.get(EVENT_BODY_ATTRIBUTE)) or attributes
        if output and name == CHOICE_EVENT:
            chat.append(_chat_like_message(_dict(body.get("message")) or body, role="assistant"))
        elif not output and name in EVENT_ROLES:
            chat.append(_chat_like_message(body, role=EVENT_ROLES[name]))
        elif PROMPT_EVENTS.get(name) == ("gen_ai.completion" if output else "gen_ai.prompt"):
            chat.extend(_chat_like(attributes.get(PROMPT_EVENTS[name])))
    return chat


def _agent_prompt(history: Any) -> Value | None:
    """The last user text of a pydantic-ai agent run's `pydantic_ai.all_messages`: the run's prompt."""
    prompts = [
        text
        for message in _genai_messages(history)
        if message.get("role") == "user" and (text := message_text(message))
    ]
    return Value(prompts[-1], TEXT_MIME_TYPE) if prompts else None


def _reply(messages: list[dict[str, Any]]) -> Value:
    """The reply's text when it is all text; otherwise (tool calls, images) the messages as JSON."""
    if all(
        set(message) <= {"role", "content"} and isinstance(message.get("content"), str)
        for message in messages
    ):
        return Value("\n".join(message["content"] for message in messages), TEXT_MIME_TYPE)
    return Value(_compact_json({"messages": messages}), JSON_MIME_TYPE)


def _value(raw: Any) -> Value | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        return Value(_compact_json(raw), JSON_MIME_TYPE)
    parsed = _json(raw)
    return Value(raw, JSON_MIME_TYPE if isinstance(parsed, dict | list) else TEXT_MIME_TYPE)


def _tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    function = {
        "name": name,
        "arguments": arguments
        if isinstance(arguments, str) or arguments is None
        else _compact_json(arguments),
    }
    return {**({"id": call_id} if call_id is not None else {}), "type": "function", "function": function}


def _openai_tool(definition: dict[str, Any]) -> dict[str, Any]:
    if "function" in definition:
        return definition
    function = {key: definition[key] for key in ("name", "description", "parameters") if key in definition}
    return {"type": definition.get("type", "function"), "function": function}


def _image_part(url: Any) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def _role(value: Any) -> str | None:
    # Some SDKs send enum names ("User", "Assistant").
    return value.lower() if isinstance(value, str) else None


def _looks_like_parts(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip().startswith("[")


def at(node: Any, *keys: str) -> Any:
    """`node[k1][k2]...`, or None where a step is missing or not a mapping."""
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _json(value: Any) -> Any:
    """JSON text parsed; anything else (already parsed, or not JSON) as it is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return value


def json_object(value: Any) -> dict[str, Any]:
    """A mapping, or JSON text of one, as a dict; anything else as {}."""
    parsed = _json(value)
    return parsed if isinstance(parsed, dict) else {}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(items: Any) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else _compact_json(value)


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
