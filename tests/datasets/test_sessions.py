import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from phoenix_annot.datasets import sessions as dataset_sessions
from phoenix_annot.datasets.exports import openai_ft_lines, openai_ft_report
from phoenix_annot.datasets.models import DatasetSplit, ExampleRevision
from phoenix_annot.datasets.selectors import dataset_latest_version, example_revisions_at_version
from phoenix_annot.datasets.sessions import dataset_add_sessions
from phoenix_annot.tracing.models import Session, Span
from tests.factories import (
    DatasetExampleFactory,
    DatasetFactory,
    DatasetVersionFactory,
    ExampleRevisionFactory,
    ProjectFactory,
    SessionAnnotationFactory,
    SpanFactory,
    TraceFactory,
    UserFactory,
    conversation,
)

pytestmark = pytest.mark.django_db

TURNS = [("Where is my order?", "Which order number?"), ("It is 42.", "It ships today."), ("Thanks!", "Bye!")]


@pytest.fixture
def project():
    return ProjectFactory(name="support")


def live_revisions(dataset) -> list[ExampleRevision]:
    return list(example_revisions_at_version(version=dataset_latest_version(dataset=dataset)))


def test_a_session_becomes_one_chat_example_of_the_conversation_so_far_and_its_last_answer(project):
    session = conversation(project, TURNS)
    reviewer = UserFactory(username="ana")
    SessionAnnotationFactory(session=session, name="outcome", label="solved", score=1.0, user=reviewer)
    SessionAnnotationFactory(session=session, name="note", label=None, score=None, explanation="call back")
    dataset = DatasetFactory()

    added = dataset_add_sessions(dataset=dataset, sessions=[session], user=reviewer)

    assert (added.added, added.already, added.revised) == (1, 0, 0)
    (revision,) = live_revisions(dataset)
    assert revision.input == {
        "messages": [
            {"role": "user", "content": "Where is my order?"},
            {"role": "assistant", "content": "Which order number?"},
            {"role": "user", "content": "It is 42."},
            {"role": "assistant", "content": "It ships today."},
            {"role": "user", "content": "Thanks!"},
        ]
    }
    assert revision.output == {"messages": [{"role": "assistant", "content": "Bye!"}]}
    assert revision.metadata["session_id"] == session.session_id
    assert revision.metadata["project"] == "support"
    assert list(revision.metadata["annotations"]) == ["outcome"]
    (outcome,) = revision.metadata["annotations"]["outcome"]
    assert (outcome["label"], outcome["score"], outcome["username"]) == ("solved", 1.0, "ana")


def test_a_session_example_exports_as_one_openai_fine_tuning_conversation(project):
    dataset = DatasetFactory()
    dataset_add_sessions(dataset=dataset, sessions=[conversation(project, TURNS)], user=None)
    revisions = example_revisions_at_version(version=dataset_latest_version(dataset=dataset))

    (line,) = list(openai_ft_lines(revisions))

    row = json.loads(line)
    assert [message["role"] for message in row["messages"]] == ["user", "assistant"] * 3
    assert row["messages"][-1] == {"role": "assistant", "content": "Bye!"}
    assert tuple(openai_ft_report(revisions)) == (1, 0)


def test_the_user_turn_is_the_last_user_message_of_a_chat_root(project):
    session = conversation(project, [("placeholder", "Hello, how can I help?")])
    request = {"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}]}
    Span.objects.filter(trace__session=session, parent_id__isnull=True).update(
        input_value=json.dumps(request), input_mime_type="application/json"
    )
    dataset = DatasetFactory()

    dataset_add_sessions(dataset=dataset, sessions=[session], user=None)

    assert live_revisions(dataset)[0].input == {"messages": [{"role": "user", "content": "Hi"}]}


def test_adding_a_session_again_revises_its_example_only_when_the_session_changed(project):
    session = conversation(project, TURNS[:2])
    dataset = DatasetFactory()
    first = dataset_add_sessions(dataset=dataset, sessions=[session], user=None)

    unchanged = dataset_add_sessions(dataset=dataset, sessions=[session], user=None)
    assert (unchanged.version, unchanged.added, unchanged.already, unchanged.revised) == (None, 0, 1, 0)

    # A third turn arrives and the conversation is judged.
    at = session.end_time + timedelta(seconds=5)
    trace = TraceFactory(project=project, session=session, start_time=at, end_time=at + timedelta(seconds=1))
    SpanFactory(trace=trace, input_value="Thanks!", output_value="Bye!")
    SessionAnnotationFactory(session=session, name="outcome", label="solved")
    revised = dataset_add_sessions(dataset=dataset, sessions=[session], user=None)

    assert (revised.added, revised.already, revised.revised) == (0, 0, 1)
    assert revised.version.pk > first.version.pk
    (revision,) = live_revisions(dataset)
    assert revision.revision_kind == "PATCH"
    assert revision.example_id == ExampleRevision.objects.get(version=first.version).example_id
    assert revision.output == {"messages": [{"role": "assistant", "content": "Bye!"}]}
    assert list(revision.metadata["annotations"]) == ["outcome"]


def test_one_add_of_new_and_known_sessions_makes_one_version(project):
    known = conversation(project, TURNS[:1])
    dataset = DatasetFactory()
    dataset_add_sessions(dataset=dataset, sessions=[known], user=None)
    fresh = [conversation(project, TURNS, minute=n) for n in (1, 2)]

    added = dataset_add_sessions(dataset=dataset, sessions=Session.objects.all(), user=None)

    assert (added.added, added.already, added.revised) == (2, 1, 0)
    assert dataset.versions.count() == 2
    assert {r.metadata["session_id"] for r in live_revisions(dataset)} == {
        s.session_id for s in [known, *fresh]
    }


def test_a_session_whose_last_turn_has_no_answer_yet_has_no_output(project):
    session = conversation(project, [*TURNS[:1], ("Still there?", "")])
    dataset = DatasetFactory()

    dataset_add_sessions(dataset=dataset, sessions=[session], user=None)

    (revision,) = live_revisions(dataset)
    assert revision.output == {}
    assert revision.input["messages"][-1] == {"role": "user", "content": "Still there?"}


def test_too_many_sessions_at_once_are_refused_and_nothing_is_written(project, monkeypatch):
    monkeypatch.setattr(dataset_sessions, "MAX_SESSIONS_PER_ADD", 2)
    for minute in range(3):
        conversation(project, TURNS[:1], minute=minute)
    dataset = DatasetFactory()

    with pytest.raises(ValidationError, match="at most 2 sessions"):
        dataset_add_sessions(dataset=dataset, sessions=Session.objects.all(), user=None)
    assert not dataset.versions.exists()


def test_adding_sessions_takes_as_many_queries_for_two_sessions_as_for_six(project):
    def queries_to_add(count: int) -> int:
        dataset = DatasetFactory()
        sessions = [conversation(project, TURNS, minute=100 * count + n) for n in range(count)]
        for session in sessions:
            SessionAnnotationFactory(session=session, user=UserFactory())
        with CaptureQueriesContext(connection) as queries:
            dataset_add_sessions(
                dataset=dataset, sessions=Session.objects.filter(pk__in=[s.pk for s in sessions]), user=None
            )
        return len(queries)

    assert queries_to_add(2) == queries_to_add(6)


def test_a_session_whose_example_was_deleted_comes_back_as_that_example(project):
    session = conversation(project, TURNS[:1])
    dataset = DatasetFactory()
    first = dataset_add_sessions(dataset=dataset, sessions=[session], user=None)
    example = dataset.examples.get()
    ExampleRevisionFactory(
        example=example, version=DatasetVersionFactory(dataset=dataset), revision_kind="DELETE"
    )

    again = dataset_add_sessions(dataset=dataset, sessions=[session], user=None)

    assert (again.added, again.already, again.revised) == (1, 0, 0)
    assert again.version.pk > first.version.pk
    assert dataset.examples.get() == example and example.session == session
    assert live_revisions(dataset)[0].revision_kind == "CREATE"


def test_a_session_is_linked_to_one_example_per_dataset(project):
    session = conversation(project, TURNS[:1])
    dataset = DatasetFactory()
    dataset_add_sessions(dataset=dataset, sessions=[session], user=None)

    with pytest.raises(IntegrityError), transaction.atomic():
        DatasetExampleFactory(dataset=dataset, session=session)
    assert DatasetExampleFactory(dataset=DatasetFactory(), session=session).session == session


def test_sessions_added_with_a_split_name_are_put_in_that_split_new_or_not(project):
    known, fresh = (conversation(project, TURNS[:1], minute=n) for n in range(2))
    dataset = DatasetFactory()
    dataset_add_sessions(dataset=dataset, sessions=[known], user=None)

    dataset_add_sessions(dataset=dataset, sessions=[known, fresh], user=None, split_name=" train ")

    train = DatasetSplit.objects.get(name="train")
    assert set(train.examples.values_list("session", flat=True)) == {known.pk, fresh.pk}
