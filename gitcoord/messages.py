"""The guide's messages (status_update, blocker, coordination_request, task_complete,
task_assignment), posted verbatim as append-only events, and what they mean for the tasks.

A message is an event file ``events/<day>/<stamp>-<agent>-<id>.json`` of type ``msg.<kind>``
whose ``data`` is the guide's JSON message exactly as sent, validated by
``contracts/msg-<kind>.schema.json``. One new file per message means two agents posting at the
same moment never touch the same path, so their transactions never conflict. Everything is
checked before anything is written; a bad field is reported with the flag (or the JSON
pointer) that carries it.

Messages mean something: a blocker the agent cannot work around blocks the task, a later
status update from its holder resumes it; a completion that claims ``ready_for_merge`` with
failed tests is refused unless forced; requests and assignments must name declared agents
(when ``gitcoord.yaml`` declares any); an assignment gives an unstarted task to its agent.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator

from gitcoord import timeutil
from gitcoord.errors import NotFound, UsageError, Violation

# the guide's "type" → gitcoord's kind (event type msg.<kind>, schema contracts/msg-<kind>.schema.json)
GUIDE_TYPES = {"status_update": "status", "blocker": "blocker", "coordination_request": "request",
               "task_complete": "complete", "task_assignment": "assignment"}
KINDS = tuple(GUIDE_TYPES.values())
GUIDE_TYPE_OF = {kind: name for name, kind in GUIDE_TYPES.items()}
SENDER_FIELD = {"status": "agent_id", "blocker": "agent_id", "request": "from_agent", "complete": "agent_id"}
RECIPIENT_FIELD = {"blocker": "blocking_agent", "request": "to_agent", "assignment": "assigned_to"}
SEVERITIES = ("low", "medium", "high", "critical")
URGENCIES = ("low", "medium", "normal", "high", "critical")
TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_MESSAGE_BYTES = 64 * 1024  # a message is a few hundred bytes; anything this big is a mistake or an attack

# message field → the command-line flag that sets it (for error messages of `msg status|blocker|...`)
FLAG_FOR_FIELD = {
    "progress": "--progress", "completed_items": "--done", "current_item": "--current", "next_items": "--next",
    "estimated_completion": "--eta", "blocker_description": "--description", "severity": "--severity",
    "blocking_agent": "--blocking-agent", "workaround": "--workaround", "impact": "--impact",
    "needs_resolution_by": "--needs-resolution-by", "to_agent": "--to", "regarding": "--regarding",
    "request": "--request", "urgency": "--urgency", "current_state": "--current-state",
    "proposed_solution": "--proposed-solution", "timeline": "--timeline", "summary": "--summary",
    "deliverables": "--deliverable", "test_results": "--tests", "notes": "--notes", "branch": "--branch",
    "task_id": "TASK",
}


def event_type(kind: str) -> str:
    return f"msg.{kind}"


@dataclass
class Message:
    """One of the guide's messages (``data``, with its ``type``) and where it came from (for errors)."""

    kind: str
    data: dict[str, Any]
    source: str | None = None  # "FILE" for `msg post FILE`; None when built from flags

    @property
    def type(self) -> str:
        return event_type(self.kind)

    @property
    def task(self) -> str | None:
        task = self.data.get("task_id")
        return task if isinstance(task, str) else None

    @property
    def to(self) -> str | None:
        field_name = RECIPIENT_FIELD.get(self.kind)
        value = self.data.get(field_name) if field_name else None
        return value if isinstance(value, str) else None

    @property
    def sender(self) -> str | None:
        field_name = SENDER_FIELD.get(self.kind)
        value = self.data.get(field_name) if field_name else None
        return value if isinstance(value, str) else None

    @property
    def summary(self) -> str:
        return _one_line(summarize(self.kind, self.data))


# --------------------------------------------------------------------------- parsing


def parse_message(raw: bytes | str, *, source: str = "-") -> Message:
    """A guide message from JSON text (a file or stdin); UsageError naming ``source`` when it is not one."""
    return from_guide(decode_message(raw, source=source), source=source)


def decode_message(raw: bytes | str, *, source: str = "-") -> Any:
    """The JSON document of a posted message (any type); UsageError naming ``source`` when it is not JSON."""
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > MAX_MESSAGE_BYTES:
        raise UsageError(f"msg post {source}: message is larger than {MAX_MESSAGE_BYTES // 1024} KiB")
    def no_constant(name: str) -> Any:
        raise UsageError(f"msg post {source}: not JSON: {name} is not a JSON number")

    try:
        doc = json.loads(data.decode("utf-8"), parse_constant=no_constant)
    except UnicodeDecodeError:
        raise UsageError(f"msg post {source}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"msg post {source}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise UsageError(f"msg post {source}: JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise UsageError(f"msg post {source}: not JSON gitcoord accepts: {_one_line(str(exc), 80)}") from None
    return doc


def from_guide(doc: Any, *, source: str = "message") -> Message:
    """Wrap a decoded guide message; the ``type`` field picks the kind."""
    if not isinstance(doc, dict):
        raise UsageError(f"msg post {source}: a message is a JSON object with a \"type\" "
                         f"({', '.join(GUIDE_TYPES)})")
    kind = GUIDE_TYPES.get(doc.get("type")) if isinstance(doc.get("type"), str) else None
    if kind is None:
        shown = _shown(doc.get("type")) if "type" in doc else "missing"
        raise UsageError(f"msg post {source}: type {shown}: use one of {', '.join(GUIDE_TYPES)}, "
                         "lock_request, lock_release",
                         data={"field": "type"})
    return Message(kind, dict(doc), source=source)


def parse_tests(text: str) -> dict[str, int]:
    """``passed=12,failed=0[,skipped=1][,coverage=95]`` → the guide's ``test_results``."""
    counts: dict[str, Any] = {}
    for part in str(text).split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in ("passed", "failed", "skipped", "coverage"):
            raise UsageError(f"--tests {text!r}: expected passed=N,failed=N (optionally skipped=N,coverage=P)")
        try:
            number: Any = float(value.strip()) if key == "coverage" else int(value.strip())
        except ValueError:
            raise UsageError(f"--tests {text!r}: {key} must be a number, got {value.strip()!r}") from None
        if number < 0:
            raise UsageError(f"--tests {text!r}: {key} must not be negative")
        counts[key] = int(number) if key == "coverage" and float(number).is_integer() else number
    if not {"passed", "failed"} <= set(counts):
        raise UsageError(f"--tests {text!r}: give both counts, e.g. passed=12,failed=0")
    return {k: counts[k] for k in ("passed", "failed", "skipped", "coverage") if k in counts}


def parse_eta(text: str, now: datetime | None = None, *, what: str = "--eta") -> str:
    """An ISO 8601 time, or a duration from now (``90m``, ``2h``, ``1d``) → ISO 8601 UTC."""
    value = str(text).strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return timeutil.iso(timeutil.parse_time(value, what=what))
    try:
        delta = timeutil.parse_duration(value, what=what)
    except UsageError:
        raise UsageError(f"{what} {text!r}: give an ISO 8601 time (2026-01-31T17:00:00Z) or a duration "
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


# --------------------------------------------------------------------------- building messages from flags


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def status_message(task: str, *, progress: int, done: Iterable[str] = (), current: str | None = None,
                   next_items: Iterable[str] = (), eta: str | None = None, status: str | None = None) -> Message:
    data = {"type": "status_update", "task_id": task, "status": status or "in_progress", "progress": progress,
            "completed_items": list(done), "current_item": current, "next_items": list(next_items),
            "estimated_completion": parse_eta(eta) if eta else None, "blockers": []}
    return Message("status", data)


def blocker_message(task: str, *, description: str, severity: str, blocking_agent: str | None = None,
                    workaround: str | None = None, can_proceed: bool | None = None, impact: str | None = None,
                    needs_resolution_by: str | None = None) -> Message:
    if can_proceed is None:
        can_proceed = bool(workaround)
    data = {"type": "blocker", "task_id": task, "blocker_description": description, "severity": severity,
            "blocking_agent": blocking_agent, "can_proceed_with_workaround": can_proceed, "workaround": workaround,
            "needs_resolution_by": parse_eta(needs_resolution_by, what="--needs-resolution-by")
            if needs_resolution_by else None, "impact": impact}
    return Message("blocker", _drop_none(data))


def request_message(*, to: str, regarding: str, request: str, urgency: str = "normal", task: str | None = None,
                    current_state: str | None = None, proposed_solution: str | None = None,
                    timeline: str | None = None) -> Message:
    data = {"type": "coordination_request", "to_agent": to, "task_id": task, "regarding": regarding,
            "request": request, "urgency": urgency, "current_state": current_state,
            "proposed_solution": proposed_solution, "timeline": timeline}
    return Message("request", _drop_none(data))


def complete_message(task: str, *, summary: str, deliverables: Iterable[str] = (),
                     tests: str | dict[str, Any] | None = None, branch: str | None = None,
                     ready_for_merge: bool | None = None, notes: str | None = None) -> Message:
    data: dict[str, Any] = {"type": "task_complete", "task_id": task, "branch": branch, "summary": summary,
                            "deliverables": list(deliverables)}
    if tests is not None:
        data["test_results"] = parse_tests(tests) if isinstance(tests, str) else dict(tests)
    if ready_for_merge is not None:
        data["ready_for_review"] = ready_for_merge
        data["ready_for_merge"] = ready_for_merge
    data["notes"] = notes
    return Message("complete", _drop_none(data))


def assignment_message(task: str, *, to: str, branch: str | None = None, priority: str | int | None = None,
                       start_immediately: bool | None = None) -> Message:
    data = {"type": "task_assignment", "task_id": task, "assigned_to": to, "branch": branch, "priority": priority,
            "start_immediately": start_immediately}
    return Message("assignment", _drop_none(data))


def summarize(kind: str, data: dict[str, Any]) -> str:
    """The one human line of a message (stored as the event's summary)."""
    task = data.get("task_id") or "-"
    if kind == "status":
        line = f"{task}: {data.get('progress')}% done"
        if data.get("current_item"):
            line += f", now: {data['current_item']}"
        if data.get("estimated_completion"):
            line += f", eta {data['estimated_completion']}"
        return line
    if kind == "blocker":
        line = f"{task} blocked ({data.get('severity')}): {data.get('blocker_description')}"
        if data.get("blocking_agent"):
            line += f" — waiting on {data['blocking_agent']}"
        if data.get("can_proceed_with_workaround") is False:
            line += " [cannot proceed]"
        return line
    if kind == "request":
        return f"[{data.get('urgency')}] to {data.get('to_agent')} re {data.get('regarding')}: {data.get('request')}"
    if kind == "complete":
        line = f"{task} complete: {data.get('summary')}"
        tests = data.get("test_results")
        if isinstance(tests, dict):
            line += f" (tests: {tests.get('passed')} passed, {tests.get('failed')} failed)"
        if data.get("ready_for_merge"):
            line += " [ready for merge]"
        return line
    return f"{task} assigned to {data.get('assigned_to')}" + (f" on {data['branch']}" if data.get("branch") else "")


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- validation


@functools.cache
def _validator(kind: str):
    import jsonschema  # lazy: only when a message is actually posted

    from gitcoord import schemas

    schema = schemas.load_schema(f"msg-{kind}")
    return jsonschema.validators.validator_for(schema)(schema)


_BIDI = {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F}


def _hostile_char(text: str) -> str | None:
    """The first character that could fool a terminal or a reader (controls, bidi overrides), or None."""
    for ch in text:
        code = ord(ch)
        if ch in "\n\t":
            continue
        if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or code in _BIDI \
                or unicodedata.category(ch) in ("Cs", "Co"):
            return f"U+{code:04X}"
    return None


MAX_DEPTH = 16  # the guide's messages nest two levels; deeper is a mistake or an attack


def _too_deep(value: Any) -> list[Any] | None:
    """The path of the first value nested deeper than MAX_DEPTH (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, list[Any]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return path
        if isinstance(item, dict):
            stack.extend((v, path + [k]) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, path + [i]) for i, v in enumerate(item))
    return None


def _check_strings(value: Any, path: list[Any]) -> tuple[list[Any], str] | None:
    if isinstance(value, str):
        bad = _hostile_char(value)
        return (path, bad) if bad else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _check_strings(key, path + [key]) or _check_strings(item, path + [key])
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _check_strings(item, path + [index])
            if found:
                return found
    return None


def _where(message: Message, path: list[Any]) -> str:
    """How an error names a field: the flag for flag-built messages, the JSON pointer for posted ones."""
    key = str(path[0]) if path else ""
    if message.source is None:
        return FLAG_FOR_FIELD.get(key, key or "message")
    from gitcoord.schemas import json_pointer

    return json_pointer(path)


def _prefix(message: Message) -> str:
    return f"msg post {message.source}" if message.source is not None else f"msg {message.kind}"


def validate(message: Message) -> None:
    """Check a message against ``contracts/msg-<kind>.schema.json`` and for hostile text (exit 2)."""
    if message.kind not in KINDS:
        raise UsageError(f"message kind {message.kind!r}: use one of {', '.join(KINDS)}")
    deep = _too_deep(message.data)
    if deep:
        raise UsageError(f"{_prefix(message)}: {_where(message, deep[:3])}: nested deeper than {MAX_DEPTH} levels",
                         data={"field": str(deep[0]), "kind": message.kind})
    found = _check_strings(message.data, [])
    if found:
        path, char = found
        raise UsageError(f"{_prefix(message)}: {_where(message, path)}: control or bidi character {char} "
                         "is not allowed", data={"field": str(path[0]) if path else "", "kind": message.kind})
    errors = list(_validator(message.kind).iter_errors(message.data))
    if not errors:
        return
    import jsonschema

    best = jsonschema.exceptions.best_match(errors)
    path = list(best.absolute_path)
    if not path and best.validator == "required":
        path = re.findall(r"'([^']+)' is a required property", best.message)[:1]
    if not path and best.validator == "additionalProperties":
        path = re.findall(r"'([^']+)' was unexpected", best.message)[:1]
    key = str(path[0]) if path else ""
    value = message.data.get(key) if key else None
    shown = f" {_shown(value)}" if key and value is not None and not isinstance(value, (dict, list)) \
        and best.validator != "additionalProperties" else ""
    detail = _one_line(best.message, 160)
    if best.validator == "maxLength":
        detail = f"longer than {best.validator_value} characters"
        shown = ""
    raise UsageError(f"{_prefix(message)}: {_where(message, path)}{shown}: {detail}",
                     hint=f"see contracts/msg-{message.kind}.schema.json",
                     data={"field": key, "kind": message.kind})


def prepare(message: Message, agent: str, now: str) -> Message:
    """Fill the sender and timestamp the guide's shapes carry (when absent), and check the sender is
    the poster: identity comes from gitcoord, never from the message."""
    data = message.data
    sender_field = SENDER_FIELD.get(message.kind)
    if sender_field:
        sender = data.setdefault(sender_field, agent)
        if sender != agent:
            raise UsageError(f"{_prefix(message)}: {_where(message, [sender_field])} {_shown(sender)} is not the "
                             f"poster {agent!r}: a message is sent in your own name (leave {sender_field} out)",
                             data={"field": sender_field, "kind": message.kind})
        data.setdefault("timestamp", now)
    return message


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


def _require_declared(view: Any, message: Message) -> None:
    """Requests and assignments go to declared agents, when gitcoord.yaml declares any."""
    target = message.to if message.kind in ("request", "assignment") else None
    declared = [a.get("name") for a in view.config.get("agents") or [] if isinstance(a, dict)]
    if target is None or not declared or target in declared:
        return
    field_name = RECIPIENT_FIELD[message.kind]
    raise NotFound(f"{_prefix(message)}: {_where(message, [field_name])} {target!r} is not a declared agent "
                   f"(declared: {', '.join(sorted(declared)[:10])})", hint="see `gitcoord config get agents`",
                   data={"field": field_name, "kind": message.kind})


def _event_task(view: Any, message: Message) -> str | None:
    """The task the event is filed under: ``task_id``, else a request's ``regarding`` when it names a task."""
    if message.task is not None:
        return message.task
    regarding = message.data.get("regarding")
    if message.kind == "request" and isinstance(regarding, str) and TASK_ID.match(regarding) \
            and view.has(task_path(regarding)):
        return regarding
    return None


def _check_complete(message: Message, force: bool) -> None:
    tests = message.data.get("test_results") or {}
    failed = tests.get("failed") or 0
    if message.data.get("ready_for_merge") and failed and not force:
        raise Violation(f"{_prefix(message)}: {message.task} claims ready_for_merge with {failed} failed test(s): "
                        "fix them first, or send ready_for_merge false (--force posts it anyway)",
                        data={"task": message.task, "failed": failed})


def _apply_meaning(txn: Any, message: Message, task: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the message does to its task; returns the task change made (or None)."""
    from gitcoord import tasks

    if task is None:
        return None
    holder = task.get("agent")
    mine = holder in (None, txn.agent)
    if message.kind == "blocker" and message.data.get("can_proceed_with_workaround") is False \
            and task["status"] == "in_progress" and mine:
        tasks.apply_transition(txn, task["id"], "blocked", reason=_one_line(message.data["blocker_description"], 200))
        return {"task": task["id"], "from": "in_progress", "to": "blocked"}
    if message.kind == "status" and task["status"] == "blocked" and holder == txn.agent \
            and message.data.get("status", "in_progress") != "blocked":
        tasks.apply_transition(txn, task["id"], "in_progress", reason="status update")
        return {"task": task["id"], "from": "blocked", "to": "in_progress"}
    if message.kind == "assignment":
        return tasks.assign(txn, task["id"], message.data["assigned_to"])
    return None


def append(txn: Any, message: Message, *, force: bool = False) -> dict[str, Any]:
    """Check and append ``message`` as an event inside a transaction, with its effect on the task."""
    prepare(message, txn.agent, txn.now)
    validate(message)
    if not txn.base.exists:
        raise UsageError("no coordination branch yet: run `gitcoord init` first")
    task = require_task(txn, message.task) if message.task is not None else None
    _require_declared(txn, message)
    if message.kind == "complete":
        _check_complete(message, force)
    effect = _apply_meaning(txn, message, task)
    event = txn.add_event(message.type, task=_event_task(txn, message), to=message.to, summary=message.summary,
                          data=message.data)
    txn.describe(message.type, message.summary[:200], task=message.task)
    return {**event, "effect": effect} if effect else event


def post(store: Any, message: Message, *, force: bool = False) -> dict[str, Any]:
    """Check, then append the message in its own transaction; returns the stored event."""
    checked = prepare(Message(message.kind, dict(message.data), message.source), store.agent, timeutil.now_iso())
    validate(checked)  # before any git work: a bad message costs nothing
    if checked.kind == "complete":
        _check_complete(checked, force)
    # the transaction fills the sender and timestamp itself, so the timestamp is the event's time
    result = store.transact(lambda txn: append(txn, Message(message.kind, dict(message.data), message.source),
                                               force=force))
    return result.value


# --------------------------------------------------------------------------- reading events


def _day_of(path: str) -> str:
    parts = path.split("/")
    return parts[1] if len(parts) > 2 else ""


def iter_events(snapshot: Any, *, since: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(path, event)`` for every event file, skipping whole days before ``since`` unparsed.

    Each day's folder is read in one pass over its tree (a lookup per path would cost
    O(events per day) each), in path order.
    """
    since_day = since[:10] if since else None
    folders: dict[str, list[Any]] = {}
    views = snapshot.event_views() if hasattr(snapshot, "event_views") else [snapshot]
    for view in views:  # the branch's events/ and each agent's own event log, read as one log
        for path in view.walk("events"):
            if path.endswith(".json"):
                holders = folders.setdefault(path.rsplit("/", 1)[0], [])
                if not holders or holders[-1] is not view:
                    holders.append(view)
    for folder in sorted(folders):
        day = _day_of(folder + "/x")
        if since_day and day and day < since_day:
            continue
        loaded: dict[str, Any] = {}
        for view in folders[folder]:
            loaded.update(view.load_dir(folder, ".json"))
        for path in sorted(loaded):
            event = loaded[path]
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
    """``--type``: exact (``msg.status``), a family (``msg`` = ``msg.*``), a glob (``task.*``) or one of
    the guide's message types (``status_update`` = ``msg.status``)."""
    if not pattern:
        return True
    if pattern in GUIDE_TYPES:
        return event_type_name == event_type(GUIDE_TYPES[pattern])
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
