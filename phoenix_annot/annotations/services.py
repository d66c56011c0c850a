"""Annotation writes. (target, name, identifier) is the key: writing the same key again replaces the row."""

import math
from typing import Any, Required, TypedDict, TypeVar, Unpack

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from phoenix_annot.accounts.models import User
from phoenix_annot.tracing.models import Span, Trace

from .models import (
    NOTE_NAME,
    AnnotationBase,
    AnnotationConfig,
    AnnotationType,
    SpanAnnotation,
    TraceAnnotation,
)

A = TypeVar("A", bound=AnnotationBase)


def annotation_validate(
    *, name: str, label: str | None, score: float | None, config: AnnotationConfig | None
) -> None:
    """Raise ValidationError, naming the field, when the values do not fit the annotation's config."""
    if not name or not name.strip():
        raise ValidationError({"name": "An annotation needs a name."})
    if name == NOTE_NAME:
        raise ValidationError({"name": f"The name '{NOTE_NAME}' is reserved for notes."})
    if score is not None and not math.isfinite(score):
        raise ValidationError({"score": "The score must be a finite number."})
    if config is None:
        return
    if config.type == AnnotationType.CATEGORICAL and label is not None:
        labels = [value["label"] for value in config.values]
        if label not in labels:
            raise ValidationError(
                {"label": f"'{label}' is not a label of '{config.name}'; choose one of: {', '.join(labels)}."}
            )
    if config.type == AnnotationType.CONTINUOUS and score is not None:
        if config.lower_bound is not None and score < config.lower_bound:
            raise ValidationError(
                {"score": f"{score} is below the lower bound {config.lower_bound} of '{config.name}'."}
            )
        if config.upper_bound is not None and score > config.upper_bound:
            raise ValidationError(
                {"score": f"{score} is above the upper bound {config.upper_bound} of '{config.name}'."}
            )


class AnnotationValues(TypedDict, total=False):
    annotator_kind: Required[str]
    source: Required[str]
    label: str | None
    score: float | None
    explanation: str | None
    metadata: dict[str, Any] | None
    user: User | None


def span_annotation_upsert(
    *, span: Span, name: str, identifier: str = "", **values: Unpack[AnnotationValues]
) -> SpanAnnotation:
    """Create or fully replace the span's annotation with this name and identifier."""
    return _annotation_upsert(
        SpanAnnotation, target={"span": span}, name=name, identifier=identifier, values=values
    )


def trace_annotation_upsert(
    *, trace: Trace, name: str, identifier: str = "", **values: Unpack[AnnotationValues]
) -> TraceAnnotation:
    """Create or fully replace the trace's annotation with this name and identifier."""
    return _annotation_upsert(
        TraceAnnotation, target={"trace": trace}, name=name, identifier=identifier, values=values
    )


def _annotation_upsert(
    model: type[A], *, target: dict[str, Any], name: str, identifier: str, values: AnnotationValues
) -> A:
    # Full replacement, as Phoenix does: a field left out of the write is cleared.
    values = {"label": None, "score": None, "explanation": None, "user": None, **values}
    values["metadata"] = values.get("metadata") or {}
    annotation_validate(
        name=name,
        label=values["label"],
        score=values["score"],
        config=AnnotationConfig.objects.filter(name=name).first(),
    )
    annotation = model(**target, name=name, identifier=identifier, **values)
    # Foreign keys are excluded: they are model instances already, and checking them costs queries.
    annotation.full_clean(exclude=[*target, "user"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            stored, _created = model.objects.update_or_create(
                **target, name=name, identifier=identifier, defaults=values
            )
    except IntegrityError:
        # Another writer created the same key between our read and our insert: theirs is there now.
        with transaction.atomic():
            stored, _created = model.objects.update_or_create(
                **target, name=name, identifier=identifier, defaults=values
            )
    return stored
