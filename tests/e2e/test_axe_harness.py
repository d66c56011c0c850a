"""The axe-core harness names a WCAG violation's rule and element, and finds none on a clean page."""

import pytest
from playwright.sync_api import Page

from tests.e2e.axe import assert_no_axe_violations, axe_violations


def test_axe_names_the_rule_impact_and_element_of_a_violation(page: Page) -> None:
    page.set_content('<!doctype html><html lang="en"><title>t</title><main><img id="logo" src=x></main>')

    with pytest.raises(AssertionError) as failure:
        assert_no_axe_violations(page)

    assert "image-alt (critical)" in str(failure.value)
    assert "#logo" in str(failure.value)


def test_axe_finds_nothing_on_an_accessible_page(page: Page) -> None:
    page.set_content('<!doctype html><html lang="en"><title>t</title><main><h1>Fine</h1></main>')

    assert axe_violations(page) == []


def test_axe_checks_only_wcag_2_a_and_aa_rules(page: Page) -> None:
    # A region rule (best practice, not WCAG): content outside landmarks is not reported.
    page.set_content('<!doctype html><html lang="en"><title>t</title><p>Outside any landmark</p>')

    assert axe_violations(page) == []
