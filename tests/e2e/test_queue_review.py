"""A reviewer works a whole review queue by keyboard, and rows matching a filter go into a queue."""

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import SpanAnnotation, reviewer_identifier
from phoenix_annot.queues.models import QueueItem, QueueReview
from phoenix_annot.queues.services import QueueConfigChoice, annotation_queue_create, queue_items_add
from tests.factories import AnnotationConfigFactory, ProjectFactory, SpanFactory

from .axe import assert_no_axe_violations

pytestmark = pytest.mark.django_db(transaction=True)


def support_queue(spans: int):
    """A queue of N = 1 asking for correctness (required) on `spans` LLM spans of the support project."""
    project = ProjectFactory(name="support")
    config = AnnotationConfigFactory(name="correctness")
    config.projects.add(project)
    queue = annotation_queue_create(
        project_id=project.pk,
        user=None,
        name="Weekly triage",
        instructions="Is the answer correct?\nCheck it against the sources.",
        configs=[QueueConfigChoice(config=config, required=True)],
    )
    made = [
        SpanFactory(
            trace__project=project, span_kind="LLM", input_value=f"Question {n}?", output_value=f"Answer {n}."
        )
        for n in range(spans)
    ]
    queue_items_add(queue=queue, kind="span", target_ids=[span.span_id for span in made], user=None)
    return queue


def test_a_reviewer_works_a_whole_queue_by_keyboard_only(reviewer_page: Page, live_server):
    queue = support_queue(10)
    page = reviewer_page
    page.goto(f"{live_server.url}/queues/{queue.pk}/review/")
    expect(page.locator("#queue-progress")).to_have_text("10 of 10 left for you, 0 of 10 done by the team")
    expect(page.get_by_text("Check it against the sources.")).to_be_visible()
    assert_no_axe_violations(page)

    labelled: dict[int, str] = {}
    skipped = None
    for n in range(10):
        item = int(page.locator("#queue-item").get_attribute("data-item"))
        if n == 4:
            page.keyboard.press("s")
            expect(page.locator("#skip-reason")).to_be_focused()
            page.keyboard.type("not a support question")
            page.keyboard.press("Enter")
            skipped = item
        else:
            digit = "1" if n % 2 else "2"
            page.keyboard.press(digit)
            page.keyboard.press("Enter")
            labelled[item] = "correct" if digit == "1" else "incorrect"
        if n < 9:
            expect(page.locator("#queue-item")).not_to_have_attribute("data-item", str(item))

    expect(page.locator("#queue-done")).to_be_visible()
    expect(page.locator("#queue-progress")).to_contain_text("0 of 10 left for you, 9 of 10 done by the team")
    reviewer = User.objects.get(username="rita")
    items = {item.pk: item.span_id for item in QueueItem.objects.filter(queue=queue)}
    written = SpanAnnotation.objects.filter(identifier=reviewer_identifier(reviewer.pk))
    assert {(a.span_id, a.name, a.label) for a in written} == {
        (items[item], "correctness", label) for item, label in labelled.items()
    }
    skip = QueueReview.objects.get(outcome="SKIPPED")
    assert (skip.item_id, skip.skip_reason) == (skipped, "not a support question")

    page.goto(f"{live_server.url}/queues/{queue.pk}/")
    expect(page.locator('.queue-states a[data-state="done"] .count')).to_have_text("9")
    expect(page.locator('.queue-states a[data-state="skipped"] .count')).to_have_text("1")
    expect(page.locator("#queue-throughput tbody tr")).to_contain_text("rita")
    assert_no_axe_violations(page)


def test_the_question_mark_lists_the_review_keys(reviewer_page: Page, live_server):
    queue = support_queue(1)
    reviewer_page.goto(f"{live_server.url}/queues/{queue.pk}/review/")

    reviewer_page.keyboard.press("?")

    keys = reviewer_page.locator("dialog#key-help")
    expect(keys).to_contain_text("Submit the labels and show the next item")
    expect(keys).to_contain_text("Skip this item")


def test_all_rows_matching_a_filter_go_into_a_queue_from_the_spans_tab(reviewer_page: Page, live_server):
    queue = support_queue(0)
    llm = SpanFactory.create_batch(3, trace__project=queue.project, span_kind="LLM")
    SpanFactory(trace__project=queue.project, span_kind="CHAIN")
    page = reviewer_page
    page.goto(f"{live_server.url}/projects/{queue.project.pk}/?span_kind=LLM")

    page.locator(".row-select").first.check()
    page.check("#all-matching")
    page.select_option("#add-queue", label="Weekly triage")
    assert_no_axe_violations(page)
    page.click("#add-to-queue")

    expect(page.get_by_text("Weekly triage: 3 items added, 0 already in the queue.")).to_be_visible()
    assert set(QueueItem.objects.values_list("span_id", flat=True)) == {span.pk for span in llm}


def test_a_writer_creates_a_queue_from_the_queues_tab(reviewer_page: Page, live_server):
    project = ProjectFactory(name="support")
    AnnotationConfigFactory(name="correctness").projects.add(project)
    page = reviewer_page
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.get_by_role("link", name="Queues").click()
    page.get_by_role("link", name="New queue").click()
    assert_no_axe_violations(page)

    page.get_by_role("textbox", name="Name").fill("Weekly triage")
    page.get_by_role("textbox", name="Instructions").fill("Is the answer correct?")
    page.locator("#id_configs").get_by_label("correctness").check()
    page.locator("#id_required").get_by_label("correctness").check()
    page.get_by_role("spinbutton", name="Reviewers per item (N)").fill("2")
    page.get_by_role("button", name="Create queue").click()

    expect(page.get_by_text("Queue “Weekly triage” saved.")).to_be_visible()
    expect(page.locator("h2")).to_contain_text("Weekly triage")
    expect(page.get_by_text("2 reviewers per item")).to_be_visible()
    assert_no_axe_violations(page)
