"""Semantic versions of contracts: parse, compare, bump, and the "is this a breaking bump" rule.

Only what approval needs: ``MAJOR.MINOR.PATCH`` with an optional ``-prerelease`` and
``+build`` (build metadata is ignored when comparing, as semver says). A leading ``v`` is
accepted on input and dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gitcoord.errors import UsageError

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$")


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: str = ""
    build: str = ""

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += f"-{self.prerelease}"
        if self.build:
            text += f"+{self.build}"
        return text

    def key(self) -> tuple:
        """Sort key: a pre-release sorts before its release; numeric identifiers compare as numbers."""
        if not self.prerelease:
            pre: tuple = (1,)
        else:
            pre = (0, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease.split(".")))
        return (self.major, self.minor, self.patch, pre)

    def __lt__(self, other: "Version") -> bool:
        return self.key() < other.key()

    def __le__(self, other: "Version") -> bool:
        return self.key() <= other.key()


def parse(text: str, *, what: str = "version") -> Version:
    """``1.2.3`` / ``v2.0.0-rc.1`` → Version; UsageError naming ``what`` otherwise."""
    match = _SEMVER.match(str(text).strip()) if text is not None else None
    if not match:
        raise UsageError(f"{what} {text!r} is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.4.0)")
    major, minor, patch, pre, build = match.groups()
    return Version(int(major), int(minor), int(patch), pre or "", build or "")


def is_semver(text: object) -> bool:
    return isinstance(text, str) and _SEMVER.match(text.strip()) is not None


def bump(version: Version, part: str) -> Version:
    """The next ``major`` / ``minor`` / ``patch`` release after ``version``."""
    if part == "major":
        return Version(version.major + 1, 0, 0)
    if part == "minor":
        return Version(version.major, version.minor + 1, 0)
    if part == "patch":
        # 1.2.3-rc.1 → 1.2.3 is the release the pre-release led up to
        return Version(version.major, version.minor, version.patch + (0 if version.prerelease else 1))
    raise UsageError(f"unknown version part {part!r} (use major, minor or patch)")


def allows_breaking(old: Version, new: Version) -> bool:
    """Does going from ``old`` to ``new`` announce a breaking change?

    A major bump does; below 1.0.0 a minor bump does too (semver: 0.y.z may change at any time,
    and the common convention treats 0.y as the compatibility line).
    """
    if new.major > old.major:
        return True
    return old.major == 0 and new.major == 0 and new.minor > old.minor
