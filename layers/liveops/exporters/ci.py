"""What a CI upload step reads after `liveops export`.

- `--ci-metadata FILE`: a JSON document (`"format": "liveops-export-ci/1"`): app, range, status,
  the out directory and every file written there, with paths relative to it (what
  actions/upload-artifact or a GitLab `artifacts:paths` entry takes), sizes and SHA-256, the S3
  uploads, and the failures.
- `--github-output FILE` (pass "$GITHUB_OUTPUT"): `key=value` lines appended for later steps:
  status, out_dir, artifact_count, failure_count, export_id, metadata.
"""

from __future__ import annotations

from typing import Any

FORMAT = "liveops-export-ci/1"


def ci_metadata(summary: dict[str, Any]) -> dict[str, Any]:
    files = [a for a in summary["artifacts"] if "relative_path" in a]
    uploads = [a for a in summary["artifacts"] if "uri" in a]
    return {
        "format": FORMAT,
        "app": summary["app"],
        "from": summary["from"],
        "to": summary["to"],
        "status": summary["status"],
        "export_id": summary["export_id"],
        "generated_at": summary["generated_at"],
        "out_dir": summary["out_dir"],
        "artifacts": [
            {k: a[k] for k in ("relative_path", "format", "table", "bytes", "sha256")} for a in files
        ],
        "uploads": [{k: a[k] for k in ("uri", "format", "table", "bytes", "sha256")} for a in uploads],
        "failures": summary["failures"],
    }


def github_output(summary: dict[str, Any], metadata_path: str | None) -> str:
    """Step outputs; values are single-line (paths with a newline are refused earlier)."""
    lines = {
        "status": summary["status"],
        "out_dir": summary["out_dir"],
        "artifact_count": str(sum(1 for a in summary["artifacts"] if "relative_path" in a)),
        "failure_count": str(len(summary["failures"])),
        "export_id": summary["export_id"],
        "metadata": metadata_path or "",
    }
    return "".join(f"{key}={value}\n" for key, value in lines.items())
