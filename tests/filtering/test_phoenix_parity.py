"""Every filter expression of the differential corpus gives Arize Phoenix's answer, without Phoenix.

bench/filter_vs_phoenix.py sent the same spans (through the OpenTelemetry exporter) and annotations to
Phoenix 20.26.1 on SQLite and on PostgreSQL, asked each expression through `POST /v1/spans`, and stored
the answers in phoenix_answers.json with the seed. Here the seed goes through our own /v1 routes and each
expression through the filter language. Where Phoenix's two backends disagree, or where we choose to
differ (the file's "exceptions", each with its reason), the expected answer is the one recorded there.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from phoenix_annot.filtering.expression import FilterExpressionError, span_condition_q
from phoenix_annot.tracing.models import Span

RECORD = json.loads((Path(__file__).parent / "phoenix_answers.json").read_text())
SEED = RECORD["seed"]
ERROR = "error"
# The backend names the script records Phoenix's answers under.
BACKENDS = {"sqlite": "sqlite", "postgresql": "postgres"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(client: Client, v1_auth_off: None) -> None:
    # As the exporter sent it: protobuf (the file keeps it as protobuf's JSON mapping).
    request = json_format.ParseDict(SEED["otlp"], ExportTraceServiceRequest())
    response = client.post("/v1/traces", request.SerializeToString(), content_type="application/x-protobuf")
    assert response.status_code == 200, response.content
    for route, rows in (
        ("/v1/span_annotations?sync=true", SEED["span_annotations"]),
        ("/v1/trace_annotations?sync=true", SEED["trace_annotations"]),
    ):
        response = client.post(route, {"data": rows}, content_type="application/json")
        assert response.status_code == 200, response.content
    assert Span.objects.count() == len(SEED["span_names"])


def our_answer(expression: str) -> list[str] | str:
    try:
        condition = span_condition_q(expression)
    except FilterExpressionError:
        return ERROR
    return sorted(Span.objects.filter(condition).values_list("name", flat=True))


def expected_answer(expression: str, answer: Any) -> Any:
    """Phoenix's answer, or our recorded exception; either may be one per backend."""
    if expression in RECORD["exceptions"]:
        answer = RECORD["exceptions"][expression]["expected"]
    return answer[BACKENDS[connection.vendor]] if isinstance(answer, dict) else answer


def test_every_expression_of_the_corpus_gives_phoenix_answer(seeded):
    differences = {}
    for expression, answer in RECORD["answers"].items():
        expected, ours = expected_answer(expression, answer), our_answer(expression)
        if ours != expected:
            differences[expression] = f"Phoenix {expected}, ours {ours}"
    report = "\n".join(f"{expression!r}: {outcome}" for expression, outcome in differences.items())
    assert not differences, f"{len(differences)} of {len(RECORD['answers'])} differ:\n{report}"


def test_every_recorded_exception_names_a_corpus_expression_and_says_why():
    for expression, exception in RECORD["exceptions"].items():
        assert expression in RECORD["answers"]
        assert exception["reason"].strip()
        expected = exception["expected"]
        per_backend = expected.values() if isinstance(expected, dict) else [expected]
        assert all(answer == ERROR or isinstance(answer, list) for answer in per_backend)
        assert expected != RECORD["answers"][expression], "an exception that agrees with Phoenix"
