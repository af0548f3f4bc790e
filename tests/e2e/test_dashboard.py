"""The published dashboard on `liveops dev`: demo traffic -> rollups -> `liveops jobs run publish`
-> served at http://HOST:PORT/dashboard/ from the local site bucket, and loaded in chromium."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from tests.e2e.conftest import RunningStack
from tests.headless import browser_missing, load_page

APP = "great-work"


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def test_publish_then_browse_the_dashboard(running_stack: RunningStack) -> None:
    assert running_stack.info["site_bucket"]
    base = running_stack.info["api_url"] + "/dashboard"
    demo = running_stack.cli("demo", "--app", APP, "--rate", "800", "--duration", "5", "--seed", "5")
    # one request per demo session: 5 s give a few dozen players, enough for k-anonymity (10)
    assert demo.returncode == 0, demo.stderr
    landed, deadline = -1, time.monotonic() + 30
    while time.monotonic() < deadline:  # until the writer has drained the queue
        time.sleep(1.5)
        now_landed = len(running_stack.lake_rows(APP))
        if now_landed and now_landed == landed:
            break
        landed = now_landed
    for job in ("rollup", "rollup-daily"):
        assert running_stack.cli("jobs", "run", job, "--app", APP).returncode == 0

    dry = running_stack.cli("jobs", "run", "publish", "--app", APP, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["apps"][APP]["status"] == "ok"
    assert get(f"{base}/{APP}/")[0] == 404  # a dry run uploads nothing

    published = running_stack.cli("jobs", "run", "publish", "--app", APP)
    assert published.returncode == 0, published.stderr
    snapshot = json.loads(published.stdout)["apps"][APP]["snapshot"]

    status, _, listing = get(f"{base}/")
    assert status == 200 and f'href="{APP}/"'.encode() in listing
    status, headers, page = get(f"{base}/{APP}/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"<svg" in page and f"archive/{snapshot}/data.json".encode() in page
    status, _, data = get(f"{base}/{APP}/archive/{snapshot}/data.json")
    assert status == 200 and json.loads(data)["app"] == APP
    assert get(f"{base}/{APP}/archive/")[0] == 200

    if browser_missing() is not None:
        pytest.skip(str(browser_missing()))
    loaded = load_page(f"{base}/{APP}/")
    assert loaded.status == 200 and loaded.console_errors == [] and loaded.page_errors == []
    assert all(url.startswith(running_stack.info["api_url"] + "/") for url in loaded.requests)
    assert loaded.svg_charts >= 2  # events per day and by type at least (the rest needs more players)
