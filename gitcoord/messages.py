"""Structured agent messages (status, blocker, request, complete) stored as append-only events.

A message is an event file ``events/<day>/<stamp>-<agent>-<id>.json`` of type ``msg.<kind>``
whose ``data`` follows ``contracts/msg-<kind>.schema.json``. One new file per message means
two agents posting at the same moment never touch the same path, so their transactions
never conflict. The data is validated before anything is written; a bad field is reported
with the command-line flag that carries it.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator

from gitcoord import timeutil
from gitcoord.errors import NotFound, UsageError

KINDS = ("status", "blocker", "request", "complete")
SEVERITIES = ("low", "medium", "high")
URGENCIES = ("low", "normal", "high", "critical")
TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# data key → the command-line flag that sets it (for error messages)
FLAG_FOR_FIELD = {
    "progress": "--progress", "done": "--done", "current": "--current", "next": "--next", "eta": "--eta",
    "description": "--description", "severity": "--severity", "blocking_agent": "--blocking-agent",
    "workaround": "--workaround", "to": "--to", "regarding": "--regarding", "request": "--request",
    "urgency": "--urgency", "summary": "--summary", "deliverables": "--deliverable", "tests": "--tests",
}


def event_type(kind: str) -> str:
    return f"msg.{kind}"


@dataclass
class Message:
    """A message ready to post: the event's ``task``, ``to``, one-line ``summary`` and ``data``."""

    kind: str
    data: dict[str, Any]
    task: str | None = None
    to: str | None = None
    summary: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return event_type(self.kind)


# --------------------------------------------------------------------------- parsing of flag values


def parse_tests(text: str) -> dict[str, int]:
    """``passed=12,failed=0`` (either order, spaces allowed) → ``{"passed": 12, "failed": 0}``."""
    counts: dict[str, int] = {}
    for part in str(text).split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in ("passed", "failed"):
            raise UsageError(f"--tests {text!r}: expected passed=N,failed=N")
        try:
            number = int(value.strip())
        except ValueError:
            raise UsageError(f"--tests {text!r}: {key} must be a whole number, got {value.strip()!r}") from None
        if number < 0:
            raise UsageError(f"--tests {text!r}: {key} must not be negative")
        counts[key] = number
    if set(counts) != {"passed", "failed"}:
        raise UsageError(f"--tests {text!r}: give both counts, e.g. passed=12,failed=0")
    return {"passed": counts["passed"], "failed": counts["failed"]}


def parse_eta(text: str, now: datetime | None = None) -> str:
    """An ISO 8601 time, or a duration from now (``90m``, ``2h``, ``1d``) → ISO 8601 UTC."""
    value = str(text).strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return timeutil.iso(timeutil.parse_time(value, what="--eta"))
    try:
        delta = timeutil.parse_duration(value, what="--eta")
    except UsageError:
        raise UsageError(f"--eta {text!r}: give an ISO 8601 time (2026-01-31T17:00:00Z) or a duration "
                         "from now (90m, 4h, 2d)") from None
    return timeutil.iso((now or timeutil.now()) + delta)


def parse_since(text: str | None, now: datetime | None = None) -> str | None:
    """``--since``: an ISO 8601 time or a duration back from now (``2h`` = the last two hours)."""
    if text is None or str(text).strip() == "":
        return None
    value = str(text).strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return timeutil.iso(timeutil.parse_time(value, what="--since"))
    try:
        delta = timeutil.parse_duration(value, what="--since")
    except UsageError:
        raise UsageError(f"--since {text!r}: give an ISO 8601 time or a duration back from now (e.g. 2h, 1d)") \
            from None
    return timeutil.iso((now or timeutil.now()) - delta)


# --------------------------------------------------------------------------- building messages


def status_message(task: str, *, progress: int, done: Iterable[str] = (), current: str | None = None,
                   next_items: Iterable[str] = (), eta: str | None = None) -> Message:
    data: dict[str, Any] = {"progress": progress, "done": list(done), "current": current,
                            "next": list(next_items), "eta": parse_eta(eta) if eta else None}
    summary = f"{task}: {progress}% done" + (f", now: {current}" if current else "")
    if data["eta"]:
        summary += f", eta {data['eta']}"
    return Message("status", data, task=task, summary=summary)


def blocker_message(task: str, *, description: str, severity: str, blocking_agent: str | None = None,
                    workaround: str | None = None) -> Message:
    data = {"description": description, "severity": severity, "blocking_agent": blocking_agent,
            "workaround": workaround}
    summary = f"{task} blocked ({severity}): {description}" + (f" — waiting on {blocking_agent}" if blocking_agent
                                                               else "")
    return Message("blocker", data, task=task, to=blocking_agent, summary=summary)


def request_message(*, to: str, regarding: str, request: str, urgency: str = "normal",
                    task: str | None = None) -> Message:
    data = {"to": to, "regarding": regarding, "request": request, "urgency": urgency}
    return Message("request", data, task=task, to=to, summary=f"[{urgency}] to {to} re {regarding}: {request}")


def complete_message(task: str, *, summary: str, deliverables: Iterable[str] = (),
                     tests: str | dict[str, int] | None = None) -> Message:
    data: dict[str, Any] = {"summary": summary, "deliverables": list(deliverables)}
    if tests is not None:
        data["tests"] = parse_tests(tests) if isinstance(tests, str) else dict(tests)
    line = f"{task} complete: {summary}"
    if "tests" in data:
        line += f" (tests: {data['tests']['passed']} passed, {data['tests']['failed']} failed)"
    return Message("complete", data, task=task, summary=line)


# --------------------------------------------------------------------------- validation


@functools.cache
def _validator(kind: str):
    import jsonschema  # lazy: only when a message is actually posted

    from gitcoord import schemas

    schema = schemas.load_schema(f"msg-{kind}")
    return jsonschema.validators.validator_for(schema)(schema)


def validate(message: Message) -> None:
    """Check ``message.data`` against ``contracts/msg-<kind>.schema.json``; UsageError names the flag."""
    if message.kind not in KINDS:
        raise UsageError(f"message kind {message.kind!r}: use one of {', '.join(KINDS)}")
    if message.task is not None and not TASK_ID.match(message.task):
        raise UsageError(f"task id {message.task!r}: letters, digits, '.', '_' and '-' only (max 64)")
    errors = list(_validator(message.kind).iter_errors(message.data))
    if not errors:
        return
    import jsonschema

    best = jsonschema.exceptions.best_match(errors)
    path = list(best.absolute_path)
    if not path and best.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", best.message)
        path = missing[:1]
    key = str(path[0]) if path else ""
    flag = FLAG_FOR_FIELD.get(key, key or "message")
    value = message.data.get(key) if key else None
    shown = f" {value!r}" if key and value is not None and not isinstance(value, (dict, list)) else ""
    detail = best.message if len(best.message) <= 160 else best.message[:157] + "..."
    raise UsageError(f"msg {message.kind}: {flag}{shown}: {detail}",
                     hint=f"see contracts/msg-{message.kind}.schema.json",
                     data={"field": key, "kind": message.kind})


# --------------------------------------------------------------------------- posting


def task_path(task_id: str) -> str:
    return f"tasks/{task_id}.yaml"


def require_task(view: Any, task_id: str) -> dict[str, Any]:
    """The task file for ``task_id`` in a Snapshot or Txn; NotFound (exit 2) when absent."""
    if not TASK_ID.match(task_id or ""):
        raise UsageError(f"task id {task_id!r}: letters, digits, '.', '_' and '-' only (max 64)")
    obj = view.load(task_path(task_id))
    if obj is None:
        raise NotFound(f"unknown task {task_id!r}: no tasks/{task_id}.yaml on the coordination branch",
                       hint="see `gitcoord task list`")
    return obj


def append(txn: Any, message: Message) -> dict[str, Any]:
    """Validate and append ``message`` as an event inside a transaction (pure: reads only ``txn``)."""
    validate(message)
    if not txn.base.exists:
        raise UsageError("no coordination branch yet: run `gitcoord init` first")
    if message.task is not None:
        require_task(txn, message.task)
    event = txn.add_event(message.type, task=message.task, to=message.to, summary=message.summary,
                          data={**message.data, **message.extra})
    txn.describe(message.type, message.summary[:200], task=message.task)
    return event


def post(store: Any, message: Message) -> dict[str, Any]:
    """Validate, then append the message in its own transaction; returns the stored event."""
    validate(message)  # before any git work: a bad message costs nothing
    result = store.transact(lambda txn: append(txn, message))
    return result.value


# --------------------------------------------------------------------------- reading events


def _day_of(path: str) -> str:
    parts = path.split("/")
    return parts[1] if len(parts) > 2 else ""


def iter_events(snapshot: Any, *, since: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(path, event)`` for every event file, skipping whole days before ``since`` unparsed."""
    since_day = since[:10] if since else None
    for path in snapshot.walk("events"):
        if not path.endswith(".json"):
            continue
        if since_day and _day_of(path) and _day_of(path) < since_day:
            continue
        event = snapshot.load(path)
        if event is None:
            continue
        if since and _time_key(event.get("at")) < _time_key(since):
            continue
        yield path, event


@functools.lru_cache(maxsize=65536)
def _time_key(at: str | None) -> str:
    """Sortable form of a time: ISO UTC with microseconds (other offsets are converted)."""
    if not at:
        return ""
    try:
        return timeutil.parse_time(at).strftime("%Y-%m-%dT%H:%M:%S.%f")
    except UsageError:
        return str(at)


def type_matches(event_type_name: str, pattern: str | None) -> bool:
    """``--type``: exact (``msg.status``), a family (``msg`` = ``msg.*``) or a glob (``task.*``)."""
    if not pattern:
        return True
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(event_type_name, pattern)
    return event_type_name == pattern or event_type_name.startswith(pattern.rstrip(".") + ".")


def list_events(snapshot: Any, *, type: str | None = None, task: str | None = None,
                since: str | None = None) -> list[dict[str, Any]]:
    """Events in time order (then path), filtered; each carries its ``path`` on the branch."""
    out = []
    for path, event in iter_events(snapshot, since=since):
        if not type_matches(str(event.get("type", "")), type):
            continue
        if task is not None and event.get("task") != task:
            continue
        out.append({**event, "path": path})
    out.sort(key=lambda e: (_time_key(e.get("at")), e["path"]))
    return out


def format_event(event: dict[str, Any]) -> str:
    """One human line: time, agent, type, task, summary."""
    at = str(event.get("at") or "")[:19].replace("T", " ")
    task = f" [{event['task']}]" if event.get("task") else ""
    to = f" → {event['to']}" if event.get("to") else ""
    summary = event.get("summary") or _default_summary(event)
    return f"{at}  {event.get('agent', '?'):<14} {event.get('type', '?'):<16}{task}{to}  {summary}".rstrip()


def _default_summary(event: dict[str, Any]) -> str:
    data = event.get("data") or {}
    if "from" in data and "to" in data:
        return f"{data['from']} → {data['to']}"
    return ", ".join(f"{k}={v}" for k, v in list(data.items())[:4])
