"""Sessions are made and kept current by ingestion: one per session.id, roll-ups over their traces."""

from datetime import timedelta

import pytest

from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import spans_ingest
from phoenix_annot.tracing.models import Session, Span, Trace
from phoenix_annot.tracing.services import span_delete
from tests.ingest.builders import chat_turn, export_request, otlp_span

pytestmark = pytest.mark.django_db

SECOND_NS = 1_000_000_000


def ingest(*spans, project: str = "chat") -> None:
    spans_ingest(
        records=decode_request(export_request(*spans, resource={"openinference.project.name": project}))
    )


def turn(number: int, session: object = "conv-1", *, llm_tokens: tuple[int, int] = (10, 5)):
    """A turn of a chat: a CHAIN root carrying the session and the tokens copied up, an LLM child."""
    prompt, completion = llm_tokens
    tokens = {"llm.token_count.prompt": prompt, "llm.token_count.completion": completion}
    return chat_turn(
        number,
        # Totals copied onto the root, as some instrumentations do: not to be counted twice.
        root={**({"session.id": session} if session is not None else {}), **tokens},
        llm={**tokens, "llm.cost.total": 0.25},
    )


def test_traces_naming_one_session_id_make_one_session_with_roll_ups_over_llm_spans_only():
    ingest(*turn(1), *turn(2, llm_tokens=(100, 50)))

    session = Session.objects.get()
    assert session.session_id == "conv-1"
    assert session.project.name == "chat"
    assert session.trace_count == 2
    assert (session.llm_token_count_prompt, session.llm_token_count_completion) == (110, 55)
    assert session.llm_token_count_total == 165
    assert session.llm_cost_total == pytest.approx(0.5)
    assert session.start_time == Trace.objects.order_by("start_time").first().start_time
    assert session.end_time == Trace.objects.order_by("end_time").last().end_time
    assert session.status_code == "OK"
    assert set(Trace.objects.values_list("session_id", flat=True)) == {session.pk}


def test_a_turn_arriving_in_a_later_request_updates_the_session_it_joins():
    ingest(*turn(1))
    ingest(*turn(2, llm_tokens=(1, 1)))

    session = Session.objects.get()
    assert session.trace_count == 2
    assert session.llm_token_count_total == 17
    assert session.end_time - session.start_time == timedelta(seconds=60.25)


def test_an_error_span_in_any_turn_marks_the_session_as_failed():
    root, llm = turn(1)
    llm.status.code = 2
    ingest(root, llm, *turn(2))

    session = Session.objects.get()
    assert session.error_count == 1
    assert session.status_code == "ERROR"


def test_a_trace_without_session_id_has_no_session_and_an_empty_or_blank_id_names_none():
    ingest(*turn(1, session=None), *turn(2, session="   "))

    assert not Session.objects.exists()
    assert not Trace.objects.filter(session__isnull=False).exists()


def test_a_numeric_session_id_is_read_as_text_as_phoenix_reads_it():
    ingest(*turn(1, session=42))

    assert Session.objects.get().session_id == "42"


def test_a_trace_keeps_its_first_session_when_a_later_span_names_another():
    root, llm = turn(1, session="first")
    ingest(root)
    late = otlp_span(trace_id=1, span_id=99, parent_id=10, attributes={"session.id": "second"})
    ingest(late, llm)

    assert list(Session.objects.values_list("session_id", flat=True)) == ["first"]
    assert Trace.objects.get().session.session_id == "first"


def test_session_ids_are_global_a_trace_of_another_project_joins_the_existing_session():
    ingest(*turn(1), project="chat")
    ingest(*turn(2), project="other")

    session = Session.objects.get()
    assert session.project.name == "chat"
    assert session.trace_count == 2


def test_deleting_a_sessions_last_span_deletes_the_emptied_session():
    ingest(*turn(1))

    for span in Span.objects.order_by("-pk"):
        span_delete(span=span)

    assert not Session.objects.exists()


def test_deleting_a_span_refreshes_its_sessions_tokens():
    ingest(*turn(1), *turn(2, llm_tokens=(100, 50)))

    span_delete(span=Span.objects.get(span_id=f"{21:016x}"))

    session = Session.objects.get()
    assert session.llm_token_count_total == 15
    assert session.trace_count == 2


def test_sessions_are_made_with_a_constant_number_of_queries_whatever_the_number_of_sessions(
    django_assert_max_num_queries,
):
    ingest(*turn(1, session="warm-up"))
    spans = [span for number in range(2, 52) for span in turn(number, session=f"conv-{number % 25}")]
    records = decode_request(export_request(*spans))

    with django_assert_max_num_queries(30):
        spans_ingest(records=records)

    assert Session.objects.count() == 26
    assert Session.objects.get(session_id="conv-3").trace_count == 2


def test_a_genai_conversation_id_names_the_session_unless_the_span_has_an_openinference_one():
    ingest(
        otlp_span(trace_id=1, span_id=1, attributes={"gen_ai.conversation.id": "genai-conv"}),
        otlp_span(
            trace_id=2,
            span_id=2,
            attributes={"gen_ai.conversation.id": "genai-conv", "session.id": "openinference"},
        ),
    )

    assert sorted(Session.objects.values_list("session_id", "trace_count")) == [
        ("genai-conv", 1),
        ("openinference", 1),
    ]


@pytest.mark.parametrize("cost", ["0.25", True, float("nan"), 10**13])
def test_a_cost_that_is_not_a_plain_number_in_range_is_not_added_up(cost):
    root, _llm = turn(1)
    ingest(
        root,
        otlp_span(
            trace_id=1,
            span_id=11,
            parent_id=10,
            attributes={"openinference.span.kind": "LLM", "llm.cost.total": cost},
        ),
    )

    assert Span.objects.get(span_id=f"{11:016x}").llm_cost_total is None
    assert Session.objects.get().llm_cost_total == 0
