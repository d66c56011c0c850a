"""A queue rule saved from a filter on the Spans tab picks up a span ingested afterwards; the trace and
session pages add what they show to a queue."""

import pytest
import requests
from playwright.sync_api import Page, expect

from phoenix_annot.queues.models import QueueItem, QueueRule
from tests.factories import SpanFactory, conversation
from tests.ingest.builders import export_request, otlp_span

from .axe import assert_no_axe_violations
from .test_queue_review import support_queue

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_rule_saved_from_a_filter_adds_a_matching_span_ingested_afterwards(
    admin_page: Page, live_server, v1_auth_off
):
    queue = support_queue(0)
    SpanFactory(trace__project=queue.project, span_kind="LLM", name="old answer")
    SpanFactory(trace__project=queue.project, span_kind="CHAIN")
    page = admin_page
    page.goto(f"{live_server.url}/projects/{queue.project.pk}/?span_kind=LLM")

    page.locator(".row-select").first.check()
    page.select_option("#add-queue", label="Weekly triage")
    page.click("#add-rule")

    expect(
        page.get_by_text("Rule saved. Weekly triage: 1 item added, 0 already in the queue.")
    ).to_be_visible()
    expect(page.locator("#rules-table tbody tr")).to_contain_text("span_kind = LLM")
    assert_no_axe_violations(page)
    assert QueueRule.objects.get().filter == {"span_kind": "LLM"}

    sent = requests.post(
        f"{live_server.url}/v1/traces",
        data=export_request(
            otlp_span(
                trace_id=7, span_id=70, name="new answer", attributes={"openinference.span.kind": "LLM"}
            ),
            otlp_span(
                trace_id=7, span_id=71, name="new chain", attributes={"openinference.span.kind": "CHAIN"}
            ),
            resource={"openinference.project.name": "support"},
        ).SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
        timeout=10,
    )
    assert sent.status_code == 200
    page.reload()

    expect(page.locator("#queue-items tbody tr")).to_have_count(2)
    expect(page.locator("#queue-items")).to_contain_text(f"{70:016x}")
    expect(page.locator("#queue-items")).not_to_contain_text(f"{71:016x}")


def test_the_trace_page_adds_the_selected_span_and_then_the_trace_to_a_queue(
    reviewer_page: Page, live_server
):
    queue = support_queue(0)
    root = SpanFactory(trace__project=queue.project, span_kind="CHAIN", name="answer question")
    child = SpanFactory(trace=root.trace, parent_id=root.span_id, span_kind="LLM", name="ChatCompletion")
    page = reviewer_page
    page.goto(f"{live_server.url}/traces/{root.trace.trace_id}/?span={child.span_id}")

    page.get_by_text("Add to queue…").click()
    page.select_option("#add-queue", label="Weekly triage")
    assert_no_axe_violations(page)
    page.click("#add-span-to-queue")
    expect(page.get_by_text("Weekly triage: 1 item added, 0 already in the queue.")).to_be_visible()
    page.get_by_text("Add to queue…").click()
    page.select_option("#add-queue", label="Weekly triage")
    page.click("#add-trace-to-queue")
    expect(page.get_by_text("Weekly triage: 1 item added, 0 already in the queue.")).to_be_visible()

    assert set(QueueItem.objects.values_list("span", "trace")) == {(child.pk, None), (None, root.trace_id)}
    expect(page.locator("#span-view h2")).to_have_text("ChatCompletion")


def test_the_session_page_adds_its_session_to_a_queue(reviewer_page: Page, live_server):
    queue = support_queue(0)
    session = conversation(queue.project, [("Where is my parcel?", "On its way.")])
    page = reviewer_page
    page.goto(f"{live_server.url}/sessions/{session.pk}/")

    page.get_by_text("Add to queue…").click()
    page.select_option("#add-queue", label="Weekly triage")
    page.click("#add-session-to-queue")

    expect(page.get_by_text("Weekly triage: 1 item added, 0 already in the queue.")).to_be_visible()
    assert list(QueueItem.objects.values_list("session", flat=True)) == [session.pk]
