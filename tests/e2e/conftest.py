"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against a live test server."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.factories import UserFactory

CHROMIUM = "/usr/bin/chromium"
# Playwright's assertions wait 5 s by default, its actions the page's 10 s: on 2 cores running the suite
# with -n 2, a page load can take longer than 5 s, so assertions wait as long as actions do.
expect.set_options(timeout=10_000)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session", autouse=True)
def sync_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs an event loop in this thread; the tests' ORM calls are still synchronous."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def logged_in(page: Page, live_server, *, username: str, role: str) -> Page:
    """The page after a new user of this role logged in through the login form."""
    UserFactory(username=username, password=f"{username}-secret", role=role)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"{username}-secret")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


@pytest.fixture
def reviewer_page(page: Page, live_server, transactional_db) -> Page:
    return logged_in(page, live_server, username="rita", role="ANNOTATOR")


@pytest.fixture
def admin_page(page: Page, live_server, transactional_db) -> Page:
    return logged_in(page, live_server, username="ada", role="ADMIN")
