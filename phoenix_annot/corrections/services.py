"""Writes of corrected outputs. A correction belongs to the reviewer who wrote it: each writes their own
(one per target and reviewer); only they and admins change or delete it (the annotations' rule,
annotations/ownership.py). Only an adjudicator of the target's project marks one gold. Every change
appends a `CorrectionEvent` in its transaction; an unchanged re-write appends none."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from phoenix_annot.accounts.access import may_adjudicate
from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import EventAction
from phoenix_annot.annotations.ownership import NotYours, unrestricted
from phoenix_annot.core.jsonsafe import is_storable_json
from phoenix_annot.tracing.models import Project, Session, Span, Trace

from .models import EVENT_VALUE_FIELDS, Correction, CorrectionEvent, CorrectionFormat, CorrectionTarget
from .outputs import current_output

MAX_OUTPUT_LENGTH = 200_000
NOT_YOURS = "This corrected output belongs to {owner}; reviewers change only their own (admins change any)."
GOLD_DENIED = (
    "Only the project's adjudicators (admins, project admins and members given the right) mark a corrected "
    "output gold."
)

Target = Span | Trace | Session


def correction_save(
    *,
    kind: CorrectionTarget,
    target: Target,
    output: Any,
    user: User,
    via: str,
    gold: bool | None = None,
) -> Correction:
    """The reviewer's own correction of `target`, created or replaced; `gold` None keeps what it was (not
    gold for a new one). The format is the target's (outputs.py)."""
    output_format = current_output(target).format
    _validate(output_format, output)
    project = target.trace.project if isinstance(target, Span) else target.project
    _check_gold(gold, user, project)
    with transaction.atomic():
        correction = Correction.objects.select_for_update().of_target(kind, target).filter(user=user).first()
        if correction is None:
            try:
                with transaction.atomic():
                    correction = Correction.objects.create(
                        target_kind=kind,
                        **{kind: target},
                        project=project,
                        format=output_format,
                        output=output,
                        gold=bool(gold),
                        user=user,
                    )
            except IntegrityError:
                # The same reviewer saved it at the same moment elsewhere: replace that one.
                correction = Correction.objects.select_for_update().of_target(kind, target).get(user=user)
            else:
                _append(correction, before=None, after=_values(correction), user=user, via=via)
                return correction
        return _change(correction, output_format, output, gold, user=user, via=via)


def correction_update(
    *, correction: Correction, output: Any, user: User | None, via: str, gold: bool | None = None
) -> Correction:
    """Another output (and gold mark) for an existing correction: its owner's or an admin's change."""
    _check_owner(correction, user)
    _check_gold(gold, user, correction.project)
    _validate(correction.format, output)
    with transaction.atomic():
        locked = Correction.objects.select_for_update().get(pk=correction.pk)
        return _change(locked, locked.format, output, gold, user=user, via=via)


def correction_delete(*, correction: Correction, user: User | None, via: str) -> None:
    _check_owner(correction, user)
    with transaction.atomic():
        # The event first: it names the row, which has no pk once deleted.
        _append(correction, before=_values(correction), after=None, user=user, via=via)
        correction.delete()


def _change(
    correction: Correction, output_format: str, output: Any, gold: bool | None, *, user: User | None, via: str
) -> Correction:
    before = _values(correction)
    correction.format = output_format
    correction.output = output
    if gold is not None:
        correction.gold = gold
    after = _values(correction)
    if after != before:
        correction.save()
        _append(correction, before=before, after=after, user=user, via=via)
    return correction


def _validate(output_format: str, output: Any) -> None:
    if output_format != CorrectionFormat.JSON:
        if not isinstance(output, str):
            raise ValidationError({"output": "Write the corrected output as text."})
        if not output.strip():
            raise ValidationError({"output": "The corrected output is empty; delete the correction instead."})
    if not is_storable_json(output):
        raise ValidationError(
            {"output": "It holds a NUL character, an unpaired surrogate or a non-finite number."}
        )
    if len(output if isinstance(output, str) else repr(output)) > MAX_OUTPUT_LENGTH:
        raise ValidationError({"output": f"At most {MAX_OUTPUT_LENGTH:,} characters."})


def _check_gold(gold: bool | None, user: User | None, project: Project) -> None:
    """Gold is an adjudicator's (accounts/access.py), as a gold label is."""
    if gold and user is not None and not may_adjudicate(user, project):
        raise NotYours(GOLD_DENIED)


def _check_owner(correction: Correction, user: User | None) -> None:
    if unrestricted(user) or correction.user_id == user.pk:
        return
    owner = f"user '{correction.user.username}'" if correction.user else "no user"
    raise NotYours(NOT_YOURS.format(owner=owner))


def _values(correction: Correction) -> dict[str, Any]:
    return {field: getattr(correction, field) for field in EVENT_VALUE_FIELDS}


def _append(
    correction: Correction,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    user: User | None,
    via: str,
) -> None:
    action = EventAction.CREATE if before is None else EventAction.UPDATE if after else EventAction.DELETE
    CorrectionEvent.objects.create(
        project_pk=correction.project_id,
        target_kind=correction.target_kind,
        target_pk=getattr(correction, f"{correction.target_kind}_id"),
        target_key=correction.target_key,
        correction_pk=correction.pk,
        owner_id=correction.user_id,
        action=action,
        before=before,
        after=after,
        user=user,
        via=via,
    )
