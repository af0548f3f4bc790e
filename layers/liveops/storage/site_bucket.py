"""The site bucket: published dashboards and their archive (docs/architecture.md, "Published dashboard").

Layout per app (keys under `apps/<app>/`):
- `archive/<snapshot>/` — one complete publish: index.html, data.json, csv/<table>.csv (immutable)
- `archive/index.json`, `archive/index.html` — the snapshots, newest first
- `index.html` — the current dashboard: the newest snapshot's page, whose data links point into
  `archive/<snapshot>/`; `current.json` — the same switch for programs

Readers never see a mix of two publishes: a snapshot's files are all uploaded before anything
names it, and every object that names a snapshot (the archive index, index.html, current.json) is
written by `switch`, one PUT each (which S3 applies atomically), in that order, after the snapshot
is complete. S3 has no multi-object transaction, so `switch` makes the set all-or-nothing itself:
it reads the objects it replaces first, and if a PUT fails it puts back (or deletes) every object
it already wrote, newest first, so a failed publish leaves all of them as they were. Only if that
restore fails too can they disagree (each still names a complete snapshot); `SwitchFailed` then
says exactly which objects show the new snapshot. A snapshot that any switch object named, even
for a moment, is never deleted by the failed publish (a reader may hold a page that links into
it); `prune_archive` removes it once a newer snapshot is listed.
Pruning never deletes the newest snapshot, which the switch objects name. Two publishes of one
app at once (the schedule and a manual run) stay consistent for readers; the archive index may
then miss one of them, whose prefix `prune_archive` later removes.
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


class SwitchFailed(Exception):
    """A switch stopped at `failed` (a path relative to the app). `new` lists the switch objects
    that still show the new publish: empty when nothing was written or everything was restored."""

    def __init__(
        self, failed: str, cause: Exception, written: list[str], new: list[str], restore_error: str | None
    ) -> None:
        super().__init__(f"writing {failed} failed: {type(cause).__name__}: {cause}")
        self.failed = failed
        self.cause = cause
        self.written = written  # written before the failure (readers may have seen them)
        self.new = new
        self.restore_error = restore_error

    @property
    def named_snapshot(self) -> bool:
        """Whether some switch object named the new snapshot, even for a moment."""
        return bool(self.written)


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

    def archive_index_files(self, app_id: str, app_name: str, snapshots: list[Snapshot]) -> list[SiteFile]:
        """The archive index as switch objects: archive/index.json (and its page, archive/index.html)."""
        document = {"app": app_id, "name": app_name, "snapshots": snapshots}
        body = json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8")
        files = [SiteFile(f"archive/{ARCHIVE_INDEX}", body, "application/json")]
        if self._archive_page is not None:
            page = self._archive_page(app_id, app_name, snapshots)
            files.append(SiteFile("archive/index.html", page, "text/html; charset=utf-8"))
        return files

    def write_archive_index(self, app_id: str, app_name: str, snapshots: list[Snapshot]) -> None:
        self.switch(app_id, self.archive_index_files(app_id, app_name, snapshots))

    def switch(self, app_id: str, files: list[SiteFile]) -> None:
        """Write the switch objects (paths relative to the app) in order, all or nothing: what they
        replace is read first; on a failed PUT every object already written is put back (or
        deleted when it did not exist), newest first, then SwitchFailed is raised."""
        prefix = app_prefix(app_id)
        previous = {file.path: self.get(prefix + file.path) for file in files}
        written: list[str] = []
        for file in files:
            try:
                self.put(prefix + file.path, file.body, file.content_type, MUTABLE)
            except Exception as exc:
                new, restore_error = self._restore(prefix, written, previous)
                raise SwitchFailed(file.path, exc, written, new, restore_error) from exc
            written.append(file.path)

    def _restore(
        self, prefix: str, written: list[str], previous: dict[str, tuple[bytes, str] | None]
    ) -> tuple[list[str], str | None]:
        """Put back the objects a failed switch wrote, newest first; stops at the first failure
        (so what still shows the new publish is a prefix of the switch order). Returns (paths
        still new, the restore error)."""
        for done, path in enumerate(reversed(written)):
            old = previous[path]
            try:
                if old is None:
                    self.delete([prefix + path])
                else:
                    self.put(prefix + path, old[0], old[1], MUTABLE)
            except Exception as exc:
                return written[: len(written) - done], f"restoring {path}: {type(exc).__name__}: {exc}"
        return [], None

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

    def archive_usage(self, app_id: str) -> dict[str, int]:
        """What an app's archive holds, from a listing only: snapshot prefixes (unlisted leftovers
        included), objects and bytes under `archive/` (the archive index included)."""
        archive = f"{app_prefix(app_id)}archive/"
        listing = self.listing(archive)
        relative = [key[len(archive) :] for key, _ in listing]
        snapshots = {name.partition("/")[0] for name in relative if "/" in name}
        return {
            "snapshots": len(snapshots),
            "objects": len(listing),
            "bytes": sum(size for _, size in listing),
        }

    def _app_name(self, app_id: str) -> str:
        found = self.get(f"{app_prefix(app_id)}archive/{ARCHIVE_INDEX}")
        return str(json.loads(found[0]).get("name") or app_id) if found else app_id
