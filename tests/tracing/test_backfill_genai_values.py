"""The data migration that gives spans stored before GenAI reading their input and output."""

import importlib
import json
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from phoenix_annot.tracing.models import Span
from tests.factories import SpanFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("phoenix_annot.tracing.migrations.0004_backfill_genai_values")

GENAI_TOOL = {
    "gen_ai": {"tool": {"name": "weather", "call": {"arguments": '{"city":"Lisbon"}', "result": "sunny"}}}
}


def run_backfill() -> None:
    migration.backfill(apps, SimpleNamespace(connection=connection))


def test_stored_genai_spans_get_their_input_and_output_and_the_matching_attributes(monkeypatch):
    monkeypatch.setattr(migration, "BATCH_SIZE", 2)  # several batches
    tools = [
        SpanFactory(span_kind="TOOL", input_value="", output_value="", attributes=GENAI_TOOL)
        for _ in range(5)
    ]

    run_backfill()

    for span in Span.objects.filter(pk__in=[tool.pk for tool in tools]):
        assert (span.input_value, span.input_mime_type) == ('{"city":"Lisbon"}', "application/json")
        assert (span.output_value, span.output_mime_type) == ("sunny", "text/plain")
        assert span.attributes["output"] == {"value": "sunny", "mime_type": "text/plain"}


def test_values_a_span_already_has_and_spans_without_genai_attributes_are_left_alone():
    chat = SpanFactory(
        input_value="kept",
        output_value="",
        attributes={
            "input": {"value": "kept"},
            "gen_ai": {
                "output": {
                    "messages": json.dumps(
                        [{"role": "assistant", "parts": [{"type": "text", "content": "Hi"}]}]
                    )
                }
            },
        },
    )
    plain = SpanFactory(input_value="", output_value="", attributes={"llm": {"model_name": "gpt-4o"}})

    run_backfill()
    run_backfill()

    chat.refresh_from_db()
    plain.refresh_from_db()
    assert (chat.input_value, chat.output_value) == ("kept", "Hi")
    assert (plain.input_value, plain.output_value, plain.attributes) == (
        "",
        "",
        {"llm": {"model_name": "gpt-4o"}},
    )
