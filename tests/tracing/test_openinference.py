import json

from phoenix_annot.ingest.otlp import unflatten
from phoenix_annot.tracing.openinference import (
    Value,
    genai_values,
    input_messages,
    output_messages,
    tool,
    tools,
)

USER = {"role": "user", "content": "Weather in Lisbon?"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Lisbon"}'}}


def attributes(**flat: object) -> dict:
    """Nested attributes as ingest stores them, from flat dotted keys."""
    return unflatten({key.replace("__", "."): value for key, value in flat.items()})


def text_messages(*messages: tuple[str, str]) -> str:
    """GenAI messages of one text part each, as the JSON text instrumentations send."""
    return json.dumps(
        [{"role": role, "parts": [{"type": "text", "content": text}]} for role, text in messages]
    )


def event(name: str, **event_attributes: object) -> dict:
    return {"name": name, "timestamp": "2026-01-01T12:00:00+00:00", "attributes": event_attributes}


def test_genai_messages_become_openai_chat_with_system_instructions_first_and_one_message_per_tool_result():
    span = attributes(
        gen_ai__system_instructions=json.dumps([{"type": "text", "content": "Be brief."}]),
        gen_ai__input__messages=json.dumps(
            [
                {"role": "user", "parts": [{"type": "text", "content": "Weather in Lisbon?"}]},
                {
                    "role": "assistant",
                    "parts": [
                        {"type": "text", "content": "Checking."},
                        {
                            "type": "tool_call",
                            "id": "call_1",
                            "name": "weather",
                            "arguments": {"city": "Lisbon"},
                        },
                    ],
                },
                {
                    "role": "tool",
                    "parts": [
                        {"type": "tool_call_response", "id": "call_1", "response": {"sky": "clear"}},
                        {"type": "tool_call_response", "id": "call_2", "result": "20 C"},
                    ],
                },
            ]
        ),
        gen_ai__output__messages=json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": "Sunny."}], "finish_reason": "stop"}]
        ),
    )

    assert input_messages(span) == [
        {"role": "system", "content": "Be brief."},
        USER,
        {"role": "assistant", "content": "Checking.", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"sky":"clear"}'},
        {"role": "tool", "tool_call_id": "call_2", "content": "20 C"},
    ]
    assert output_messages(span) == [{"role": "assistant", "content": "Sunny."}]


def test_openinference_messages_win_when_a_span_has_both_conventions():
    span = attributes(
        llm__input_messages__0__message__role="user",
        llm__input_messages__0__message__content="from OpenInference",
        gen_ai__input__messages=text_messages(("user", "from GenAI")),
    )

    assert input_messages(span) == [{"role": "user", "content": "from OpenInference"}]
    assert output_messages(span) == []


def test_images_by_uri_or_inline_become_openai_image_parts_and_unknown_parts_are_left_out():
    span = attributes(
        gen_ai__input__messages=json.dumps(
            [
                {
                    "role": "user",
                    "parts": [
                        {"type": "text", "content": "What is this?"},
                        {"type": "uri", "modality": "image", "uri": "https://x/cat.png"},
                        {"type": "blob", "modality": "image", "mime_type": "image/jpeg", "content": "AAAA"},
                        {"type": "reasoning", "content": "hmm"},
                    ],
                }
            ]
        )
    )

    assert input_messages(span) == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://x/cat.png"}},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
            ],
        }
    ]


def test_older_instrumentations_message_events_are_read_as_the_conversation():
    span_events = [
        event("gen_ai.system.message", **{"gen_ai.event.content": json.dumps({"content": "Be brief."})}),
        event("gen_ai.user.message", content="Weather in Lisbon?"),
        event(
            "gen_ai.assistant.message",
            **{"gen_ai.event.content": json.dumps({"tool_calls": [CALL]})},
        ),
        event(
            "gen_ai.tool.message",
            **{"gen_ai.event.content": json.dumps({"content": "sunny", "id": "call_1"})},
        ),
        event(
            "gen_ai.choice",
            **{
                "gen_ai.event.content": json.dumps(
                    {"index": 0, "finish_reason": "stop", "message": {"content": "Sunny."}}
                )
            },
        ),
        event("exception", **{"exception.message": "not a message"}),
    ]

    assert input_messages({}, span_events) == [
        {"role": "system", "content": "Be brief."},
        USER,
        {"role": "assistant", "tool_calls": [CALL]},
        {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
    ]
    assert output_messages({}, span_events) == [{"role": "assistant", "content": "Sunny."}]


def test_prompt_and_completion_events_carrying_json_messages_are_read():
    span_events = [
        event("gen_ai.content.prompt", **{"gen_ai.prompt": json.dumps([{"role": "User", "content": "Hi"}])}),
        event(
            "gen_ai.content.completion",
            **{"gen_ai.completion": json.dumps([{"role": "Assistant", "content": "Hello"}])},
        ),
    ]

    assert input_messages({}, span_events) == [{"role": "user", "content": "Hi"}]
    assert output_messages({}, span_events) == [{"role": "assistant", "content": "Hello"}]


def test_indexed_prompt_and_completion_attributes_are_read_with_their_tool_calls():
    span = attributes(
        gen_ai__prompt__0__role="user",
        gen_ai__prompt__0__content="Weather in Lisbon?",
        gen_ai__completion__0__role="assistant",
        gen_ai__completion__0__finish_reason="tool_calls",
        gen_ai__completion__0__tool_calls__0__id="call_1",
        gen_ai__completion__0__tool_calls__0__name="weather",
        gen_ai__completion__0__tool_calls__0__arguments='{"city":"Lisbon"}',
    )

    assert input_messages(span) == [USER]
    assert output_messages(span) == [{"role": "assistant", "tool_calls": [CALL]}]


def test_genai_tool_definitions_become_openai_tools_and_openinference_ones_win():
    definition = {
        "type": "function",
        "name": "weather",
        "description": "Weather",
        "parameters": {"type": "object"},
    }
    genai = attributes(gen_ai__tool__definitions=json.dumps([definition]))
    both = attributes(
        gen_ai__tool__definitions=json.dumps([definition]),
        llm__tools__0__tool__json_schema=json.dumps({"type": "function", "function": {"name": "search"}}),
    )

    assert tools(genai) == [
        {
            "type": "function",
            "function": {"name": "weather", "description": "Weather", "parameters": {"type": "object"}},
        }
    ]
    assert tools(both) == [{"type": "function", "function": {"name": "search"}}]


def test_a_genai_tool_span_gives_its_tool_and_its_arguments_and_result_as_values():
    span = attributes(
        gen_ai__tool__name="weather",
        gen_ai__tool__description="Weather in a city",
        gen_ai__tool__call__arguments='{"city":"Lisbon"}',
        gen_ai__tool__call__result="sunny",
    )

    assert tool(span) == {"name": "weather", "description": "Weather in a city"}
    assert tool(attributes(tool__name="search", gen_ai__tool__name="weather")) == {"name": "search"}
    assert genai_values(span, []) == (
        Value('{"city":"Lisbon"}', "application/json"),
        Value("sunny", "text/plain"),
    )


def test_a_model_call_gives_its_conversation_as_json_and_its_reply_as_text_or_json_when_it_calls_tools():
    asks = attributes(
        gen_ai__input__messages=text_messages(("user", "Weather?")),
        gen_ai__output__messages=json.dumps(
            [{"role": "assistant", "parts": [{"type": "tool_call", "id": "call_1", "name": "weather"}]}]
        ),
    )
    answers = attributes(gen_ai__output__messages=text_messages(("assistant", "Sunny.")))

    input_value, output_value = genai_values(asks, [])
    assert input_value == Value('{"messages":[{"role":"user","content":"Weather?"}]}', "application/json")
    assert output_value.mime_type == "application/json"
    assert json.loads(output_value.text)["messages"][0]["tool_calls"][0]["function"]["name"] == "weather"
    assert genai_values(answers, []) == (None, Value("Sunny.", "text/plain"))


def test_a_pydantic_ai_agent_run_gives_its_last_user_prompt_and_its_final_result():
    history = [
        {"role": "user", "parts": [{"type": "text", "content": "Earlier question"}]},
        {"role": "assistant", "parts": [{"type": "text", "content": "Earlier answer"}]},
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Lisbon?"}]},
        {"role": "user", "parts": [{"type": "tool_call_response", "id": "call_1", "result": "sunny"}]},
    ]
    span = attributes(pydantic_ai__all_messages=json.dumps(history), final_result="Sunny.")

    assert genai_values(span, []) == (
        Value("Weather in Lisbon?", "text/plain"),
        Value("Sunny.", "text/plain"),
    )


def test_spans_with_openinference_messages_but_no_values_get_no_values_from_genai_attributes():
    span = attributes(
        llm__input_messages__0__message__role="user",
        llm__input_messages__0__message__content="Hi",
        gen_ai__output__messages=text_messages(("assistant", "Yo")),
    )

    assert genai_values(span, []) == (None, None)
