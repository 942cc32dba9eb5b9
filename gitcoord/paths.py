"""Repository-relative paths and path patterns, checked before anything else sees them.

Every path or pattern that reaches gitcoord from a user, a file on the coordination branch or
git itself goes through here first, so the rest of the code can assume a clean POSIX path:
no absolute paths, no ``..`` escaping the repository, no NUL or line breaks that would corrupt
git plumbing output or a one-line message.  Kept free of heavy imports: git hooks use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gitcoord.errors import UsageError

MAX_PATH_BYTES = 4096
"""Longest path or pattern accepted, in UTF-8 bytes (PATH_MAX on Linux)."""

MAX_PATTERNS = 10_000
"""Most patterns one task, lock request or import may carry; more is a mistake or an attack."""

# Anything that needs a closer look (or an error): a path without any of these is already clean.
_NEEDS_WORK = re.compile(r"[\x00\n\r\\]|//|^/|/$|(?:^|/)\.{1,2}(?:/|$)|^[A-Za-z]:/")


# The same test for many paths at once: joined between newlines, a path that needs work shows
# one of these substrings (each found by a fast C-level scan; much faster than a regex).
_BATCH_BAD = (
    "\x00", "\r", "\\", "//", "\n/", "/\n", "\n\n",
    "/./", "\n./", "/.\n", "\n.\n", "/../", "\n../", "/..\n", "\n..\n",
)  # fmt: skip
_BATCH_DRIVE = re.compile(r"\n[A-Za-z]:/")


def are_clean_repo_paths(paths: list[str]) -> bool:
    """True when ``normalize_repo_path`` would return every one of ``paths`` unchanged.

    A batch check for hot paths (hooks, ``owners_many``): a few substring scans over all
    paths at once.  False means "look at each path" (some may still be fine), never "all are bad".
    """
    if not paths:
        return True
    if not all(type(path) is str for path in paths):
        return False
    if max(map(len, paths)) > MAX_PATH_BYTES // 4 or any(map(str.isspace, paths)):
        return False
    joined = "\n" + "\n".join(paths) + "\n"
    if joined.count("\n") != len(paths) + 1:
        return False  # some path contains a newline
    if any(bad in joined for bad in _BATCH_BAD):
        return False
    return ":/" not in joined or _BATCH_DRIVE.search(joined) is None


def _shown(value: str) -> str:
    """The offending value for a one-line message: repr (escapes NUL, newlines), cut if huge."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "...'"


def _check_hostile(value: object, what: str) -> str:
    """Checks shared by paths and patterns: type, NUL, line breaks, size."""
    if not isinstance(value, str):
        raise UsageError(f"{what} must be a string, got {type(value).__name__}")
    if "\x00" in value:
        raise UsageError(f"{what} {_shown(value)} contains a NUL byte")
    if "\n" in value or "\r" in value:
        raise UsageError(f"{what} {_shown(value)} contains a line break")
    if len(value) > MAX_PATH_BYTES // 4 and len(value.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise UsageError(f"{what} {_shown(value)} is longer than {MAX_PATH_BYTES} bytes")
    if not value.strip():
        raise UsageError(f"{what} is empty; give a path relative to the repository root")
    return value


def _is_drive_absolute(value: str) -> bool:
    return len(value) >= 3 and value[1] == ":" and value[0].isascii() and value[0].isalpha() and value[2] in "/\\"


def normalize_repo_path(path: str, *, what: str = "path") -> str:
    """Return ``path`` as a clean repository-relative POSIX path (``a/b/c``).

    Strips ``./`` segments, collapses ``//`` and a trailing ``/``.  Raises UsageError for
    anything that could name a file outside the repository or break line-based git output.
    """
    # Fast path (hooks check thousands of paths): one regex scan proves the path clean.
    if type(path) is str and 0 < len(path) <= MAX_PATH_BYTES // 4 and _NEEDS_WORK.search(path) is None:
        if not path.isspace():
            return path
    _check_hostile(path, what)
    if "\\" in path:
        if _is_drive_absolute(path):
            raise UsageError(f"{what} {_shown(path)} is absolute; give a path relative to the repository root")
        raise UsageError(f"{what} {_shown(path)} contains a backslash; use / to separate directories")
    if path.startswith("/") or _is_drive_absolute(path):
        raise UsageError(f"{what} {_shown(path)} is absolute; give a path relative to the repository root")
    segments = [segment for segment in path.split("/") if segment and segment != "."]
    if ".." in segments:
        raise UsageError(f"{what} {_shown(path)} has a '..' segment; paths must stay inside the repository")
    if not segments or (len(segments) == 1 and segments[0].isspace()):
        raise UsageError(f"{what} {_shown(path)} names no file; give a path relative to the repository root")
    clean = "/".join(segments)
    if _is_drive_absolute(clean):  # './C:/x' must not become the Windows-absolute 'C:/x'
        raise UsageError(f"{what} {_shown(path)} is absolute; give a path relative to the repository root")
    return clean


def _unescape(segment: str) -> str:
    """A pattern segment with backslash escapes removed (what it would match literally)."""
    if "\\" not in segment:
        return segment
    out: list[str] = []
    escaped = False
    for char in segment:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


def validate_pattern(pattern: str, *, what: str = "pattern") -> str:
    """Check an ownership or lock pattern and return it normalised.

    The same hostile-input checks as paths, but a leading ``/`` is allowed (it anchors the
    pattern at the repository root) and a trailing ``/`` is kept (it means "everything below").
    ``//`` collapses and ``.`` segments are dropped without changing whether the pattern is
    anchored (``./src`` becomes ``/src``).  Negation (``!``) is rejected: CODEOWNERS has none.
    """
    _check_hostile(pattern, what)
    if pattern[0].isspace() or (pattern[-1].isspace() and pattern[-2:-1] != "\\"):
        raise UsageError(
            f"{what} {_shown(pattern)} has leading or trailing whitespace; remove it or escape a space as '\\ '"
        )
    if pattern.startswith("!"):
        raise UsageError(
            f"{what} {_shown(pattern)}: negation ('!') is not supported (CODEOWNERS has none); "
            "write '\\!' for a file whose name starts with '!'"
        )
    if _is_drive_absolute(pattern):
        raise UsageError(f"{what} {_shown(pattern)} is a Windows absolute path; patterns are relative to the repository root")
    # Escapes: a backslash makes the next character literal; '\\' and '\/' can never match a
    # clean path, and a trailing lone backslash escapes nothing.
    index = 0
    while True:
        index = pattern.find("\\", index)
        if index < 0:
            break
        following = pattern[index + 1 : index + 2]
        if following in ("", "\\", "/"):
            shown = {"": "a trailing '\\'", "\\": "'\\\\'", "/": "'\\/'"}[following]
            raise UsageError(
                f"{what} {_shown(pattern)} has {shown}: paths never contain a backslash; "
                "a backslash only escapes the next character (\\*, \\?, '\\ ', \\#, \\!)"
            )
        index += 2
    anchored_at_root = pattern.startswith("/")
    body = pattern.lstrip("/")
    dir_only = body.endswith("/") or body == "." or body.endswith("/.")
    raw_segments = body.split("/")
    segments: list[str] = []
    for segment in raw_segments:
        if not segment:
            continue
        literal = _unescape(segment)
        if literal == "..":
            raise UsageError(f"{what} {_shown(pattern)} has a '..' segment; patterns must stay inside the repository")
        if literal == ".":
            continue
        segments.append(segment)
    if not segments:
        raise UsageError(f"{what} {_shown(pattern)} names no file; use '*' or '/**' to mean every file")
    # A slash before the last segment anchors the pattern; keep that meaning after dropping
    # empty or '.' segments (e.g. './src' or 'a/./' must not turn into a floating 'src' / 'a').
    inner = body.rstrip("/")
    anchored = anchored_at_root or "/" in inner
    text = "/".join(segments)
    if anchored and len(segments) == 1:
        text = "/" + text
    elif anchored_at_root:
        text = "/" + text
    if dir_only:
        text += "/"
    return text


def validate_patterns(patterns: Iterable[str], *, what: str = "pattern", limit: int = MAX_PATTERNS) -> list[str]:
    """Validate a list of patterns (a task's ``owns``, a lock request); refuse absurdly long lists."""
    result: list[str] = []
    for number, pattern in enumerate(patterns, 1):
        if number > limit:
            raise UsageError(f"too many {what}s: more than {limit}; split the work or use broader patterns")
        result.append(validate_pattern(pattern, what=what))
    return result


# --------------------------------------------------------------------------- names git refuses; collisions

# Code points HFS+ ignores when comparing names (git's fsck checks ".git" with them removed).
_HFS_IGNORABLE = dict.fromkeys([*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF])


def checkout_refusal(path: str) -> str | None:
    """Why git would refuse a tree entry on checkout (like fsck / verify_path), or None.

    Refused: empty, ``.`` and ``..`` components, and ``.git`` in any case, with trailing dots or
    spaces (NTFS), as the NTFS short name ``git~1``, with an NTFS stream suffix (``.git::$…``) or
    with HFS+-ignorable code points inside.
    """
    if path.isascii() and "git" not in path.lower() and not path.startswith(".") and "/." not in path \
            and "//" not in path and not path.endswith("/"):
        return None
    for part in path.split("/"):
        if part in ("", ".", ".."):
            return f"has a {part or 'empty'!r} component"
        name = part.translate(_HFS_IGNORABLE).lower()
        bare = name.split(":", 1)[0].rstrip(" .")
        if bare in (".git", "git~1"):
            return f"has a component {part!r} that names the .git directory"
    return None


def fold(text: str) -> str:
    """The key under which case-insensitive or Unicode-normalising file systems see a name as the same."""
    if text.isascii():
        return text.lower()
    import unicodedata

    return unicodedata.normalize("NFC", text.translate(_HFS_IGNORABLE)).casefold()
