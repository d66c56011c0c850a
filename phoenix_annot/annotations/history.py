"""The annotation history: the `AnnotationEvent` each write or delete appends in its own transaction.

A change is an annotation going from its values before (None: it did not exist) to its values after (None:
it was deleted); an unchanged re-write appends nothing. Events are only ever created: nothing here, nor
anywhere else, updates or deletes one.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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
    bulk_action: AnnotationBulkAction | None = None,
) -> AnnotationEvent | None:
    """The event of one annotation going from `before` to `after`; None when nothing changed."""
    if before == after:
        return None
    if before is None:
        action = EventAction.CREATE
    elif after is None:
        action = EventAction.DELETE
    else:
        action = EventAction.UPDATE
    return AnnotationEvent(
        project_pk=target.project_pk,
        target_kind=target.kind,
        target_pk=target.pk,
        target_key=target.key,
        document_position=target.document_position,
        annotation_pk=annotation_pk,
        name=name,
        identifier=identifier,
        action=action,
        before=before,
        after=after,
        user=user,
        via=via,
        bulk_action=bulk_action,
    )


def events_append(events: Iterable[AnnotationEvent | None]) -> None:
    """Store these events (None stands for an unchanged annotation). COPY on PostgreSQL: a /v1 write of
    100 annotations spent more building bulk_create's INSERT of their events than writing the annotations."""
    fields = [field.attname for field in AnnotationEvent._meta.concrete_fields if not field.primary_key]
    bulk_insert(
        AnnotationEvent,
        [{name: getattr(event, name) for name in fields} for event in events if event is not None],
    )
