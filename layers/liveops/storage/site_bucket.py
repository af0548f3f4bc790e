"""The site bucket: published dashboards and their archive (docs/architecture.md, "Published dashboard").

Layout per app (keys under `apps/<app>/`):
- `archive/<snapshot>/` — one complete publish: index.html, data.json, csv/<table>.csv (immutable)
- `archive/index.json`, `archive/index.html` — the snapshots, newest first
- `index.html` — the current dashboard: the newest snapshot's page, whose data links point into
  `archive/<snapshot>/`; `current.json` — the same switch for programs

Readers never see a mix of two publishes: a snapshot's files are all uploaded before anything
names it, and each switch object (archive index, index.html, current.json) is one PUT, which S3
applies atomically. Pruning never deletes the newest snapshot, which the switch objects name.
Two publishes of one app at once (the schedule and a manual run) stay consistent for readers; the
archive index may then miss one of them, whose prefix `prune_archive` later removes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

APPS_ROOT = "apps"
ARCHIVE_INDEX = "index.json"
# the switch objects are re-read on every visit; snapshot files never change once written
MUTABLE = "no-cache"
IMMUTABLE = "max-age=31536000, immutable"
DELETE_BATCH = 1000

Snapshot = dict[str, Any]  # id, generated_at, from, to, files, bytes
ArchivePage = Callable[[str, str, list[Snapshot]], bytes]  # (app id, app name, snapshots) -> HTML


@dataclass(frozen=True)
class SiteFile:
    """A file to publish; `path` is relative to its snapshot (or to the app for switch objects)."""

    path: str
    body: bytes
    content_type: str


def app_prefix(app_id: str) -> str:
    return f"{APPS_ROOT}/{app_id}/"


def snapshot_prefix(app_id: str, snapshot_id: str) -> str:
    return f"{app_prefix(app_id)}archive/{snapshot_id}/"


class SiteBucket:
    def __init__(self, s3: Any, bucket: str, archive_page: ArchivePage | None = None) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._archive_page = archive_page

    @property
    def bucket(self) -> str:
        return self._bucket

    # ---------------------------------------------------------------- objects

    def get(self, key: str) -> tuple[bytes, str] | None:
        """The object's body and content type, or None when absent."""
        try:
            found = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return found["Body"].read(), str(found.get("ContentType") or "application/octet-stream")

    def put(self, key: str, body: bytes, content_type: str, cache_control: str) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            CacheControl=cache_control,
            ServerSideEncryption="AES256",
        )

    def listing(self, prefix: str) -> list[tuple[str, int]]:
        """(key, size) of every object under `prefix`."""
        found: list[tuple[str, int]] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            found += [(item["Key"], int(item["Size"])) for item in page.get("Contents", [])]
        return found

    def delete(self, keys: Iterable[str]) -> None:
        pending = list(keys)
        for start in range(0, len(pending), DELETE_BATCH):
            batch = [{"Key": key} for key in pending[start : start + DELETE_BATCH]]
            answer = self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                raise RuntimeError(
                    f"could not delete {len(answer['Errors'])} site objects: {answer['Errors'][0]}"
                )

    def apps(self) -> list[str]:
        """Apps with a published dashboard."""
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=f"{APPS_ROOT}/", Delimiter="/"
        )
        prefixes = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
        return sorted(prefix[len(APPS_ROOT) + 1 : -1] for prefix in prefixes)

    # ---------------------------------------------------------------- publishing

    def upload_snapshot(self, app_id: str, snapshot_id: str, files: list[SiteFile]) -> int:
        """Every file of a snapshot (nothing names it yet); returns the bytes uploaded."""
        prefix = snapshot_prefix(app_id, snapshot_id)
        for file in files:
            self.put(prefix + file.path, file.body, file.content_type, IMMUTABLE)
        return sum(len(file.body) for file in files)

    def snapshots(self, app_id: str) -> list[Snapshot]:
        """The archive index: snapshots newest first ([] before the first publish)."""
        found = self.get(f"{app_prefix(app_id)}archive/{ARCHIVE_INDEX}")
        return list(json.loads(found[0])["snapshots"]) if found else []

    def write_archive_index(self, app_id: str, app_name: str, snapshots: list[Snapshot]) -> None:
        prefix = f"{app_prefix(app_id)}archive/"
        document = {"app": app_id, "name": app_name, "snapshots": snapshots}
        body = json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8")
        self.put(prefix + ARCHIVE_INDEX, body, "application/json", MUTABLE)
        if self._archive_page is not None:
            page = self._archive_page(app_id, app_name, snapshots)
            self.put(prefix + "index.html", page, "text/html; charset=utf-8", MUTABLE)

    def switch(self, app_id: str, files: list[SiteFile]) -> None:
        """The switch objects (index.html, current.json), each one atomic PUT, written last."""
        for file in files:
            self.put(app_prefix(app_id) + file.path, file.body, file.content_type, MUTABLE)

    def remove_snapshot(self, app_id: str, snapshot_id: str) -> None:
        """Best-effort cleanup of a snapshot that was never switched to (a failed publish)."""
        self.delete(key for key, _ in self.listing(snapshot_prefix(app_id, snapshot_id)))

    # ---------------------------------------------------------------- retention

    def prune_archive(self, app_id: str, keep: int, dry_run: bool) -> tuple[int, int]:
        """Delete the snapshots beyond the newest `keep` (at least the newest one always stays) and
        unlisted leftovers older than the newest snapshot (uploads of failed publishes); the archive
        index is rewritten first, so it never names a deleted snapshot. Returns (objects, bytes)."""
        snapshots = self.snapshots(app_id)
        if not snapshots:
            return 0, 0
        kept = snapshots[: max(keep, 1)]
        kept_ids = {s["id"] for s in kept}
        newest = snapshots[0]["id"]
        archive = f"{app_prefix(app_id)}archive/"
        doomed: list[tuple[str, int]] = []
        for key, size in self.listing(archive):
            snapshot_id, slash, _ = key[len(archive) :].partition("/")
            # an unlisted prefix newer than the newest snapshot may be a publish in progress
            if slash and snapshot_id not in kept_ids and snapshot_id < newest:
                doomed.append((key, size))
        if not dry_run:
            if len(kept) < len(snapshots):
                self.write_archive_index(app_id, self._app_name(app_id), kept)
            self.delete(key for key, _ in doomed)
        return len(doomed), sum(size for _, size in doomed)

    def _app_name(self, app_id: str) -> str:
        found = self.get(f"{app_prefix(app_id)}archive/{ARCHIVE_INDEX}")
        return str(json.loads(found[0]).get("name") or app_id) if found else app_id
