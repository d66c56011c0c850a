"""The Sessions tab and the session page: rows, texts, filters, paging, query counts, Annotate."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from phoenix_annot.annotations.models import SessionAnnotation, reviewer_identifier
from phoenix_annot.filtering.feedback import feedback_rollups_for_sessions, feedback_summaries_for_sessions
from phoenix_annot.tracing.models import Session
from tests.factories import (
    BASE_TIME,
    AnnotationConfigFactory,
    DatasetFactory,
    ProjectFactory,
    SessionAnnotationFactory,
    SessionFactory,
    SpanFactory,
    TraceFactory,
    UserFactory,
    conversation,
)

from .conftest import HTMX

pytestmark = pytest.mark.django_db


def still_going(session: Session, *, minutes_ago: int = 5) -> None:
    """The session's last span ended `minutes_ago` minutes ago (conversation() sessions ended long ago)."""
    session.end_time = timezone.now() - timedelta(minutes=minutes_ago)
    Session.objects.filter(pk=session.pk).update(end_time=session.end_time)


def test_feedback_summaries_for_sessions_count_each_label_of_a_session():
    session = SessionFactory()
    SessionAnnotationFactory(session=session, name="outcome", label="resolved", score=1.0)
    SessionAnnotationFactory(session=session, name="outcome", label="resolved", score=1.0, identifier="b")

    (summary,) = feedback_summaries_for_sessions([session.pk])[session.pk]

    assert (summary.name, summary.count, summary.label_counts, summary.mean_score) == (
        "outcome",
        2,
        {"resolved": 2},
        1.0,
    )


def test_session_rollups_weigh_each_session_once_and_leave_unscored_labels_out_of_the_mean():
    project = ProjectFactory()
    first, second, third = SessionFactory.create_batch(3, project=project)
    SessionAnnotationFactory(session=first, name="outcome", label="resolved", score=1.0)
    SessionAnnotationFactory(session=first, name="outcome", label="resolved", score=1.0, identifier="b")
    SessionAnnotationFactory(session=second, name="outcome", label="unresolved", score=0.0)
    SessionAnnotationFactory(session=third, name="outcome", label="unknown", score=None)

    (rollup,) = feedback_rollups_for_sessions(Session.objects.filter(project=project))

    assert (rollup.span_count, rollup.annotation_count, rollup.mean_score) == (3, 4, 0.5)
    assert rollup.label_fractions == pytest.approx({"resolved": 1 / 3, "unresolved": 1 / 3, "unknown": 1 / 3})


def test_the_sessions_tab_lists_newest_first_with_first_input_last_output_and_chips(reviewer_client: Client):
    project = ProjectFactory()
    older = conversation(project, [("hello", "hi"), ("bye", "ciao")], minute=0)
    newer = conversation(
        project, [("where is my parcel?", "on its way"), ("thanks", "you're welcome")], minute=5
    )
    SessionAnnotationFactory(session=older, name="outcome", label="resolved", score=1.0)

    body = reviewer_client.get(f"/projects/{project.pk}/sessions/").content.decode()

    assert body.index(newer.session_id) < body.index(older.session_id)
    assert "where is my parcel?" in body and "you&#x27;re welcome" in body
    assert "thanks" not in body and "on its way" not in body
    assert "outcome: resolved" in body
    assert "inner" not in body


@pytest.mark.parametrize("sessions", [1, 30])
def test_the_sessions_tab_costs_the_same_queries_for_one_session_or_a_page(
    reviewer_client: Client, django_assert_max_num_queries, sessions: int
):
    project = ProjectFactory()
    AnnotationConfigFactory(name="outcome")
    DatasetFactory()
    for n in range(sessions):
        session = conversation(project, [("q", "a"), ("q2", "a2")], minute=n)
        SessionAnnotationFactory(session=session, name="outcome", label="resolved", score=1.0)
        if n % 2 == 0:
            still_going(session)

    with django_assert_max_num_queries(10):
        response = reviewer_client.get(f"/projects/{project.pk}/sessions/?annotation_name=outcome")

    body = response.content.decode()
    assert body.count('data-row data-session-id="') == sessions
    assert body.count('class="kind session-ongoing"') == (sessions + 1) // 2


def test_the_sessions_tab_pages_by_cursor_without_repeating_or_skipping_a_session(reviewer_client: Client):
    project = ProjectFactory()
    # Ties on the start time are ordered by id, so a page boundary inside them loses nothing.
    sessions = [conversation(project, [("q", "a")], minute=n // 3) for n in range(30)]
    seen: list[str] = []
    url = f"/projects/{project.pk}/sessions/?size=25"
    while url:
        page = reviewer_client.get(url, **HTMX).context["page"]
        seen += [row.session.session_id for row in page.rows]
        url = (
            f"/projects/{project.pk}/sessions/?size=25&cursor={page.next_cursor}" if page.next_cursor else ""
        )

    assert sorted(seen) == sorted(s.session_id for s in sessions) and len(seen) == 30


def test_the_sessions_tab_filters_by_time_and_by_a_missing_or_present_annotation(reviewer_client: Client):
    project = ProjectFactory()
    early = conversation(project, [("early", "a")], minute=0)
    late = conversation(project, [("late", "a")], minute=60)
    SessionAnnotationFactory(session=early, name="outcome", label="resolved", score=1.0)
    tab = f"/projects/{project.pk}/sessions/"

    def listed(query: str) -> set[str]:
        return {row.session.session_id for row in reviewer_client.get(tab + query).context["page"].rows}

    after = (BASE_TIME + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    assert listed(f"?start_time_after={after}") == {late.session_id}
    assert listed(f"?start_time_before={after}") == {early.session_id}
    assert listed("?missing_annotation=outcome") == {late.session_id}
    assert listed("?annotation_name=outcome&label=resolved") == {early.session_id}
    assert listed("?annotation_name=outcome&label=unresolved") == set()


def test_a_label_without_an_annotation_name_is_an_error_that_lists_nothing(reviewer_client: Client):
    project = ProjectFactory()
    conversation(project, [("q", "a")])

    body = reviewer_client.get(f"/projects/{project.pk}/sessions/?label=resolved").content.decode()

    assert "Choose an annotation name to filter on." in body and 'data-session-id="' not in body


def test_the_session_page_reads_the_turns_in_order_from_their_root_spans(reviewer_client: Client):
    project = ProjectFactory()
    session = conversation(
        project, [("first question", "first answer"), ("second question", "second answer")]
    )

    body = reviewer_client.get(f"/sessions/{session.pk}/").content.decode()

    order = ["first question", "first answer", "second question", "second answer"]
    assert [body.index(text) for text in order] == sorted(body.index(text) for text in order)
    assert "inner" not in body
    assert 'id="panel-session"' in body


def test_a_turn_whose_root_holds_chat_json_shows_the_users_last_message_and_the_answer(
    reviewer_client: Client,
):
    project = ProjectFactory()
    session = SessionFactory(project=project)
    trace = TraceFactory(project=project, session=session)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of Peru?"}]
    SpanFactory(
        trace=trace,
        input_value=json.dumps({"messages": messages}),
        input_mime_type="application/json",
        output_value=json.dumps({"choices": [{"message": {"role": "assistant", "content": "Lima."}}]}),
        attributes={
            "llm": {
                "input_messages": [{"message": m} for m in messages],
                "output_messages": [{"message": {"role": "assistant", "content": "Lima."}}],
            }
        },
    )

    turn = reviewer_client.get(f"/sessions/{session.pk}/").context["review"].turns[0]

    assert (turn.user, turn.assistant) == ("Capital of Peru?", "Lima.")


@pytest.mark.parametrize("turns", [1, 50])
def test_the_session_page_costs_the_same_queries_for_one_turn_or_fifty(
    reviewer_client: Client, django_assert_max_num_queries, turns: int
):
    project = ProjectFactory()
    session = conversation(project, [(f"q{n}", f"a{n}") for n in range(turns)])
    conversation(project, [("other", "x")], minute=10)

    still_going(session)

    # 12 with the History disclosure's one; 14 with the Corrected output editor's and its history's.
    with django_assert_max_num_queries(14):
        response = reviewer_client.get(f"/sessions/{session.pk}/?list=tab%3Dsessions")

    assert response.context["neighbours"].previous is not None


def test_j_and_k_walk_the_sessions_of_the_filtered_list_in_its_order(reviewer_client: Client):
    project = ProjectFactory()
    oldest, middle, newest = (conversation(project, [("q", "a")], minute=n) for n in range(3))
    SessionAnnotationFactory(session=middle, name="outcome", label="resolved", score=1.0)
    to_do = "tab=sessions&missing_annotation=outcome"

    neighbours = reviewer_client.get(f"/sessions/{newest.pk}/", {"list": to_do}).context["neighbours"]
    edge = reviewer_client.get(f"/sessions/{oldest.pk}/", {"list": to_do}).context["neighbours"]

    assert (neighbours.previous, neighbours.next) == (None, oldest.pk)
    assert (edge.previous, edge.next) == (newest.pk, None)


def test_a_digit_on_the_session_panel_saves_the_reviewers_own_session_annotation(
    reviewer_client: Client, reviewer
):
    project = ProjectFactory()
    config = AnnotationConfigFactory(name="outcome")
    config.projects.add(project)
    session = conversation(project, [("q", "a")])

    response = reviewer_client.post(
        f"/annotate/session/{session.pk}/", {"name": "outcome", "label": "correct"}, **HTMX
    )

    annotation = SessionAnnotation.objects.get(session=session)
    assert (annotation.label, annotation.identifier, annotation.user) == (
        "correct",
        reviewer_identifier(reviewer.pk),
        reviewer,
    )
    assert annotation.score == next(v["score"] for v in config.values if v["label"] == "correct")
    assert "Saved outcome = correct" in response.content.decode()


def test_undo_on_the_session_panel_removes_the_new_annotation(reviewer_client: Client):
    session = conversation(ProjectFactory(), [("q", "a")])
    reviewer_client.post(f"/annotate/session/{session.pk}/", {"name": "outcome", "label": "fine"}, **HTMX)

    reviewer_client.post(
        f"/annotate/session/{session.pk}/undo/", {"name": "outcome", "previous": "null"}, **HTMX
    )

    assert not SessionAnnotation.objects.filter(session=session).exists()


def test_a_reviewer_cannot_delete_another_reviewers_session_annotation(reviewer_client: Client):
    session = conversation(ProjectFactory(), [("q", "a")])
    theirs = SessionAnnotationFactory(session=session, name="outcome", label="resolved")

    response = reviewer_client.post(f"/annotations/session/{theirs.pk}/delete/", **HTMX)

    assert response.status_code == 403
    assert SessionAnnotation.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("key", ["0", "abc", "99999999999999999999999"])
def test_an_unknown_session_is_a_404_on_the_page_and_the_annotate_route(reviewer_client: Client, key: str):
    annotate = reviewer_client.post(f"/annotate/session/{key}/", {"name": "outcome", "label": "x"})

    assert (reviewer_client.get(f"/sessions/{key}/").status_code, annotate.status_code) == (404, 404)


def test_a_viewer_cannot_annotate_a_session(client: Client):
    viewer = UserFactory(username="vera", role="VIEWER")
    client.force_login(viewer)
    session = conversation(ProjectFactory(), [("q", "a")])

    response = client.post(f"/annotate/session/{session.pk}/", {"name": "outcome", "label": "fine"}, **HTMX)

    assert response.status_code == 403
    assert not SessionAnnotation.objects.exists()


def test_the_session_panel_puts_first_the_configs_the_projects_sessions_are_judged_by(
    reviewer_client: Client,
):
    project = ProjectFactory()
    for name in ("correctness", "outcome", "tone"):
        AnnotationConfigFactory(name=name).projects.add(project)
    judged = conversation(project, [("q", "a")])
    SessionAnnotationFactory(session=judged, name="outcome", label="resolved")
    session = conversation(project, [("q", "a")], minute=5)

    panel = reviewer_client.get(f"/sessions/{session.pk}/").context["review"].panel
    after_save = reviewer_client.post(
        f"/annotate/session/{session.pk}/", {"name": "outcome", "label": "correct"}, **HTMX
    ).context["panel"]

    assert [config.name for config in panel.configs] == ["outcome", "correctness", "tone"]
    assert [config.name for config in after_save.configs] == ["outcome", "correctness", "tone"]


def test_a_session_still_receiving_turns_is_marked_ongoing_on_the_tab_and_its_page(reviewer_client: Client):
    project = ProjectFactory()
    going = conversation(project, [("hello", "hi")], minute=1)
    still_going(going)
    ended = conversation(project, [("bye", "ciao")], minute=0)

    rows = reviewer_client.get(f"/projects/{project.pk}/sessions/").content.decode().split("<tr data-row")
    going_page = reviewer_client.get(f"/sessions/{going.pk}/").content.decode()
    ended_page = reviewer_client.get(f"/sessions/{ended.pk}/").content.decode()

    assert [("session-ongoing" in row, going.session_id in row) for row in rows[1:]] == [
        (True, True),
        (False, False),
    ]
    assert "session-ongoing" in going_page and 'id="ongoing-hint"' in going_page
    assert "may be premature" in going_page and "less than 30 minutes ago" in going_page
    assert "session-ongoing" not in ended_page and "ongoing-hint" not in ended_page
    # A label is not forbidden: the Annotate panel is there all the same.
    assert 'data-action="annotate"' in going_page


def test_the_sessions_tab_filters_ongoing_or_ended_sessions_by_the_idle_setting(
    reviewer_client: Client, settings
):
    project = ProjectFactory()
    recent = conversation(project, [("q", "a")], minute=2)
    still_going(recent, minutes_ago=5)
    quiet = conversation(project, [("q", "a")], minute=1)
    still_going(quiet, minutes_ago=45)
    old = conversation(project, [("q", "a")], minute=0)
    tab = f"/projects/{project.pk}/sessions/"

    def listed(query: str) -> set[str]:
        return {row.session.session_id for row in reviewer_client.get(tab + query).context["page"].rows}

    assert listed("?activity=ongoing") == {recent.session_id}
    assert listed("?activity=ended") == {quiet.session_id, old.session_id}
    settings.SESSION_IDLE_SECONDS = 60 * 60
    assert listed("?activity=ongoing") == {recent.session_id, quiet.session_id}
    assert "Select a valid choice" in reviewer_client.get(tab + "?activity=soon").content.decode()


def test_the_sessions_tab_filters_session_annotations_by_score_label_and_annotator_kind(
    reviewer_client: Client,
):
    project = ProjectFactory()
    judged_low = conversation(project, [("q", "a")], minute=0)
    judged_high = conversation(project, [("q", "a")], minute=1)
    unjudged = conversation(project, [("q", "a")], minute=2)
    SessionAnnotationFactory(session=judged_low, name="outcome", label="failed", score=0.1, identifier="h")
    SessionAnnotationFactory(
        session=judged_low, name="outcome", label="solved", score=0.9, identifier="j", annotator_kind="LLM"
    )
    SessionAnnotationFactory(session=judged_high, name="outcome", label="solved", score=0.8)
    tab = f"/projects/{project.pk}/sessions/"

    def listed(query: str) -> set[str]:
        return {row.session.session_id for row in reviewer_client.get(tab + query).context["page"].rows}

    assert listed("?annotation_name=outcome&score_max=0.5") == {judged_low.session_id}
    assert listed("?annotation_name=outcome&score_min=0.5") == {judged_low.session_id, judged_high.session_id}
    # One annotation meets every filter: the LLM's is solved, the human's failed.
    assert listed("?annotation_name=outcome&annotator_kind=LLM&label=failed") == set()
    assert listed("?annotation_name=outcome&annotator_kind=HUMAN&label=failed") == {judged_low.session_id}
    assert listed("?annotation_name=outcome&label_not=solved") == {judged_low.session_id, unjudged.session_id}
    assert "Choose an annotation name" in reviewer_client.get(tab + "?score_max=0.5").content.decode()


def test_a_roll_up_chip_on_the_sessions_tab_replaces_the_feedback_filters_and_keeps_the_others(
    reviewer_client: Client,
):
    project = ProjectFactory()
    session = conversation(project, [("q", "a")])
    SessionAnnotationFactory(session=session, name="outcome", label="failed", score=0.0)

    query = "?activity=ended&annotation_name=outcome&score_max=0.5&label_not=solved"
    body = reviewer_client.get(f"/projects/{project.pk}/sessions/{query}").content.decode()

    assert 'href="?activity=ended&amp;annotation_name=outcome&amp;label=failed"' in body
