"""A project's viewer member and annotator member (both annotators globally) in a real browser: the Spans tab
and the trace page offer their write controls only to the member who may write to the project."""

import re

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.accounts.models import ProjectMembership, User
from tests.accounts.factories import ProjectMembershipFactory
from tests.e2e.conftest import logged_in
from tests.factories import AnnotationConfigFactory, ProjectFactory, SpanFactory

pytestmark = pytest.mark.django_db(transaction=True)


def member_page(page: Page, live_server, role: str) -> tuple[Page, str]:
    """The browser of a new member of project `support` (with one span) with `role` on it, and the span."""
    project = ProjectFactory(name="support")
    AnnotationConfigFactory(name="correctness").projects.add(project)
    span = SpanFactory(trace__project=project, name="answer")
    logged_in(page, live_server, username="mia", role=User.Role.ANNOTATOR)
    ProjectMembershipFactory(project=project, user=User.objects.get(username="mia"), role=role)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    expect(page.get_by_role("link", name="answer")).to_be_visible()
    return page, span.span_id


def open_trace(page: Page) -> None:
    page.get_by_role("link", name="answer").click()
    expect(page.get_by_role("heading", name="answer")).to_be_visible()


def test_a_viewer_member_sees_no_annotate_label_or_add_to_queue(page: Page, live_server):
    page, _span_id = member_page(page, live_server, ProjectMembership.Role.VIEWER)

    expect(page.get_by_role("checkbox", name=re.compile("^Select"))).to_have_count(0)
    expect(page.get_by_role("button", name="Label…")).to_have_count(0)
    expect(page.get_by_role("button", name="Add to queue")).to_have_count(0)
    open_trace(page)
    expect(page.get_by_role("button", name=re.compile("^Annotate"))).to_have_count(0)
    expect(page.get_by_text("Add to queue…")).to_have_count(0)
    expect(page.locator("#panel-span form")).to_have_count(0)
    expect(page.get_by_text("History")).to_be_visible()


def test_an_annotator_member_selects_a_row_to_label_or_queue_it_and_annotates_its_trace(
    page: Page, live_server
):
    page, span_id = member_page(page, live_server, ProjectMembership.Role.ANNOTATOR)

    page.get_by_role("checkbox", name=f"Select answer ({span_id})").check()
    expect(page.get_by_role("button", name="Label…")).to_be_visible()
    expect(page.get_by_role("button", name="Add to queue")).to_be_visible()
    open_trace(page)
    expect(page.get_by_role("button", name=re.compile("^Annotate"))).to_be_visible()
    expect(page.get_by_text("Add to queue…")).to_be_visible()
    expect(page.locator("#panel-span form[data-config=correctness]")).to_be_visible()
