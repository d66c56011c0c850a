"""The real OpenTelemetry SDK and OTLP/HTTP exporter, talking to a live server."""

from collections.abc import Sequence

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.trace import Status, StatusCode

from phoenix_annot.accounts.services import api_key_create
from phoenix_annot.tracing.models import Span, Trace
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingExporter(OTLPSpanExporter):
    """The real exporter, remembering what each export returned (force_flush does not tell)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.results: list[SpanExportResult] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = super().export(spans)
        self.results.append(result)
        return result


def send_rag_trace(endpoint: str, *, compression: Compression, headers: dict[str, str] | None = None) -> bool:
    """Record one RAG trace with the SDK and export it; True when the exporter reports success."""
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": "e2e-rag"}))
    exporter = RecordingExporter(endpoint=f"{endpoint}/v1/traces", compression=compression, headers=headers)
    processor = BatchSpanProcessor(exporter)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("answer question") as chain:
        chain.set_attribute("openinference.span.kind", "CHAIN")
        chain.set_attribute("input.value", "How do I reset my password?")
        with tracer.start_as_current_span("retrieve") as retriever:
            retriever.set_attribute("openinference.span.kind", "RETRIEVER")
            retriever.set_attribute("retrieval.documents.0.document.content", "Open Settings, then Security.")
            retriever.set_attribute("retrieval.documents.0.document.score", 0.92)
        with tracer.start_as_current_span("ChatCompletion") as llm:
            llm.set_attribute("openinference.span.kind", "LLM")
            llm.set_attribute("llm.model_name", "gpt-4o-mini")
            llm.set_attribute("llm.input_messages.0.message.role", "user")
            llm.set_attribute("llm.input_messages.0.message.content", "How do I reset my password?")
            llm.set_attribute("llm.token_count.prompt", 52)
            llm.set_attribute("llm.token_count.completion", 12)
            llm.set_status(Status(StatusCode.ERROR, "rate limited"))
    provider.shutdown()
    return exporter.results == [SpanExportResult.SUCCESS]


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_the_real_otlp_exporter_stores_a_trace_with_its_project_parents_kinds_and_attributes(
    live_server, v1_auth_off, compression
):
    assert send_rag_trace(live_server.url, compression=compression)

    spans = {span.name: span for span in Span.objects.select_related("project")}
    assert set(spans) == {"answer question", "retrieve", "ChatCompletion"}
    assert {span.project.name for span in spans.values()} == {"e2e-rag"}
    root = spans["answer question"]
    assert root.parent_id is None
    assert spans["retrieve"].parent_id == root.span_id
    assert spans["ChatCompletion"].parent_id == root.span_id
    assert (root.span_kind, spans["retrieve"].span_kind, spans["ChatCompletion"].span_kind) == (
        "CHAIN",
        "RETRIEVER",
        "LLM",
    )
    assert spans["retrieve"].attributes["retrieval"]["documents"][0]["document"]["score"] == 0.92
    llm = spans["ChatCompletion"]
    assert llm.attributes["llm"]["input_messages"][0]["message"]["role"] == "user"
    assert (llm.llm_model_name, llm.llm_token_count_total, llm.status_code) == ("gpt-4o-mini", 64, "ERROR")
    assert llm.status_message == "rate limited"
    trace = Trace.objects.get()
    assert (trace.span_count, trace.error_count, trace.root_span_name) == (3, 1, "answer question")


def test_the_real_exporter_authenticates_with_a_bearer_api_key(live_server, settings):
    settings.V1_AUTH_REQUIRED = True
    _key, raw = api_key_create(user=UserFactory(), name="exporter")

    assert not send_rag_trace(live_server.url, compression=Compression.Gzip)
    assert Span.objects.count() == 0

    assert send_rag_trace(
        live_server.url, compression=Compression.Gzip, headers={"Authorization": f"Bearer {raw}"}
    )
    assert Span.objects.count() == 3
