"""`session_annotations['name']` in the span filter language: the annotations of the span's session, read as
`trace_annotations['name']` reads its trace's.

Ours only: Phoenix 20.26.1 answers `POST /v1/spans` with `session_annotations['outcome'].label == 'failed'`
as a 422 `Invalid query: invalid expression: session_annotations['outcome']` (run from
bench/results/phoenix-venv on SQLite), so there is no Phoenix answer to match.
"""

import pytest

from phoenix_annot.tracing.models import Span, Trace
from tests.factories import SessionAnnotationFactory, SessionFactory
from tests.filtering.conftest import TRACE_A, TRACE_B
from tests.filtering.test_expression import error_for, matching

pytestmark = pytest.mark.django_db

IN_SESSION_A = {"root", "llm-a"}
IN_SESSION_B = {"llm-b", "retriever", "orphan"}


@pytest.fixture
def sessions(spans: dict[str, Span]) -> None:
    """Trace a is a turn of a failed conversation, judged by two annotators; trace b belongs to no session."""
    session = SessionFactory(project=spans["root"].project)
    Trace.objects.filter(trace_id=TRACE_A).update(session=session)
    SessionAnnotationFactory(
        session=session, name="outcome", label="failed", score=0.0, identifier="px-app:a"
    )
    SessionAnnotationFactory(
        session=session, name="outcome", label="solved", score=0.9, identifier="judge", annotator_kind="LLM"
    )


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("session_annotations['outcome'].label == 'failed'", IN_SESSION_A),
        ("session_annotations['outcome']", IN_SESSION_A),
        ("session_annotations['outcome'].label == 'failed' and span_kind == 'LLM'", {"llm-a"}),
        # Outside any session there is no annotation: `is None` holds, as on a span without one.
        ("session_annotations['outcome'].label is None", IN_SESSION_B),
        ("session_annotations['outcome'].label is not None", IN_SESSION_A),
        ("session_annotations['missing'].score > 0", set()),
    ],
)
def test_session_annotations_match_the_spans_of_the_session(sessions, condition, expected):
    assert matching(condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # Both conditions must hold for ONE annotation: failed scored 0, solved scored 0.9.
        (
            "session_annotations['outcome'].label == 'failed' and session_annotations['outcome'].score > 0.5",
            set(),
        ),
        (
            "session_annotations['outcome'].label == 'solved' and session_annotations['outcome'].score > 0.5",
            IN_SESSION_A,
        ),
        ("not session_annotations['outcome'].label == 'failed'", IN_SESSION_A),
        (
            "session_annotations['outcome'].label == 'failed'"
            " and trace_annotations['quality'].label == 'good'",
            IN_SESSION_A,
        ),
        (
            "session_annotations['outcome'].label == 'failed' or annotations['correctness']",
            {"root", "llm-a", "llm-b", "retriever"},
        ),
    ],
)
def test_session_annotation_conditions_hold_for_one_annotation_like_trace_annotations(
    sessions, condition, expected
):
    assert matching(condition) == expected


def test_a_span_of_a_session_with_several_annotators_is_returned_once(sessions):
    assert matching("session_annotations['outcome'].score >= 0") == IN_SESSION_A


def test_without_session_annotations_the_condition_matches_no_span(spans):
    assert matching("session_annotations['outcome'].label == 'failed'") == set()
    assert Trace.objects.get(trace_id=TRACE_B).session is None


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("session_annotations == 1", "write session_annotations['name'].label"),
        ("session_annotations.outcome == 'x'", "write session_annotations['name'].label"),
        ("session_annotations['outcome'].verdict == 'x'", "annotations have .label, .score"),
        ("session_annotations['outcome'] == 1", "not the annotation itself"),
        (
            "retrieval.documents[0] == 1",
            "trace_annotations[...] and session_annotations[...] take subscripts",
        ),
    ],
)
def test_misuses_of_session_annotations_are_explained(condition, message):
    assert message in error_for(condition)


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("session_annotation['outcome'].label == 'x'", "Did you mean session_annotations[...]?"),
        ("trace_annotation['quality'] ", "Did you mean trace_annotations[...]?"),
        ("attribute['llm'] == 'x'", "Did you mean attributes[...]?"),
    ],
)
def test_a_misspelt_subscripted_name_is_answered_with_the_name_it_looks_like(condition, message):
    assert message in error_for(condition)
