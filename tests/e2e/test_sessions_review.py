"""The Sessions tab and the session page in Chromium: read a conversation, label it by keyboard, move on."""

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.annotations.models import SessionAnnotation, reviewer_identifier
from phoenix_annot.tracing.models import Project, Session
from tests.e2e.axe import assert_no_axe_violations
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SessionAnnotationFactory,
    UserFactory,
    conversation,
)

pytestmark = pytest.mark.django_db(transaction=True)

# The demo's sessions: a support chat of a few turns each, and a reviewer's outcome on some.
OUTCOME_VALUES = [
    {"label": "resolved", "score": 1.0},
    {"label": "unresolved", "score": 0.0},
    {"label": "unknown"},
]


@pytest.fixture
def support() -> tuple[Project, list[Session]]:
    """Three chats, oldest first; the oldest already has a reviewer's outcome."""
    project = ProjectFactory(name="support-rag")
    AnnotationConfigFactory(name="outcome", values=OUTCOME_VALUES).projects.add(project)
    chats = [
        conversation(project, [("How do I reset my password?", "Use the link on the login page.")], minute=0),
        conversation(
            project,
            [
                ("Can I export my data?", "Yes, as CSV from Settings."),
                ("And as JSON?", "Not yet; CSV only."),
                ("Thanks", "You're welcome!"),
            ],
            minute=5,
        ),
        conversation(project, [("Is there an API rate limit?", "100 requests a minute.")], minute=10),
    ]
    other = UserFactory(username="olga")
    SessionAnnotationFactory(
        session=chats[0], name="outcome", label="resolved", score=1.0, user=other, identifier="px-app:olga"
    )
    return project, chats


def test_a_reviewer_reads_a_session_turn_by_turn_labels_it_with_a_digit_and_sees_the_chip(
    reviewer_page: Page, live_server, support
):
    project, (_, chat, _) = support
    page = reviewer_page

    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.get_by_role("link", name="Sessions").click()
    rows = page.locator("#sessions-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("Can I export my data?")
    expect(rows.nth(1)).to_contain_text("You're welcome!")
    expect(rows.nth(2).locator(".chip")).to_contain_text("outcome: resolved")
    assert_no_axe_violations(page)

    rows.nth(1).get_by_role("link").click()
    turns = page.locator(".turn")
    expect(turns).to_have_count(3)
    said = [turns.nth(n).locator(".role-user .turn-text").inner_text() for n in range(3)]
    assert said == [
        "Can I export my data?",
        "And as JSON?",
        "Thanks",
    ]
    expect(turns.nth(2).locator(".role-assistant")).to_contain_text("You're welcome!")
    assert_no_axe_violations(page)

    page.keyboard.press("2")
    expect(page.get_by_role("status")).to_contain_text("Saved outcome = unresolved")
    rita = UserFactory(username="rita")
    mine = SessionAnnotation.objects.get(session=chat, identifier=reviewer_identifier(rita.pk))
    assert (mine.label, mine.score, mine.user) == ("unresolved", 0.0, rita)

    page.get_by_role("link", name=f"{project.name} sessions").click()
    expect(page.locator("#sessions-table tbody tr").nth(1).locator(".chip")).to_contain_text(
        "outcome: unresolved"
    )


def test_j_opens_the_next_session_of_the_list_and_says_when_the_list_ends(
    reviewer_page: Page, live_server, support
):
    project, _ = support
    page = reviewer_page

    page.goto(f"{live_server.url}/projects/{project.pk}/sessions/?missing_annotation=outcome")
    page.locator("#sessions-table tbody tr").first.get_by_role("link").click()
    expect(page.locator(".turn")).to_contain_text(["Is there an API rate limit?"])

    page.keyboard.press("j")
    expect(page.locator(".turn").first).to_contain_text("Can I export my data?")
    page.keyboard.press("j")
    expect(page.get_by_role("status")).to_contain_text("End of the list")
    expect(page.locator(".turn").first).to_contain_text("Can I export my data?")

    page.keyboard.press("k")
    expect(page.locator(".turn").first).to_contain_text("Is there an API rate limit?")


def test_the_keys_overlay_and_escape_work_on_the_session_page(reviewer_page: Page, live_server, support):
    _, (_, chat, _) = support
    page = reviewer_page

    page.goto(f"{live_server.url}/sessions/{chat.pk}/")
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keys")).to_contain_text("Pick that label and save it")
    page.keyboard.press("Escape")
    page.keyboard.press("e")
    assert page.evaluate("document.activeElement.closest('form[data-config]')?.dataset.config") == "outcome"
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.id") == "session-view"
