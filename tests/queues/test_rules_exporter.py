"""A rule picks up the spans a real OpenTelemetry SDK and OTLP/HTTP exporter send after it was saved."""

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression

from phoenix_annot.queues.models import QueueItem
from phoenix_annot.queues.rules import queue_rule_create
from tests.ingest.test_exporter_end_to_end import send_rag_trace
from tests.queues.factories import AnnotationQueueFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_spans_exported_after_rules_were_saved_land_in_their_queues(live_server, v1_auth_off):
    llm_calls = AnnotationQueueFactory(project__name="e2e-rag", name="LLM calls")
    failing = AnnotationQueueFactory(project=llm_calls.project, name="Failing traces")
    queue_rule_create(queue=llm_calls, user=None, filter={"span_kind": ["LLM"]})
    queue_rule_create(queue=failing, user=None, kind="trace", filter={"condition": "status_code == 'ERROR'"})
    assert not QueueItem.objects.exists()

    assert send_rag_trace(live_server.url, compression=Compression.Gzip)

    [llm_item] = QueueItem.objects.filter(queue=llm_calls).select_related("span")
    assert (llm_item.span.name, llm_item.span.span_kind) == ("ChatCompletion", "LLM")
    [trace_item] = QueueItem.objects.filter(queue=failing)
    assert trace_item.trace_id == llm_item.span.trace_id
