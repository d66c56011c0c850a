"""The annotation history: the `AnnotationEvent` each write or delete appends in its own transaction.

A change is an annotation going from its values before (None: it did not exist) to its values after (None:
it was deleted); an unchanged re-write appends nothing. Events are only ever created: nothing here, nor
anywhere else, updates or deletes one.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from phoenix_annot.accounts.models import User
from phoenix_annot.core.bulk import bulk_insert

from .models import EVENT_VALUE_FIELDS, AnnotationBulkAction, AnnotationEvent, EventAction, PendingTarget


@dataclass(frozen=True)
class EventTarget:
    """What an annotation is of, as its events name it."""

    kind: PendingTarget
    pk: int
    key: str
    project_pk: int
    document_position: int | None = None


def event_values(annotation: Any) -> dict[str, Any]:
    """The values an event records, from an annotation or a `values()` row of one."""
    if isinstance(annotation, Mapping):
        return {field: annotation[field] for field in EVENT_VALUE_FIELDS}
    return {field: getattr(annotation, field) for field in EVENT_VALUE_FIELDS}


def change_event(
    *,
    target: EventTarget,
    annotation_pk: int,
    name: str,
    identifier: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    user: User | None,
    via: str,
) -> AnnotationEvent | None:
    """The event of one annotation going from `before` to `after`; None when nothing changed."""
    if before == after:
        return None
    return AnnotationEvent(
        project_pk=target.project_pk,
        target_kind=target.kind,
        target_pk=target.pk,
        target_key=target.key,
        document_position=target.document_position,
        annotation_pk=annotation_pk,
        name=name,
        identifier=identifier,
        action=_action(before, after),
        before=before,
        after=after,
        user=user,
        via=via,
    )


def _action(before: dict[str, Any] | None, after: dict[str, Any] | None) -> EventAction:
    if before is None:
        return EventAction.CREATE
    return EventAction.DELETE if after is None else EventAction.UPDATE


def events_append(events: Iterable[AnnotationEvent | None]) -> None:
    """Store these events (None stands for an unchanged annotation). COPY on PostgreSQL: a /v1 write of
    100 annotations spent more building bulk_create's INSERT of their events than writing the annotations."""
    fields = [field.attname for field in AnnotationEvent._meta.concrete_fields if not field.primary_key]
    bulk_insert(
        AnnotationEvent,
        [{name: getattr(event, name) for name in fields} for event in events if event is not None],
    )


@dataclass(frozen=True)
class BulkChange:
    """One annotation of a bulk action going from `before` to `after` (None: absent), which differ."""

    target: EventTarget
    annotation_pk: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def bulk_action_events_append(
    changes: Iterable[BulkChange], *, action: AnnotationBulkAction, user: User | None, via: str
) -> None:
    """The events of a bulk action's changes (all of its name and identifier), built as plain rows: for
    10,000 rows, making an AnnotationEvent of each took longer than writing them."""
    common = {
        "name": action.name,
        "identifier": action.identifier,
        "user_id": user.pk if user else None,
        "via": via,
        "bulk_action_id": action.pk,
        "at": timezone.now(),
    }
    bulk_insert(
        AnnotationEvent,
        [
            {
                **common,
                "project_pk": change.target.project_pk,
                "target_kind": change.target.kind,
                "target_pk": change.target.pk,
                "target_key": change.target.key,
                "document_position": change.target.document_position,
                "annotation_pk": change.annotation_pk,
                "action": _action(change.before, change.after),
                "before": change.before,
                "after": change.after,
            }
            for change in changes
        ],
    )
