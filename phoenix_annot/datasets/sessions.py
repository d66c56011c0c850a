"""Sessions added to a dataset as chat examples, one example per session.

- input: `{"messages": [...]}`, the conversation so far in OpenAI's chat shape: each turn's user message and,
  except for the last turn, the assistant's answer;
- output: `{"messages": [{"role": "assistant", "content": <the last answer>}]}` (`{}` while the last turn has
  no answer), so that the OpenAI fine-tuning export writes input + output as one training conversation;
- metadata: `session_id`, `project` (its name) and `annotations`, the session's annotations by name as a
  span's example keeps them (notes left out).

DatasetExample has no link to a session: the `session_id` in the example's metadata is what a later add
matches, so adding a session again revises its live example (a PATCH) instead of adding another. A session
whose example was deleted from the dataset comes back as a new example.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import NOTE_NAME, SessionAnnotation
from phoenix_annot.tracing.conversations import Turn, session_turns
from phoenix_annot.tracing.models import Session

from .models import Dataset
from .selectors import dataset_latest_version, example_revisions_at_version
from .services import (
    Incoming,
    SpansAdded,
    _lock,
    _Plan,
    _revision_hash,
    _revisions_write,
    _version_create,
)
from .spans import annotations_snapshot

# One add reads every turn of every session into memory (a session may hold hundreds of turns).
MAX_SESSIONS_PER_ADD = 1_000
# The metadata key a session's example is found by.
SESSION_KEY = "session_id"


@dataclass(frozen=True)
class SessionsAdded(SpansAdded):
    """SpansAdded, and how many sessions were examples already but changed since (revised)."""

    revised: int = 0


def dataset_add_sessions(
    *, dataset: Dataset, sessions: QuerySet[Session] | Sequence[Session], user: User | None
) -> SessionsAdded:
    """One example per session, as one new version: new sessions are created, changed ones revised; no
    version when nothing changed. Queries do not grow with the number of sessions."""
    if isinstance(sessions, QuerySet):
        sessions = sessions.select_related("project")[: MAX_SESSIONS_PER_ADD + 1]
    sessions = list(sessions)
    if len(sessions) > MAX_SESSIONS_PER_ADD:
        raise ValidationError(
            f"Add at most {MAX_SESSIONS_PER_ADD:,} sessions at a time; narrow the selection."
        )
    examples = _session_examples(sessions)
    with transaction.atomic():
        _lock(dataset)
        held = _live_session_examples(dataset, list(examples))
        creates = [example for session_id, example in examples.items() if session_id not in held]
        patches = [
            (held[session_id].example_id, example)
            for session_id, example in examples.items()
            if session_id in held and held[session_id].content_hash != example.content_hash
        ]
        already = len(examples) - len(creates) - len(patches)
        if not creates and not patches:
            return SessionsAdded(version=None, added=0, already=already)
        version = _version_create(dataset=dataset, user=user)
        _revisions_write(
            dataset=dataset, version=version, plan=_Plan(creates, patches, deletes=[]), previous=[]
        )
    return SessionsAdded(version=version, added=len(creates), already=already, revised=len(patches))


def session_example(session: Session, turns: list[Turn], annotations: list[SessionAnnotation]) -> Incoming:
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
        output={"messages": [{"role": "assistant", "content": last_answer}]} if last_answer else {},
        metadata={
            SESSION_KEY: session.session_id,
            "project": session.project.name,
            "annotations": annotations_snapshot(annotations),
        },
        span_id=None,
        external_id=None,
    )


def _session_examples(sessions: list[Session]) -> dict[str, Incoming]:
    """Session id -> its example; three queries for all the sessions."""
    distinct = {session.pk: session for session in sessions}
    turns = session_turns(distinct)
    annotations: dict[int, list[SessionAnnotation]] = defaultdict(list)
    rows = SessionAnnotation.objects.filter(session__in=distinct).exclude(name=NOTE_NAME)
    for annotation in rows.select_related("user").order_by("pk"):
        annotations[annotation.session_id].append(annotation)
    return {
        session.session_id: session_example(session, turns[pk], annotations[pk])
        for pk, session in distinct.items()
    }


@dataclass(frozen=True)
class _Held:
    example_id: int
    content_hash: bytes


def _live_session_examples(dataset: Dataset, session_ids: list[str]) -> dict[str, _Held]:
    """Session id -> the live example of the dataset's latest version made from it."""
    latest = dataset_latest_version(dataset=dataset)
    if latest is None or not session_ids:
        return {}
    revisions = example_revisions_at_version(version=latest).filter(
        **{f"metadata__{SESSION_KEY}__in": session_ids}
    )
    return {
        revision.metadata[SESSION_KEY]: _Held(revision.example_id, _revision_hash(revision))
        for revision in revisions
    }
