"""Bulk labelling: one label, score or explanation of a config written to many spans, traces or sessions
in one transaction, recorded as one `AnnotationBulkAction` whose events are the rows it changed; and its
undo, which puts every one of those rows back as it was, or refuses and changes nothing.

Whose rows: the ownership rule (`ownership.py`) decides row by row. A row holding a value the writer may
not replace (another user's, for a non-admin) is skipped and counted, not refused: a bulk label is a filter,
as a bulk delete is (`services.annotations_delete`), and the same action gives each user what they may do.

Undo refuses when any row the label changed was changed or deleted since: restoring the others would leave
a mix nobody asked for, and restoring those would overwrite somebody's later work.

The work is set-based: no row is read into Python (on PostgreSQL). The selected targets are read once into
a temporary table (the filter may match other rows once some are written); the rule is applied to each
group of rows sharing a writer and an annotator kind, which is all it reads of a row, since the name and
identifier are the label's; then each write is one statement, INSERT ... SELECT or UPDATE, whatever the
number of rows.
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import reduce
from operator import or_
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    Func,
    JSONField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, JSONObject
from django.utils import timezone

from phoenix_annot.accounts.models import User
from phoenix_annot.tracing.models import Project

from .configs import config_for_project
from .history import BulkChange, EventTarget, bulk_action_events_append, event_values
from .models import (
    EVENT_VALUE_FIELDS,
    AnnotationBulkAction,
    AnnotationBulkPrior,
    AnnotationConfig,
    AnnotationEvent,
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
# The selected targets of the bulk label being planned or written, and the pk of the annotation each held
# before the write (none: the label creates one); it lives for one call, in its transaction.
SELECTION_TABLE = "annotations_bulk_label_selection"


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


@dataclass(frozen=True)
class Rows:
    """Rows of the selection, counted and not read: a bulk label may select 100,000."""

    count: int = 0

    def __len__(self) -> int:
        return self.count


@dataclass
class BulkPlan:
    """What a bulk label would do to the rows selected, as the confirmation says it and the write does it.

    `label` is as it will be written; `replaced` and `skipped` count rows by owner (a user's pk, None:
    nobody's); `names` names those owners; `replacing` is the (writer's pk, annotator kind) of each group of
    rows the label replaces.
    """

    label: BulkLabel
    selected: int = 0
    unchanged: int = 0
    created: Rows = Rows()
    replaced: Counter[int | None] = field(default_factory=Counter)
    skipped: Counter[int | None] = field(default_factory=Counter)
    names: dict[int, str] = field(default_factory=dict)
    replacing: set[tuple[int | None, str]] = field(default_factory=set)

    @property
    def replaced_rows(self) -> Rows:
        return Rows(self.replaced.total())

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
    spec = TARGETS[PendingTarget(target_kind)]
    with transaction.atomic(), _selection(spec, targets, lock=False):
        return _plan(spec, label=label, user=user)


@contextmanager
def _selection(spec: Target, targets: QuerySet[Any], *, lock: bool) -> Iterator[None]:
    """The targets, at most one more than the limit, read once into SELECTION_TABLE for the statements
    run inside (the filter may match other rows once some are written); with `lock`, they stay locked
    until the transaction ends. Inside a transaction only: a failure rolls the table back with the rest.
    """
    selected = (
        # The filter as a subquery: whatever it joins or groups, the rows are read (and locked) plainly.
        spec.target_model.objects.filter(pk__in=targets.values("pk"))
        # In pk order, as every writer locks its targets, so that writers cannot deadlock.
        .order_by("pk")
        # A column to note the annotation each target holds (`_held_mark`), typed for the table to take it.
        .values(target_pk=F("pk"), annotation_pk=Cast(Value(None), BigIntegerField()))
    )
    if lock:
        selected = selected.select_for_update()
    sql, params = selected[: settings.BULK_LABEL_MAX_ROWS + 1].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {SELECTION_TABLE} AS {sql}", params)
        if connection.vendor == "postgresql":
            # PostgreSQL's statistics may not know the rows written since the last ANALYZE (a bulk label's
            # new rows, one just written before): believing there are few, it probes the selection once
            # per annotation, which without an index reads the whole of it each time. SQLite makes
            # such an index itself when a join needs one.
            cursor.execute(f"CREATE UNIQUE INDEX ON {SELECTION_TABLE} (target_pk)")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {SELECTION_TABLE}")


def _selected(column: str = "target_pk", *, where: str = "") -> RawSQL:
    """A column of the selection, as the right side of an `__in` lookup."""
    return RawSQL(f"SELECT {column} FROM {SELECTION_TABLE}{where}", [])


def _held(spec: Target, label: BulkLabel) -> QuerySet[Any]:
    """The stored annotations of the label's name and identifier on the selected targets."""
    return spec.model.objects.filter(
        name=label.name, identifier=label.identifier, **{f"{spec.key_field}__in": _selected()}
    )


def _held_mark(spec: Target, label: BulkLabel) -> None:
    """Lock the selected targets' annotations of the label, in pk order as bulk deletes lock them, and
    note the pk of each in the selection: once the label has written, the targets it created rows on are
    those that held none. Run after the targets are locked, so that it sees every row written before."""
    held = (
        _held(spec, label)
        .select_for_update()
        .order_by("pk")
        .values(held_pk=F("pk"), held_target_pk=F(spec.key_field))
    )
    sql, params = held.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {SELECTION_TABLE} SET annotation_pk = held.held_pk FROM ({sql}) AS held "
            f"WHERE held.held_target_pk = {SELECTION_TABLE}.target_pk",
            params,
        )


def _plan(spec: Target, *, label: BulkLabel, user: User | None) -> BulkPlan:
    """The plan of a checked label over the selection: the ownership rule applied to each group of held
    rows sharing a writer and an annotator kind, which is all the rule reads of a row here (the identifier
    is the label's). One query: the selected targets joined with the annotation each holds, if any."""
    relation = spec.model._meta.get_field(spec.fk).related_query_name()
    unchanged = Q(**{f"held__{name}": value for name, value in label.values().items()})
    groups = (
        spec.target_model.objects.filter(pk__in=_selected())
        .alias(
            held=FilteredRelation(
                relation,
                condition=Q(**{f"{relation}__name": label.name, f"{relation}__identifier": label.identifier}),
            )
        )
        .values(
            writer=F("held__user_id"),
            writer_name=F("held__user__username"),
            # None for a target holding no annotation of the label: the column is never null otherwise.
            kind=F("held__annotator_kind"),
            same=Case(When(unchanged, then=True), default=False, output_field=BooleanField()),
        )
        .annotate(rows=Count("pk"))
        .order_by()
    )
    plan = BulkPlan(label)
    for group in groups:
        plan.selected += group["rows"]
        if group["kind"] is None:
            plan.created = Rows(group["rows"])
            continue
        if group["writer"] is not None:
            plan.names[group["writer"]] = group["writer_name"]
        held = Held(group["writer"], label.identifier, group["kind"])
        refused = write_refusal(
            actor=user, where="", identifier=label.identifier, annotator_kind=label.annotator_kind, held=held
        )
        if refused is not None:
            plan.skipped[held.owner_pk] += group["rows"]
        elif group["same"]:
            plan.unchanged += group["rows"]
        else:
            plan.replaced[held.owner_pk] += group["rows"]
            plan.replacing.add((held.user_id, held.annotator_kind))
    _selected_count_check(plan.selected)
    # A px-app: identifier's rows are the user it names, whoever wrote them.
    unnamed = {pk for pk in [*plan.replaced, *plan.skipped] if pk is not None} - plan.names.keys()
    plan.names |= dict(User.objects.filter(pk__in=unnamed).values_list("pk", "username"))
    return plan


def _selected_count_check(selected: int) -> None:
    limit = settings.BULK_LABEL_MAX_ROWS
    if not selected:
        raise ValidationError({"rows": "No rows selected."})
    if selected > limit:
        raise ValidationError(
            {
                "rows": f"More than {limit:,} rows selected; a bulk label takes at most {limit:,} "
                "(PHOENIX_ANNOT_BULK_LABEL_MAX_ROWS): narrow the filter."
            }
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
    kind = PendingTarget(target_kind)
    spec = TARGETS[kind]
    with transaction.atomic(), _selection(spec, targets, lock=True):
        _held_mark(spec, label)
        plan = _plan(spec, label=label, user=user)
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
        if plan.replacing:
            replaced = (
                _held(spec, label)
                .exclude(Q(**label.values()))
                .filter(
                    reduce(
                        or_,
                        (Q(user_id=writer, annotator_kind=held_kind) for writer, held_kind in plan.replacing),
                    )
                )
            )
            _insert_select(
                AnnotationBulkPrior,
                replaced,
                {
                    "action_id": Value(action.pk),
                    "annotation_pk": F("pk"),
                    "user_id": F("user_id"),
                    "source": F("source"),
                },
            )
            _replaced_events_append(
                spec, kind, replaced, action=action, user=user, after=label.values(), at=now
            )
            # Last: the rows it rewrites no longer differ from the label.
            replaced.update(**written, updated_at=now)
        if plan.created:
            new_targets = spec.target_model.objects.filter(
                pk__in=_selected(where=" WHERE annotation_pk IS NULL")
            )
            key = {"name": label.name, "identifier": label.identifier}
            _insert_select(
                spec.model,
                new_targets,
                {
                    spec.key_field: F("pk"),
                    **_values_of(spec.model, {**key, **written, "created_at": now, "updated_at": now}),
                },
            )
            new_rows = spec.model.objects.filter(
                **key, **{f"{spec.key_field}__in": _selected(where=" WHERE annotation_pk IS NULL")}
            )
            _insert_select(
                AnnotationEvent,
                new_rows,
                {
                    **_event_columns(spec, kind, action=action, via=EventVia.BULK_LABEL, at=now),
                    "action": Value(EventAction.CREATE),
                    "after": Value(label.values(), output_field=JSONField()),
                },
            )
    return action


def _values_of(model: type[Model], values: dict[str, Any]) -> dict[str, Value]:
    """Constant values of a model's fields (by attribute name) as SELECT expressions."""
    return {name: Value(value, output_field=model._meta.get_field(name)) for name, value in values.items()}


def _event_columns(
    spec: Target, kind: PendingTarget, *, action: AnnotationBulkAction, via: str, at: Any
) -> dict[str, Any]:
    """An action's event of each annotation row selected, but its action and values: the annotation, its
    target as events name it, and the change's writer, channel, time and bulk action."""
    return {
        "project_pk": F(f"{spec.fk}__project_id"),
        "target_kind": Value(kind),
        "target_pk": F(spec.key_field),
        "target_key": F(f"{spec.fk}__{spec.key_field}"),
        "annotation_pk": F("pk"),
        **_values_of(
            AnnotationEvent,
            {
                "name": action.name,
                "identifier": action.identifier,
                "user_id": action.user_id,
                "via": via,
                "at": at,
                "bulk_action_id": action.pk,
            },
        ),
    }


def _insert_select(model: type[Model], rows: QuerySet[Any], columns: dict[str, Any]) -> None:
    """INSERT into `model`'s table a row per row of `rows`, each column (by attribute name) the value of
    its expression over that row: one statement, no row read into Python."""
    quote = connection.ops.quote_name
    sql, params = rows.values_list(*columns.values()).query.sql_with_params()
    listed = ", ".join(quote(model._meta.get_field(name).column) for name in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({listed}) {sql}", params)


class _JsonFloat(Func):
    """A float column as an event records it (PostgreSQL): as Python's json writes it, which jsonb keeps,
    so that a whole number reads back as 1.0, not 1 (jsonb takes PostgreSQL's float text as 1)."""

    template = (
        "CASE WHEN %(expressions)s = trunc(%(expressions)s) AND abs(%(expressions)s) < 1e16 "
        "THEN to_jsonb(%(expressions)s::bigint::numeric(17, 1)) ELSE to_jsonb(%(expressions)s) END"
    )
    output_field = JSONField()


def _replaced_events_append(
    spec: Target,
    kind: PendingTarget,
    replaced: QuerySet[Any],
    *,
    action: AnnotationBulkAction,
    user: User | None,
    after: dict[str, Any],
    at: Any,
) -> None:
    """The events of the rows the label replaces, each with its values before: built by PostgreSQL from
    the rows; elsewhere read through Python, since SQLite writes a float into JSON with 15 digits only."""
    if connection.vendor == "postgresql":
        fields = {field.name: field for field in spec.model._meta.concrete_fields}
        before = JSONObject(
            **{
                name: _JsonFloat(name) if isinstance(fields[name], FloatField) else F(name)
                for name in EVENT_VALUE_FIELDS
            }
        )
        _insert_select(
            AnnotationEvent,
            replaced,
            {
                **_event_columns(spec, kind, action=action, via=EventVia.BULK_LABEL, at=at),
                "action": Value(EventAction.UPDATE),
                "before": before,
                "after": Value(after, output_field=JSONField()),
            },
        )
        return
    rows = replaced.values(
        "pk",
        *EVENT_VALUE_FIELDS,
        target_pk=F(spec.key_field),
        target_key=F(f"{spec.fk}__{spec.key_field}"),
        project_pk=F(f"{spec.fk}__project_id"),
    )
    bulk_action_events_append(
        (
            BulkChange(
                EventTarget(kind, row["target_pk"], row["target_key"], row["project_pk"]),
                row["pk"],
                event_values(row),
                after,
            )
            for row in rows
        ),
        action=action,
        user=user,
        via=EventVia.BULK_LABEL,
    )


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
        events = AnnotationEvent.objects.filter(bulk_action=action)
        # Its rows, not their targets: an undo creates no row, and writers that create one on a target
        # lock the target and then its row, which waits here; every bulk writer locks rows in pk order.
        _lock(spec.model.objects.filter(pk__in=events.values("annotation_pk")))
        # Its counts are its events': one per row it created, one per row it replaced.
        written = action.created_count + action.replaced_count
        changed = written - _as_written_count(spec, action)
        if changed:
            raise BulkUndoRefused(
                f"{changed:,} of the {written:,} annotations this bulk label wrote were changed or "
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
            selected_count=written,
            created_count=action.created_count,
            replaced_count=action.replaced_count,
        )
        # Each event of the label turned around: what it created is deleted, what it replaced goes back.
        _insert_select(
            AnnotationEvent,
            events.order_by("pk"),
            {
                **{
                    name: F(name)
                    for name in (
                        "project_pk",
                        "target_kind",
                        "target_pk",
                        "target_key",
                        "document_position",
                        "annotation_pk",
                        "name",
                        "identifier",
                    )
                },
                "action": Case(
                    When(action=EventAction.CREATE, then=Value(EventAction.DELETE)),
                    default=Value(EventAction.UPDATE),
                ),
                "before": F("after"),
                "after": F("before"),
                **_values_of(
                    AnnotationEvent,
                    {
                        "user_id": undo.user_id,
                        "via": EventVia.BULK_UNDO,
                        "at": undo.at,
                        "bulk_action_id": undo.pk,
                    },
                ),
            },
        )
        spec.model.objects.filter(
            pk__in=events.filter(action=EventAction.CREATE).values("annotation_pk")
        ).delete()
        _restore(spec, action, at=undo.at)
        action.undone_at = undo.at
        action.save(update_fields=["undone_at"])
    return undo


def _lock(rows: QuerySet[Any]) -> None:
    """Lock these rows until the transaction ends, in pk order as every writer locks them, without reading
    them into Python; nothing to do where the database has no row locks (SQLite locks the whole file)."""
    if not connection.features.has_select_for_update:
        return
    sql, params = rows.select_for_update().order_by("pk").values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS locked", params)


def _as_written_count(spec: Target, action: AnnotationBulkAction) -> int:
    """How many of the rows the bulk label wrote still hold what it wrote, from its writer.

    Every event of a label records the same values after, the label's: any one says what each row held (a
    label without events wrote nothing). Each event looks its row up by pk in a subquery PostgreSQL runs
    per event: its statistics may not know the rows the label wrote, and a join it planned on them could
    read all of them once per row.
    """
    events = AnnotationEvent.objects.filter(bulk_action=action)
    after = next(iter(events.values_list("after", flat=True)[:1]), {})
    holds = spec.model.objects.filter(pk=OuterRef("annotation_pk")).values(
        holds=ExpressionWrapper(Q(user_id=action.user_id, **after), output_field=BooleanField())
    )
    return events.alias(holds=Subquery(holds)).filter(holds=True).count()


def _restore(spec: Target, action: AnnotationBulkAction, *, at: Any) -> None:
    """Give the rows the action replaced back their values (from its events), owner and source (from its
    priors), each its own: one UPDATE joining both on PostgreSQL. SQLite reads a float in JSON with 15
    digits: there the values go through Python, exactly, as the parameters of one UPDATE run per row
    (bulk_update's CASE of a branch per row compared every row with its whole batch: 20 s for 10,000)."""
    replaced = action.events.filter(action=EventAction.UPDATE)
    quote = connection.ops.quote_name
    table = quote(spec.model._meta.db_table)
    if connection.vendor != "postgresql":
        priors = {
            pk: (user_pk, source)
            for pk, user_pk, source in action.priors.values_list("annotation_pk", "user_id", "source")
        }
        columns = [
            spec.model._meta.get_field(name) for name in (*EVENT_VALUE_FIELDS, "user", "source", "updated_at")
        ]
        rows = [
            [
                *(
                    field.get_db_prep_save(value, connection)
                    for field, value in zip(
                        columns,
                        [*(before[name] for name in EVENT_VALUE_FIELDS), *priors[pk], at],
                        strict=True,
                    )
                ),
                pk,
            ]
            for pk, before in replaced.values_list("annotation_pk", "before")
        ]
        assigned = ", ".join(f"{quote(field.column)} = %s" for field in columns)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET {assigned} WHERE id = %s", rows)
        return
    fields = [spec.model._meta.get_field(name) for name in EVENT_VALUE_FIELDS]
    values = ", ".join(
        f"{quote(field.column)} = event.before -> %s"
        if isinstance(field, JSONField)
        else f"{quote(field.column)} = CAST(event.before ->> %s AS {field.db_type(connection)})"
        for field in fields
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS annotation "
            f"SET {values}, user_id = prior.user_id, source = prior.source, updated_at = %s "
            f"FROM {quote(AnnotationEvent._meta.db_table)} AS event "
            f"JOIN {quote(AnnotationBulkPrior._meta.db_table)} AS prior "
            "ON prior.action_id = event.bulk_action_id AND prior.annotation_pk = event.annotation_pk "
            "WHERE event.bulk_action_id = %s AND event.action = %s AND annotation.id = event.annotation_pk",
            [*EVENT_VALUE_FIELDS, at, action.pk, EventAction.UPDATE],
        )
