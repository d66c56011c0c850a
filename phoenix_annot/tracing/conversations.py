"""A session read as a conversation: each of its traces one turn, what the user said and what came back,
read from the trace's root span. The session page shows it; a session added to a dataset becomes it."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from . import openinference
from .models import Span, Trace


@dataclass(frozen=True)
class Turn:
    """One trace of a session as a turn of the conversation: what the user said and what came back."""

    trace: Trace
    root: Span | None
    user: str
    assistant: str


def session_turns(session_pks: Iterable[int]) -> dict[int, list[Turn]]:
    """Session pk -> its turns, oldest first; two queries for all the sessions."""
    session_pks = list(session_pks)
    traces = Trace.objects.filter(session__in=session_pks).order_by("start_time", "pk")
    roots = first_roots(Span.objects.filter(trace__session__in=session_pks))
    turns: dict[int, list[Turn]] = defaultdict(list)
    for trace in traces:
        turns[trace.session_id].append(turn(trace, roots.get(trace.pk)))
    return turns


def first_roots(spans: QuerySet[Span]) -> dict[int, Span]:
    """Trace pk -> its root span (the earliest, should a trace have several)."""
    roots: dict[int, Span] = {}
    for span in spans.filter(parent_id__isnull=True).order_by("-start_time", "-pk"):
        roots[span.trace_id] = span
    return roots


def turn(trace: Trace, root: Span | None) -> Turn:
    """The user's last message and the assistant's answer when the root holds chat messages, else its input
    and output as they are."""
    if root is None:
        return Turn(trace=trace, root=None, user="", assistant="")
    asked = [
        openinference.message_text(message)
        for message in openinference.input_messages(root.attributes, root.events)
        if message.get("role") == "user"
    ]
    answered = [
        openinference.message_text(message)
        for message in openinference.output_messages(root.attributes, root.events)
        if message.get("role") in ("assistant", None)
    ]
    return Turn(
        trace=trace,
        root=root,
        user=asked[-1] if asked else last_user_text(root),
        assistant="\n\n".join(text for text in answered if text) or root.output_value,
    )


def last_user_text(span: Span) -> str:
    """A model call's input as the last thing the user said, not the request JSON; other inputs as they are.

    Read from `input_value` only, so that a table row need not load the attributes holding the messages.
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
