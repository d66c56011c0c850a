"""The data migration that gives traces stored before sessions existed their sessions."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from phoenix_annot.tracing.models import Session, Span, Trace
from tests.factories import SpanFactory, TraceFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("phoenix_annot.tracing.migrations.0006_backfill_sessions")


def run_backfill() -> None:
    migration.backfill(apps, SimpleNamespace(connection=connection))


def chat_turn(session_id: object, *, project=None, prompt: int = 10, cost: object = 0.5) -> Trace:
    trace = TraceFactory(**({"project": project} if project else {}))
    root = SpanFactory(
        trace=trace,
        span_kind="CHAIN",
        attributes={"session": {"id": session_id}},
        llm_token_count_prompt=prompt,
    )
    SpanFactory(
        trace=trace,
        parent_id=root.span_id,
        span_kind="LLM",
        llm_token_count_prompt=prompt,
        attributes={"llm": {"cost": {"total": cost}}},
    )
    return trace


def test_stored_traces_join_sessions_made_in_their_first_traces_project_with_roll_ups(monkeypatch):
    monkeypatch.setattr(migration, "BATCH_SIZE", 2)  # several batches
    first = chat_turn("conv-1")
    chat_turn("conv-1", prompt=5)
    chat_turn(7)
    lone = TraceFactory()
    SpanFactory(trace=lone)

    run_backfill()

    conversation = Session.objects.get(session_id="conv-1")
    assert conversation.project == first.project
    assert conversation.trace_count == 2
    assert conversation.llm_token_count_prompt == 15
    assert conversation.llm_cost_total == pytest.approx(1.0)
    assert Session.objects.filter(session_id="7").exists()
    assert Trace.objects.get(pk=lone.pk).session is None


def test_running_it_twice_changes_nothing_and_a_cost_that_is_no_number_is_left_out():
    chat_turn("conv-1", cost="free")

    run_backfill()
    run_backfill()

    session = Session.objects.get()
    assert session.trace_count == 1
    assert session.llm_cost_total == 0
    assert Span.objects.filter(llm_cost_total__isnull=False).count() == 0
