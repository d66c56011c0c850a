"""A small project of two traces whose spans and annotations every filtering test reads.

trace a…a: root (CHAIN) -> llm-a (LLM)
trace b…b: llm-b (LLM, ERROR) -> retriever (RETRIEVER); orphan (TOOL) whose parent never arrived
"""

from datetime import timedelta

import pytest

from phoenix_annot.tracing.models import Span, Trace
from tests.factories import (
    BASE_TIME,
    SpanAnnotationFactory,
    SpanFactory,
    TraceAnnotationFactory,
    TraceFactory,
)

TRACE_A = "a" * 32
TRACE_B = "b" * 32
ALL_SPANS = {"root", "llm-a", "llm-b", "retriever", "orphan"}


def make_span(trace: Trace, name: str, **fields) -> Span:
    """A span whose end follows its start by its latency, as ingestion stores it."""
    fields.setdefault("start_time", trace.start_time)
    fields["end_time"] = fields["start_time"] + timedelta(milliseconds=fields.get("latency_ms", 250.0))
    return SpanFactory(trace=trace, name=name, **fields)


@pytest.fixture
def spans(db) -> dict[str, Span]:
    trace_a = TraceFactory(trace_id=TRACE_A, start_time=BASE_TIME, end_time=BASE_TIME + timedelta(seconds=2))
    later = BASE_TIME + timedelta(hours=1)
    trace_b = TraceFactory(
        trace_id=TRACE_B, project=trace_a.project, start_time=later, end_time=later + timedelta(seconds=2)
    )
    spans = {
        "root": make_span(
            trace_a,
            "root",
            span_id="00000000000000a1",
            span_kind="CHAIN",
            latency_ms=1000.0,
            input_value="Plan a programming course",
            output_value="Done",
            attributes={"metadata": {"topic": "programming"}},
        ),
        "llm-a": make_span(
            trace_a,
            "llm-a",
            span_id="00000000000000a2",
            parent_id="00000000000000a1",
            start_time=BASE_TIME + timedelta(milliseconds=100),
            latency_ms=250.0,
            input_value="How do I learn Programming?",
            output_value="Practice.",
            llm_token_count_prompt=100,
            llm_token_count_completion=1200,
            llm_token_count_total=1300,
            attributes={
                "llm": {
                    "model_name": "gpt-4o",
                    "token_count": {"prompt": 100, "completion": 1200, "total": 1300},
                    "input_messages": [{"message": {"role": "user", "content": "hi"}}],
                },
                "metadata": {"topic": "programming", "tier": "premium", "flag": True},
                "retry_count": "3",
                "dotted.key": "flat",
            },
        ),
        "llm-b": make_span(
            trace_b,
            "llm-b",
            span_id="00000000000000b1",
            status_code="ERROR",
            status_message="rate limited",
            latency_ms=50.0,
            input_value="Best pasta recipe?",
            output_value="Boil water.",
            llm_token_count_prompt=10,
            llm_token_count_completion=20,
            llm_token_count_total=30,
            attributes={
                "llm": {
                    "model_name": "gpt-3.5-turbo",
                    "token_count": {"prompt": 10, "completion": 20, "total": 30},
                },
                "metadata": {"topic": "cooking", "flag": False},
                "retry_count": 2,
            },
        ),
        "retriever": make_span(
            trace_b,
            "retriever",
            span_id="00000000000000b2",
            parent_id="00000000000000b1",
            span_kind="RETRIEVER",
            latency_ms=500.0,
            input_value="pasta",
            output_value="",
            attributes={
                "metadata": {"tier": "free"},
                "retrieval": {"documents": [{"document": {"score": 0.7}}]},
            },
        ),
        "orphan": make_span(
            trace_b,
            "orphan",
            span_id="00000000000000c1",
            parent_id="00000000000000ff",
            span_kind="TOOL",
            status_code="UNSET",
            latency_ms=5.0,
            input_value="",
            output_value="",
            attributes={},
        ),
    }
    SpanAnnotationFactory(
        span=spans["llm-a"], name="correctness", label="correct", score=1.0, identifier="px-app:a"
    )
    SpanAnnotationFactory(
        span=spans["llm-a"], name="hallucination", label=None, score=0.9, annotator_kind="LLM"
    )
    SpanAnnotationFactory(span=spans["llm-a"], name="tone", label="fine", score=None)
    SpanAnnotationFactory(
        span=spans["llm-b"], name="correctness", label="incorrect", score=0.0, identifier="human"
    )
    SpanAnnotationFactory(
        span=spans["llm-b"],
        name="correctness",
        label="correct",
        score=1.0,
        annotator_kind="LLM",
        identifier="judge",
        explanation="Looks right to me",
    )
    SpanAnnotationFactory(
        span=spans["retriever"], name="correctness", label=None, score=0.4, annotator_kind="CODE"
    )
    SpanAnnotationFactory(span=spans["root"], name="tone", label="bad", score=None)
    TraceAnnotationFactory(trace=trace_a, name="quality", label="good", score=0.8)
    TraceAnnotationFactory(trace=trace_b, name="quality", label="bad", score=0.2)
    return spans
