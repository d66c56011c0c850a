"""Agents traced with OpenTelemetry's GenAI conventions, sent by the real OTLP exporter to a live server,
read like OpenInference ones: columns, filter language, trace page, dataset examples, fine-tuning export.

pydantic-ai runs on its FunctionModel and the official OpenAI instrumentation against a fake OpenAI server
in the test, so no test reaches the network.
"""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest
from django.test import Client
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.instrumented import InstrumentationSettings

from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.datasets.models import ExampleRevision
from phoenix_annot.datasets.services import dataset_add_spans, dataset_create
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.tracing.models import Span
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "What is the weather in Lisbon?"
ANSWER = "It is sunny in Lisbon."
INSTRUCTIONS = "Answer in one sentence."


@pytest.fixture
def tracer_provider(live_server, v1_auth_off) -> Iterator[TracerProvider]:
    """Spans go out one by one through the real OTLP/HTTP (protobuf) exporter to the live server."""
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": "genai"}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{live_server.url}/v1/traces"))
    )
    yield provider
    provider.shutdown()


@pytest.fixture
def reviewer_client() -> Client:
    client = Client()
    client.force_login(UserFactory())
    return client


def run_pydantic_ai_agent(provider: TracerProvider) -> str:
    """A pydantic-ai agent that calls its weather tool once, then answers."""

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if any(isinstance(part, ToolReturnPart) for message in messages for part in message.parts):
            return ModelResponse(parts=[TextPart(ANSWER)])
        return ModelResponse(parts=[ToolCallPart("weather", {"city": "Lisbon"}, tool_call_id="call_1")])

    agent = Agent(FunctionModel(model, model_name="fake-gpt"), instructions=INSTRUCTIONS, name="forecaster")
    agent.instrument = InstrumentationSettings(tracer_provider=provider)

    @agent.tool_plain
    def weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    return agent.run_sync(QUESTION).output


def weather_chat(*, call_id: str, tool_result: str) -> list[dict[str, Any]]:
    """The whole conversation, in OpenAI chat shape, of a model that asks for the weather and answers."""
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": "weather", "arguments": '{"city":"Lisbon"}'},
    }
    return [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": tool_result},
        {"role": "assistant", "content": ANSWER},
    ]


def spans_by_name() -> dict[str, list[Span]]:
    spans: dict[str, list[Span]] = {}
    for span in Span.objects.order_by("start_time"):
        spans.setdefault(span.name, []).append(span)
    return spans


def matching(condition: str) -> list[str]:
    """The names of the spans the filter expression selects, one per span."""
    spans = SpanFilter({"condition": condition}, queryset=Span.objects.all()).qs
    return sorted(spans.values_list("name", flat=True))


def fine_tuning_lines(client: Client, span: Span) -> list[dict[str, Any]]:
    """Add the span to a new dataset and download it as OpenAI fine-tuning JSONL through /v1."""
    dataset = dataset_create(name=f"chats {span.span_id}")
    dataset_add_spans(dataset=dataset, spans=[span], user=None)
    response = client.get(f"/v1/datasets/{to_global_id('Dataset', dataset.pk)}/jsonl/openai_ft")
    assert response.status_code == 200
    return [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]


def test_a_pydantic_ai_agent_lands_with_kinds_model_tokens_and_its_conversation_in_the_columns(
    tracer_provider,
):
    assert run_pydantic_ai_agent(tracer_provider) == ANSWER

    spans = spans_by_name()
    agent, tool = spans["invoke_agent forecaster"][0], spans["execute_tool weather"][0]
    asks_for_tool, answers = spans["chat fake-gpt"]
    assert (agent.span_kind, tool.span_kind, asks_for_tool.span_kind, answers.span_kind) == (
        "AGENT",
        "TOOL",
        "LLM",
        "LLM",
    )
    assert answers.llm_model_name == "fake-gpt"
    assert answers.llm_token_count_prompt > 0
    assert (
        answers.llm_token_count_total == answers.llm_token_count_prompt + answers.llm_token_count_completion
    )

    assert (agent.input_value, agent.output_value) == (QUESTION, ANSWER)
    assert (tool.input_value, tool.input_mime_type) == ('{"city":"Lisbon"}', "application/json")
    assert tool.output_value == "sunny in Lisbon"
    assert (answers.output_value, answers.output_mime_type) == (ANSWER, "text/plain")
    assert json.loads(asks_for_tool.output_value)["messages"][0]["tool_calls"][0]["function"] == {
        "name": "weather",
        "arguments": '{"city":"Lisbon"}',
    }
    sent = json.loads(answers.input_value)["messages"]
    assert [message["role"] for message in sent] == ["system", "user", "assistant", "tool"]
    assert (sent[0]["content"], sent[1]["content"]) == (INSTRUCTIONS, QUESTION)
    assert sent[3] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny in Lisbon"}
    # What the table shows is what /v1 clients read in the attributes.
    assert answers.attributes["output"] == {"value": ANSWER, "mime_type": "text/plain"}


def test_the_filter_language_reads_the_input_and_output_of_genai_spans(tracer_provider):
    run_pydantic_ai_agent(tracer_provider)

    assert matching("'sunny in Lisbon' in output.value") == [
        "chat fake-gpt",
        "execute_tool weather",
        "invoke_agent forecaster",
    ]
    assert matching("'tool_calls' in output.value") == ["chat fake-gpt"]
    assert matching("'Lisbon' in input.value and span_kind == 'AGENT'") == ["invoke_agent forecaster"]


def test_the_trace_page_shows_the_conversation_and_the_tool_call_of_a_pydantic_ai_agent(
    tracer_provider, reviewer_client
):
    run_pydantic_ai_agent(tracer_provider)
    spans = spans_by_name()
    answers = spans["chat fake-gpt"][1]
    trace_url = f"/traces/{answers.trace.trace_id}/"

    page = reviewer_client.get(trace_url, {"span": answers.span_id}).content.decode()
    assert "<h3>Conversation</h3>" in page
    assert INSTRUCTIONS in page and QUESTION in page and ANSWER in page
    assert "calls <code>weather</code>({&quot;city&quot;:&quot;Lisbon&quot;})" in page
    assert (
        "result of <code>weather</code> call <code>call_1</code></span></div>\n<div>sunny in Lisbon</div>"
        in page
    )

    tool = spans["execute_tool weather"][0]
    page = reviewer_client.get(trace_url, {"span": tool.span_id}).content.decode()
    assert "<h3>Tool</h3>" in page and "<pre>weather</pre>" in page
    assert "<h3>Input</h3>" in page and "&quot;city&quot;: &quot;Lisbon&quot;" in page
    assert "<h3>Output</h3><pre>sunny in Lisbon</pre>" in page


def test_a_pydantic_ai_llm_span_becomes_a_chat_example_and_a_fine_tuning_line(
    tracer_provider, reviewer_client
):
    run_pydantic_ai_agent(tracer_provider)
    answers = spans_by_name()["chat fake-gpt"][1]

    [line] = fine_tuning_lines(reviewer_client, answers)

    assert line["messages"] == weather_chat(call_id="call_1", tool_result="sunny in Lisbon")
    assert line["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "The weather in a city.",
                "parameters": {
                    "additionalProperties": False,
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                    "type": "object",
                },
            },
        }
    ]
    assert ExampleRevision.objects.get(example__span=answers).output == {
        "messages": [{"role": "assistant", "content": ANSWER}]
    }


COMPLETIONS = [
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1767268800,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_7",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city": "Lisbon"}'},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 41, "completion_tokens": 9, "total_tokens": 50},
    },
    {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "created": 1767268801,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ANSWER}}
        ],
        "usage": {"prompt_tokens": 63, "completion_tokens": 7, "total_tokens": 70},
    },
]


class FakeOpenAI(BaseHTTPRequestHandler):
    """Answers each chat completion request with the next canned completion."""

    completions: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps(self.completions.pop(0)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_openai() -> Iterator[str]:
    FakeOpenAI.completions = list(COMPLETIONS)
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def openai_instrumented(tracer_provider, monkeypatch) -> Iterator[None]:
    """The official OpenAI instrumentation on the latest GenAI conventions, with content on the spans."""
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "span_only")
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    yield
    instrumentor.uninstrument()


def test_openai_calls_traced_by_the_official_instrumentation_read_like_openinference_ones(
    fake_openai, openai_instrumented, reviewer_client
):
    client = openai.OpenAI(base_url=fake_openai, api_key="test", max_retries=0)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "The weather in a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": QUESTION},
    ]
    first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": "call_7", "content": "sunny"},
    ]
    client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)

    asks_for_tool, answers = Span.objects.order_by("start_time")
    assert (asks_for_tool.span_kind, answers.span_kind) == ("LLM", "LLM")
    assert answers.llm_model_name == "gpt-4o-mini"
    assert (
        answers.llm_token_count_prompt,
        answers.llm_token_count_completion,
        answers.llm_token_count_total,
    ) == (
        63,
        7,
        70,
    )
    assert (answers.output_value, answers.output_mime_type) == (ANSWER, "text/plain")
    assert json.loads(asks_for_tool.input_value) == {
        "messages": [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": QUESTION}]
    }
    assert matching("'sunny' in output.value") == ["chat gpt-4o-mini"]
    assert matching("'tool_calls' in output.value") == ["chat gpt-4o-mini"]

    page = reviewer_client.get(f"/traces/{asks_for_tool.trace.trace_id}/", {"span": asks_for_tool.span_id})
    assert "calls <code>weather</code>({&quot;city&quot;:&quot;Lisbon&quot;})" in page.content.decode()

    [line] = fine_tuning_lines(reviewer_client, answers)
    assert line == {"messages": weather_chat(call_id="call_7", tool_result="sunny")}
