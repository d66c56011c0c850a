"""Annotation writes. (target, name, identifier) is the key: writing the same key again replaces the row."""

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Required, TypedDict, TypeVar, Unpack

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from phoenix_annot.accounts.models import User
from phoenix_annot.core.batching import BATCH_SIZE, chunks
from phoenix_annot.tracing.models import Span, Trace

from .models import (
    NOTE_NAME,
    AnnotationBase,
    AnnotationConfig,
    AnnotationSource,
    AnnotationType,
    AnnotatorKind,
    PendingAnnotation,
    PendingTarget,
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


@dataclass(frozen=True)
class AnnotationWrite:
    """One annotation of a bulk write, addressed by the OpenTelemetry id of its span or trace."""

    target_id: str
    name: str
    annotator_kind: str
    label: str | None = None
    score: float | None = None
    explanation: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    identifier: str = ""


class MissingTargets(Exception):
    def __init__(self, ids: list[str]) -> None:
        super().__init__(", ".join(ids))
        self.ids = ids


UPSERT_FIELDS = [
    "label",
    "score",
    "explanation",
    "metadata",
    "annotator_kind",
    "source",
    "user",
    "updated_at",
]


def span_annotations_upsert(
    *, writes: Sequence[AnnotationWrite], source: str, user: User | None, keep_missing: bool = False
) -> list[int | None]:
    """Validate all, then upsert all in one transaction; the stored ids in input order.

    Spans not stored yet raise MissingTargets, or with `keep_missing` wait as pending annotations (their
    id is None) and are applied when the span is ingested.
    """
    return _bulk_upsert(
        writes,
        model=SpanAnnotation,
        target_model=Span,
        target_field=PendingTarget.SPAN,
        source=source,
        user=user,
        keep_missing=keep_missing,
    )


def trace_annotations_upsert(
    *, writes: Sequence[AnnotationWrite], source: str, user: User | None, keep_missing: bool = False
) -> list[int | None]:
    """Like span_annotations_upsert, for traces."""
    return _bulk_upsert(
        writes,
        model=TraceAnnotation,
        target_model=Trace,
        target_field=PendingTarget.TRACE,
        source=source,
        user=user,
        keep_missing=keep_missing,
    )


def pending_annotations_apply(*, span_ids: Iterable[str], trace_ids: Iterable[str]) -> int:
    """Turn the pending annotations of these (just ingested) spans and traces into annotations.

    Returns how many were applied.
    """
    waiting = PendingAnnotation.objects.filter(expires_at__gt=timezone.now())
    if not waiting.exists():
        # The usual case: one cheap query per ingest, whatever its size.
        return 0
    pending: list[PendingAnnotation] = []
    for target, ids in ((PendingTarget.SPAN, list(span_ids)), (PendingTarget.TRACE, list(trace_ids))):
        for chunk in chunks(ids):
            pending += waiting.filter(target=target, target_id__in=chunk)
    if not pending:
        return 0
    groups: dict[tuple[str, int | None], list[PendingAnnotation]] = {}
    for row in pending:
        groups.setdefault((row.target, row.user_id), []).append(row)
    upserts = {PendingTarget.SPAN: span_annotations_upsert, PendingTarget.TRACE: trace_annotations_upsert}
    with transaction.atomic():
        for (target, user_id), rows in groups.items():
            user = User.objects.filter(pk=user_id).first() if user_id else None
            upserts[target](
                writes=[_write_from_pending(row) for row in rows], source=AnnotationSource.API, user=user
            )
        PendingAnnotation.objects.filter(pk__in=[row.pk for row in pending]).delete()
    return len(pending)


def _write_from_pending(row: PendingAnnotation) -> AnnotationWrite:
    return AnnotationWrite(
        target_id=row.target_id,
        name=row.name,
        annotator_kind=row.annotator_kind,
        label=row.label,
        score=row.score,
        explanation=row.explanation,
        metadata=row.metadata,
        identifier=row.identifier,
    )


def _bulk_upsert(
    writes: Sequence[AnnotationWrite],
    *,
    model: type[AnnotationBase],
    target_model: type[Span] | type[Trace],
    target_field: PendingTarget,
    source: str,
    user: User | None,
    keep_missing: bool,
) -> list[int | None]:
    _validate_writes(writes)
    key_field = f"{target_field}_id"
    target_ids = sorted({write.target_id for write in writes})
    targets: dict[str, int] = {}
    for chunk in chunks(target_ids):
        targets.update(
            target_model.objects.filter(**{f"{key_field}__in": chunk}).values_list(key_field, "pk")
        )
    missing = [target_id for target_id in target_ids if target_id not in targets]
    if missing and not keep_missing:
        raise MissingTargets(missing)
    # Last write of a key wins, as when the requests arrive one after another.
    rows = {
        (targets[w.target_id], w.name, w.identifier): model(
            **{f"{target_field}_id": targets[w.target_id]}, **_row_values(w), source=source, user=user
        )
        for w in writes
        if w.target_id in targets
    }
    with transaction.atomic():
        stored = model.objects.bulk_create(
            list(rows.values()),
            update_conflicts=True,
            unique_fields=[target_field, "name", "identifier"],
            update_fields=UPSERT_FIELDS,
            batch_size=BATCH_SIZE,
        )
        if missing:
            _store_pending([w for w in writes if w.target_id not in targets], target=target_field, user=user)
    ids = {(getattr(row, f"{target_field}_id"), row.name, row.identifier): row.pk for row in stored}
    return [
        ids[(targets[w.target_id], w.name, w.identifier)] if w.target_id in targets else None for w in writes
    ]


def _row_values(write: AnnotationWrite) -> dict[str, Any]:
    return {
        "name": write.name,
        "label": write.label,
        "score": write.score,
        "explanation": write.explanation,
        "metadata": write.metadata or {},
        "annotator_kind": write.annotator_kind,
        "identifier": write.identifier,
    }


def _validate_writes(writes: Sequence[AnnotationWrite]) -> None:
    configs = {c.name: c for c in AnnotationConfig.objects.filter(name__in={w.name for w in writes})}
    problems: list[str] = []
    for index, write in enumerate(writes):
        if write.annotator_kind not in AnnotatorKind.values:
            problems.append(
                f"data[{index}].annotator_kind: {write.annotator_kind!r} is not one of LLM, CODE, HUMAN"
            )
            continue
        try:
            annotation_validate(
                name=write.name, label=write.label, score=write.score, config=configs.get(write.name)
            )
        except ValidationError as error:
            problems += [
                f"data[{index}].{name}: {' '.join(messages)}" for name, messages in error.message_dict.items()
            ]
    if problems:
        raise ValidationError(problems)


def _store_pending(writes: Sequence[AnnotationWrite], *, target: PendingTarget, user: User | None) -> None:
    now = timezone.now()
    PendingAnnotation.objects.filter(expires_at__lte=now).delete()
    expires_at = now + timedelta(seconds=settings.PENDING_ANNOTATION_TTL_SECONDS)
    rows = {
        (w.target_id, w.name, w.identifier): PendingAnnotation(
            target=target, target_id=w.target_id, **_row_values(w), user=user, expires_at=expires_at
        )
        for w in writes
    }
    PendingAnnotation.objects.bulk_create(
        list(rows.values()),
        update_conflicts=True,
        unique_fields=["target", "target_id", "name", "identifier"],
        update_fields=[
            "label",
            "score",
            "explanation",
            "metadata",
            "annotator_kind",
            "user",
            "received_at",
            "expires_at",
        ],
        batch_size=BATCH_SIZE,
    )


def span_annotation_note_add(
    *, span_id: str, text: str, identifier: str = "", user: User | None
) -> SpanAnnotation:
    """A note on a span: appended under a fresh identifier, or replacing the note of a given identifier."""
    span = Span.objects.filter(span_id=span_id).first()
    if span is None:
        raise MissingTargets([span_id])
    return _note_upsert(
        SpanAnnotation, {"span": span}, "px-span-note", text=text, identifier=identifier, user=user
    )


def trace_annotation_note_add(
    *, trace_id: str, text: str, identifier: str = "", user: User | None
) -> TraceAnnotation:
    """A note on a whole trace, like a span note."""
    trace = Trace.objects.filter(trace_id=trace_id).first()
    if trace is None:
        raise MissingTargets([trace_id])
    return _note_upsert(
        TraceAnnotation, {"trace": trace}, "px-trace-note", text=text, identifier=identifier, user=user
    )


def _note_upsert(
    model: type[A], target: dict[str, Any], prefix: str, *, text: str, identifier: str, user: User | None
) -> A:
    annotation, _created = model.objects.update_or_create(
        **target,
        name=NOTE_NAME,
        identifier=identifier or f"{prefix}:{uuid.uuid4()}",
        defaults={
            "explanation": text,
            "annotator_kind": AnnotatorKind.HUMAN,
            "source": AnnotationSource.API,
            "user": user,
            "label": None,
            "score": None,
            "metadata": {},
        },
    )
    return annotation
