"""Refusals and missing pages speak in the site's layout with a way back; htmx requests show them in place."""

from urllib.parse import urlencode

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from phoenix_annot.accounts.models import User
from tests.factories import AnnotationConfigFactory, DatasetVersionFactory, SpanFactory

pytestmark = pytest.mark.django_db(transaction=True)


def expect_error_page(page: Page, *, heading: str, reason: str) -> None:
    expect(page.get_by_role("navigation", name="Site")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.locator("main")).to_contain_text(reason)
    page.get_by_role("link", name="Back to the projects").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Projects")


def test_an_annotator_opening_annotation_configs_is_told_why_and_shown_a_way_back(
    reviewer_page: Page, live_server
):
    response = reviewer_page.goto(f"{live_server.url}/configs/")

    assert response.status == 403
    expect_error_page(reviewer_page, heading="Not allowed", reason="Only admins manage annotation configs.")


def test_an_address_with_nothing_behind_it_shows_the_sites_layout_and_a_way_back(
    reviewer_page: Page, live_server
):
    response = reviewer_page.goto(f"{live_server.url}/datasets/999999/")

    assert response.status == 404
    expect_error_page(reviewer_page, heading="Page not found", reason="Nothing is at this address")


def test_a_request_the_server_cannot_read_shows_the_sites_layout_and_a_way_back(
    reviewer_page: Page, live_server
):
    dataset = DatasetVersionFactory().dataset
    too_many = urlencode([("a", "1")] * (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    response = reviewer_page.goto(f"{live_server.url}/datasets/{dataset.pk}/?{too_many}")

    assert response.status == 400
    expect_error_page(reviewer_page, heading="Bad request", reason="could not be understood")


def test_a_refused_htmx_request_shows_its_reason_in_place(reviewer_page: Page, live_server):
    span = SpanFactory(span_kind="LLM")
    config = AnnotationConfigFactory(name="correctness")
    config.projects.add(span.project)
    reviewer_page.goto(f"{live_server.url}/traces/{span.trace.trace_id}/?span={span.span_id}")
    # An admin makes the reviewer a viewer while their page is open.
    User.objects.filter(username="rita").update(role=User.Role.VIEWER)

    form = reviewer_page.locator("#panel-span form[data-annotation-form]").first
    form.evaluate("form => form.requestSubmit()")

    expect(reviewer_page.get_by_role("alert")).to_contain_text("Viewers cannot annotate.")
    expect(reviewer_page.locator("#panel-span")).not_to_contain_text("Page not found")
