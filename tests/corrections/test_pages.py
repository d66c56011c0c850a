import pytest
from django.test import Client

from phoenix_annot.corrections.models import Correction, CorrectionEvent
from tests.accounts.factories import ProjectMembershipFactory
from tests.annotations.factories import AnnotationEventFactory
from tests.corrections.factories import CorrectionFactory, llm_attributes
from tests.factories import SpanFactory, UserFactory, conversation
from tests.queues.factories import QueueItemFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def reviewer():
    return UserFactory(username="reviewer")


@pytest.fixture
def reviewer_client(reviewer) -> Client:
    client = Client()
    client.force_login(reviewer)
    return client


def llm_span():
    return SpanFactory(span_kind="LLM", attributes=llm_attributes("Lisbon is the capital of Spain."))


def test_the_trace_page_offers_the_span_and_the_trace_an_editor_started_from_their_output(reviewer_client):
    span = llm_span()

    html = reviewer_client.get(f"/traces/{span.trace.trace_id}/?span={span.span_id}").content.decode()

    assert 'id="correction-span"' in html
    assert 'id="correction-trace"' in html
    assert html.count(">Lisbon is the capital of Spain.</textarea>") == 2
    assert 'data-help-key="c"' in html


def test_saving_on_the_page_writes_the_reviewers_own_correction_and_answers_the_editor(
    reviewer_client, reviewer
):
    span = llm_span()

    response = reviewer_client.post(
        f"/corrections/span/{span.span_id}/", {"output": "Madrid is the capital of Spain."}, **HTMX
    )

    correction = Correction.objects.get()
    assert (correction.user, correction.format, correction.output) == (
        reviewer,
        "message",
        "Madrid is the capital of Spain.",
    )
    assert response["HX-Trigger"] == "annotations-changed"
    html = response.content.decode()
    assert "Saved." in html
    assert ">Madrid is the capital of Spain.</textarea>" in html
    assert CorrectionEvent.objects.get().via == "page"


def test_the_page_never_writes_over_another_reviewers_correction_and_shows_it(reviewer_client, reviewer):
    span = llm_span()
    theirs = CorrectionFactory(span=span, format="message", output="Ana wrote this.", user__username="ana")

    reviewer_client.post(f"/corrections/span/{span.span_id}/", {"output": "Mine."}, **HTMX)
    reviewer_client.post(f"/corrections/span/{span.span_id}/", {"delete": "1"}, **HTMX)
    html = reviewer_client.get(f"/traces/{span.trace.trace_id}/?span={span.span_id}").content.decode()

    theirs.refresh_from_db()
    assert theirs.output == "Ana wrote this."
    assert list(Correction.objects.all()) == [theirs]
    assert "Others' corrections" in html
    assert "Ana wrote this." in html


def test_a_json_output_that_does_not_parse_is_refused_naming_the_field_and_kept_to_fix(reviewer_client):
    span = SpanFactory(
        span_kind="CHAIN", attributes={"output": {"value": "{}", "mime_type": "application/json"}}
    )

    response = reviewer_client.post(f"/corrections/span/{span.span_id}/", {"output": "{not json"}, **HTMX)

    html = response.content.decode()
    assert "Corrected output: This is not valid JSON" in html
    assert ">{not json</textarea>" in html
    assert "HX-Trigger" not in response
    assert not Correction.objects.exists()


def test_a_session_is_corrected_from_its_page_starting_from_its_last_answer(reviewer_client):
    session = conversation(SpanFactory().project, [("Hi", "Hello"), ("Capital of Spain?", "Lisbon.")])

    page = reviewer_client.get(f"/sessions/{session.pk}/").content.decode()
    reviewer_client.post(f"/corrections/session/{session.pk}/", {"output": "Madrid."}, **HTMX)

    assert ">Lisbon.</textarea>" in page
    assert Correction.objects.get().session == session


def test_the_history_disclosure_lists_the_changes_of_corrections_as_they_happen(reviewer_client):
    span = llm_span()
    url = f"/corrections/span/{span.span_id}/"
    reviewer_client.post(url, {"output": "Madrid."}, **HTMX)
    reviewer_client.post(url, {"output": "Madrid, of course."}, **HTMX)

    html = reviewer_client.get(
        f"/traces/{span.trace.trace_id}/?span={span.span_id}&history=1"
    ).content.decode()

    assert 'id="correction-history"' in html
    assert html.index("<del>Madrid.</del> → Madrid, of course.") < html.index("created by reviewer")


def test_a_queue_item_is_corrected_from_the_review_page_and_a_blind_queue_hides_others(reviewer_client):
    span = llm_span()
    CorrectionFactory(span=span, format="message", output="Ana wrote this.", user__username="ana")
    open_item = QueueItemFactory(queue__project=span.project, span=span)
    blind_item = QueueItemFactory(queue__project=span.project, queue__blind=True, span=span)

    page = reviewer_client.get(f"/queues/{open_item.queue_id}/review/").content.decode()
    blind = reviewer_client.get(f"/queues/{blind_item.queue_id}/review/").content.decode()
    saved = reviewer_client.post(
        f"/corrections/span/{span.span_id}/", {"output": "Madrid.", "via": "queue"}, **HTMX
    ).content.decode()

    assert ">Lisbon is the capital of Spain.</textarea>" in page
    assert "Ana wrote this." in page
    assert "Ana wrote this." not in blind
    assert 'name="via" value="queue"' in saved
    assert CorrectionEvent.objects.get().via == "queue"


def test_a_reviewer_cannot_correct_a_row_of_a_project_they_may_not_see_or_only_view(
    reviewer_client, reviewer
):
    hidden, viewed = llm_span(), llm_span()
    ProjectMembershipFactory(project=viewed.project, user=reviewer, role="VIEWER")

    refused = reviewer_client.post(f"/corrections/span/{hidden.span_id}/", {"output": "x"}, **HTMX)
    viewer = reviewer_client.post(f"/corrections/span/{viewed.span_id}/", {"output": "x"}, **HTMX)

    assert (refused.status_code, viewer.status_code) == (404, 403)
    assert not Correction.objects.exists()


def test_the_history_disclosure_lists_corrections_beside_the_annotation_events_of_the_span(reviewer_client):
    span = llm_span()
    AnnotationEventFactory(span=span)
    reviewer_client.post(f"/corrections/span/{span.span_id}/", {"output": "Madrid."}, **HTMX)

    html = reviewer_client.get(
        f"/traces/{span.trace.trace_id}/?span={span.span_id}&history=1"
    ).content.decode()

    assert "No annotation has been written here yet." not in html
    assert 'id="correction-history"' in html


def test_the_history_count_says_how_many_corrections_changed_beside_the_annotation_events(reviewer_client):
    span = llm_span()
    AnnotationEventFactory(span=span)
    url = f"/corrections/span/{span.span_id}/"
    reviewer_client.post(url, {"output": "Madrid."}, **HTMX)
    reviewer_client.post(url, {"output": "Madrid, of course."}, **HTMX)

    html = reviewer_client.get(f"/traces/{span.trace.trace_id}/?span={span.span_id}").content.decode()

    assert 'id="history-count">(1 + 2 corrections)</span>' in html
