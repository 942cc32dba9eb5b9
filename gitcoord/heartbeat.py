"""The guide's heartbeat rule: an agent reports on its task "every 25 % progress or hourly".

A task in progress whose holder has said nothing about it (no message, no lifecycle event)
for longer than ``policies.heartbeat`` (default 1 h) is *silent*: `doctor` and `inbox` flag it,
so a manager or a dependent notices a stalled or crashed agent before it costs the schedule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gitcoord import messages, timeutil
from gitcoord.errors import UsageError

DEFAULT_HEARTBEAT = "1h"  # also store.DEFAULT_CONFIG: what `config get policies.heartbeat` shows


def heartbeat_seconds(config: dict[str, Any]) -> float:
    """``policies.heartbeat`` in seconds (bad values are reported with the key)."""
    value = (config.get("policies") or {}).get("heartbeat", DEFAULT_HEARTBEAT)
    try:
        seconds = timeutil.parse_duration(value, what="policies.heartbeat").total_seconds()
    except UsageError as exc:
        raise UsageError(f"gitcoord.yaml: {exc.message}") from None
    if seconds <= 0:
        raise UsageError(f"gitcoord.yaml: policies.heartbeat {value!r}: must be longer than zero")
    return seconds


def silent_tasks(snapshot: Any, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """In-progress tasks whose holder has been silent past the heartbeat, longest silence first.

    Each item: ``task``, ``agent``, ``last_heard`` (ISO), ``silent_hours``, ``heartbeat_hours``,
    ``progress`` (the last reported percentage, or None).
    """
    if not hasattr(snapshot, "walk"):
        return []
    limit = heartbeat_seconds(snapshot.config)
    now = now or timeutil.now()
    active = {t["id"]: t for t in snapshot.load_dir("tasks", ".yaml").values()
              if t.get("status") == "in_progress" and t.get("agent")}
    if not active:
        return []
    last: dict[str, str] = {tid: t.get("started_at") or t.get("updated_at") or "" for tid, t in active.items()}
    progress: dict[str, tuple[str, int | None]] = {tid: ("", None) for tid in active}
    oldest = min((v for v in last.values() if v), default=None)
    for _path, event in messages.iter_events(snapshot, since=oldest):
        tid = event.get("task")
        if tid not in active or event.get("agent") != active[tid]["agent"]:
            continue
        at = event.get("at") or ""
        if messages._time_key(at) >= messages._time_key(last[tid]):
            last[tid] = at
        data = event.get("data") or {}
        if event.get("type") == "msg.status" and isinstance(data.get("progress"), int) \
                and messages._time_key(at) >= messages._time_key(progress[tid][0]):
            progress[tid] = (at, data["progress"])
    out = []
    for tid, task in active.items():
        if not last[tid]:
            continue
        silent = (now - timeutil.parse_time(last[tid])).total_seconds()
        if silent > limit:
            out.append({"task": tid, "agent": task["agent"], "last_heard": last[tid],
                        "silent_hours": round(silent / 3600, 2), "heartbeat_hours": round(limit / 3600, 4),
                        "progress": progress[tid][1]})
    out.sort(key=lambda s: (-s["silent_hours"], s["task"]))
    return out


def status_command(silent: dict[str, Any], command: str = "gitcoord") -> str:
    """The command that ends a silence (run by the holder), as printed in hints; ``command`` is how it
    starts (``gitcoord --agent NAME`` when only the flag says who is acting)."""
    return f"{command} msg status {silent['task']} --progress {silent['progress'] or 0}"
