"""What an export produces: one JSON document of every table and one CSV per table, with names
derived from the app and the range and checked safe, and the checks of a request's arguments."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

FORMATS = ("json", "csv")
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}
# a file name: starts with a letter or digit; letters, digits, dot, dash, underscore; no ".."
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ExportError(Exception):
    """The request cannot be served as asked (exit 2): a malformed argument (nothing written), or
    figures too large or badly named for artifacts (reported in the summary, no artifact written)."""


class FiguresLike(Protocol):
    """What liveops.services.figures.Figures offers an export."""

    @property
    def app_id(self) -> str: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def tables(self) -> dict[str, list[dict[str, Any]]]: ...

    def to_json(self) -> bytes: ...
    def to_csv(self, name: str) -> bytes: ...


@dataclass(frozen=True)
class Artifact:
    name: str  # the file name (safe)
    format: str  # json | csv
    table: str | None  # the table of a CSV; None for the JSON document of every table
    body: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


def stamp(moment: datetime) -> str:
    """A moment in a file name: 20261101 at midnight UTC, else 20261101T033000Z."""
    moment = moment.astimezone(UTC)
    if moment == moment.replace(hour=0, minute=0, second=0, microsecond=0):
        return moment.strftime("%Y%m%d")
    return moment.strftime("%Y%m%dT%H%M%SZ")


def safe_name(name: str) -> str:
    if not SAFE_NAME.match(name) or ".." in name:
        raise ExportError(f"unsafe file name {name!r}: letters, digits, '.', '-', '_' only, no '..'")
    return name


def parse_formats(text: str) -> list[str]:
    chosen = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = sorted(set(chosen) - set(FORMATS))
    if unknown or not chosen:
        raise ExportError(f"unknown format {', '.join(unknown) or repr(text)}; use json, csv or json,csv")
    return [f for f in FORMATS if f in chosen]


def parse_moment(text: str, option: str) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is UTC (the lake's only time zone)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ExportError(
            f"{option} {text!r} is not an ISO 8601 date or date-time (e.g. 2026-11-01)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_local_path(text: str, option: str) -> Path:
    """A path the user names for output: no '..' component (no escaping upward), no control
    characters; absolute or relative to the working directory."""
    if not text.strip():
        raise ExportError(f"{option} is empty")
    if _CONTROL.search(text):
        raise ExportError(f"{option} contains control characters")
    path = Path(text)
    if ".." in path.parts:
        raise ExportError(f"{option} {text!r} contains '..': name the directory without going up")
    return path


def check_s3_uri(text: str) -> tuple[str, str]:
    """(bucket, key prefix without slashes at the ends) of s3://bucket[/prefix]."""
    match = re.fullmatch(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?", text.strip())
    if match is None:
        raise ExportError(f"--s3 {text!r} is not s3://bucket[/prefix] with a valid bucket name")
    prefix = (match.group(2) or "").strip("/")
    parts = PurePosixPath(prefix).parts if prefix else ()
    if _CONTROL.search(prefix) or any(p in (".", "..") for p in parts) or "//" in prefix:
        raise ExportError(f"--s3 prefix {prefix!r} has '.', '..', empty or control-character segments")
    return match.group(1), prefix


def build_artifacts(figures: FiguresLike, formats: list[str], max_rows: int) -> list[Artifact]:
    """The artifacts of the figures, every name checked; too large a table is refused."""
    for table, rows in figures.tables.items():
        if len(rows) > max_rows:
            raise ExportError(
                f"table {table} has {len(rows)} rows, over EXPORT_MAX_ROWS ({max_rows}): narrow the range"
            )
    base = safe_name(f"{figures.app_id}_{stamp(figures.start)}_{stamp(figures.end)}")
    artifacts: list[Artifact] = []
    if "json" in formats:
        artifacts.append(Artifact(safe_name(f"{base}.json"), "json", None, figures.to_json()))
    if "csv" in formats:
        for table in figures.tables:
            artifacts.append(Artifact(safe_name(f"{base}_{table}.csv"), "csv", table, figures.to_csv(table)))
    return artifacts
