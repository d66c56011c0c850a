"""What a row of the Spans and Traces tables shows of a span."""

from django import template

from phoenix_annot.tracing import openinference
from phoenix_annot.tracing.models import Span

register = template.Library()


@register.filter
def input_preview(span: Span) -> str:
    """A model call's input as the last thing the user said, not the request JSON; other inputs as they are.

    Read from `input_value`, which the row has already: the attributes holding the messages are not loaded.
    """
    if "json" not in span.input_mime_type and not span.input_value.lstrip().startswith("{"):
        return span.input_value
    messages = openinference.json_object(span.input_value).get("messages")
    said = [
        text
        for message in (messages if isinstance(messages, list) else [])
        if isinstance(message, dict) and message.get("role") == "user"
        if (text := openinference.message_text(message).strip())
    ]
    return said[-1] if said else span.input_value
