"""Routing: which events and state concern one agent (what ``gitcoord inbox`` shows), and what it has read.

An agent needs to hear about
  * coordination requests and task assignments addressed to it,
  * blockers that name it as the blocking agent,
  * completions, merges and contract changes of the tasks its own tasks depend on, and contract
    changes that name it (or one of its tasks) as a consumer,
  * other agents queued behind (or denied by) the locks it holds,
  * merge results of its own tasks,
  * silence: its own in-progress tasks, and those it depends on, past the heartbeat (``policies.heartbeat``).
Each entry carries an ``id``, a ``reason`` saying which rule picked it, and ``read``. Items that
became moot drop out (a lock request once the lock is gone, a blocker once its task moved on, a
request about a finished task). What an agent has acknowledged lives in ``inbox/<agent>.json`` on
the coordination branch: one file per agent, so acks never conflict between agents.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from gitcoord import messages
from gitcoord.errors import NotFound, UsageError

DEPENDENCY_TYPES = ("msg.complete", "task.done", "task.merged", "task.cancelled", "task.blocked")
CONTRACT_TYPES = ("contract.approved", "contract.breaking", "contract.deprecated")


def _holders(value: Any) -> set[str]:
    """Agent names from a holder field that may be a string, a dict or a list of either."""
    if value is None:
        return set()
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {str(value["agent"])} if value.get("agent") else set()
    if isinstance(value, list):
        out: set[str] = set()
        for item in value:
            out |= _holders(item)
        return out
    return set()


def _contract_name(event: dict[str, Any]) -> str | None:
    data = event.get("data") or {}
    for key in ("contract", "name"):
        if isinstance(data.get(key), str):
            return data[key]
    return None


class _Context:
    """What the routing rules need to know about the agent, computed once."""

    def __init__(self, snapshot: Any, agent: str):
        self.agent = agent
        tasks = snapshot.load_dir("tasks", ".yaml")
        self.tasks = {t["id"]: t for t in tasks.values()}
        self.own = {tid for tid, t in self.tasks.items() if t.get("agent") == agent}
        self.upstream: set[str] = set()
        self.consumes: set[str] = set()
        for tid in self.own:
            task = self.tasks[tid]
            self.upstream |= {d["task"] for d in task.get("depends_on") or []}
            self.consumes |= set(task.get("consumes") or [])
        self.upstream -= self.own
        self.upstream_contracts = set()
        for tid in self.upstream:
            self.upstream_contracts |= set((self.tasks.get(tid) or {}).get("provides") or [])
        self.locks = snapshot.load_dir("locks", ".json")
        self.my_locks = {lock["id"]: lock for lock in self.locks.values()
                         if agent in _holders(lock.get("holders"))}
        self.my_resources = {lock["resource"] for lock in self.my_locks.values()}


def route(event: dict[str, Any], ctx: _Context) -> str | None:
    """The reason ``event`` concerns ``ctx.agent``, or None."""
    etype = str(event.get("type", ""))
    data = event.get("data") or {}
    agent = ctx.agent
    sender = event.get("agent")
    task = event.get("task")
    if etype == "msg.request":
        return "request" if agent in (event.get("to"), data.get("to_agent"), data.get("to")) else None
    if etype == "msg.blocker":
        return "blocker" if agent in (event.get("to"), data.get("blocking_agent")) else None
    if etype == "msg.assignment":
        return "assignment" if agent in (event.get("to"), data.get("assigned_to")) else None
    if etype in CONTRACT_TYPES:
        name = _contract_name(event)
        named = data.get("consumers") if isinstance(data.get("consumers"), list) else []
        addressed = event.get("to") == agent or agent in named or bool(ctx.own & set(map(str, named)))
        if (addressed or task in ctx.upstream
                or (name is not None and (name in ctx.consumes or name in ctx.upstream_contracts))) \
                and sender != agent:
            return "contract-change"
        return None
    if etype in DEPENDENCY_TYPES:
        return "dependency" if task in ctx.upstream and sender != agent else None
    if etype.startswith("lock."):
        if sender == agent:
            return None
        lock_id = data.get("lock") or data.get("lock_id") or data.get("id")
        held = (event.get("to") == agent or agent in _holders(data.get("holders")) or agent in _holders(data.get("holder"))
                or lock_id in ctx.my_locks or data.get("resource") in ctx.my_resources)
        if etype == "lock.requested" and event.get("to") == agent:
            return "lock-request"  # someone asks for a lock on paths this agent's task owns
        if etype == "lock.granted" and event.get("to") == agent:
            return "lock-granted"
        if etype in ("lock.denied", "lock.queued", "lock.waiting", "lock.broken") and held:
            return "lock-queue" if etype != "lock.broken" else "lock-broken"
        return None
    if etype.startswith("merge."):
        involved = {task} | set(data.get("merged") or []) | {s.get("task") for s in data.get("skipped") or []
                                                            if isinstance(s, dict)}
        return "merge-result" if involved & ctx.own else None
    return None


FINISHED = ("ready_to_merge", "merged", "cancelled")
LOCK_WAIT_TYPES = ("lock.denied", "lock.queued", "lock.waiting", "lock.requested")


def is_moot(entry: dict[str, Any], ctx: _Context) -> bool:
    """True when acting on ``entry`` no longer makes sense: what it asked about has moved on."""
    etype = str(entry.get("type", ""))
    data = entry.get("data") or {}
    task = ctx.tasks.get(entry.get("task") or "")
    if etype in LOCK_WAIT_TYPES:
        lock_id = data.get("lock") or data.get("lock_id")
        lock = next((lk for lk in ctx.locks.values() if lk.get("id") == lock_id), None) if lock_id else None
        if etype == "lock.requested":  # moot once answered, withdrawn or expired with the lock
            return lock is None or not any(e.get("needs") and e.get("agent") == data.get("requester")
                                           for e in lock.get("queue") or [])
        if data.get("by") and data.get("requester") == ctx.agent:
            return False  # the owner's answer to this agent's own request stays news
        return bool(lock_id) and lock is None
    if task is None:
        return False
    if etype == "msg.blocker":
        if task["status"] in FINISHED:
            return True
        if data.get("can_proceed_with_workaround") is False and task["status"] != "blocked":
            # it blocked the task; the task has been resumed since
            return any(h.get("status") == "in_progress" and messages._time_key(h.get("at"))
                       > messages._time_key(entry.get("at")) for h in task.get("history") or [])
        return False
    if etype == "msg.request":
        return task["status"] in ("merged", "cancelled")
    if etype == "msg.assignment":
        return task["status"] in FINISHED or task.get("agent") != ctx.agent
    return False


def inbox(snapshot: Any, agent: str, *, since: str | None = None, include_read: bool = True,
          now: Any = None, command: str = "gitcoord") -> list[dict[str, Any]]:
    """Everything that concerns ``agent`` and is not moot, oldest first; ``since`` is an ISO time
    (inclusive). Each entry has ``read``; ``include_read=False`` keeps only the unread ones; ``command``
    starts the hints printed to ``agent``."""
    ctx = _Context(snapshot, agent)
    out: list[dict[str, Any]] = []
    merge_events: set[tuple[str, str]] = set()
    for path, event in messages.iter_events(snapshot, since=since):
        reason = route(event, ctx)
        if reason is None:
            continue
        if reason == "merge-result":
            run = (event.get("data") or {}).get("run")
            if run:
                merge_events.add((str(run), str(event.get("task"))))
        out.append({**event, "path": path, "reason": reason})
    out.extend(_lock_queue_entries(ctx, since))
    out.extend(_merge_record_entries(snapshot, ctx, since, merge_events))
    out.extend(_heartbeat_entries(snapshot, ctx, now, command))
    out = [e for e in out if not is_moot(e, ctx)]
    acked = set(load_acks(snapshot, agent))
    for entry in out:
        entry["read"] = entry["id"] in acked
    if not include_read:
        out = [e for e in out if not e["read"]]
    out.sort(key=lambda e: (messages._time_key(e.get("at")), e.get("path", "")))
    return out


def _heartbeat_entries(snapshot: Any, ctx: _Context, now: Any, command: str) -> list[dict[str, Any]]:
    """Silent in-progress tasks: the agent's own (a reminder) and the ones its tasks depend on.
    A silence is news now, so ``since`` does not hide it."""
    from gitcoord.heartbeat import silent_tasks, status_command

    out = []
    for silent in silent_tasks(snapshot, now=now):
        tid = silent["task"]
        if tid not in ctx.own and tid not in ctx.upstream:
            continue
        stamp = re.sub(r"[^0-9]", "", silent["last_heard"])[:17]
        mine = tid in ctx.own
        summary = (f"you have said nothing about {tid} for {silent['silent_hours']:g} h (heartbeat "
                   f"{silent['heartbeat_hours']:g} h): `{status_command(silent, command)}`" if mine else
                   f"{tid} (which your work depends on): {silent['agent']} silent for {silent['silent_hours']:g} h")
        out.append({"id": f"heartbeat-{tid}-{stamp}", "type": "heartbeat.missed", "at": silent["last_heard"],
                    "agent": silent["agent"], "task": tid, "to": ctx.agent, "summary": summary, "data": silent,
                    "path": f"tasks/{tid}.yaml", "reason": "heartbeat"})
    return out


# --------------------------------------------------------------------------- read state


def acks_path(agent: str) -> str:
    """``inbox/<agent>.json``; names outside the safe set get a slug plus a short hash (no collisions)."""
    slug = re.sub(r"[^A-Za-z0-9._@+-]", "_", agent)[:80].lstrip(".") or "agent"
    if slug != agent:
        slug += "-" + hashlib.sha256(agent.encode()).hexdigest()[:10]
    return f"inbox/{slug}.json"


def load_acks(view: Any, agent: str) -> list[str]:
    record = view.load(acks_path(agent))
    if not isinstance(record, dict) or record.get("agent") != agent:
        return []
    return list(record.get("acked") or [])


def ack(store: Any, snapshot: Any, agent: str, ids: list[str] | None = None, *,
        all_items: bool = False) -> dict[str, Any]:
    """Mark inbox items read (``ids``, or every current one with ``all_items``); unknown ids are bad input.

    The stored set keeps only ids still in the inbox, so it never grows past what the agent can see.
    """
    if not all_items and not ids:
        raise UsageError("inbox ack: give item ids (see `gitcoord inbox`) or --all")
    current = inbox(snapshot, agent)
    visible = {e["id"] for e in current}
    wanted = visible if all_items else set(ids or [])
    unknown = sorted(wanted - visible)
    if unknown:
        raise NotFound(f"inbox ack: no item {unknown[0]!r} in the inbox of {agent}", hint="see `gitcoord inbox --all`",
                       data={"ids": unknown})

    def op(txn: Any) -> dict[str, Any]:
        before = set(load_acks(txn, agent))
        keep = sorted((before & visible) | wanted)
        newly = sorted(wanted - before)
        if set(keep) != before:
            txn.put(acks_path(agent), {"agent": agent, "acked": keep, "updated_at": txn.now})
            txn.describe("inbox.ack", f"{agent} read {len(newly)} inbox item(s)")
        return {"agent": agent, "acked": newly, "unread": len(visible - set(keep))}

    return store.transact(op).value


def counts(entries: list[dict[str, Any]]) -> dict[str, int]:
    unread = sum(1 for e in entries if not e.get("read"))
    return {"unread": unread, "read": len(entries) - unread}


def _lock_queue_entries(ctx: _Context, since: str | None) -> list[dict[str, Any]]:
    """Agents currently waiting in the queue of a lock this agent holds (from the lock files)."""
    out = []
    for path, lock in ctx.locks.items():
        if lock["id"] not in ctx.my_locks:
            continue
        for waiting in lock.get("queue") or []:
            at = waiting.get("requested_at")
            if since and messages._time_key(at) < messages._time_key(since):
                continue
            out.append({
                "id": f"{lock['id']}-queue-{waiting['agent']}", "type": "lock.queued", "at": at,
                "agent": waiting["agent"], "task": waiting.get("task"), "to": ctx.agent,
                "summary": f"{waiting['agent']} waits for {waiting.get('type', 'a')} lock on {lock['resource']} "
                           f"(you hold {lock['id']})" + (f": {waiting['reason']}" if waiting.get("reason") else ""),
                "data": {"lock": lock["id"], "resource": lock["resource"], "type": waiting.get("type"),
                         "until": waiting.get("until")},
                "path": path, "reason": "lock-queue"})
    return out


def _merge_record_entries(snapshot: Any, ctx: _Context, since: str | None,
                          seen: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """Outcomes of merge runs (``merges/*.json``) for this agent's tasks, unless an event said it already."""
    if not ctx.own:
        return []
    out = []
    for path, record in snapshot.load_dir("merges", ".json").items():
        at = record.get("finished_at") or record.get("started_at")
        if since and messages._time_key(at) < messages._time_key(since):
            continue
        outcomes = [(t, "merged", None) for t in record.get("merged") or []]
        outcomes += [(s["task"], "skipped", s.get("reason")) for s in record.get("skipped") or []]
        for task, result, why in outcomes:
            if task not in ctx.own or (record["run"], task) in seen:
                continue
            summary = f"{task} merged into {record['into']} by run {record['run']}" if result == "merged" else \
                f"{task} left out of run {record['run']} ({why})"
            out.append({"id": f"{record['run']}-{task}", "type": "merge.result", "at": at,
                        "agent": record.get("agent") or "gitcoord", "task": task, "to": ctx.agent,
                        "summary": summary, "data": {"run": record["run"], "result": result, "reason": why,
                                                     "into": record["into"]},
                        "path": path, "reason": "merge-result"})
    return out
