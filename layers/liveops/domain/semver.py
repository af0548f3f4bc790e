"""Semantic versions (semver.org 2.0.0) parsed into tuples that compare by semver precedence.

`parse_semver("1.4.0-rc.1")` returns a tuple that Python's tuple ordering compares exactly as semver
precedence does, so `parse_semver(a) < parse_semver(b)` is "a is older than b":

- major, minor, patch compare numerically;
- a pre-release version is lower than the same version without one (`1.0.0-rc.1 < 1.0.0`);
- pre-release identifiers compare left to right: numeric ones numerically, alphanumeric ones in
  ASCII order, numeric lower than alphanumeric, and a shorter list lower when it is a prefix of a
  longer one (`1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta < 1.0.0-beta.2
  < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0`);
- build metadata (`+build.5`) is accepted and ignored, as the specification says.

Parsing is strict: exactly `MAJOR.MINOR.PATCH`, no leading zeros in numeric parts, no `v` prefix,
no surrounding whitespace, ASCII only. Anything else raises ValueError, so callers decide whether a
malformed version from a client means "not eligible" or a 400.
"""

from __future__ import annotations

import re
from typing import TypeAlias

# One pre-release identifier: (0, number) or (1, text); the leading tag orders numeric ones first and
# keeps int and str from ever being compared with each other.
PreReleaseId: TypeAlias = tuple[int, int] | tuple[int, str]
# (major, minor, patch, pre) where pre is (1,) for a release, (0, id, id, ...) for a pre-release.
SemVer: TypeAlias = tuple[int, int, int, tuple[int | PreReleaseId, ...]]

_NUM = r"0|[1-9][0-9]*"
_PRE_ID = r"0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*"
_SEMVER = re.compile(
    rf"(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>(?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_RELEASE: tuple[int] = (1,)
MAX_VERSION_LENGTH = 256


def parse_semver(text: str) -> SemVer:
    """The precedence key of a semantic version; ValueError when `text` is not one."""
    if not isinstance(text, str):
        raise ValueError(f"version must be a string, got {type(text).__name__}")
    if len(text) > MAX_VERSION_LENGTH:
        raise ValueError(f"version longer than {MAX_VERSION_LENGTH} characters")
    match = _SEMVER.fullmatch(text)
    if match is None:
        raise ValueError(f"not a semantic version (MAJOR.MINOR.PATCH[-PRE][+BUILD]): {text!r}")
    pre_text = match.group("pre")
    pre: tuple[int | PreReleaseId, ...]
    if pre_text is None:
        pre = _RELEASE
    else:
        ids: list[int | PreReleaseId] = [0]
        for part in pre_text.split("."):
            ids.append((0, int(part)) if part.isdigit() else (1, part))
        pre = tuple(ids)
    return (int(match.group("major")), int(match.group("minor")), int(match.group("patch")), pre)


def is_semver(text: str) -> bool:
    try:
        parse_semver(text)
    except ValueError:
        return False
    return True


def compare_semver(a: str, b: str) -> int:
    """-1, 0 or 1 as `a` has lower, equal or higher precedence than `b` (build metadata ignored)."""
    key_a, key_b = parse_semver(a), parse_semver(b)
    return (key_a > key_b) - (key_a < key_b)


def in_version_range(version: SemVer, minimum: SemVer | None, maximum: SemVer | None) -> bool:
    """`minimum <= version <= maximum`, both bounds inclusive, either one optional."""
    if minimum is not None and version < minimum:
        return False
    return maximum is None or version <= maximum
