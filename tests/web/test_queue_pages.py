"""The review queue pages: the Queues tab, a queue's settings, the review page, Add to queue, the overview."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import SpanAnnotation, reviewer_identifier
from phoenix_annot.demo.management.commands import demo
from phoenix_annot.demo.traces import CORRECTNESS, SUPPORT_PROJECT
from phoenix_annot.queues.models import AnnotationQueue, Assignment, QueueConfig, QueueItem, QueueReview
from phoenix_annot.queues.services import (
    ReviewAnnotation,
    queue_item_next,
    queue_item_release,
    queue_item_submit,
)
from phoenix_annot.web.views.queues import markdown_subset
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SessionFactory,
    SpanFactory,
    TraceFactory,
    UserFactory,
    conversation,
)
from tests.queues.factories import AnnotationQueueFactory, QueueItemFactory

from .conftest import HTMX

pytestmark = pytest.mark.django_db


def queue_with_items(n: int, *, required: bool = True, **fields: object) -> AnnotationQueue:
    """A queue asking for `correctness` (correct / incorrect), with `n` span items."""
    queue = AnnotationQueueFactory(**fields)
    config = AnnotationConfigFactory(name="correctness")
    config.projects.add(queue.project)
    QueueConfig.objects.create(queue=queue, annotation_config=config, required=required)
    for _ in range(n):
        QueueItemFactory(queue=queue)
    return queue


def label_field(queue: AnnotationQueue) -> str:
    return f"config-{queue.queue_configs.get().annotation_config_id}-label"


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def served_item(client: Client, queue: AnnotationQueue) -> int:
    response = client.get(reverse("web:queue-review", args=[queue.pk]))
    assert response.status_code == 200
    return response.context["review"].item.pk


def test_the_review_page_serves_the_oldest_item_reserved_for_the_reviewer_with_the_queues_instructions(
    reviewer, reviewer_client
):
    queue = queue_with_items(3, instructions="Is the answer *correct*?\nCheck the sources.")
    first = QueueItem.objects.filter(queue=queue).order_by("pk").first()

    response = reviewer_client.get(reverse("web:queue-review", args=[queue.pk]))

    assert response.status_code == 200
    assert response.context["review"].item == first
    assert first.reservations.get().reviewer == reviewer
    page = response.content.decode()
    assert "Is the answer <em>correct</em>?<br>Check the sources." in page
    assert "3 of 3 left for you, 0 of 3 done by the team" in page
    assert 'data-shortcut="1"' in page


def test_instructions_render_a_safe_subset_of_markdown_and_escape_everything_else():
    text = (
        "# Checks\n\nIs the answer **right**, with `code` and [the guide](https://example.com/guide?a=1&b=2)?\n"
        "Second line.\n\n- one\n- *two*\n\n1. first\n2. second\n\n"
        '<script>alert(1)</script> [bad](javascript:alert(1)) <img src=x onerror="alert(1)">'
    )

    assert str(markdown_subset(text)) == (
        "<h3>Checks</h3>"
        "<p>Is the answer <strong>right</strong>, with <code>code</code> and "
        '<a href="https://example.com/guide?a=1&amp;b=2" rel="noopener noreferrer">the guide</a>?<br>'
        "Second line.</p>"
        "<ul><li>one</li><li><em>two</em></li></ul>"
        "<ol><li>first</li><li>second</li></ol>"
        "<p>&lt;script&gt;alert(1)&lt;/script&gt; [bad](javascript:alert(1)) "
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>"
    )


def test_submitting_writes_the_reviewers_labels_and_answers_the_next_item_in_place(reviewer, reviewer_client):
    queue = queue_with_items(2)
    first = served_item(reviewer_client, queue)

    response = reviewer_client.post(
        reverse("web:queue-submit", args=[queue.pk, first]), {label_field(queue): "incorrect"}, **HTMX
    )

    assert response.status_code == 200
    assert response.templates[0].name == "queues/_review.html"
    assert response.context["review"].item.pk != first
    annotation = SpanAnnotation.objects.get(span__queue_items=first)
    assert (annotation.name, annotation.label, annotation.score) == ("correctness", "incorrect", 0.0)
    assert annotation.identifier == reviewer_identifier(reviewer.pk)
    assert "1 of 2 left for you, 1 of 2 done by the team" in response.content.decode()


def test_submitting_without_javascript_goes_back_to_the_review_page(reviewer_client):
    queue = queue_with_items(2)
    first = served_item(reviewer_client, queue)

    response = reviewer_client.post(
        reverse("web:queue-submit", args=[queue.pk, first]), {label_field(queue): "correct"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("web:queue-review", args=[queue.pk])


def test_a_submit_missing_a_required_config_names_it_and_writes_nothing(reviewer_client):
    queue = queue_with_items(1)
    item = served_item(reviewer_client, queue)

    response = reviewer_client.post(reverse("web:queue-submit", args=[queue.pk, item]), {})

    assert response.status_code == 400
    assert "Required and missing: correctness." in response.content.decode()
    assert response.context["review"].item.pk == item
    assert not SpanAnnotation.objects.exists()
    assert not QueueReview.objects.exists()


def test_a_label_that_is_not_in_the_config_is_refused_naming_the_config(reviewer_client):
    queue = queue_with_items(1)
    item = served_item(reviewer_client, queue)

    response = reviewer_client.post(
        reverse("web:queue-submit", args=[queue.pk, item]), {label_field(queue): "maybe"}, **HTMX
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "data-error-message" in page
    assert "correctness: " in page and "maybe" in page
    assert not SpanAnnotation.objects.exists()
    assert QueueItem.objects.get(pk=item).review_count == 0


def test_a_refused_submit_shows_the_same_item_again_when_the_reviewer_no_longer_holds_it(
    reviewer, reviewer_client
):
    queue = queue_with_items(2)
    item = served_item(reviewer_client, queue)
    queue_item_release(item=QueueItem.objects.get(pk=item), reviewer=reviewer)

    response = reviewer_client.post(
        reverse("web:queue-submit", args=[queue.pk, item]), {label_field(queue): "maybe"}
    )

    assert response.status_code == 400
    assert response.context["review"].item.pk == item
    assert "Reserved for you" not in response.content.decode()


def test_skipping_records_the_reason_and_serves_the_next_item(reviewer, reviewer_client):
    queue = queue_with_items(2)
    first = served_item(reviewer_client, queue)

    response = reviewer_client.post(
        reverse("web:queue-skip", args=[queue.pk, first]), {"reason": " not English "}, **HTMX
    )

    assert response.status_code == 200
    skip = QueueReview.objects.get(item=first)
    assert (skip.outcome, skip.skip_reason, skip.reviewer) == ("SKIPPED", "not English", reviewer)
    assert response.context["review"].item.pk != first


def test_when_nothing_is_left_the_page_says_so(reviewer_client):
    queue = queue_with_items(1)
    item = served_item(reviewer_client, queue)
    reviewer_client.post(reverse("web:queue-submit", args=[queue.pk, item]), {label_field(queue): "correct"})

    response = reviewer_client.get(reverse("web:queue-review", args=[queue.pk]))

    assert response.context["review"] is None
    assert "Nothing left for you in this queue" in response.content.decode()


def test_a_blind_queue_hides_other_reviewers_labels_and_an_open_one_shows_them(reviewer_client):
    blind = queue_with_items(1, reviewers_per_item=2, blind=True)
    other = UserFactory(username="other")
    reservation = queue_item_next(queue=blind, reviewer=other)
    queue_item_submit(
        item=reservation.item,
        reviewer=other,
        annotations=[ReviewAnnotation(name="correctness", label="incorrect")],
        source="APP",
    )

    page = reviewer_client.get(reverse("web:queue-review", args=[blind.pk])).content.decode()

    assert "Hidden in this blind queue until you submit yours." in page
    assert "incorrect · " not in page
    assert "Open trace" not in page
    blind.blind = False
    blind.save()
    page = reviewer_client.get(reverse("web:queue-review", args=[blind.pk])).content.decode()
    assert "<strong>correctness</strong> · incorrect" in page
    assert "Open trace" in page


def test_a_trace_item_shows_its_root_span_and_a_session_item_its_turns(reviewer_client):
    queue = queue_with_items(0, required=False)
    trace = TraceFactory(project=queue.project)
    SpanFactory(trace=trace, name="the-root", input_value="Where is my parcel?")
    QueueItem.objects.create(queue=queue, trace=trace)
    session = conversation(queue.project, [("Can I return shoes?", "Yes, within 30 days.")])
    QueueItem.objects.create(queue=queue, session=session)

    first = reviewer_client.get(reverse("web:queue-review", args=[queue.pk]))
    assert "the-root" in first.content.decode() and "Where is my parcel?" in first.content.decode()
    second = reviewer_client.post(
        reverse("web:queue-submit", args=[queue.pk, first.context["review"].item.pk]), {}, **HTMX
    )
    assert "Can I return shoes?" in second.content.decode()
    assert "Yes, within 30 days." in second.content.decode()


# The review page: 14 with the Corrected output editor's one.
@pytest.mark.parametrize(("route", "expected"), [("web:queue-review", 14), ("web:queue", 13)])
def test_the_review_page_and_the_overview_cost_the_same_queries_for_3_items_or_30(reviewer, route, expected):
    def queries(n: int) -> int:
        queue = queue_with_items(n)
        client = client_for(reviewer)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(route, args=[queue.pk])).status_code == 200
        return len(captured)

    assert queries(3) == queries(30) == expected


def test_the_overview_counts_items_by_state_and_times_reviewers(reviewer, reviewer_client):
    queue = queue_with_items(4)
    for label in ("correct", "incorrect"):
        item = served_item(reviewer_client, queue)
        reviewer_client.post(reverse("web:queue-submit", args=[queue.pk, item]), {label_field(queue): label})
    item = served_item(reviewer_client, queue)
    reviewer_client.post(reverse("web:queue-skip", args=[queue.pk, item]), {"reason": "unclear"})

    response = reviewer_client.get(reverse("web:queue", args=[queue.pk]))

    overview = response.context["overview"]
    # The skip served the last item to the reviewer: it is in review, reserved.
    assert overview.counts == {"pending": 0, "in_review": 1, "done": 2, "skipped": 1}
    [row] = overview.throughput
    assert (row.username, row.submitted, row.skipped) == ("reviewer", 2, 1)
    assert row.median_seconds is not None and row.median_seconds >= 0
    done = reviewer_client.get(reverse("web:queue", args=[queue.pk]), {"state": "done"}).context["overview"]
    assert [r["state"] for r in done.items.rows] == ["done", "done"]


def test_the_overview_pages_its_items_by_cursor(reviewer_client):
    queue = queue_with_items(55, required=False)

    first = reviewer_client.get(reverse("web:queue", args=[queue.pk])).context["overview"].items
    second = reviewer_client.get(reverse("web:queue", args=[queue.pk]), {"cursor": first.next_cursor})

    rest = second.context["overview"].items
    assert len(first.rows) == 50 and len(rest.rows) == 5 and rest.next_cursor is None
    assert {r["pk"] for r in first.rows}.isdisjoint(r["pk"] for r in rest.rows)


def test_the_export_holds_every_item_with_its_reviews_and_labels_in_csv_and_jsonl(reviewer, reviewer_client):
    queue = queue_with_items(2)
    item = served_item(reviewer_client, queue)
    reviewer_client.post(reverse("web:queue-submit", args=[queue.pk, item]), {label_field(queue): "correct"})

    response = reviewer_client.get(reverse("web:queue-export", args=[queue.pk, "jsonl"]))
    rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    table = reviewer_client.get(reverse("web:queue-export", args=[queue.pk, "csv"]))
    lines = list(csv.DictReader(io.StringIO(b"".join(table.streaming_content).decode())))

    reviewed = next(row for row in rows if row["item_id"] == item)
    assert reviewed["reviewer"] == "reviewer" and reviewed["outcome"] == "SUBMITTED"
    assert reviewed["labels"] == {"correctness": {"label": "correct", "score": 1.0}}
    assert reviewed["state"] == "done" and reviewed["kind"] == "span"
    assert [row["outcome"] for row in rows if row["item_id"] != item] == [""]
    assert (
        len(lines) == 2
        and json.loads(next(r for r in lines if r["reviewer"])["labels"]) == reviewed["labels"]
    )


def test_creating_a_queue_from_the_form_saves_its_settings(reviewer, reviewer_client):
    project = ProjectFactory()
    config = AnnotationConfigFactory(name="correctness")
    config.projects.add(project)
    other = UserFactory(username="expert")

    response = reviewer_client.post(
        reverse("web:queue-new", args=[project.pk]),
        {
            "name": " Weekly triage ",
            "instructions": "Judge the answer.",
            "configs": [config.pk],
            "required": [config.pk],
            "reviewers_per_item": 2,
            "assignment": Assignment.NAMED_REVIEWERS,
            "reviewers": [other.pk],
            "reservation_minutes": 5,
            "blind": "on",
        },
    )

    queue = AnnotationQueue.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("web:queue", args=[queue.pk])
    assert (queue.name, queue.user, queue.reviewers_per_item, queue.blind) == (
        "Weekly triage",
        reviewer,
        2,
        True,
    )
    assert queue.reservation_timeout_seconds == 300 and list(queue.reviewers.all()) == [other]
    assert [(c.annotation_config, c.required) for c in queue.queue_configs.all()] == [(config, True)]


def test_a_queue_name_the_project_has_is_refused_on_the_form_naming_the_field(reviewer_client):
    queue = queue_with_items(0)
    config = queue.queue_configs.get().annotation_config

    response = reviewer_client.post(
        reverse("web:queue-new", args=[queue.project.pk]),
        {
            "name": queue.name,
            "configs": [config.pk],
            "reviewers_per_item": 1,
            "assignment": "ALL_ANNOTATORS",
            "reservation_minutes": 15,
        },
    )

    assert response.status_code == 400
    assert response.context["form"].errors["name"] == [
        f"The project already has a queue named '{queue.name}'."
    ]
    assert AnnotationQueue.objects.count() == 1


def test_only_the_creator_or_an_admin_edits_or_deletes_a_queue(reviewer, reviewer_client):
    queue = queue_with_items(0, user=UserFactory(username="creator"))

    assert reviewer_client.get(reverse("web:queue-edit", args=[queue.pk])).status_code == 403
    assert reviewer_client.post(reverse("web:queue-delete", args=[queue.pk])).status_code == 403
    admin = client_for(UserFactory(username="boss", role=User.Role.ADMIN))
    assert admin.post(reverse("web:queue-delete", args=[queue.pk])).status_code == 302
    assert not AnnotationQueue.objects.exists()


def test_add_to_queue_adds_the_ticked_spans_and_counts_those_already_there(reviewer_client):
    queue = queue_with_items(0)
    spans = [SpanFactory(trace__project=queue.project) for _ in range(3)]
    QueueItem.objects.create(queue=queue, span=spans[0])

    response = reviewer_client.post(
        reverse("web:queue-add-rows", args=["spans"]),
        {"project": queue.project.pk, "queue": queue.pk, "span": [s.span_id for s in spans[:2]]},
        HTTP_REFERER="/back/",
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        f"{queue.name}: 1 item added, 1 already in the queue."
    ]
    assert set(QueueItem.objects.values_list("span_id", flat=True)) == {spans[0].pk, spans[1].pk}


def test_add_to_queue_adds_every_span_matching_the_filter_on_the_server(reviewer_client):
    queue = queue_with_items(0)
    llm = [SpanFactory(trace__project=queue.project, span_kind="LLM") for _ in range(4)]
    SpanFactory(trace__project=queue.project, span_kind="CHAIN")

    reviewer_client.post(
        reverse("web:queue-add-rows", args=["spans"]),
        {
            "project": queue.project.pk,
            "queue": queue.pk,
            "all_matching": "1",
            "filter_query": "span_kind=LLM",
        },
    )

    assert set(QueueItem.objects.values_list("span_id", flat=True)) == {s.pk for s in llm}


def test_add_to_queue_from_the_traces_tab_adds_the_traces_of_the_ticked_rows(reviewer_client):
    queue = queue_with_items(0)
    root = SpanFactory(trace__project=queue.project)
    SpanFactory(trace=root.trace, parent_id=root.span_id)

    reviewer_client.post(
        reverse("web:queue-add-rows", args=["traces"]),
        {"project": queue.project.pk, "queue": queue.pk, "span": [root.span_id]},
    )

    assert list(QueueItem.objects.values_list("trace_id", "span_id")) == [(root.trace_id, None)]


def test_add_to_queue_from_the_sessions_tab_adds_sessions(reviewer_client):
    queue = queue_with_items(0)
    session = conversation(queue.project, [("Hi", "Hello")])
    SessionFactory(project=queue.project)

    reviewer_client.post(
        reverse("web:queue-add-rows", args=["sessions"]),
        {"project": queue.project.pk, "queue": queue.pk, "session": [session.session_id]},
    )

    assert list(QueueItem.objects.values_list("session_id", flat=True)) == [session.pk]


def test_add_to_queue_refuses_a_queue_of_another_project(reviewer_client):
    queue = queue_with_items(0)
    span = SpanFactory()

    response = reviewer_client.post(
        reverse("web:queue-add-rows", args=["spans"]),
        {"project": span.project.pk, "queue": queue.pk, "span": [span.span_id]},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == ["That queue belongs to another project."]
    assert not QueueItem.objects.exists()


def test_a_named_reviewers_queue_refuses_anyone_else_on_the_review_page(reviewer_client):
    queue = queue_with_items(1, assignment=Assignment.NAMED_REVIEWERS)

    assert reviewer_client.get(reverse("web:queue-review", args=[queue.pk])).status_code == 403


def test_the_selection_bar_offers_the_projects_queues(reviewer_client):
    queue = queue_with_items(0)

    response = reviewer_client.get(reverse("web:queue-choices", args=[queue.project.pk]))

    assert f'<option value="{queue.pk}">{queue.name}</option>' in response.content.decode()


def test_the_demo_queue_holds_the_support_projects_latest_llm_calls_once_however_often_it_runs():
    project = ProjectFactory(name=SUPPORT_PROJECT)
    AnnotationConfigFactory(name=CORRECTNESS)
    spans = [SpanFactory(trace__project=project, span_kind="LLM") for _ in range(demo.DEMO_QUEUE_ITEMS + 2)]
    SpanFactory(trace__project=project, span_kind="CHAIN")
    user = UserFactory(username="demo")

    demo.demo_queue_ensure(user=user)
    demo.demo_queue_ensure(user=user)

    queue = AnnotationQueue.objects.get()
    newest = sorted(spans, key=lambda s: (s.start_time, s.pk))[-demo.DEMO_QUEUE_ITEMS :]
    assert (queue.name, queue.project, queue.user) == (demo.DEMO_QUEUE, project, user)
    assert set(queue.items.values_list("span_id", flat=True)) == {s.pk for s in newest}
    assert [(c.annotation_config.name, c.required) for c in queue.queue_configs.all()] == [
        (CORRECTNESS, True)
    ]
