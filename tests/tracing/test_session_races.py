"""Exporters sending turns of the same conversations at once end with one session each, complete."""

import pytest
from django.db import connection

from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import spans_ingest
from phoenix_annot.tracing.models import Session, Trace
from tests.concurrency.test_races import THREADS, race
from tests.ingest.builders import export_request, otlp_span

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers"),
]


def test_exporters_sending_turns_of_the_same_new_sessions_at_once_make_each_session_once_and_whole():
    # Each request holds one turn of each of three conversations, so every request creates or finds all three.
    requests = [
        export_request(
            *[
                otlp_span(trace_id=i * 10 + c, span_id=i * 10 + c, attributes={"session.id": f"conv-{c}"})
                for c in range(3)
            ]
        )
        for i in range(1, THREADS + 1)
    ]

    errors = race(lambda i: spans_ingest(records=decode_request(requests[i])))

    assert errors == []
    assert sorted(Session.objects.values_list("session_id", "trace_count")) == [
        (f"conv-{c}", THREADS) for c in range(3)
    ]
    assert not Trace.objects.filter(session__isnull=True).exists()
