"""The manager's memory, read back from the coordination branch.

Nothing the manager needs lives only in its process: each dispatch, launch, exit and merge
rejection is a ``run.*`` event, so a restarted runner (or a second one on another machine)
rebuilds the same picture from the branch alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gitcoord import messages

DISPATCH = "run.dispatch"
LAUNCHED = "run.launched"
EXITED = "run.exit"
REJECTED = "run.rejected"


@dataclass
class Dispatch:
    task: str
    agent: str
    attempt: int
    runner: str
    host: str
    at: str
    run_dir: str | None = None
    outcome: str | None = None  # done, crashed, silent, no-commits, setup-failed
    exit_code: int | None = None


@dataclass
class TaskState:
    dispatches: list[Dispatch] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    progress: int | None = None
    progress_at: str = ""
    current: str | None = None

    @property
    def last(self) -> Dispatch | None:
        return self.dispatches[-1] if self.dispatches else None

    @property
    def attempts(self) -> int:
        return len(self.dispatches)


def read(snapshot: Any, since: str | None = None) -> dict[str, TaskState]:
    """Per task: its dispatches (in attempt order), merge rejections and last reported progress."""
    out: dict[str, TaskState] = {}
    for _path, event in messages.iter_events(snapshot, since=since):
        tid = event.get("task")
        etype = event.get("type")
        if not tid:
            continue
        data = event.get("data") or {}
        if etype == DISPATCH:
            st = out.setdefault(tid, TaskState())
            st.dispatches.append(Dispatch(tid, data.get("agent", ""), int(data.get("attempt") or 0),
                                          data.get("runner", ""), data.get("host", ""), event.get("at") or ""))
            st.dispatches.sort(key=lambda d: d.attempt)
        elif etype in (LAUNCHED, EXITED):
            st = out.setdefault(tid, TaskState())
            for d in st.dispatches:
                if d.attempt == data.get("attempt"):
                    if etype == LAUNCHED:
                        d.run_dir = data.get("run_dir")
                    else:
                        d.outcome, d.exit_code = data.get("outcome"), data.get("exit_code")
        elif etype == REJECTED:
            out.setdefault(tid, TaskState()).rejections.append({**data, "at": event.get("at")})
        elif etype == "msg.status" and isinstance(data.get("progress"), int):
            st = out.setdefault(tid, TaskState())
            at = event.get("at") or ""
            if at >= st.progress_at:
                st.progress, st.progress_at, st.current = data["progress"], at, data.get("current_item")
    return out
