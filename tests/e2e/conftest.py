"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against a live test server."""

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.factories import UserFactory

# Playwright's sync API runs an event loop in this thread; the tests' ORM calls are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


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


@pytest.fixture
def reviewer_page(page: Page, live_server, transactional_db) -> Page:
    UserFactory(username="rita", password="rita-secret")
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", "rita-secret")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page
