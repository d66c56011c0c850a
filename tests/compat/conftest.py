"""The real arize-phoenix-client against a live server: what users of Phoenix run, unchanged."""

from collections.abc import Iterator

import httpx
import pytest
from phoenix.client import Client

from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import spans_ingest
from tests.ingest.builders import export_request, otlp_span

PROJECT = "compat"


@pytest.fixture
def phoenix(live_server, transactional_db, v1_auth_off) -> Iterator[Client]:
    # Closed at the end so the server thread drops its keep-alive connection, and with it its database
    # session, before the test database is torn down.
    with httpx.Client(base_url=live_server.url) as http_client:
        yield Client(http_client=http_client)


def llm_span_hex(n: int) -> str:
    return f"{n:016x}"


@pytest.fixture
def rag_spans(transactional_db) -> list[str]:
    """Three RAG traces: a CHAIN root with an LLM child and a RETRIEVER child with two documents."""
    spans = []
    for t in range(1, 4):
        root, llm, retriever = t * 10, t * 10 + 1, t * 10 + 2
        spans += [
            otlp_span(
                trace_id=t,
                span_id=root,
                name="rag",
                attributes={"openinference.span.kind": "CHAIN", "input.value": f"q{t}"},
            ),
            otlp_span(
                trace_id=t,
                span_id=llm,
                parent_id=root,
                name="ChatCompletion",
                start_ns=1_767_268_800_000_000_000 + t * 1_000_000_000,
                attributes={
                    "openinference.span.kind": "LLM",
                    "input.value": f"question {t}",
                    "output.value": f"answer {t}",
                    "llm.model_name": "gpt-4o",
                    "llm.token_count.prompt": 10 * t,
                },
            ),
            otlp_span(
                trace_id=t,
                span_id=retriever,
                parent_id=root,
                name="retrieve",
                attributes={
                    "openinference.span.kind": "RETRIEVER",
                    "retrieval.documents.0.document.content": f"doc {t}a",
                    "retrieval.documents.0.document.score": 0.9,
                    "retrieval.documents.1.document.content": f"doc {t}b",
                    "retrieval.documents.1.document.score": 0.4,
                },
            ),
        ]
    spans_ingest(
        records=decode_request(export_request(*spans, resource={"openinference.project.name": PROJECT}))
    )
    return [llm_span_hex(t * 10 + 1) for t in range(1, 4)]
