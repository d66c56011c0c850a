"""Turn a dataset example's input and output into what the dataset page shows: a conversation when they
hold chat messages, as the trace page shows a span's (the same messages, the same include), else JSON.

Chat shapes read: `{"messages": [...]}` (what spans and sessions become, and OpenAI's fine-tuning files),
`{"message": {...}}`, OpenAI's completion `{"choices": [{"message": {...}}]}`, and one bare message
`{"role": ..., "content": ...}`. A message is an object with a string `role`; a list holding anything else
is not read as a chat, so nothing of it is hidden behind a conversation that leaves it out.
"""

from dataclasses import dataclass
from typing import Any

from phoenix_annot.datasets.models import ExampleRevision

from .span_display import Message, chat_display

CHAT_KEYS = ("messages", "message", "choices")


@dataclass(frozen=True)
class Side:
    """An example's input or output: its messages (none when it is not a chat) and the rest of its keys."""

    messages: list[Message]
    rest: dict[str, Any]


@dataclass(frozen=True)
class ExampleDisplay:
    revision: ExampleRevision
    input: Side
    output: Side


def example_display(revision: ExampleRevision) -> ExampleDisplay:
    input_chat, input_rest = chat_of(revision.input)
    output_chat, output_rest = chat_of(revision.output)
    # One call for both sides, so an answer's tool result names the call the input made.
    input_messages, output_messages = chat_display(input_chat, output_chat)
    return ExampleDisplay(revision, Side(input_messages, input_rest), Side(output_messages, output_rest))


def chat_of(value: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The chat messages `value` holds, and its other keys; no messages when it holds no chat."""
    if not isinstance(value, dict):
        return [], {}
    if _is_message(value) and "content" in value:
        return [value], {}
    for key in CHAT_KEYS:
        if (messages := _messages(key, value.get(key))) is not None:
            return messages, {k: v for k, v in value.items() if k != key}
    return [], value


def _messages(key: str, value: Any) -> list[dict[str, Any]] | None:
    if key == "message":
        return [value] if _is_message(value) else None
    if not isinstance(value, list) or not value:
        return None
    if key == "choices":
        value = [choice.get("message") if isinstance(choice, dict) else None for choice in value]
    return value if all(_is_message(item) for item in value) else None


def _is_message(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("role"), str)
