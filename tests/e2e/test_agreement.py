"""The Agreement page in Chromium: pick a name, read kappa, open the disagreements, land on the Spans tab."""

import pytest
from playwright.sync_api import Page, expect

from tests.agreement.factories import reviewed_project
from tests.e2e.axe import assert_no_axe_violations

pytestmark = pytest.mark.django_db(transaction=True)

# Three reviewers on five answers: they part on "pesto" (2 to 1) and on "limit" (all three differ).
LABELS = {
    "pesto": ("correct", "correct", "incorrect"),
    "capital": ("correct", "correct", "correct"),
    "limit": ("correct", "incorrect", "partial"),
    "refund": ("incorrect", "incorrect", "incorrect"),
    "export": ("partial", "partial", "partial"),
}


@pytest.fixture
def labelled_project():
    project, _spans = reviewed_project(LABELS)
    return project


def test_a_reviewer_reads_the_agreement_opens_the_disagreements_and_filters_the_spans_tab_to_them(
    reviewer_page: Page, live_server, labelled_project
):
    page = reviewer_page
    page.goto(f"{live_server.url}/projects/{labelled_project.pk}/")
    page.get_by_role("link", name="Agreement").click()

    page.get_by_label("Annotation").select_option("correctness")
    page.get_by_role("button", name="Show agreement").click()

    figures = page.locator("#agreement-figures")
    expect(figures.locator('[data-figure="fleiss"]')).to_contain_text("Fleiss")
    expect(figures.locator('[data-figure="alpha"] td').nth(1)).to_have_text("5")
    expect(page.locator("#agreement-matrix")).to_contain_text("ana")
    assert_no_axe_violations(page)

    page.get_by_role("link", name="Disagreements").click()
    rows = page.locator("#disagreements-table tbody tr")
    expect(rows).to_have_count(2)
    # All three differ on "limit": it comes first, each reviewer's label and explanation side by side.
    expect(rows.first).to_contain_text("limit")
    expect(rows.first).to_contain_text("partial?")
    expect(rows.nth(1)).to_contain_text("2 of 3 say correct")
    assert_no_axe_violations(page)

    page.get_by_role("link", name="Show these 2 spans in the Spans tab").click()
    # Newest first, as the Spans tab lists them.
    expect(page.locator("#spans-table a.row-link")).to_have_text(["limit", "pesto"])
    expect(page.get_by_label("Reviewers disagree on")).to_have_value("correctness")
