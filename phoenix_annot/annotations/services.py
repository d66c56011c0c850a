"""Annotation writes. (target, name, identifier) is the key: writing the same key again replaces the row.

Every write and delete goes through the ownership rule (`ownership.py`): a refused one changes nothing.
"""

import logging
import math
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Required, TypedDict, TypeVar, Unpack

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from phoenix_annot.accounts.access import writable_project_pks
from phoenix_annot.accounts.models import User
from phoenix_annot.core.batching import BATCH_SIZE, chunks
from phoenix_annot.tracing.models import Session, Span, Trace

from .configs import config_for_project, configs_for_projects
from .history import EventTarget, change_event, event_values, events_append
from .locks import rows_lock
from .models import (
    EVENT_VALUE_FIELDS,
    GOLD_IDENTIFIER,
    NOTE_NAME,
    AnnotationBase,
    AnnotationConfig,
    AnnotationEvent,
    AnnotationSource,
    AnnotationType,
    AnnotatorKind,
    DocumentAnnotation,
    EventVia,
    PendingAnnotation,
    PendingTarget,
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
    reviewer_identifier,
)
from .ownership import Held, Refusal, may_delete, may_write_gold, not_yours, unrestricted, write_refusal
from .retrieval import (
    RELEVANCE_NAME,
    document_count,
    relevance_choices,
    retrieval_metrics_refresh,
    spans_lock,
)

A = TypeVar("A", bound=AnnotationBase)

logger = logging.getLogger(__name__)


# Pydantic's words for a bad Literal, which Phoenix users see: "Input should be 'HUMAN', 'LLM' or 'CODE'".
ANNOTATOR_KIND_MESSAGE = (
    f"Input should be {', '.join(map(repr, AnnotatorKind.values[:-1]))} or {AnnotatorKind.values[-1]!r}"
)
EMPTY_RESULT_MESSAGE = "An annotation needs a label, a score or an explanation."


def result_is_empty(*, label: str | None, score: float | None, explanation: str | None) -> bool:
    """No label, no score, no explanation: Phoenix would store an empty row, which tells nobody anything."""
    return not label and score is None and not explanation


def annotation_validate(
    *,
    name: str,
    label: str | None,
    score: float | None,
    explanation: str | None,
    config: AnnotationConfig | None,
) -> None:
    """Raise ValidationError, naming the field, when the values are empty or do not fit the config.

    `config` is the one that applies where the annotation is written (`configs.config_for_project`).
    """
    if not name or not name.strip():
        raise ValidationError({"name": "An annotation needs a name."})
    if name == NOTE_NAME:
        raise ValidationError({"name": f"The name '{NOTE_NAME}' is reserved for notes."})
    if score is not None and not math.isfinite(score):
        raise ValidationError({"score": "The score must be a finite number."})
    if result_is_empty(label=label, score=score, explanation=explanation):
        raise ValidationError({"result": EMPTY_RESULT_MESSAGE})
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
    *,
    span: Span,
    name: str,
    identifier: str = "",
    via: str = EventVia.PAGE,
    **values: Unpack[AnnotationValues],
) -> SpanAnnotation:
    """Create or fully replace the span's annotation with this name and identifier."""
    return _annotation_upsert(
        SpanAnnotation, target={"span": span}, name=name, identifier=identifier, values=values, via=via
    )


def trace_annotation_upsert(
    *,
    trace: Trace,
    name: str,
    identifier: str = "",
    via: str = EventVia.PAGE,
    **values: Unpack[AnnotationValues],
) -> TraceAnnotation:
    """Create or fully replace the trace's annotation with this name and identifier."""
    return _annotation_upsert(
        TraceAnnotation, target={"trace": trace}, name=name, identifier=identifier, values=values, via=via
    )


def session_annotation_upsert(
    *,
    session: Session,
    name: str,
    identifier: str = "",
    via: str = EventVia.PAGE,
    **values: Unpack[AnnotationValues],
) -> SessionAnnotation:
    """Create or fully replace the session's annotation with this name and identifier."""
    return _annotation_upsert(
        SessionAnnotation,
        target={"session": session},
        name=name,
        identifier=identifier,
        values=values,
        via=via,
    )


def document_annotation_upsert(
    *,
    span: Span,
    document_position: int,
    name: str,
    identifier: str = "",
    via: str = EventVia.PAGE,
    **values: Unpack[AnnotationValues],
) -> DocumentAnnotation:
    """Create or fully replace the annotation of this name and identifier of one of the span's documents,
    and the span's retrieval metrics with it; a position the span does not have is a ValidationError."""
    count = document_count(_documents(span))
    if not 0 <= document_position < count:
        message = f"Span {span.span_id} has no document {document_position} ({count} retrieved)."
        raise ValidationError({"document_position": message})
    with transaction.atomic():
        annotation = _annotation_upsert(
            DocumentAnnotation,
            target={"span": span},
            position={"document_position": document_position},
            name=name,
            identifier=identifier,
            values=values,
            via=via,
        )
        retrieval_metrics_refresh(span_pks=[span.pk])
    return annotation


def document_relevance_set(
    *, span: Span, document_position: int, label: str, user: User, via: str = EventVia.PAGE
) -> DocumentAnnotation:
    """A reviewer's own relevance of one retrieved document: one of the project's relevance choices
    (`retrieval.relevance_choices`), stored with the score it stands for."""
    configs = AnnotationConfig.objects.filter(projects=span.project_id, name=RELEVANCE_NAME)
    choices = {choice.label: choice.score for choice in relevance_choices(configs)}
    if label not in choices:
        raise ValidationError({"label": f"choose one of {', '.join(choices)}."})
    return document_annotation_upsert(
        span=span,
        document_position=document_position,
        name=RELEVANCE_NAME,
        identifier=reviewer_identifier(user.pk),
        label=label,
        score=choices[label],
        annotator_kind=AnnotatorKind.HUMAN,
        source=AnnotationSource.APP,
        user=user,
        via=via,
    )


def _documents(span: Span) -> Any:
    attributes = span.attributes if isinstance(span.attributes, dict) else {}
    retrieval = attributes.get("retrieval")
    return retrieval.get("documents") if isinstance(retrieval, dict) else None


def _annotation_upsert(
    model: type[A],
    *,
    target: dict[str, Any],
    name: str,
    identifier: str,
    values: AnnotationValues,
    via: str,
    position: dict[str, int] | None = None,
) -> A:
    # Full replacement, as Phoenix does: a field left out of the write is cleared.
    values = {"label": None, "score": None, "explanation": None, "user": None, **values}
    values["metadata"] = values.get("metadata") or {}
    (target_obj,) = target.values()
    annotation_validate(
        name=name,
        label=values["label"],
        score=values["score"],
        explanation=values["explanation"],
        config=config_for_project(name=name, project_id=target_obj.project_id),
    )
    position = position or {}
    annotation = model(**target, **position, name=name, identifier=identifier, **values)
    # Foreign keys are excluded: they are model instances already, and checking them costs queries.
    annotation.full_clean(exclude=[*target, "user"], validate_unique=False, validate_constraints=False)
    return _owned_upsert(
        model, target, name=name, identifier=identifier, values=values, via=via, position=position
    )


def _owned_upsert(
    model: type[A],
    target: dict[str, Any],
    *,
    name: str,
    identifier: str,
    values: dict[str, Any],
    via: str,
    position: dict[str, int] | None = None,
) -> A:
    """Create the row of this key, or replace it when the ownership rule lets `values["user"]` do so; and
    append the change to the history."""
    key = {"name": name, "identifier": identifier, **(position or {})}
    try:
        return _owned_upsert_once(model, target, key=key, values=values, via=via)
    except IntegrityError:
        # Another writer created the same key between our read and our insert: theirs is there now.
        return _owned_upsert_once(model, target, key=key, values=values, via=via)


def _owned_upsert_once(
    model: type[A], target: dict[str, Any], *, key: dict[str, Any], values: dict[str, Any], via: str
) -> A:
    name, identifier = key["name"], key["identifier"]
    ((kind, target_obj),) = target.items()
    with transaction.atomic():
        # As the bulk writers do (`_bulk_upsert`), so that the history sees their rows and they see ours.
        rows_lock(type(target_obj), [target_obj.pk])
        row_key = {**target, **key}
        stored = model.objects.select_for_update().filter(**row_key).first()
        refusal = write_refusal(
            actor=values["user"],
            where=f"{kind} {getattr(target_obj, f'{kind}_id')}{_position(key.get('document_position'))} "
            f"({_names(name, identifier)})",
            identifier=identifier,
            annotator_kind=values["annotator_kind"],
            held=None if stored is None else Held.of(stored),
            gold_allowed=identifier == GOLD_IDENTIFIER
            and may_write_gold(actor=values["user"], project_id=target_obj.project_id),
        )
        if refusal is not None:
            raise not_yours([refusal])
        before = None if stored is None else event_values(stored)
        if stored is None:
            annotation = model.objects.create(**row_key, **values)
        else:
            annotation = stored
            for field_name, value in values.items():
                setattr(annotation, field_name, value)
            annotation.save()
        where = _event_target(kind, target_obj, key.get("document_position"))
        events_append([_saved_event(where, annotation, before=before, user=values["user"], via=via)])
        return annotation


def _event_target(fk: str, target: Span | Trace | Session, document_position: int | None) -> EventTarget:
    """`target` (a document's span) as the events of its annotations name it."""
    kind = PendingTarget(fk) if document_position is None else PendingTarget.DOCUMENT
    return EventTarget(kind, target.pk, getattr(target, f"{fk}_id"), target.project_id, document_position)


def _names(name: str, identifier: str) -> str:
    return f"name '{name}', identifier '{identifier}'"


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
    document_position: int | None = None


class MissingTargets(Exception):
    def __init__(self, ids: list[str]) -> None:
        super().__init__(", ".join(ids))
        self.ids = ids


class WaitingRoomFull(Exception):
    """sync=false annotations for targets not stored yet, past what one writer may have waiting."""

    def __init__(self, *, added: int, limit: int) -> None:
        super().__init__(
            f"{added} more annotations would wait for spans or traces not stored yet, past the {limit} one "
            "writer may have waiting (PHOENIX_ANNOT_PENDING_ANNOTATIONS_MAX_PER_WRITER); nothing of this "
            "request was stored"
        )


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
    *,
    writes: Sequence[AnnotationWrite],
    source: str,
    user: User | None,
    keep_missing: bool = False,
    via: str = EventVia.API,
) -> list[int | None]:
    """Validate all, then upsert all in one transaction; the stored ids in input order.

    Spans not stored yet raise MissingTargets, or with `keep_missing` wait as pending annotations (their
    id is None) and are applied when the span is ingested.
    """
    return _bulk_upsert(
        writes, target=PendingTarget.SPAN, source=source, user=user, keep_missing=keep_missing, via=via
    )


def trace_annotations_upsert(
    *,
    writes: Sequence[AnnotationWrite],
    source: str,
    user: User | None,
    keep_missing: bool = False,
    via: str = EventVia.API,
) -> list[int | None]:
    """Like span_annotations_upsert, for traces."""
    return _bulk_upsert(
        writes, target=PendingTarget.TRACE, source=source, user=user, keep_missing=keep_missing, via=via
    )


def session_annotations_upsert(
    *,
    writes: Sequence[AnnotationWrite],
    source: str,
    user: User | None,
    keep_missing: bool = False,
    via: str = EventVia.API,
) -> list[int | None]:
    """Like span_annotations_upsert, for sessions, addressed by their session.id."""
    return _bulk_upsert(
        writes, target=PendingTarget.SESSION, source=source, user=user, keep_missing=keep_missing, via=via
    )


def document_annotations_upsert(
    *,
    writes: Sequence[AnnotationWrite],
    source: str,
    user: User | None,
    keep_missing: bool = False,
    via: str = EventVia.API,
) -> list[int | None]:
    """Like span_annotations_upsert, for retrieved documents: each write names its span and its
    `document_position`, which must fall within the span's documents (else DocumentOutOfBounds)."""
    return _bulk_upsert(
        writes, target=PendingTarget.DOCUMENT, source=source, user=user, keep_missing=keep_missing, via=via
    )


def pending_annotations_apply(
    *, span_ids: Iterable[str], trace_ids: Iterable[str], session_ids: Iterable[str] = ()
) -> int:
    """Turn the pending annotations of these (just ingested) spans, traces and sessions into annotations.

    A pending annotation was checked without a config, its project being unknown until now; one that does
    not fit a config of its target's project (or, for a document, whose position the span does not have)
    is dropped, as Phoenix drops what its queue cannot insert, so that it never fails the ingest. One whose
    writer may not write, at this moment, to the project its target landed in (accounts/access.py: hidden
    from them, or viewed only) is not applied and stays pending, in the admin's list (marked refused), until
    it expires like any other: it is logged, and applied after all if spans joining its trace or session
    arrive once the writer may write there. Returns how many were applied.
    """
    waiting = PendingAnnotation.objects.filter(expires_at__gt=timezone.now())
    if not waiting.exists():
        # The usual case: one cheap query per ingest, whatever its size.
        return 0
    span_ids = list(span_ids)
    pending: list[PendingAnnotation] = []
    for targets, ids in (
        ((PendingTarget.SPAN, PendingTarget.DOCUMENT), span_ids),
        ((PendingTarget.TRACE,), list(trace_ids)),
        ((PendingTarget.SESSION,), list(session_ids)),
    ):
        for chunk in chunks(ids):
            pending += waiting.filter(target__in=targets, target_id__in=chunk)
    if not pending:
        return 0
    writers = User.objects.in_bulk({row.user_id for row in pending if row.user_id is not None})
    allowed = _writable_pending(pending, writers)
    if refused := {row.pk for row in pending} - {row.pk for row in allowed}:
        PendingAnnotation.objects.filter(pk__in=refused).update(refused_at=timezone.now())
        logger.warning(
            "%d pending annotations not applied: their writers (%s) may not write to the projects their "
            "targets were stored in; they stay pending until they expire",
            len(refused),
            ", ".join(
                sorted({str(writers.get(row.user_id, "no user")) for row in pending if row.pk in refused})
            ),
        )
    groups: dict[tuple[str, int | None], list[PendingAnnotation]] = {}
    for row in allowed:
        groups.setdefault((row.target, row.user_id), []).append(row)
    applied = 0
    with transaction.atomic():
        for (target, user_id), rows in groups.items():
            ids = _bulk_upsert(
                [_write_from_pending(row) for row in rows],
                target=PendingTarget(target),
                source=AnnotationSource.API,
                user=writers.get(user_id) if user_id else None,
                keep_missing=False,
                via=EventVia.INGEST,
                drop_invalid=True,
            )
            applied += sum(pk is not None for pk in ids)
        PendingAnnotation.objects.filter(pk__in=[row.pk for row in allowed]).delete()
    return applied


def _writable_pending(pending: list[PendingAnnotation], writers: dict[int, User]) -> list[PendingAnnotation]:
    """Those of `pending` whose writers may write to the projects their (stored) targets are in: one query
    per kind of target and one per writer, however many annotations wait."""
    projects: dict[tuple[str, str], int] = {}
    for target in sorted({row.target for row in pending}):
        spec = TARGETS[PendingTarget(target)]
        for chunk in chunks(sorted({row.target_id for row in pending if row.target == target})):
            found = spec.target_model.objects.filter(**{f"{spec.key_field}__in": chunk})
            for key, project_id in found.values_list(spec.key_field, "project_id"):
                projects[(target, key)] = project_id
    wanted: dict[int | None, set[int]] = {}
    for row in pending:
        if (row.target, row.target_id) in projects:
            wanted.setdefault(row.user_id, set()).add(projects[(row.target, row.target_id)])
    writable = {
        user_id: writable_project_pks(writers.get(user_id) or AnonymousUser(), project_pks)
        for user_id, project_pks in wanted.items()
    }
    return [
        row
        for row in pending
        if projects.get((row.target, row.target_id)) in writable.get(row.user_id, set())
    ]


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
        document_position=row.document_position if row.target == PendingTarget.DOCUMENT else None,
    )


@dataclass(frozen=True)
class Target:
    """Where annotations of one kind go: their model, the model of what they annotate (found by its
    OpenTelemetry or session id, a field named like the foreign key's column: `span_id`), and whether a
    document position is part of their key."""

    model: type[AnnotationBase]
    target_model: type[Span] | type[Trace] | type[Session]
    fk: str
    positioned: bool = False

    @property
    def key_field(self) -> str:
        return f"{self.fk}_id"

    @property
    def unique_fields(self) -> list[str]:
        return [self.fk, *self.position_fields, "name", "identifier"]

    @property
    def position_fields(self) -> list[str]:
        return ["document_position"] if self.positioned else []


TARGETS: dict[PendingTarget, Target] = {
    PendingTarget.SPAN: Target(SpanAnnotation, Span, "span"),
    PendingTarget.TRACE: Target(TraceAnnotation, Trace, "trace"),
    PendingTarget.SESSION: Target(SessionAnnotation, Session, "session"),
    PendingTarget.DOCUMENT: Target(DocumentAnnotation, Span, "span", positioned=True),
}


class DocumentOutOfBounds(Exception):
    """Document annotations whose positions their (stored) spans do not have; nothing was written."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _key(write: AnnotationWrite) -> tuple[str, int | None, str, str]:
    return (write.target_id, write.document_position, write.name, write.identifier)


def _bulk_upsert(
    writes: Sequence[AnnotationWrite],
    *,
    target: PendingTarget,
    source: str,
    user: User | None,
    keep_missing: bool,
    via: str,
    drop_invalid: bool = False,
) -> list[int | None]:
    """Upsert the writes whose targets exist, in one transaction; their ids in input order, None for the rest.

    Invalid writes raise ValidationError (all problems named, nothing written), or with `drop_invalid` are
    left out; then missing targets raise MissingTargets unless `keep_missing` stores them as pending, and
    document positions a stored span does not have raise DocumentOutOfBounds (or are left out). Writes
    the ownership rule refuses `user` (over a stored or a pending row) raise NotYours, nothing written, or
    with `drop_invalid` are left out.
    """
    spec = TARGETS[target]
    target_ids = sorted({write.target_id for write in writes})
    targets: dict[str, int] = {}
    projects: dict[str, int] = {}
    for chunk in chunks(target_ids):
        for key, pk, project_id in spec.target_model.objects.filter(
            **{f"{spec.key_field}__in": chunk}
        ).values_list(spec.key_field, "pk", "project_id"):
            targets[key], projects[key] = pk, project_id
    problems = _problems(writes, projects)
    if problems and not drop_invalid:
        raise ValidationError([problem for found in problems.values() for problem in found])
    missing = [target_id for target_id in target_ids if target_id not in targets]
    if missing and not keep_missing:
        raise MissingTargets(missing)
    valid = [(index, w) for index, w in enumerate(writes) if index not in problems]
    if spec.positioned:
        out_of_bounds = _out_of_bounds(valid, targets)
        if out_of_bounds and not drop_invalid:
            raise DocumentOutOfBounds(list(out_of_bounds.values()))
        valid = [(index, w) for index, w in valid if index not in out_of_bounds]
    with transaction.atomic():
        # The targets stay locked until the transaction ends: a row another writer creates between the
        # reads below and the upsert would otherwise be overwritten unchecked (the upsert's ON CONFLICT cannot
        # be told whose row it may update) and be missing from the history.
        rows_lock(spec.target_model, (targets[w.target_id] for _index, w in valid if w.target_id in targets))
        stored_rows = _stored_rows(valid, spec=spec, targets=targets)
        refusals = _refusals(
            valid, target=target, targets=targets, projects=projects, stored_rows=stored_rows, user=user
        )
        if refusals and not drop_invalid:
            raise not_yours(refusals.values())
        valid = [(index, w) for index, w in valid if index not in refusals]
        # Last write of a key wins, as when the requests arrive one after another.
        rows = {
            _key(w): spec.model(
                **{spec.key_field: targets[w.target_id]},
                **_row_values(w, spec.position_fields),
                source=source,
                user=user,
            )
            for _index, w in valid
            if w.target_id in targets
        }
        spec.model.objects.bulk_create(
            list(rows.values()),
            update_conflicts=True,
            unique_fields=spec.unique_fields,
            update_fields=UPSERT_FIELDS,
            batch_size=BATCH_SIZE,
        )
        events_append(
            _upsert_events(
                rows, stored_rows, target=target, targets=targets, projects=projects, user=user, via=via
            )
        )
        if spec.positioned:
            retrieval_metrics_refresh(
                span_pks={targets[w.target_id] for _i, w in valid if w.target_id in targets}
            )
        if missing:
            _store_pending([w for _index, w in valid if w.target_id not in targets], target=target, user=user)
    result: list[int | None] = [None] * len(writes)
    for index, w in valid:
        if w.target_id in targets:
            result[index] = rows[_key(w)].pk
    return result


def _out_of_bounds(valid: list[tuple[int, AnnotationWrite]], targets: dict[str, int]) -> dict[int, str]:
    """Phoenix's words for each write, by index, whose document position its stored span does not have;
    a negative position is refused also for a span not stored yet, which no span can have."""
    span_pks = sorted({targets[w.target_id] for _index, w in valid if w.target_id in targets})
    counts: dict[int, int] = {}
    for chunk in chunks(span_pks):
        for pk, documents in Span.objects.filter(pk__in=chunk).values_list(
            "pk", "attributes__retrieval__documents"
        ):
            counts[pk] = document_count(documents)
    refused = {}
    for index, w in valid:
        position = w.document_position or 0
        count = counts[targets[w.target_id]] if w.target_id in targets else None
        if position < 0 or (count is not None and position >= count):
            most = "unknown until the span is stored" if count is None else count - 1
            refused[index] = (
                f"Document position {position} is out of bounds for span {w.target_id} (max: {most})"
            )
    return refused


def _stored_rows(
    valid: list[tuple[int, AnnotationWrite]], *, spec: Target, targets: dict[str, int]
) -> dict[tuple[str, int | None, str, str], dict[str, Any]]:
    """The stored annotations of the writes' names on their (stored) targets, locked, by write key: what
    the ownership rule checks and the history records as the values before."""
    otel_ids = {targets[w.target_id]: w.target_id for _index, w in valid if w.target_id in targets}
    names = {w.name for _index, w in valid}
    stored: dict[tuple[str, int | None, str, str], dict[str, Any]] = {}
    for chunk in chunks(sorted(otel_ids)):
        found = spec.model.objects.select_for_update().filter(
            **{f"{spec.key_field}__in": chunk}, name__in=names
        )
        for row in found.values(
            "pk", spec.key_field, "name", "identifier", "user_id", *EVENT_VALUE_FIELDS, *spec.position_fields
        ):
            position = row["document_position"] if spec.positioned else None
            stored[(otel_ids[row[spec.key_field]], position, row["name"], row["identifier"])] = row
    return stored


def _refusals(
    valid: list[tuple[int, AnnotationWrite]],
    *,
    target: PendingTarget,
    targets: dict[str, int],
    projects: dict[str, int],
    stored_rows: dict[tuple[str, int | None, str, str], dict[str, Any]],
    user: User | None,
) -> dict[int, Refusal]:
    """What the ownership rule refuses `user`, by index: each write is checked against the stored row of its
    key (`stored_rows`) or, for a target not stored yet, the pending one."""
    if unrestricted(user):
        return {}
    gold_projects = {projects.get(w.target_id) for _index, w in valid if w.identifier == GOLD_IDENTIFIER}
    gold_allowed = {pk: may_write_gold(actor=user, project_id=pk) for pk in gold_projects}
    held = {
        key: Held(row["user_id"], row["identifier"], row["annotator_kind"])
        for key, row in stored_rows.items()
    }
    waiting_ids = sorted({w.target_id for _index, w in valid if w.target_id not in targets})
    waiting = PendingAnnotation.objects.filter(target=target, expires_at__gt=timezone.now())
    for chunk in chunks(waiting_ids):
        for row in waiting.select_for_update().filter(target_id__in=chunk):
            position = row.document_position if target == PendingTarget.DOCUMENT else None
            held[(row.target_id, position, row.name, row.identifier)] = Held.of(row)
    refusals = {}
    for index, w in valid:
        refusal = write_refusal(
            actor=user,
            where=f"data[{index}] ({target} {w.target_id}{_position(w.document_position)}, "
            f"{_names(w.name, w.identifier)})",
            identifier=w.identifier,
            annotator_kind=w.annotator_kind,
            held=held.get(_key(w)),
            gold_allowed=gold_allowed.get(projects.get(w.target_id), False),
        )
        if refusal is not None:
            refusals[index] = refusal
    return refusals


def _upsert_events(
    rows: dict[tuple[str, int | None, str, str], AnnotationBase],
    stored_rows: dict[tuple[str, int | None, str, str], dict[str, Any]],
    *,
    target: PendingTarget,
    targets: dict[str, int],
    projects: dict[str, int],
    user: User | None,
    via: str,
) -> Iterator[AnnotationEvent | None]:
    """The history of a bulk upsert: each upserted row (by write key) against the stored one, if any."""
    for key, row in rows.items():
        target_id, position, _name, _identifier = key
        where = EventTarget(target, targets[target_id], target_id, projects[target_id], position)
        yield _saved_event(where, row, before=stored_rows.get(key), user=user, via=via)


def _position(document_position: int | None) -> str:
    return "" if document_position is None else f" document {document_position}"


def _row_values(write: AnnotationWrite, position_fields: list[str]) -> dict[str, Any]:
    return {
        "name": write.name,
        "label": write.label,
        "score": write.score,
        "explanation": write.explanation,
        "metadata": write.metadata or {},
        "annotator_kind": write.annotator_kind,
        "identifier": write.identifier,
        **{name: write.document_position for name in position_fields},
    }


def _problems(writes: Sequence[AnnotationWrite], projects: dict[str, int]) -> dict[int, list[str]]:
    """What is wrong with each write, by index, checked against the configs of its target's project.

    A target not stored yet has no project: its writes are checked without a config.
    """
    configs = configs_for_projects(names={w.name for w in writes}, project_ids=projects.values())
    problems: dict[int, list[str]] = {}
    for index, write in enumerate(writes):
        if write.annotator_kind not in AnnotatorKind.values:
            problems[index] = [f"data[{index}].annotator_kind: {ANNOTATOR_KIND_MESSAGE}"]
            continue
        project_id = projects.get(write.target_id)
        try:
            annotation_validate(
                name=write.name,
                label=write.label,
                score=write.score,
                explanation=write.explanation,
                config=None if project_id is None else configs.get((project_id, write.name)),
            )
        except ValidationError as error:
            problems[index] = [
                f"data[{index}].{name}: {' '.join(messages)}" for name, messages in error.message_dict.items()
            ]
    return problems


def _store_pending(writes: Sequence[AnnotationWrite], *, target: PendingTarget, user: User | None) -> None:
    now = timezone.now()
    PendingAnnotation.objects.filter(expires_at__lte=now).delete()
    expires_at = now + timedelta(seconds=settings.PENDING_ANNOTATION_TTL_SECONDS)
    rows = {
        _key(w): PendingAnnotation(
            target=target,
            target_id=w.target_id,
            **_row_values(w, []),
            document_position=w.document_position or 0,
            user=user,
            expires_at=expires_at,
        )
        for w in writes
    }
    _check_waiting_room(rows.values(), target=target, user=user)
    PendingAnnotation.objects.bulk_create(
        list(rows.values()),
        update_conflicts=True,
        unique_fields=["target", "target_id", "document_position", "name", "identifier"],
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


def _check_waiting_room(
    rows: Iterable[PendingAnnotation], *, target: PendingTarget, user: User | None
) -> None:
    """Refuse the writes when they would leave `user` (all writers without a user are one) more annotations
    waiting than PENDING_ANNOTATIONS_MAX_PER_WRITER. A waiting annotation's project is unknown until its span
    arrives, so the cap is per writer; re-sent keys take no more room."""
    keys = {(row.target_id, row.document_position, row.name, row.identifier) for row in rows}
    stored: set[tuple[str, int, str, str]] = set()
    for chunk in chunks(sorted({target_id for target_id, *_rest in keys})):
        stored.update(
            PendingAnnotation.objects.filter(target=target, target_id__in=chunk).values_list(
                "target_id", "document_position", "name", "identifier"
            )
        )
    added = len(keys - stored)
    limit = settings.PENDING_ANNOTATIONS_MAX_PER_WRITER
    if added and PendingAnnotation.objects.filter(user=user).count() + added > limit:
        raise WaitingRoomFull(added=added, limit=limit)


def span_annotation_note_add(
    *, span_id: str, text: str, identifier: str = "", user: User | None, via: str = EventVia.API
) -> SpanAnnotation:
    """A note on a span: appended under a fresh identifier, or replacing the note of a given identifier."""
    return _note_add(
        PendingTarget.SPAN, span_id, "px-span-note", text=text, identifier=identifier, user=user, via=via
    )


def trace_annotation_note_add(
    *, trace_id: str, text: str, identifier: str = "", user: User | None, via: str = EventVia.API
) -> TraceAnnotation:
    """A note on a whole trace, like a span note."""
    return _note_add(
        PendingTarget.TRACE, trace_id, "px-trace-note", text=text, identifier=identifier, user=user, via=via
    )


def session_annotation_note_add(
    *, session_id: str, text: str, identifier: str = "", user: User | None, via: str = EventVia.API
) -> SessionAnnotation:
    """A note on a whole session, like a span note."""
    return _note_add(
        PendingTarget.SESSION,
        session_id,
        "px-session-note",
        text=text,
        identifier=identifier,
        user=user,
        via=via,
    )


def _note_add(
    target: PendingTarget,
    target_id: str,
    prefix: str,
    *,
    text: str,
    identifier: str,
    user: User | None,
    via: str,
) -> Any:
    spec = TARGETS[target]
    target_obj = spec.target_model.objects.filter(**{spec.key_field: target_id}).first()
    if target_obj is None:
        raise MissingTargets([target_id])
    return _owned_upsert(
        spec.model,
        {spec.fk: target_obj},
        name=NOTE_NAME,
        identifier=identifier or f"{prefix}:{uuid.uuid4()}",
        values={
            "explanation": text,
            "annotator_kind": AnnotatorKind.HUMAN,
            "source": AnnotationSource.API,
            "user": user,
            "label": None,
            "score": None,
            "metadata": {},
        },
        via=via,
    )


def annotation_delete(*, annotation: AnnotationBase, user: User | None, via: str = EventVia.PAGE) -> None:
    """Delete one annotation, when the ownership rule lets `user` do so."""
    held = Held.of(annotation)
    if not may_delete(actor=user, held=held):
        kind = next(spec.fk for spec in TARGETS.values() if isinstance(annotation, spec.model))
        where = (
            f"{kind} {getattr(getattr(annotation, kind), f'{kind}_id')} "
            f"({_names(annotation.name, annotation.identifier)})"
        )
        raise not_yours([Refusal(where, held.owner_pk, held=True)], done="deleted")
    annotation_rows_delete(annotations=type(annotation).objects.filter(pk=annotation.pk), user=user, via=via)


def annotations_delete(*, annotations: QuerySet[A], user: User | None, via: str = EventVia.BULK) -> int:
    """Delete these annotations, or of them only `user`'s own unless the rule lets them delete any.

    A bulk delete is a filter (Phoenix's `DELETE .../span_annotations`): narrowing it to the user's rows,
    rather than refusing it, is what the same request does for each user.
    """
    if user is not None and not user.is_admin:
        annotations = annotations.owned_by(user.pk)
    return annotation_rows_delete(annotations=annotations, user=user, via=via)


def annotation_rows_delete(*, annotations: QuerySet[A], user: User | None, via: str) -> int:
    """Delete these annotations, appending a delete event for each, without the ownership rule: for callers
    that decided already who may (the services above, the admin site's permissions)."""
    kind, spec = _target_of(annotations.model)
    deleted = 0
    with transaction.atomic():
        documents_of = set(annotations.values_list("span_id", flat=True)) if spec.positioned else set()
        spans_lock(documents_of)
        while rows := list(_rows_with_targets(annotations, spec)[:BATCH_SIZE]):
            spec.model.objects.filter(pk__in=[row["pk"] for row in rows]).delete()
            events_append(_deleted_event(kind, row, user=user, via=via) for row in rows)
            deleted += len(rows)
            if len(rows) < BATCH_SIZE:
                break
        retrieval_metrics_refresh(span_pks=documents_of)
    return deleted


def annotation_save(*, annotation: AnnotationBase, user: User | None, via: str = EventVia.ADMIN) -> None:
    """Save an annotation edited as a whole, its target and key included (the admin's form), and append its
    history: a create, an update, or a delete and a create when it moved to another target or key. Without
    the ownership rule: whoever may use the form may save."""
    kind, spec = _target_of(type(annotation))
    target = getattr(annotation, spec.fk)
    position = getattr(annotation, "document_position", None)
    with transaction.atomic():
        stored = _rows_with_targets(spec.model.objects.filter(pk=annotation.pk), spec).first()
        spans = {target.pk, *([stored["target_pk"]] if stored else [])} if spec.positioned else set()
        spans_lock(spans)
        annotation.save()
        after = _event_target(spec.fk, target, position)
        if stored is None or (_row_target(kind, stored), stored["name"], stored["identifier"]) == (
            after,
            annotation.name,
            annotation.identifier,
        ):
            events = [_saved_event(after, annotation, before=stored, user=user, via=via)]
        else:
            # Moved to another target or key: the history of each tells its part.
            events = [
                _deleted_event(kind, stored, user=user, via=via),
                _saved_event(after, annotation, before=None, user=user, via=via),
            ]
        events_append(events)
        retrieval_metrics_refresh(span_pks=spans)


def _target_of(model: type[AnnotationBase]) -> tuple[PendingTarget, Target]:
    return next((kind, spec) for kind, spec in TARGETS.items() if spec.model is model)


def _rows_with_targets(annotations: QuerySet[A], spec: Target) -> QuerySet[A, dict[str, Any]]:
    """The annotations, locked, in pk order, as `values()` rows with what their events need of them."""
    return (
        annotations.select_for_update(of=("self",))
        .order_by("pk")
        .values(
            "pk",
            "name",
            "identifier",
            *EVENT_VALUE_FIELDS,
            *spec.position_fields,
            target_pk=F(spec.key_field),
            target_key=F(f"{spec.fk}__{spec.key_field}"),
            project_pk=F(f"{spec.fk}__project_id"),
        )
    )


def _row_target(kind: PendingTarget, row: dict[str, Any]) -> EventTarget:
    return EventTarget(
        kind, row["target_pk"], row["target_key"], row["project_pk"], row.get("document_position")
    )


def _deleted_event(
    kind: PendingTarget, row: dict[str, Any], *, user: User | None, via: str
) -> AnnotationEvent | None:
    """The event of deleting a `_rows_with_targets` row."""
    return change_event(
        target=_row_target(kind, row),
        annotation_pk=row["pk"],
        name=row["name"],
        identifier=row["identifier"],
        before=event_values(row),
        after=None,
        user=user,
        via=via,
    )


def _saved_event(
    target: EventTarget,
    annotation: AnnotationBase,
    *,
    before: AnnotationBase | dict[str, Any] | None,
    user: User | None,
    via: str,
) -> AnnotationEvent | None:
    """The event of `annotation` as just saved, over its values `before` (None: it is new)."""
    return change_event(
        target=target,
        annotation_pk=annotation.pk,
        name=annotation.name,
        identifier=annotation.identifier,
        before=None if before is None else event_values(before),
        after=event_values(annotation),
        user=user,
        via=via,
    )
