import json

import pytest

from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.datasets.spans import example_input, example_metadata, example_output
from phoenix_annot.tracing.models import Span
from tests.factories import SpanAnnotationFactory, SpanFactory, UserFactory


def span(kind: str, **attributes) -> Span:
    return Span(span_kind=kind, attributes={"openinference": {"span": {"kind": kind}}, **attributes})


def messages(*pairs: tuple[str, str]) -> list[dict]:
    return [{"message": {"role": role, "content": content}} for role, content in pairs]


def test_an_llm_span_becomes_chat_messages_in_and_out():
    llm = span(
        "LLM",
        llm={
            "input_messages": messages(("system", "Be brief."), ("user", "Hi")),
            "output_messages": messages(("assistant", "Hello!")),
        },
        input={"value": "ignored when there are messages"},
    )

    assert example_input(llm) == {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    }
    assert example_output(llm) == {"messages": [{"role": "assistant", "content": "Hello!"}]}


def test_prompt_template_variables_become_top_level_input_keys_without_hiding_the_messages():
    llm = span(
        "LLM",
        llm={
            "input_messages": messages(("user", "Context: refunds")),
            "prompt_template": {"variables": {"context": "refunds", "messages": "not the messages"}},
        },
    )

    assert example_input(llm) == {
        "context": "refunds",
        "messages": [{"role": "user", "content": "Context: refunds"}],
    }


def test_prompt_template_variables_still_stored_as_json_text_are_decoded():
    llm = span(
        "LLM", llm={"prompt_template": {"variables": json.dumps({"city": "Lisbon"})}}, input={"value": "q"}
    )

    assert example_input(llm) == {"city": "Lisbon", "input": "q"}


def test_tools_are_copied_from_their_json_schemas():
    schema = {"type": "function", "function": {"name": "search_flights", "parameters": {"type": "object"}}}
    llm = span(
        "LLM",
        llm={
            "input_messages": messages(("user", "Fly me")),
            "tools": [{"tool": {"json_schema": json.dumps(schema)}}],
        },
    )

    assert example_input(llm)["tools"] == [schema]


def test_tool_calls_and_tool_results_keep_the_fields_openai_needs():
    llm = span(
        "LLM",
        llm={
            "input_messages": [
                {"message": {"role": "tool", "content": '{"ok": true}', "tool_call_id": "call_1"}},
            ],
            "output_messages": [
                {
                    "message": {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "tool_call": {
                                    "id": "call_2",
                                    "function": {"name": "book", "arguments": '{"id": 7}'},
                                }
                            }
                        ],
                    }
                }
            ],
        },
    )

    assert example_input(llm)["messages"] == [
        {"role": "tool", "content": '{"ok": true}', "tool_call_id": "call_1"}
    ]
    assert example_output(llm)["messages"] == [
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "call_2", "type": "function", "function": {"name": "book", "arguments": '{"id": 7}'}}
            ],
        }
    ]


def test_legacy_function_calls_and_names_are_kept():
    llm = span(
        "LLM",
        llm={
            "output_messages": [
                {
                    "message": {
                        "role": "assistant",
                        "name": "planner",
                        "function_call_name": "lookup",
                        "function_call_arguments_json": "{}",
                    }
                }
            ]
        },
    )

    assert example_output(llm) == {
        "messages": [
            {"role": "assistant", "name": "planner", "function_call": {"name": "lookup", "arguments": "{}"}}
        ]
    }


def test_multimodal_message_contents_become_openai_content_parts():
    llm = span(
        "LLM",
        llm={
            "input_messages": [
                {
                    "message": {
                        "role": "user",
                        "contents": [
                            {"message_content": {"type": "text", "text": "What is this?"}},
                            {
                                "message_content": {
                                    "type": "image",
                                    "image": {"image": {"url": "https://x/cat.png"}},
                                }
                            },
                        ],
                    }
                }
            ]
        },
    )

    assert example_input(llm)["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://x/cat.png"}},
            ],
        }
    ]


def test_an_llm_span_without_messages_falls_back_to_its_input_and_output_values():
    llm = span("LLM", input={"value": "prompt text"}, output={"value": "completion text"})

    assert (example_input(llm), example_output(llm)) == (
        {"input": "prompt text"},
        {"output": "completion text"},
    )


def test_a_retriever_span_outputs_its_documents_unwrapped():
    retriever = span(
        "RETRIEVER",
        input={"value": "refund policy"},
        retrieval={"documents": [{"document": {"content": "Refunds within 30 days", "score": 0.9}}]},
        output={"value": "ignored"},
    )

    assert example_input(retriever) == {"input": "refund policy"}
    assert example_output(retriever) == {"documents": [{"content": "Refunds within 30 days", "score": 0.9}]}


def test_a_retriever_span_with_malformed_documents_falls_back_to_its_output_value():
    retriever = span("RETRIEVER", retrieval={"documents": [{"document": {}}]}, output={"value": "raw"})

    assert example_output(retriever) == {"output": "raw"}


@pytest.mark.parametrize(
    ("value", "mime_type", "expected"),
    [
        ('{"question": "Why?"}', "application/json", {"question": "Why?"}),
        ('["a", "b"]', "application/json", {"input": ["a", "b"]}),
        ("not json {", "application/json", {"input": "not json {"}),
        ('{"question": "Why?"}', "text/plain", {"input": '{"question": "Why?"}'}),
    ],
)
def test_other_spans_use_their_value_parsed_only_when_the_mime_type_is_json(value, mime_type, expected):
    chain = span("CHAIN", input={"value": value, "mime_type": mime_type})

    assert example_input(chain) == expected


def test_a_span_without_an_output_value_has_an_empty_output():
    assert example_output(span("TOOL")) == {}


@pytest.mark.django_db
def test_metadata_merges_the_span_metadata_with_its_kind_and_an_annotation_snapshot():
    reviewer = UserFactory(username="ana", email="ana@example.com")
    chain = SpanFactory(span_kind="CHAIN", attributes={"metadata": {"tenant": "acme"}})
    human = SpanAnnotationFactory(span=chain, name="correctness", label="correct", score=1.0, user=reviewer)
    machine = SpanAnnotationFactory(
        span=chain,
        name="correctness",
        identifier="judge",
        label="incorrect",
        score=0.0,
        explanation="wrong city",
        annotator_kind="LLM",
        metadata={"model": "gpt-4o"},
    )

    assert example_metadata(chain, [human, machine]) == {
        "tenant": "acme",
        "span_kind": "CHAIN",
        "annotations": {
            "correctness": [
                {
                    "label": "correct",
                    "score": 1.0,
                    "explanation": None,
                    "metadata": {},
                    "annotator_kind": "HUMAN",
                    "user_id": to_global_id("User", reviewer.pk),
                    "username": "ana",
                    "email": "ana@example.com",
                },
                {
                    "label": "incorrect",
                    "score": 0.0,
                    "explanation": "wrong city",
                    "metadata": {"model": "gpt-4o"},
                    "annotator_kind": "LLM",
                    "user_id": None,
                    "username": None,
                    "email": None,
                },
            ]
        },
    }


def test_metadata_that_is_not_an_object_is_kept_under_its_own_key():
    assert example_metadata(span("TOOL", metadata="free text"), []) == {
        "metadata": "free text",
        "span_kind": "TOOL",
        "annotations": {},
    }
