"""axe-core (from npm, pinned by tests/e2e/node/package-lock.json) run in the Chromium page a test drives.

`axe_violations(page)` gives the WCAG 2 A/AA violations of the page as it is now;
`assert_no_axe_violations(page)` fails with each rule, its impact and the elements it found.
"""

import functools
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from tests.npm import npm_ci

AXE_DIR = Path(__file__).parent / "node"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN = "tags => window.axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"


@functools.cache
def axe_source() -> str:
    return (npm_ci(AXE_DIR) / "node_modules" / "axe-core" / "axe.min.js").read_text()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of the WCAG 2.0 and 2.1 A and AA rules on the page's current document."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=axe_source())
    results = page.evaluate(RUN, WCAG_TAGS)
    return results["violations"]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.extend(f"    {' '.join(node['target'])}" for node in violation["nodes"])
    return "\n".join(lines)


def assert_no_axe_violations(page: Page) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe-core finds WCAG 2 A/AA violations on {page.url}:\n{describe(violations)}"
