"""Times (ISO 8601 UTC) and durations (``90m``, ``6h``, ``1.5h``, ``2d``, bare hours)."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone

from gitcoord.errors import UsageError

# Short units, and the spelled-out ones the guide's messages use ("estimated_duration": "4 hours").
_UNIT_SECONDS = {None: 3600, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60,
                 "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
                 "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(" + "|".join(sorted(
    (u for u in _UNIT_SECONDS if u), key=len, reverse=True)) + r")?\s*$", re.IGNORECASE)


def now() -> datetime:
    """Current UTC time; ``GITCOORD_NOW`` (ISO 8601) pins it for reproducible tests and demos."""
    pinned = os.environ.get("GITCOORD_NOW")
    if pinned:
        return parse_time(pinned, what="GITCOORD_NOW")
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    dt = dt.astimezone(timezone.utc)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += f".{dt.microsecond // 1000:03d}"
    return text + "Z"


def now_iso() -> str:
    return iso(now())


def parse_time(text: str, *, what: str = "time") -> datetime:
    """Parse ISO 8601 (``Z`` or offset; a date alone means midnight UTC)."""
    value = str(text).strip()
    try:
        if value.endswith("Z") or value.endswith("z"):
            value = value[:-1] + "+00:00"
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{what} {text!r}: not an ISO 8601 time (e.g. 2026-01-31T12:00:00Z)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def parse_duration(text: str | float | int, *, what: str = "duration") -> timedelta:
    """``90m``, ``6h``, ``1.5h``, ``2d``, ``30s`` or a bare number of hours."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0:
            raise UsageError(f"{what} {text!r}: must not be negative")
        return timedelta(hours=float(text))
    match = _DURATION.match(str(text))
    if not match:
        raise UsageError(f"{what} {text!r}: not a duration (use e.g. 90m, 6h, 1.5h, 2d or a number of hours)")
    number = float(match.group(1))
    unit = match.group(2).lower() if match.group(2) else None
    return timedelta(seconds=number * _UNIT_SECONDS[unit])


def hours(text: str | float | int, *, what: str = "estimate") -> float:
    return parse_duration(text, what=what).total_seconds() / 3600
