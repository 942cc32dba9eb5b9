"""Routing: which events and state concern one agent (what ``gitcoord inbox`` shows).

An agent needs to hear about
  * requests addressed to it (``msg.request`` with ``to`` = agent),
  * blockers that name it as the blocking agent,
  * completions, merges and contract changes of the tasks its own tasks depend on, and contract
    changes that name it (or one of its tasks) as a consumer,
  * other agents queued behind (or denied by) the locks it holds,
  * merge results of its own tasks.
Each entry carries a ``reason`` saying which rule picked it, so agents can filter further.
"""

from __future__ import annotations

from typing import Any

from gitcoord import messages

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
        return "request" if event.get("to") == agent or data.get("to") == agent else None
    if etype == "msg.blocker":
        return "blocker" if agent in (event.get("to"), data.get("blocking_agent")) else None
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


def inbox(snapshot: Any, agent: str, *, since: str | None = None) -> list[dict[str, Any]]:
    """Everything that concerns ``agent``, oldest first; ``since`` is an ISO time (inclusive)."""
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
    out.sort(key=lambda e: (messages._time_key(e.get("at")), e.get("path", "")))
    return out


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
