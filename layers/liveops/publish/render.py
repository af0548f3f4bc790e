"""The files of one publish: the snapshot (page, data.json, one CSV per table) and the switch
objects that make it current (the page again, with its data links into the snapshot, and
current.json). See liveops.storage.site_bucket for the layout and why readers see no mix."""

from __future__ import annotations

import json
from dataclasses import dataclass

from liveops.publish.html import render_dashboard
from liveops.services.figures import Figures
from liveops.storage.site_bucket import SiteFile

HTML = "text/html; charset=utf-8"
JSON = "application/json"
CSV = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class Rendered:
    snapshot_id: str
    snapshot: list[SiteFile]  # under archive/<snapshot_id>/
    switch: list[SiteFile]  # under apps/<app>/, written last

    @property
    def bytes(self) -> int:
        return sum(len(f.body) for f in self.snapshot)


def render_site(figures: Figures, snapshot_id: str) -> Rendered:
    snapshot = [
        SiteFile("index.html", render_dashboard(figures, "", "../").encode("utf-8"), HTML),
        SiteFile("data.json", figures.to_json(), JSON),
        *(SiteFile(f"csv/{name}.csv", figures.to_csv(name), CSV) for name in figures.tables),
    ]
    base = f"archive/{snapshot_id}/"
    pointer = {
        **figures.metadata(),
        "snapshot": snapshot_id,
        "path": base,
        "files": [base + f.path for f in snapshot],
    }
    switch = [
        SiteFile("index.html", render_dashboard(figures, base, "archive/").encode("utf-8"), HTML),
        SiteFile("current.json", json.dumps(pointer, indent=1).encode("utf-8"), JSON),
    ]
    return Rendered(snapshot_id, snapshot, switch)
