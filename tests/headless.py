"""Loading a page in Debian's chromium through Playwright, for the dashboard test and bench.

Playwright only drives the browser: `executable_path` points at the distribution's chromium
(`make setup` installs it with apt-get); Playwright never downloads one.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# the page has painted once two animation frames have passed after the load event
PAINTED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"


def browser_missing() -> str | None:
    """Why the browser cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: `make setup` installs Debian's chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is missing: `make setup` installs the dev extra"
    return None


@dataclass
class PageLoad:
    status: int
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    svg_charts: int = 0
    seconds: float = 0.0  # navigation start to painted, as the test process saw it
    screenshot: bytes = b""


def load_page(url: str, screenshot: Path | None = None, width: int = 390, height: int = 844) -> PageLoad:
    """Open `url` in a fresh headless chromium (a phone-sized viewport by default) and report what
    happened: console errors (CSP violations included), every request, the inline charts."""
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": width, "height": height}).new_page()
            result = PageLoad(status=0)
            page.on("console", lambda m: result.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: result.page_errors.append(str(exc)))
            page.on("request", lambda request: result.requests.append(request.url))
            started = time.perf_counter()
            response = page.goto(url, wait_until="load")
            page.evaluate(PAINTED)
            result.seconds = time.perf_counter() - started
            result.status = response.status if response is not None else 0
            result.svg_charts = page.locator("svg.chart").count()
            result.screenshot = page.screenshot(full_page=True, type="png")
            if screenshot is not None:
                screenshot.write_bytes(result.screenshot)
            return result
        finally:
            browser.close()
