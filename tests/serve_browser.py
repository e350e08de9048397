"""How the browser tests drive the page of `handwrite serve` (also docs/make_serve_screenshot.py).

Playwright drives Debian's chromium (`apt-get install chromium`), never a downloaded
browser; every request that is not to the local server is refused, so the page is also
checked to need no network.
"""
from __future__ import annotations

import contextlib
import math
import shutil

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TIMEOUT_MS = 20_000


@contextlib.contextmanager
def chromium():
    """A headless chromium browser (Playwright's sync API)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def open_page(browser, url: str, width: int = 1100, height: int = 900):
    """The page at `url`, its preset gallery loaded; requests elsewhere are refused (and counted)."""
    context = browser.new_context(accept_downloads=True, viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.outside = []
    page.errors = []

    def only_local(route):
        if route.request.url.startswith(url):
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()
    page.route("**/*", only_local)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url + "/")
    page.wait_for_selector("#gallery .hand >> nth=3")
    try:
        yield page
    finally:
        context.close()


def write(page, text: str | None = None) -> None:
    """Type `text` (if given), press Write, wait for the writing to end (done or error)."""
    if text is not None:
        page.fill("#text", text)
    page.click("#write")
    page.wait_for_function("['done', 'error'].includes(document.querySelector('#paper').dataset.state)")


def draw_line(page, words: int = 3, selector: str = "#pad") -> None:
    """Write a wavy line of `words` words on the recording pad with synthetic pointer events."""
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    x = box["x"] + 30
    base = box["y"] + box["height"] * 0.6
    for _ in range(words):
        page.mouse.move(x, base)
        page.mouse.down()
        for k in range(1, 60):
            t = k / 59
            page.mouse.move(x + 110 * t + 6 * math.cos(t * 8 * math.pi), base - 18 * math.sin(t * 8 * math.pi))
        page.mouse.up()
        x += 150
