"""axe-core finds no WCAG 2 A/AA violation on the pages outside the review screens.

The Spans table and the trace page are checked by their own e2e tests (test_tables_*, test_review_*).
"""

import pytest
from playwright.sync_api import Page

from phoenix_annot.datasets.services import dataset_add_spans
from tests.e2e.axe import assert_no_axe_violations
from tests.factories import AnnotationConfigFactory, DatasetFactory, SpanAnnotationFactory, SpanFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_login_page_is_accessible(page: Page, live_server):
    page.goto(f"{live_server.url}/login/")

    assert_no_axe_violations(page)


@pytest.mark.parametrize(
    "path",
    ["/", "/datasets/", "/datasets/{dataset}/", "/settings/api-keys/", "/settings/password/", "/configs/"],
    ids=["projects", "datasets", "dataset", "api-keys", "password", "refused"],
)
def test_a_reviewers_pages_are_accessible(reviewer_page: Page, live_server, path: str):
    span = SpanFactory()
    SpanAnnotationFactory(span=span, name="correctness", label="correct", score=1.0)
    dataset = DatasetFactory(name="hard cases", description="Answers the model got wrong")
    dataset_add_spans(dataset=dataset, spans=[span], user=None)

    reviewer_page.goto(live_server.url + path.format(dataset=dataset.pk))

    assert_no_axe_violations(reviewer_page)


def test_a_missing_page_is_accessible(reviewer_page: Page, live_server):
    reviewer_page.goto(f"{live_server.url}/no/such/page/")

    assert_no_axe_violations(reviewer_page)


@pytest.mark.parametrize("path", ["/configs/", "/configs/new/", "/configs/{config}/"])
def test_the_annotation_config_pages_are_accessible(admin_page: Page, live_server, path: str):
    config = AnnotationConfigFactory(name="correctness", description="Is the answer right?")
    config.projects.add(SpanFactory().project)

    admin_page.goto(live_server.url + path.format(config=config.pk))

    assert_no_axe_violations(admin_page)
