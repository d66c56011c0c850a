"""`j` and `k` on a trace page walk the rows of the list the reviewer came from: its order, its filter."""

from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.tracing.models import Span
from tests.factories import ProjectFactory, SpanFactory, TraceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def traces_with_llm_calls(latencies: list[list[float]]) -> list[tuple[Span, list[Span]]]:
    """One trace per entry: a CHAIN root and an LLM child of each latency, named by trace and position."""
    project = ProjectFactory(name="walk")
    traces = []
    for t, trace_latencies in enumerate(latencies):
        trace = TraceFactory(project=project, latency_ms=1000.0 - t)
        root = SpanFactory(trace=trace, name=f"chain-{t}", span_kind="CHAIN")
        children = [
            SpanFactory(trace=trace, parent_id=root.span_id, name=f"llm-{t}-{n}", latency_ms=latency)
            for n, latency in enumerate(trace_latencies)
        ]
        traces.append((root, children))
    return traces


def trace_url(live_server, span: Span, **list_params: str) -> str:
    query = urlencode({"span": span.span_id, "list": urlencode(list_params)})
    return f"{live_server.url}/traces/{span.trace.trace_id}/?{query}"


def test_j_and_k_walk_the_filtered_spans_in_the_lists_sort_order(reviewer_page: Page, live_server):
    # By latency the LLM spans alternate between the traces, which start-time order never does.
    traces = traces_with_llm_calls([[10.0, 30.0], [20.0, 40.0]])
    (_, (a0, a1)), (_, (b0, b1)) = traces
    page = reviewer_page
    selected = page.locator("#span-view h2")

    page.goto(trace_url(live_server, a0, span_kind="LLM", sort="latency_ms", dir="asc", tab="spans"))
    expect(selected).to_have_text("llm-0-0")
    for expected in ["llm-1-0", "llm-0-1", "llm-1-1"]:
        page.keyboard.press("j")
        expect(selected).to_have_text(expected)
    expect(page.locator(f'#span-tree a.selected[data-span-id="{b1.span_id}"]')).to_be_visible()
    page.keyboard.press("j")
    expect(page.get_by_role("status")).to_contain_text("End of the list")
    expect(selected).to_have_text("llm-1-1")
    page.keyboard.press("k")
    expect(selected).to_have_text("llm-0-1")
    assert f"span={a1.span_id}" in page.url and b0.span_id not in page.url


def test_on_the_traces_tab_j_opens_the_next_trace_of_the_list_at_its_root(reviewer_page: Page, live_server):
    traces = traces_with_llm_calls([[10.0], [20.0], [30.0]])
    roots = [root for root, _children in traces]
    page = reviewer_page
    selected = page.locator("#span-view h2")

    # Sorted by latency, highest first: the roots' traces are 1000, 999 and 998 ms long in trace order.
    page.goto(trace_url(live_server, traces[1][1][0], sort="latency_ms", dir="desc", tab="traces"))
    expect(selected).to_have_text("llm-1-0")
    page.keyboard.press("j")
    expect(selected).to_have_text("chain-2")
    page.keyboard.press("k")
    expect(selected).to_have_text("chain-1")
    page.keyboard.press("k")
    expect(selected).to_have_text("chain-0")
    assert f"span={roots[0].span_id}" in page.url
    page.keyboard.press("k")
    expect(page.get_by_role("status")).to_contain_text("Start of the list")
