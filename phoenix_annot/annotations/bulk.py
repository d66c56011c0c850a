"""Bulk labelling: one label, score or explanation of a config written to many spans, traces or sessions
in one transaction, recorded as one `AnnotationBulkAction` whose events are the rows it changed; and its
undo, which puts every one of those rows back as it was, or refuses and changes nothing.

Whose rows: the ownership rule (`ownership.py`) decides row by row. A row holding a value the writer may
not replace (another user's, for a non-admin) is skipped and counted, not refused: a bulk label is a filter,
as a bulk delete is (`services.annotations_delete`), and the same action gives each user what they may do.

Undo refuses when any row the label changed was changed or deleted since: restoring the others would leave
a mix nobody asked for, and restoring those would overwrite somebody's later work.

The writes are set-based: one UPDATE for the replaced rows, one COPY (PostgreSQL) for the new ones and one
for their events, per batch of `BATCH_SIZE` targets, whatever the values.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from phoenix_annot.accounts.models import User
from phoenix_annot.core.batching import chunks
from phoenix_annot.core.bulk import bulk_insert, bulk_update_by_pk
from phoenix_annot.tracing.models import Project

from .configs import config_for_project
from .history import BulkChange, EventTarget, bulk_action_events_append, event_values
from .locks import rows_lock
from .models import (
    EVENT_VALUE_FIELDS,
    AnnotationBulkAction,
    AnnotationBulkPrior,
    AnnotationConfig,
    AnnotationSource,
    AnnotationType,
    AnnotatorKind,
    BulkActionKind,
    EventAction,
    EventVia,
    PendingTarget,
)
from .ownership import Held, not_yours, write_refusal
from .services import TARGETS, Target, annotation_validate

BULK_TARGETS = (PendingTarget.SPAN, PendingTarget.TRACE, PendingTarget.SESSION)
UNDO_DENIED = "Only who made a bulk label, or an admin, may undo it."


class BulkUndoRefused(Exception):
    """An undo that cannot be done as asked (undone already, an undo itself, rows changed since);
    nothing was changed."""


@dataclass(frozen=True)
class BulkLabel:
    """What a bulk label writes to every row: the values, under the name of a config of the project."""

    name: str
    label: str | None = None
    score: float | None = None
    explanation: str | None = None
    annotator_kind: str = AnnotatorKind.HUMAN
    identifier: str = ""
    source: str = AnnotationSource.APP
    metadata: dict[str, Any] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """The values an event records of each row written."""
        return {
            "label": self.label,
            "score": self.score,
            "explanation": self.explanation,
            "metadata": self.metadata,
            "annotator_kind": self.annotator_kind,
        }


@dataclass
class BulkPlan:
    """What a bulk label would do to the rows selected, as the confirmation says it and the write does it.

    `label` is as it will be written; `replaced` and `skipped` count rows by owner (a user's pk, None:
    nobody's); `names` names those owners.
    """

    label: BulkLabel
    selected: int = 0
    unchanged: int = 0
    created: list[int] = field(default_factory=list)
    replaced_rows: list[dict[str, Any]] = field(default_factory=list)
    replaced: Counter[int | None] = field(default_factory=Counter)
    skipped: Counter[int | None] = field(default_factory=Counter)
    names: dict[int, str] = field(default_factory=dict)

    @property
    def writes(self) -> int:
        """Rows the label creates or replaces."""
        return len(self.created) + len(self.replaced_rows)

    @property
    def skipped_count(self) -> int:
        return self.skipped.total()

    @property
    def with_value(self) -> int:
        """Rows already holding an annotation of this name and identifier."""
        return self.unchanged + len(self.replaced_rows) + self.skipped_count

    def owners(self, counts: Counter[int | None]) -> list[tuple[str | None, int]]:
        """(owner's username, None for nobody, rows) for each owner of `counts`, most rows first."""
        return [(None if pk is None else self.names.get(pk), rows) for pk, rows in counts.most_common()]

    @property
    def replaced_owners(self) -> list[tuple[str, int]]:
        return self.owners(self.replaced)

    @property
    def skipped_owners(self) -> list[tuple[str, int]]:
        return self.owners(self.skipped)


def bulk_label_checked(
    *, project: Project, target_kind: str, label: BulkLabel, user: User | None
) -> BulkLabel:
    """The bulk label as it will be written (a categorical label's score from its config), or a
    ValidationError naming the field; NotYours for a `px-app:` identifier that is not the writer's."""
    if target_kind not in BULK_TARGETS:
        raise ValidationError({"target": f"Choose one of {', '.join(BULK_TARGETS)}."})
    config = config_for_project(name=label.name, project_id=project.pk)
    if config is None:
        raise ValidationError(
            {"name": f"'{label.name}' is not an annotation config of project '{project.name}'."}
        )
    checked = replace(label, score=config.score_for(label.label, label.score))
    _require_main_value(config, checked)
    annotation_validate(
        name=checked.name,
        label=checked.label,
        score=checked.score,
        explanation=checked.explanation,
        config=config,
    )
    refusal = write_refusal(
        actor=user,
        where=f"identifier '{label.identifier}'",
        identifier=label.identifier,
        annotator_kind=label.annotator_kind,
        held=None,
    )
    if refusal is not None:
        raise not_yours([refusal])
    return checked


def _require_main_value(config: AnnotationConfig, label: BulkLabel) -> None:
    """A bulk label sets what its config is about: a label, a score, or (free text) an explanation."""
    if config.type == AnnotationType.CATEGORICAL and not label.label:
        choices = ", ".join(value["label"] for value in config.values)
        raise ValidationError({"label": f"Choose a label of '{config.name}': {choices}."})
    if config.type == AnnotationType.CONTINUOUS and label.score is None:
        raise ValidationError({"score": f"Give a score for '{config.name}'."})
    if config.type == AnnotationType.FREEFORM and not label.explanation:
        raise ValidationError({"explanation": f"Write the text of '{config.name}'."})


def bulk_label_plan(
    *, project: Project, target_kind: str, targets: QuerySet[Any], label: BulkLabel, user: User | None
) -> BulkPlan:
    """What writing `label` to these targets would do, row by row by the ownership rule: the
    confirmation's counts. Refused as the write would be (`bulk_label_checked`)."""
    label = bulk_label_checked(project=project, target_kind=target_kind, label=label, user=user)
    return _plan(target_kind=target_kind, targets=targets, label=label, user=user, lock=False)


def _plan(
    *, target_kind: str, targets: QuerySet[Any], label: BulkLabel, user: User | None, lock: bool
) -> BulkPlan:
    """The plan of a checked label; with `lock`, the targets and their rows stay locked until the
    transaction ends (the write's own plan)."""
    spec = TARGETS[PendingTarget(target_kind)]
    limit = settings.BULK_LABEL_MAX_ROWS
    # The filter as a subquery: whatever it joins or groups, the rows are read (and locked) plainly.
    selected = (
        spec.target_model.objects.filter(pk__in=targets.values("pk"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if lock:
        # Read and locked in one statement, in pk order as `rows_lock` locks, so that other writers and this
        # one cannot deadlock.
        selected = selected.select_for_update()
    target_pks = list(selected[: limit + 1])
    if not target_pks:
        raise ValidationError({"rows": "No rows selected."})
    if len(target_pks) > limit:
        raise ValidationError(
            {
                "rows": f"More than {limit:,} rows selected; a bulk label takes at most {limit:,} "
                "(PHOENIX_ANNOT_BULK_LABEL_MAX_ROWS): narrow the filter."
            }
        )
    plan = BulkPlan(label, selected=len(target_pks))
    held_pks: set[int] = set()
    after = label.values()
    for row in _stored_rows(spec, target_pks, label=label, lock=lock):
        held_pks.add(row[spec.key_field])
        held = Held(row["user_id"], row["identifier"], row["annotator_kind"])
        refused = write_refusal(
            actor=user, where="", identifier=label.identifier, annotator_kind=label.annotator_kind, held=held
        )
        if refused is not None:
            plan.skipped[held.owner_pk] += 1
        elif event_values(row) == after:
            plan.unchanged += 1
        else:
            plan.replaced_rows.append(row)
            plan.replaced[held.owner_pk] += 1
    plan.created = [pk for pk in target_pks if pk not in held_pks]
    owner_pks = {pk for pk in [*plan.replaced, *plan.skipped] if pk is not None}
    plan.names = dict(User.objects.filter(pk__in=owner_pks).values_list("pk", "username"))
    return plan


def _stored_rows(
    spec: Target, target_pks: list[int], *, label: BulkLabel, lock: bool
) -> Iterator[dict[str, Any]]:
    """The annotations of the label's name and identifier on these targets, as `values()` rows."""
    rows = spec.model.objects.filter(name=label.name, identifier=label.identifier)
    if lock:
        rows = rows.select_for_update()
    for chunk in chunks(target_pks):
        yield from rows.filter(**{f"{spec.key_field}__in": chunk}).values(
            "pk", spec.key_field, "identifier", "user_id", "source", *EVENT_VALUE_FIELDS
        )


def annotations_bulk_label(
    *,
    project: Project,
    target_kind: str,
    targets: QuerySet[Any],
    label: BulkLabel,
    user: User | None,
) -> AnnotationBulkAction:
    """Write `label` to every target the ownership rule lets `user` write (the others are skipped), in one
    transaction, as one bulk action; rows already holding these values are left as they are."""
    label = bulk_label_checked(project=project, target_kind=target_kind, label=label, user=user)
    spec = TARGETS[PendingTarget(target_kind)]
    with transaction.atomic():
        plan = _plan(target_kind=target_kind, targets=targets, label=label, user=user, lock=True)
        action = AnnotationBulkAction.objects.create(
            project=project,
            kind=BulkActionKind.LABEL,
            target_kind=target_kind,
            name=label.name,
            identifier=label.identifier,
            label=label.label,
            score=label.score,
            explanation=label.explanation,
            annotator_kind=label.annotator_kind,
            user=user,
            selected_count=plan.selected,
            created_count=len(plan.created),
            replaced_count=len(plan.replaced_rows),
            skipped_count=plan.skipped_count,
        )
        now = timezone.now()
        written = {**label.values(), "source": label.source, "user_id": user.pk if user else None}
        replaced_pks = [row["pk"] for row in plan.replaced_rows]
        for chunk in chunks(replaced_pks):
            spec.model.objects.filter(pk__in=chunk).update(**written, updated_at=now)
        key = {"name": label.name, "identifier": label.identifier}
        bulk_insert(
            spec.model,
            [{spec.key_field: pk, **key, **written, "updated_at": now} for pk in plan.created],
        )
        bulk_insert(
            AnnotationBulkPrior,
            [
                {
                    "action_id": action.pk,
                    "annotation_pk": row["pk"],
                    "user_id": row["user_id"],
                    "source": row["source"],
                }
                for row in plan.replaced_rows
            ],
        )
        befores = {row["pk"]: event_values(row) for row in plan.replaced_rows}
        after = label.values()
        written = _written(
            spec, target_kind, [*plan.created, *(row[spec.key_field] for row in plan.replaced_rows)], label
        )
        bulk_action_events_append(
            (BulkChange(target, pk, befores.get(pk), after) for target, pk in written),
            action=action,
            user=user,
            via=EventVia.BULK_LABEL,
        )
    return action


def _written(
    spec: Target, target_kind: str, target_pks: list[int], label: BulkLabel
) -> list[tuple[EventTarget, int]]:
    """The label's rows on these targets, each with its target as its event names it: COPY returns no
    ids. One query per batch, the targets' keys and projects joined."""
    kind = PendingTarget(target_kind)
    rows = spec.model.objects.filter(name=label.name, identifier=label.identifier)
    return [
        (EventTarget(kind, target_pk, key, project_pk), pk)
        for chunk in chunks(target_pks)
        for pk, target_pk, key, project_pk in rows.filter(**{f"{spec.key_field}__in": chunk}).values_list(
            "pk", spec.key_field, f"{spec.fk}__{spec.key_field}", f"{spec.fk}__project_id"
        )
    ]


def annotation_bulk_undo(*, action: AnnotationBulkAction, user: User | None) -> AnnotationBulkAction:
    """Put back every row the bulk label changed: delete those it created, restore the values, owner and
    source of those it replaced; as one more bulk action (the undo), recorded in history.

    Refused (BulkUndoRefused, nothing changed) for an undo, a label undone already, or when any of its rows
    was changed or deleted since; PermissionDenied for a non-admin undoing somebody else's label.
    """
    with transaction.atomic():
        action = AnnotationBulkAction.objects.select_for_update().select_related("project").get(pk=action.pk)
        if action.kind == BulkActionKind.UNDO:
            raise BulkUndoRefused("This is an undo: it is not undone in turn; label the rows again instead.")
        if action.undone_at is not None:
            raise BulkUndoRefused(
                f"This bulk label was undone already, at {action.undone_at:%Y-%m-%d %H:%M:%S} UTC."
            )
        if user is not None and not user.is_admin and action.user_id != user.pk:
            raise PermissionDenied(UNDO_DENIED)
        spec = TARGETS[PendingTarget(action.target_kind)]
        events = list(
            action.events.order_by("pk").values(
                "annotation_pk", "target_pk", "target_key", "project_pk", "action", "before", "after"
            )
        )
        rows_lock(spec.target_model, (event["target_pk"] for event in events))
        changed = _changed_since(spec, action, events)
        if changed:
            raise BulkUndoRefused(
                f"{changed:,} of the {len(events):,} annotations this bulk label wrote were changed or "
                "deleted since; nothing was undone."
            )
        undo = AnnotationBulkAction.objects.create(
            project=action.project,
            kind=BulkActionKind.UNDO,
            undoes=action,
            target_kind=action.target_kind,
            name=action.name,
            identifier=action.identifier,
            annotator_kind=action.annotator_kind,
            user=user,
            selected_count=len(events),
            created_count=sum(event["action"] == EventAction.CREATE for event in events),
            replaced_count=sum(event["action"] == EventAction.UPDATE for event in events),
        )
        created = [event["annotation_pk"] for event in events if event["action"] == EventAction.CREATE]
        for chunk in chunks(created):
            spec.model.objects.filter(pk__in=chunk).delete()
        _restore(spec, action, [event for event in events if event["action"] == EventAction.UPDATE])
        kind = PendingTarget(action.target_kind)
        bulk_action_events_append(
            (
                BulkChange(
                    EventTarget(kind, event["target_pk"], event["target_key"], event["project_pk"]),
                    event["annotation_pk"],
                    before=event["after"],
                    after=event["before"],
                )
                for event in events
            ),
            action=undo,
            user=user,
            via=EventVia.BULK_UNDO,
        )
        action.undone_at = undo.at
        action.save(update_fields=["undone_at"])
    return undo


def _changed_since(spec: Target, action: AnnotationBulkAction, events: list[dict[str, Any]]) -> int:
    """How many of the rows the action wrote no longer hold what it wrote, from its writer: changed (even
    to the same values by somebody else) or deleted since."""
    expected = {event["annotation_pk"]: event["after"] for event in events}
    unchanged = 0
    for chunk in chunks(list(expected)):
        for row in (
            spec.model.objects.select_for_update()
            .filter(pk__in=chunk)
            .values("pk", "user_id", *EVENT_VALUE_FIELDS)
        ):
            unchanged += row["user_id"] == action.user_id and event_values(row) == expected[row["pk"]]
    return len(expected) - unchanged


def _restore(spec: Target, action: AnnotationBulkAction, events: list[dict[str, Any]]) -> None:
    """Give the rows the action replaced back their values, owner and source, each its own, in one
    statement (PostgreSQL)."""
    priors = {
        pk: (user_pk, source)
        for pk, user_pk, source in action.priors.values_list("annotation_pk", "user_id", "source")
    }
    now = timezone.now()
    rows = []
    for event in events:
        user_pk, source = priors[event["annotation_pk"]]
        rows.append(
            {
                "id": event["annotation_pk"],
                **event["before"],
                "user_id": user_pk,
                "source": source,
                "updated_at": now,
            }
        )
    bulk_update_by_pk(spec.model, rows, fields=[*EVENT_VALUE_FIELDS, "user", "source", "updated_at"])
