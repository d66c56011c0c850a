"""Sessions added to a dataset as chat examples, one example per session.

- input: `{"messages": [...]}`, the conversation so far in OpenAI's chat shape: each turn's user message and,
  except for the last turn, the assistant's answer;
- output: `{"messages": [{"role": "assistant", "content": <the last answer>}]}` (`{}` while the last turn has
  no answer), so that the OpenAI fine-tuning export writes input + output as one training conversation;
- metadata: `session_id`, `project` (its name) and `annotations`, the session's annotations by name as a
  span's example keeps them (notes left out).

A corrected last answer (a correction of the session) becomes the output, and "label from gold" adds the
session's gold labels, as for spans (spans.py says how, and which correction wins).

A session is linked to one example per dataset (DatasetExample.session), as a span is: adding it again
revises that example (a PATCH) when the conversation or its annotations changed since, and a session whose
example was deleted comes back as that same example.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import NOTE_NAME, SessionAnnotation
from phoenix_annot.corrections.models import Correction
from phoenix_annot.corrections.selectors import winning_session_corrections
from phoenix_annot.tracing.conversations import Turn, session_turns
from phoenix_annot.tracing.models import Session

from .models import Dataset, DatasetExample, ExampleRevision, RevisionKind
from .selectors import dataset_latest_version, example_revisions_at_version
from .services import (
    Incoming,
    SpansAdded,
    dataset_lock,
    dataset_version_create,
    revision_hash,
    revision_row,
    splits_assign,
)
from .spans import annotations_snapshot, taking

# One add reads every turn of every session into memory (a session may hold hundreds of turns).
MAX_SESSIONS_PER_ADD = 1_000


@dataclass(frozen=True)
class SessionsAdded(SpansAdded):
    """SpansAdded, and how many sessions were examples already but changed since (revised)."""

    revised: int = 0


def dataset_add_sessions(
    *,
    dataset: Dataset,
    sessions: QuerySet[Session] | Sequence[Session],
    user: User | None,
    split_name: str | None = None,
    from_gold: bool = False,
) -> SessionsAdded:
    """One example per session, as one new version: new sessions are created, changed ones revised; no
    version when nothing changed. With `split_name`, every session's example, new or not, is put in that
    split too. Queries do not grow with the number of sessions."""
    if isinstance(sessions, QuerySet):
        sessions = sessions.select_related("project")[: MAX_SESSIONS_PER_ADD + 1]
    sessions = list(sessions)
    if len(sessions) > MAX_SESSIONS_PER_ADD:
        raise ValidationError(
            f"Add at most {MAX_SESSIONS_PER_ADD:,} sessions at a time; narrow the selection."
        )
    examples = _session_examples(sessions, from_gold=from_gold)
    with transaction.atomic():
        dataset_lock(dataset)
        holders = dict(
            DatasetExample.objects.filter(dataset=dataset, session__in=examples).values_list(
                "session_id", "pk"
            )
        )
        live = _live_hashes(dataset, example_pks=holders.values())
        # (its example's pk, None for a new one; the session's pk; its example content; the revision kind)
        changes: list[tuple[int | None, int, Incoming, RevisionKind]] = []
        for session_pk, example in examples.items():
            held = holders.get(session_pk)
            if held not in live:
                changes.append((held, session_pk, example, RevisionKind.CREATE))
            elif live[held] != example.content_hash:
                changes.append((held, session_pk, example, RevisionKind.PATCH))
        version = dataset_version_create(dataset=dataset, user=user) if changes else None
        new_examples = DatasetExample.objects.bulk_create(
            DatasetExample(dataset=dataset, session_id=session_pk)
            for held, session_pk, _, _ in changes
            if held is None
        )
        example_pks = holders | {row.session_id: row.pk for row in new_examples}
        ExampleRevision.objects.bulk_create(
            revision_row(example_pks[session_pk], version, example, kind)
            for _, session_pk, example, kind in changes
        )
        if split_name is not None:
            splits_assign(example_pks=example_pks.values(), split_name=split_name, user=user)
    revised = sum(1 for *_, kind in changes if kind == RevisionKind.PATCH)
    return SessionsAdded(
        version=version,
        added=len(changes) - revised,
        already=len(examples) - len(changes),
        revised=revised,
    )


def session_example(
    session: Session,
    turns: list[Turn],
    annotations: list[SessionAnnotation],
    *,
    correction: Correction | None = None,
    from_gold: bool = False,
) -> Incoming:
    """The example a session becomes (see the module docstring)."""
    messages: list[dict[str, Any]] = []
    arrived = [turn for turn in turns if turn.root is not None]
    for number, turn in enumerate(arrived, start=1):
        if turn.user:
            messages.append({"role": "user", "content": turn.user})
        if turn.assistant and number < len(arrived):
            messages.append({"role": "assistant", "content": turn.assistant})
    last_answer = arrived[-1].assistant if arrived else ""
    return Incoming(
        input={"messages": messages},
        **taking(
            output={"messages": [{"role": "assistant", "content": last_answer}]} if last_answer else {},
            metadata={
                "session_id": session.session_id,
                "project": session.project.name,
                "annotations": annotations_snapshot(annotations),
            },
            annotations=annotations,
            correction=correction,
            from_gold=from_gold,
        ),
        span_id=None,
        external_id=None,
    )


def _session_examples(sessions: list[Session], *, from_gold: bool) -> dict[int, Incoming]:
    """Session pk -> its example; two queries for all the sessions' turns, one for their annotations, one
    for their corrections."""
    distinct = {session.pk: session for session in sessions}
    turns = session_turns(distinct)
    annotations: dict[int, list[SessionAnnotation]] = defaultdict(list)
    rows = SessionAnnotation.objects.filter(session__in=distinct).exclude(name=NOTE_NAME)
    for annotation in rows.select_related("user").order_by("pk"):
        annotations[annotation.session_id].append(annotation)
    corrections = winning_session_corrections(distinct)
    return {
        pk: session_example(
            session, turns[pk], annotations[pk], correction=corrections.get(pk), from_gold=from_gold
        )
        for pk, session in distinct.items()
    }


def _live_hashes(dataset: Dataset, *, example_pks: Iterable[int]) -> dict[int, bytes]:
    """Example pk -> the content hash of its live revision, for those of `example_pks` live at the dataset's
    latest version."""
    example_pks = list(example_pks)
    latest = dataset_latest_version(dataset=dataset) if example_pks else None
    if latest is None:
        return {}
    revisions = example_revisions_at_version(version=latest).filter(example_id__in=example_pks)
    return {revision.example_id: revision_hash(revision) for revision in revisions}
