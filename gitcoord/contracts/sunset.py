"""Deprecation lifecycle of an API element: sunset dates and stability levels.

An element marked ``deprecated: true`` may be removed once its sunset date has passed (or at
once when it has none): clients were told. The date is the ``x-sunset`` extension (also
``x-sunset-date``, ``sunset``) or the example/default of a documented ``Sunset`` response
header (RFC 8594), as ``YYYY-MM-DD``/RFC 3339 or an HTTP date. ``x-stability-level`` marks
operations still allowed to change: ``draft`` and ``alpha`` promise nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

STABILITY = ("draft", "alpha", "beta", "stable")
UNSTABLE = ("draft", "alpha")


def sunset(node: dict[str, Any], responses: Any = None) -> date | None | str:
    """The sunset date; None when there is none, ``"unreadable"`` when one cannot be read."""
    raw = next((node[k] for k in ("x-sunset", "x-sunset-date", "sunset") if node.get(k)), None)
    if raw is None and isinstance(responses, dict):
        for response in responses.values():
            for name, header in ((response.get("headers") or {}).items() if isinstance(response, dict) else ()):
                if str(name).lower() == "sunset" and isinstance(header, dict):
                    schema = header.get("schema") if isinstance(header.get("schema"), dict) else {}
                    raw = header.get("example") or schema.get("example") or schema.get("default")
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        return "unreadable"


def retired(node: Any, responses: Any = None) -> str:
    """``"live"`` (not deprecated), ``"sunset-pending"`` (deprecated, sunset ahead) or ``"retired"``.

    An unreadable sunset date counts as not passed, so removing the element stays breaking.
    """
    if not isinstance(node, dict) or node.get("deprecated") is not True:
        return "live"
    when = sunset(node, responses)
    if when is None:
        return "retired"
    if isinstance(when, str) or when > datetime.now(timezone.utc).date():
        return "sunset-pending"
    return "retired"


def sunset_moved(old: dict[str, Any], new: dict[str, Any], old_responses: Any = None, new_responses: Any = None) -> str | None:
    """Why a still-deprecated element's sunset promise got worse (removed, unreadable, earlier), or None."""
    if old.get("deprecated") is not True or new.get("deprecated") is not True:
        return None
    before, after = sunset(old, old_responses), sunset(new, new_responses)
    if not isinstance(before, date):
        return None
    if after is None:
        return f"sunset date {before} was removed"
    if isinstance(after, str):
        return f"sunset date {before} was replaced by an unreadable one"
    if after < before:
        return f"sunset date moved earlier, from {before} to {after}"
    return None


def stability(node: dict[str, Any]) -> str:
    """The operation's ``x-stability-level``; unmarked (or unknown) operations are stable."""
    level = str(node.get("x-stability-level") or "stable").strip().lower()
    return level if level in STABILITY else "stable"
