"""How a span becomes dataset example content (PHOENIX_COMPAT.md §6, "Select rows → Add to dataset").

Pure functions over a span's nested attributes; the service fetches the spans, their annotations and their
corrections. LLM messages come from the one conversation reader (`tracing.openinference`, OpenInference or
GenAI attributes) in OpenAI chat shape, so the fine-tuning export can use them as they are.

A row with a corrected output (corrections/) becomes an example whose output is the correction, in the
shape the row's own output has (an assistant chat message for a model's answer), its own output kept in
metadata as `original_output` and the correction described under `correction`. When several reviewers
corrected it, the example takes the gold correction (an adjudicator's), else the latest written; a trace's
root span takes its trace's correction too. "Label from gold" adds `gold`: the row's gold annotations
(identifier `gold`) by name; only an example with at least one has the key.
"""

import json
from collections.abc import Iterable
from typing import Any

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import GOLD_IDENTIFIER, AnnotationBase, SpanAnnotation
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.corrections.models import Correction
from phoenix_annot.corrections.outputs import corrected_example_output
from phoenix_annot.tracing import openinference
from phoenix_annot.tracing.models import Span, SpanKind


def span_example(
    span: Span, annotations: list[SpanAnnotation], *, correction: Correction | None, from_gold: bool
) -> dict[str, dict[str, Any]]:
    """The span's example `input`, `output` and `metadata` (see the module docstring)."""
    return {
        "input": example_input(span),
        **taking(
            output=example_output(span),
            metadata=example_metadata(span, annotations),
            annotations=annotations,
            correction=correction,
            from_gold=from_gold,
        ),
    }


def taking(
    *,
    output: dict[str, Any],
    metadata: dict[str, Any],
    annotations: Iterable[AnnotationBase],
    correction: Correction | None,
    from_gold: bool,
) -> dict[str, dict[str, Any]]:
    """A row's example `output` and `metadata` once its correction and, `from_gold`, its gold labels are
    taken (see the module docstring)."""
    if correction is not None:
        metadata = {
            **metadata,
            "original_output": output,
            "correction": {
                "id": to_global_id("Correction", correction.pk),
                "gold": correction.gold,
                **_writer(correction.user),
                "updated_at": correction.updated_at.isoformat(),
            },
        }
        output = corrected_example_output(correction)
    if from_gold and (gold := _gold_labels(annotations)):
        metadata = {**metadata, "gold": gold}
    return {"output": output, "metadata": metadata}


def _gold_labels(annotations: Iterable[AnnotationBase]) -> dict[str, dict[str, Any]]:
    return {
        annotation.name: {
            "label": annotation.label,
            "score": annotation.score,
            "explanation": annotation.explanation,
        }
        for annotation in annotations
        if annotation.identifier == GOLD_IDENTIFIER
    }


def example_input(span: Span) -> dict[str, Any]:
    if span.span_kind != SpanKind.LLM:
        return _io_value(span.attributes, "input")
    messages = openinference.input_messages(span.attributes, span.events)
    value = {"messages": messages} if messages else _io_value(span.attributes, "input")
    if tools := openinference.tools(span.attributes):
        value["tools"] = tools
    # Template variables become top-level keys (Phoenix #7722), but never hide the messages or tools.
    variables = openinference.json_object(
        openinference.at(span.attributes, "llm", "prompt_template", "variables")
    )
    return {**variables, **value}


def example_output(span: Span) -> dict[str, Any]:
    if span.span_kind == SpanKind.LLM and (
        messages := openinference.output_messages(span.attributes, span.events)
    ):
        return {"messages": messages}
    if span.span_kind == SpanKind.RETRIEVER and (documents := _documents(span.attributes)) is not None:
        return {"documents": documents}
    return _io_value(span.attributes, "output")


def example_metadata(span: Span, annotations: Iterable[SpanAnnotation]) -> dict[str, Any]:
    """The span's `metadata` attribute, its kind, and a snapshot of `annotations` (notes already left out)."""
    raw = openinference.at(span.attributes, "metadata")
    metadata = raw if isinstance(raw, dict) else ({} if raw is None else {"metadata": raw})
    return {**metadata, "span_kind": span.span_kind, "annotations": annotations_snapshot(annotations)}


def annotations_snapshot(annotations: Iterable[AnnotationBase]) -> dict[str, list[dict[str, Any]]]:
    """Annotations (a span's, or a session's) by name, as an example's metadata keeps them."""
    snapshot: dict[str, list[dict[str, Any]]] = {}
    for annotation in annotations:
        snapshot.setdefault(annotation.name, []).append(_annotation(annotation))
    return snapshot


def _annotation(annotation: AnnotationBase) -> dict[str, Any]:
    return {
        "label": annotation.label,
        "score": annotation.score,
        "explanation": annotation.explanation,
        "metadata": annotation.metadata,
        "annotator_kind": annotation.annotator_kind,
        **_writer(annotation.user),
    }


def _writer(user: User | None) -> dict[str, Any]:
    return {
        "user_id": to_global_id("User", user.pk) if user else None,
        "username": user.username if user else None,
        "email": user.email if user else None,
    }


def _io_value(attributes: dict[str, Any], kind: str) -> dict[str, Any]:
    value = openinference.at(attributes, kind, "value")
    if value is None:
        return {}
    if (
        isinstance(value, str)
        and openinference.at(attributes, kind, "mime_type") == openinference.JSON_MIME_TYPE
    ):
        try:
            value = json.loads(value)
        except ValueError:
            # A mislabelled mime type must not lose the text.
            return {kind: value}
        if isinstance(value, dict):
            return value
    return {kind: value}


def _documents(attributes: dict[str, Any]) -> list[dict[str, Any]] | None:
    """`retrieval.documents.N.document` unwrapped, or None when they are not all documents."""
    items = openinference.at(attributes, "retrieval", "documents")
    if not isinstance(items, list):
        return None
    documents = [openinference.at(item, "document") for item in items]
    return documents if all(isinstance(document, dict) and document for document in documents) else None
