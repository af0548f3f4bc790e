"""The published dashboard in a real headless browser: Debian's chromium driven by Playwright,
the page served from the site bucket by the local gateway (as `liveops dev` serves it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from liveops import wiring
from liveops.local.gateway import DASHBOARD_PREFIX, Gateway, dashboard_handler
from liveops.local.stack import free_port
from tests.headless import browser_missing, load_page
from tests.integration.conftest import AwsStack
from tests.integration.test_publish_job import APP, published_app  # noqa: F401  (a fixture)

pytestmark = pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def site_url(stack: AwsStack) -> Iterator[str]:
    gateway = Gateway(
        [], lambda fn, event: None, static={DASHBOARD_PREFIX: dashboard_handler(wiring.site_bucket)}
    )
    port = free_port()
    server = gateway.serve("127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


@pytest.mark.usefixtures("published_app")
def test_the_dashboard_loads_cleanly_with_its_charts(stack: AwsStack, site_url: str, tmp_path: Path) -> None:
    assert wiring.job("publish")(APP, {})["apps"][APP]["status"] == "ok"
    shot = tmp_path / "dashboard.png"

    loaded = load_page(f"{site_url}/dashboard/{APP}/", shot)

    assert loaded.status == 200
    assert loaded.console_errors == [] and loaded.page_errors == []  # CSP violations show up here
    assert loaded.requests and all(url.startswith(site_url + "/") for url in loaded.requests)
    assert loaded.requests == [f"{site_url}/dashboard/{APP}/"]  # self-contained: nothing else fetched
    assert loaded.svg_charts >= 5
    assert shot.stat().st_size > 1000 and shot.read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.usefixtures("published_app")
def test_the_archive_index_loads_cleanly(stack: AwsStack, site_url: str) -> None:
    assert wiring.job("publish")(APP, {})["apps"][APP]["status"] == "ok"
    loaded = load_page(f"{site_url}/dashboard/{APP}/archive/")
    assert loaded.status == 200 and loaded.console_errors == [] and loaded.page_errors == []
    assert all(url.startswith(site_url + "/") for url in loaded.requests)
