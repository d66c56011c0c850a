"""Log in to a running phoenix-annot and save a screenshot of each main page, to look at after UI changes.

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000 /tmp/shots

Needs Debian's chromium (/usr/bin/chromium) and the playwright package; logs in as demo/demo.
"""

import argparse
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def login(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("base_url")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--username", default="demo")
    parser.add_argument("--password", default="demo")
    parser.add_argument("--project", default="support-rag", help="the project whose pages to capture")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        login(page, args.base_url, args.username, args.password)
        page.screenshot(path=args.out_dir / "projects.png", full_page=True)
        page.click(f"#projects-table a:text-is('{args.project}')")
        page.screenshot(path=args.out_dir / "spans.png", full_page=True)
        page.click("nav.tabs >> text=Traces")
        page.screenshot(path=args.out_dir / "traces.png", full_page=True)
        page.click("#spans-table tbody tr:first-child td:nth-child(3) a")
        page.wait_for_load_state()
        page.keyboard.press("e")
        page.screenshot(path=args.out_dir / "trace.png", full_page=True)
        page.goto(f"{args.base_url}/datasets/")
        page.screenshot(path=args.out_dir / "datasets.png", full_page=True)
        first_dataset = page.locator("table.grid tbody tr td a").first
        if first_dataset.count():
            first_dataset.click()
            page.screenshot(path=args.out_dir / "dataset.png", full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
