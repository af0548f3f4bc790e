"""Where artifacts go. A writer takes its share of the artifacts one at a time and reports where
each landed; the fan-out isolates its failures (see fanout.py)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Protocol

from liveops.exporters.artifacts import Artifact


class Writer(Protocol):
    name: str

    def accepts(self, artifact: Artifact) -> bool: ...
    def write(self, artifact: Artifact) -> dict[str, Any]: ...  # where it landed: path or uri


class FileWriter:
    """Artifacts of one format as files in the out directory; each file appears whole or not at
    all (written beside, then renamed)."""

    def __init__(self, fmt: str, out_dir: Path) -> None:
        self.name = fmt
        self._format = fmt
        self._out_dir = out_dir

    def accepts(self, artifact: Artifact) -> bool:
        return artifact.format == self._format

    def write(self, artifact: Artifact) -> dict[str, Any]:
        # created on first use, so that failing to create it stays this writer's failure
        self._out_dir.mkdir(parents=True, exist_ok=True)
        root = self._out_dir.resolve()
        target = root / artifact.name
        if target.parent != root:  # names are checked already; never write outside the out dir
            raise ValueError(f"{artifact.name!r} would land outside {root}")
        # a fresh hidden name beside the target (created with the umask's mode, unlike mkstemp's 0600)
        temporary = root / f".{artifact.name}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            with temporary.open("xb") as stream:
                stream.write(artifact.body)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return {"path": str(target), "relative_path": artifact.name}


class S3Writer:
    """Every artifact uploaded under s3://bucket/prefix/app_id=<app>/dt=<export day>/<export id>/,
    the layout the retention job prunes after `exports_days` when the prefix is the lake's exports/."""

    name = "s3"

    def __init__(self, s3: Any, bucket: str, key_prefix: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._key_prefix = key_prefix

    def accepts(self, artifact: Artifact) -> bool:
        return True

    def write(self, artifact: Artifact) -> dict[str, Any]:
        key = f"{self._key_prefix}{artifact.name}"
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=artifact.body,
            ContentType=artifact.media_type,
            Metadata={"sha256": artifact.sha256},
        )
        return {"uri": f"s3://{self._bucket}/{key}"}
