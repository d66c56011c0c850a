"""Who may change an annotation (DESIGN.md §3, Ownership): one rule, checked in the services for both UIs.

An annotation belongs to the user who wrote it, or to the user its `px-app:` identifier names
(`models.annotation_owner_pk`). Admins change any row, and so does a write without a user (`/v1` with auth
off, where everybody may do everything). Everybody else creates, replaces and deletes only their own rows,
and creates no `px-app:` identifier but their own. One exception keeps evaluation pipelines working as they
do with Phoenix: an LLM or CODE annotation may be replaced by another LLM or CODE one from any writer (a
re-run under another key), but never turned into, or replaced by, a HUMAN one.

The `gold` identifier holds a row's adjudicated value: only the adjudicators of the row's project
(`accounts.access.may_adjudicate`) write it, and any of them may replace another's.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from phoenix_annot.accounts.access import may_adjudicate
from phoenix_annot.accounts.models import User
from phoenix_annot.tracing.models import Project

from .models import (
    GOLD_IDENTIFIER,
    REVIEWER_IDENTIFIER_PREFIX,
    AnnotationBase,
    AnnotatorKind,
    PendingAnnotation,
    annotation_owner_pk,
    reviewer_identifier,
)

MACHINE_KINDS = frozenset({AnnotatorKind.LLM, AnnotatorKind.CODE})
# A refused batch names this many of its refusals, and how many more there are.
NAMED_REFUSALS = 5


class NotYours(PermissionDenied):
    """A write or delete that would change another user's annotation; nothing of it was done."""


@dataclass(frozen=True)
class Held:
    """What the rule needs of a stored annotation, or of a pending one."""

    user_id: int | None
    identifier: str
    annotator_kind: str

    @classmethod
    def of(cls, row: AnnotationBase | PendingAnnotation) -> "Held":
        return cls(row.user_id, row.identifier, row.annotator_kind)

    @property
    def owner_pk(self) -> int | None:
        return annotation_owner_pk(user_id=self.user_id, identifier=self.identifier)


@dataclass(frozen=True)
class Refusal:
    """Why `actor` may not write or delete: `where` names the annotation, `owner_pk` whose it is."""

    where: str
    owner_pk: int | None
    held: bool
    machine_to_human: bool = False
    gold: bool = False


def unrestricted(actor: User | None) -> bool:
    return actor is None or actor.is_admin


def may_write_gold(*, actor: User | None, project_id: int | None) -> bool:
    """May `actor` write the `gold` identifier on a row of this project; a row not stored yet has no
    project (None), so only admins may."""
    if actor is None or actor.is_admin:
        return True
    return project_id is not None and may_adjudicate(actor, Project(pk=project_id))


def write_refusal(
    *,
    actor: User | None,
    where: str,
    identifier: str,
    annotator_kind: str,
    held: Held | None,
    gold_allowed: bool = False,
) -> Refusal | None:
    """Why `actor` may not write this annotation over `held` (the row of its key, if any), or None;
    `gold_allowed` is `may_write_gold` of the row, asked by the caller only for a `gold` write."""
    if actor is None or actor.is_admin:
        return None
    if identifier == GOLD_IDENTIFIER:
        return None if gold_allowed else Refusal(where, None, held=held is not None, gold=True)
    if identifier.startswith(REVIEWER_IDENTIFIER_PREFIX) and identifier != reviewer_identifier(actor.pk):
        return Refusal(where, annotation_owner_pk(user_id=None, identifier=identifier), held=held is not None)
    if held is None or held.owner_pk == actor.pk:
        return None
    both_machine = held.annotator_kind in MACHINE_KINDS and annotator_kind in MACHINE_KINDS
    if both_machine:
        return None
    return Refusal(where, held.owner_pk, held=True, machine_to_human=held.annotator_kind in MACHINE_KINDS)


def may_delete(*, actor: User | None, held: Held) -> bool:
    return actor is None or actor.is_admin or held.owner_pk == actor.pk


def not_yours(refusals: Iterable[Refusal], *, done: str = "written") -> NotYours:
    """The 403 for these refusals, naming each annotation's owner; nothing was `done`."""
    refusals = list(refusals)
    owner_pks = {refusal.owner_pk for refusal in refusals if refusal.owner_pk is not None}
    names = dict(User.objects.filter(pk__in=owner_pks).values_list("pk", "username"))
    texts = [_text(refusal, names) for refusal in refusals[:NAMED_REFUSALS]]
    if len(refusals) > NAMED_REFUSALS:
        texts.append(f"and {len(refusals) - NAMED_REFUSALS} more")
    return NotYours(
        f"{'; '.join(texts)}. Annotators change only their own annotations (admins change any); "
        f"nothing was {done}."
    )


def _text(refusal: Refusal, names: dict[int, str]) -> str:
    if refusal.gold:
        reserved = "is reserved to the project's adjudicators"
        return f"{refusal.where}: the identifier '{GOLD_IDENTIFIER}' {reserved}"
    if refusal.owner_pk is None:
        owner = "no user"
    else:
        owner = f"user '{names.get(refusal.owner_pk, refusal.owner_pk)}'"
    if not refusal.held:
        prefix = REVIEWER_IDENTIFIER_PREFIX
        return f"{refusal.where}: a {prefix} identifier is reserved to the user it names, {owner}"
    if refusal.machine_to_human:
        return f"{refusal.where} belongs to {owner}; only another LLM or CODE annotation may replace it"
    return f"{refusal.where} belongs to {owner}"
