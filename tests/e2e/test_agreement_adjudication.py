"""Adjudication in Chromium: an admin settles a disagreement with a gold label and a reason without a reload,
promotes the rows everyone agrees on after being told how many, and builds a dataset labelled from gold;
the Judge alignment tab reads the LLM judge against that gold."""

import pytest
from playwright.sync_api import Page, expect

from phoenix_annot.annotations.models import GOLD_IDENTIFIER, SpanAnnotation
from phoenix_annot.datasets.models import ExampleRevision
from tests.agreement.factories import reviewed_project
from tests.e2e.axe import assert_no_axe_violations
from tests.factories import SpanAnnotationFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Three reviewers on four answers: all three differ on "limit"; they agree on the other three.
LABELS = {
    "limit": ("correct", "incorrect", "partial"),
    "capital": ("correct", "correct", "correct"),
    "refund": ("incorrect", "incorrect", "incorrect"),
    "export": ("partial", "partial", "partial"),
}


@pytest.fixture
def labelled_project():
    project, spans = reviewed_project(LABELS, span_kind="LLM")
    for span in spans:
        # The LLM judge says correct everywhere.
        SpanAnnotationFactory(
            span=span, annotator_kind="LLM", identifier="", label="correct", explanation="judge: fine"
        )
    return project


def gold() -> dict[str, tuple[str, str]]:
    rows = SpanAnnotation.objects.filter(identifier=GOLD_IDENTIFIER)
    return {
        name: (label, reason)
        for name, label, reason in rows.values_list("span__name", "label", "explanation")
    }


def test_an_admin_sets_gold_on_a_disagreement_promotes_the_agreeing_rows_and_labels_a_dataset_from_gold(
    admin_page: Page, live_server, labelled_project
):
    page = admin_page
    page.goto(
        f"{live_server.url}/projects/{labelled_project.pk}/agreement/disagreements/?annotation=correctness"
    )
    row = page.locator("#disagreements-table tbody tr", has_text="limit")
    expect(row.locator("[data-gold]")).to_contain_text("none")
    page.evaluate("window.notReloaded = true")

    row.get_by_text("Set gold").click()
    row.locator("select[name=gold_label]").select_option("partial")
    row.get_by_label("Reason").fill("the docs give two limits")
    row.get_by_role("button", name="Save gold").click()

    expect(row.locator("[data-gold-value]")).to_have_text("partial")
    expect(row.locator("[data-gold]")).to_contain_text("the docs give two limits")
    assert page.evaluate("window.notReloaded") is True
    assert gold() == {"limit": ("partial", "the docs give two limits")}
    assert_no_axe_violations(page)

    page.get_by_label("Rows where all raters agree, at least").fill("3")
    page.get_by_role("button", name="Count the rows").click()
    result = page.locator("#promote-result")
    expect(result).to_contain_text(
        "3 spans without gold have all of at least 3 raters agreeing on correctness."
    )
    page.get_by_role("button", name="Promote 3 spans to gold").click()
    expect(result).to_contain_text("3 rows promoted to gold.")
    assert {name: label for name, (label, _reason) in gold().items()} == {
        "limit": "partial",
        "capital": "correct",
        "refund": "incorrect",
        "export": "partial",
    }

    page.get_by_role("link", name="Judge alignment").click()
    page.get_by_label("Annotation").select_option("correctness")
    page.get_by_role("button", name="Show alignment").click()
    expect(page.locator("#alignment-sources")).to_contain_text("gold where it has one (4)")
    expect(page.locator('#alignment-figures [data-figure="accuracy"]')).to_contain_text("0.250")
    expect(page.locator("#judge-disagreements tbody tr")).to_have_count(3)
    expect(page.locator("#judge-disagreements")).to_contain_text("judge: fine")
    assert_no_axe_violations(page)

    page.goto(f"{live_server.url}/projects/{labelled_project.pk}/")
    page.locator(".row-select").first.check()
    page.check("#all-matching")
    page.get_by_label("New dataset name").fill("adjudicated")
    page.get_by_label("Label from gold").check()
    page.click("#add-to-dataset")
    expect(page.get_by_text("4 new examples")).to_be_visible()
    labelled = {
        revision.example.span.name: revision.metadata["gold"]["correctness"]["label"]
        for revision in ExampleRevision.objects.select_related("example__span")
    }
    assert labelled == {"limit": "partial", "capital": "correct", "refund": "incorrect", "export": "partial"}
