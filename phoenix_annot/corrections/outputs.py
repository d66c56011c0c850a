"""What a target's output is, so that its correction is written in the same form, and what a correction
makes of a dataset example's output.

- a span whose model answered in chat messages (an LLM span): the assistant's message, corrected as text;
- a span whose `output.value` is JSON: JSON;
- any other span: its `output.value`, as text;
- a trace: what its root span is;
- a session: the assistant's last answer, a chat message.
"""

import json
from dataclasses import dataclass
from typing import Any

from phoenix_annot.tracing import openinference
from phoenix_annot.tracing.conversations import Turn, first_roots, session_turns
from phoenix_annot.tracing.models import Session, Span, SpanKind, Trace

from .models import Correction, CorrectionFormat


@dataclass(frozen=True)
class CurrentOutput:
    """A target's own output, in the format its correction takes; `value` is a string unless JSON."""

    format: CorrectionFormat
    value: Any

    @property
    def text(self) -> str:
        """The output as the editor shows it, ready to be edited."""
        return output_text(self.format, self.value)


def output_text(output_format: str, value: Any) -> str:
    """An output (or a correction's) as text: JSON indented, text as it is."""
    if output_format == CorrectionFormat.JSON:
        return json.dumps(value, indent=2, ensure_ascii=False)
    return value


def current_output(target: Span | Trace | Session) -> CurrentOutput:
    if isinstance(target, Session):
        return session_output(session_turns([target.pk]).get(target.pk, []))
    if isinstance(target, Trace):
        root = first_roots(Span.objects.filter(trace=target)).get(target.pk)
        return span_output(root) if root else CurrentOutput(CorrectionFormat.TEXT, "")
    return span_output(target)


def session_output(turns: list[Turn]) -> CurrentOutput:
    """A session's output from its turns, oldest first: the last answer."""
    answered = [turn for turn in turns if turn.root is not None]
    return CurrentOutput(CorrectionFormat.MESSAGE, answered[-1].assistant if answered else "")


def span_output(span: Span) -> CurrentOutput:
    if span.span_kind == SpanKind.LLM and (
        messages := openinference.output_messages(span.attributes, span.events)
    ):
        answered = [openinference.message_text(message) for message in messages]
        return CurrentOutput(CorrectionFormat.MESSAGE, "\n\n".join(text for text in answered if text))
    value = openinference.at(span.attributes, "output", "value")
    if openinference.at(span.attributes, "output", "mime_type") == openinference.JSON_MIME_TYPE:
        try:
            return CurrentOutput(CorrectionFormat.JSON, json.loads(value))
        except (TypeError, ValueError):
            pass  # A mislabelled mime type: the text is corrected as text.
    return CurrentOutput(CorrectionFormat.TEXT, "" if value is None else str(value))


def corrected_example_output(correction: Correction) -> dict[str, Any]:
    """The dataset example output a correction stands for, in the shape the target's own output takes there
    (datasets/spans.py and sessions.py): a chat answer for the fine-tuning export, else `output`."""
    if correction.format == CorrectionFormat.MESSAGE:
        return {"messages": [{"role": "assistant", "content": correction.output}]}
    if correction.format == CorrectionFormat.JSON and isinstance(correction.output, dict):
        return correction.output
    return {"output": correction.output}
