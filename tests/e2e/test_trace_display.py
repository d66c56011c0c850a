"""What a trace page shows of an LLM call: the conversation once, its images, tool calls by id, the tools and
the prompt template; and that the page passes axe-core's WCAG 2 A/AA rules."""

import json

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import assert_no_axe_violations
from tests.factories import AnnotationConfigFactory, ProjectFactory, SpanFactory, TraceFactory

pytestmark = pytest.mark.django_db(transaction=True)

PIXEL = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def image(url: str) -> dict:
    return {"message_content": {"type": "image", "image": {"image": {"url": url}}}}


def agent_call() -> SpanFactory:
    """An LLM call that was shown an image, called a tool and read its result, with tools and a template."""
    project = ProjectFactory(name="agents")
    AnnotationConfigFactory(name="correctness").projects.add(project)
    root = SpanFactory(trace=TraceFactory(project=project), name="agent", span_kind="CHAIN")
    messages = [
        {"message": {"role": "system", "content": "You plan trips."}},
        {
            "message": {
                "role": "user",
                "contents": [
                    {"message_content": {"type": "text", "text": "Where is this?"}},
                    image(PIXEL),
                    image("javascript:alert(1)"),
                ],
            }
        },
        {
            "message": {
                "role": "assistant",
                "tool_calls": [
                    {
                        "tool_call": {
                            "id": "call_7",
                            "function": {"name": "geocode", "arguments": '{"q": "x"}'},
                        }
                    }
                ],
            }
        },
        {"message": {"role": "tool", "tool_call_id": "call_7", "content": "Lisbon"}},
    ]
    return SpanFactory(
        trace=root.trace,
        parent_id=root.span_id,
        name="plan",
        input_value=json.dumps({"messages": "raw request body"}),
        input_mime_type="application/json",
        attributes={
            "llm": {
                "input_messages": messages,
                "output_messages": [{"message": {"role": "assistant", "content": "That is Lisbon."}}],
                "tools": [
                    {
                        "tool": {
                            "json_schema": json.dumps(
                                {
                                    "type": "function",
                                    "function": {"name": "geocode", "description": "Find a place"},
                                }
                            )
                        }
                    }
                ],
                "prompt_template": {
                    "template": "You plan trips to {city}.",
                    "variables": {"city": "Lisbon"},
                    "version": "v3",
                },
            }
        },
    )


def test_an_llm_call_shows_its_conversation_once_with_images_tool_calls_tools_and_template(
    reviewer_page: Page, live_server
):
    span = agent_call()
    page = reviewer_page
    view = page.locator("#span-view")

    page.goto(f"{live_server.url}/traces/{span.trace.trace_id}/?span={span.span_id}")

    expect(view.get_by_text("raw request body")).to_be_hidden()
    view.get_by_text("Raw input and output").click()
    expect(view.get_by_text("raw request body")).to_be_visible()
    expect(view.locator("img.message-image")).to_have_attribute("src", PIXEL)
    expect(view.locator("img")).to_have_count(1)
    expect(view.locator(".message.role-user")).to_contain_text("[image]")
    expect(view.locator(".message.role-assistant").first).to_contain_text("call_7")
    expect(view.locator(".message.role-tool")).to_contain_text("result of geocode call call_7")
    expect(view.locator(".message.role-tool")).to_contain_text("Lisbon")
    expect(view).to_contain_text("Tools offered to the model (1)")
    expect(view).to_contain_text("geocode · Find a place")
    expect(view).to_contain_text("You plan trips to {city}.")
    expect(view.locator("dl.kv", has_text="city")).to_contain_text("Lisbon")


def test_the_tree_shows_no_dash_and_the_explanation_box_opens_when_asked(reviewer_page: Page, live_server):
    span = agent_call()
    page = reviewer_page

    page.goto(f"{live_server.url}/traces/{span.trace.trace_id}/?span={span.span_id}")

    expect(page.locator("#span-tree")).not_to_contain_text("—")
    explanation = page.locator("#panel-span form[data-config=correctness] textarea[name=explanation]")
    expect(explanation).to_be_hidden()
    page.locator("#panel-span form[data-config=correctness]").get_by_text("Explanation", exact=True).click()
    expect(explanation).to_be_visible()


def test_the_trace_page_passes_axe_with_the_panel_open_and_after_a_save(reviewer_page: Page, live_server):
    span = agent_call()
    page = reviewer_page

    page.goto(f"{live_server.url}/traces/{span.trace.trace_id}/?span={span.span_id}&list=tab%3Dspans")
    assert_no_axe_violations(page)
    page.keyboard.press("1")
    expect(page.get_by_role("status")).to_contain_text("Saved correctness = correct")
    assert_no_axe_violations(page)
    page.keyboard.press("?")
    assert_no_axe_violations(page)
