"""Whole reviewer flows in a real browser: annotate with the keyboard, filter by feedback, build a dataset."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.annotations.models import SpanAnnotation
from phoenix_annot.datasets.models import Dataset
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


def support_project():
    project = ProjectFactory(name="support")
    AnnotationConfigFactory(name="correctness").projects.add(project)
    spans = []
    for n, label in enumerate(["correct", "incorrect", None]):
        trace = TraceFactory(project=project)
        root = SpanFactory(trace=trace, name=f"answer-{n}", span_kind="CHAIN", input_value=f"question {n}")
        llm = SpanFactory(
            trace=trace,
            parent_id=root.span_id,
            name=f"llm-{n}",
            attributes={
                "llm": {
                    "input_messages": [{"message": {"role": "user", "content": f"question {n}"}}],
                    "output_messages": [{"message": {"role": "assistant", "content": f"answer {n}"}}],
                }
            },
        )
        if label:
            SpanAnnotationFactory(span=llm, name="correctness", label=label, annotator_kind="LLM")
        spans.append((root, llm))
    return project, spans


def test_a_reviewer_annotates_a_span_with_the_keyboard(reviewer_page: Page, live_server):
    project, spans = support_project()
    _root, llm = spans[2]
    page = reviewer_page

    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click("text=llm-2")
    page.wait_for_load_state()
    expect(page.get_by_role("button", name=re.compile("^Annotate"))).to_be_visible()
    form = page.locator("#panel-span form[data-config=correctness]")
    expect(form).to_be_visible()
    page.keyboard.press("2")
    expect(page.get_by_role("status")).to_contain_text("Saved correctness = incorrect")
    form.get_by_text("Explanation", exact=True).click()
    form.locator("textarea[name=explanation]").fill("cites the wrong plan")
    page.keyboard.press("Control+Enter")
    expect(form.locator(".chip")).to_contain_text("incorrect")
    expect(form.locator("textarea[name=explanation]")).to_have_value("cites the wrong plan")

    # The chip already read "incorrect" after the digit; the explanation in the list marks the second save.
    expect(page.locator("#panel-span .annotation-list")).to_contain_text("cites the wrong plan")
    expect(page.locator("#panel-span .annotation-list")).to_contain_text("incorrect")
    expect(page.locator(f"#chips-{llm.pk}")).to_contain_text("correctness: incorrect")
    annotation = SpanAnnotation.objects.get(span=llm)
    assert (annotation.label, annotation.score, annotation.explanation) == (
        "incorrect",
        0.0,
        "cites the wrong plan",
    )
    assert annotation.user.username == "rita"


def test_clicking_a_chip_filters_the_table_and_the_url_can_be_shared(reviewer_page: Page, live_server):
    project, _spans = support_project()
    page = reviewer_page

    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.locator("#spans-table a.chip", has_text="correctness: incorrect").first.click()

    expect(page.locator("#spans-table tbody tr")).to_have_count(1)
    expect(page.locator("#spans-table")).to_contain_text("llm-1")
    assert "label=incorrect" in page.url
    page.goto(page.url)
    expect(page.locator("#spans-table tbody tr")).to_have_count(1)


def test_a_bad_filter_expression_shows_an_error_under_the_box(reviewer_page: Page, live_server):
    project, _spans = support_project()
    page = reviewer_page

    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.fill("input[name=condition]", "span_kind == ")
    page.press("input[name=condition]", "Enter")

    expect(page.locator("#filter-errors")).to_be_visible()
    page.fill("input[name=condition]", "annotations['correctness'].label == 'correct'")
    page.press("input[name=condition]", "Enter")
    expect(page.locator("#spans-table tbody tr")).to_have_count(1)
    assert "condition=" in page.url


def test_selected_rows_and_all_matching_rows_go_into_a_dataset(reviewer_page: Page, live_server):
    project, _spans = support_project()
    page = reviewer_page

    page.goto(f"{live_server.url}/projects/{project.pk}/?span_kind=LLM")
    page.locator(".row-select").first.check()
    expect(page.locator("#selection-count")).to_have_text("1 selected")
    page.fill("input[name=new_dataset_name]", "hard cases")
    page.click("text=Add to dataset")

    expect(page.locator("#examples-table tbody tr")).to_have_count(1)
    dataset = Dataset.objects.get(name="hard cases")
    page.goto(f"{live_server.url}/projects/{project.pk}/?span_kind=LLM")
    page.check("#select-page")
    page.check("#all-matching")
    page.select_option("select[name=dataset]", str(dataset.pk))
    page.click("text=Add to dataset")

    expect(page.locator("#examples-table tbody tr")).to_have_count(3)
    assert dataset.examples.count() == 3


def test_span_content_with_html_never_runs_as_script(reviewer_page: Page, live_server):
    payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    span = SpanFactory(name=payload, input_value=payload, output_value=payload)
    SpanAnnotationFactory(span=span, name="tone", label=payload, explanation=payload)
    page = reviewer_page

    page.goto(f"{live_server.url}/projects/{span.project.pk}/")
    page.goto(f"{live_server.url}/traces/{span.trace.trace_id}/")

    assert page.evaluate("window.__xss") is None
    expect(page.locator("#span-view")).to_contain_text("<script>window.__xss=2</script>")


def test_the_whole_review_flow_from_login_to_an_exported_dataset(page: Page, live_server, transactional_db):
    UserFactory(username="rita", password="rita-secret")
    project, spans = support_project()
    first_llm = spans[2][1]

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", "rita-secret")
    page.click("button[type=submit]")
    page.click("text=support")
    page.click(f"text={first_llm.name}")
    form = page.locator("#panel-span form[data-annotation-form]").first
    form.get_by_label(re.compile("^incorrect")).check()
    form.get_by_role("button", name=re.compile("^Save")).click()
    expect(page.locator(f"#chips-{first_llm.pk}")).to_contain_text("incorrect")

    page.click(f"text=← {project.name}")
    row = page.locator("#spans-table tr", has_text=first_llm.name)
    expect(row.locator("td").last).to_contain_text("H")
    page.get_by_text("More filters").click()
    page.fill("input[name=annotation_name]", "correctness")
    page.fill("input[name=label]", "incorrect")
    page.click("#filters button[type=submit]")
    expect(page.locator("#spans-table tbody tr")).to_have_count(2)
    page.check("#select-page")
    expect(page.locator("#selection-count")).to_have_text("2 selected")
    page.fill("input[name=new_dataset_name]", "incorrect answers")
    page.click("text=Add to dataset")
    expect(page.locator("#examples-table tbody tr")).to_have_count(2)

    with page.expect_download() as download:
        page.click("text=OpenAI fine-tuning JSONL")
    lines = download.value.path().read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 2
    assert {row["messages"][-1]["content"] for row in rows} == {"answer 1", "answer 2"}


def test_j_and_k_walk_through_the_filtered_list(reviewer_page: Page, live_server):
    project, _spans = support_project()
    page = reviewer_page

    page.goto(f"{live_server.url}/projects/{project.pk}/traces/")
    names = page.locator("#spans-table tbody tr td:nth-child(3) a").all_inner_texts()
    page.locator("#spans-table tbody tr td:nth-child(3) a").first.click()
    selected = page.locator("#span-view h2")
    expect(selected).to_have_text(names[0])
    page.keyboard.press("j")
    expect(selected).to_have_text(names[1])
    page.keyboard.press("j")
    expect(selected).to_have_text(names[2])
    page.keyboard.press("k")
    expect(selected).to_have_text(names[1])
