"""The guide's lock messages: ``lock_request`` and ``lock_release`` posted verbatim, answered with
``lock_granted`` or ``lock_denied`` in the guide's own shapes.

An agent that speaks the guide's protocol posts ``{"type": "lock_request", ...}`` with
`gitcoord msg post` and gets the guide's answer back; underneath it is the same compare-and-swap
as `gitcoord lock acquire` (locks.py decides everything: types, queue, ownership requests), so the
two ways of asking can never disagree. ``lock_granted`` and ``lock_denied`` are answers: gitcoord
writes them, nobody posts them.
"""

from __future__ import annotations

import shlex
from typing import Any

from gitcoord import locks
from gitcoord.errors import Conflict, UsageError

REQUESTS = ("lock_request", "lock_release")
ANSWERS = ("lock_granted", "lock_denied")
# Guide lock types → gitcoord's. The guide's "none" (an owned file needs no lock) asks for nothing.
LOCK_TYPES = {"exclusive": "exclusive", "shared": "shared", "intent": "intent"}
REQUEST_FIELDS = {"type", "agent_id", "task_id", "resource", "lock_type", "reason", "estimated_duration", "priority",
                  "timestamp"}
RELEASE_FIELDS = {"type", "agent_id", "lock_id", "resource", "timestamp", "changes_made"}
ALTERNATIVES = ("Wait for lock release", "Work on different file", "Coordinate with lock owner for batched changes")


def is_lock_message(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("type") in REQUESTS + ANSWERS


def _text(doc: dict[str, Any], key: str, source: str, *, required: bool = False) -> str | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise UsageError(f"msg post {source}: {doc.get('type')} needs \"{key}\"", data={"field": key})
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"msg post {source}: \"{key}\" must be non-empty text", data={"field": key})
    return value


def _check(doc: dict[str, Any], agent: str, source: str, allowed: set[str]) -> None:
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise UsageError(f"msg post {source}: {doc['type']} has no field \"{unknown[0]}\" "
                         f"(fields: {', '.join(sorted(allowed))})", data={"field": unknown[0]})
    sender = _text(doc, "agent_id", source)
    if sender is not None and sender != agent:
        raise UsageError(f"msg post {source}: \"agent_id\" is {sender!r} but you are {agent!r}: an agent asks "
                         "for its own locks (see `gitcoord whoami`)", data={"field": "agent_id"})
    if "changes_made" in doc and not isinstance(doc["changes_made"], bool):
        raise UsageError(f"msg post {source}: \"changes_made\" must be true or false", data={"field": "changes_made"})


def post(store: Any, doc: dict[str, Any], *, source: str = "-") -> dict[str, Any]:
    """Act on a posted lock message; returns the guide's answer. Denied: Conflict carrying ``lock_denied``."""
    kind = doc["type"]
    if kind in ANSWERS:
        raise UsageError(f"msg post {source}: {kind} is gitcoord's answer to a lock_request; post a lock_request "
                         "(or a lock_release) instead", data={"field": "type"})
    agent = store.agent
    if kind == "lock_release":
        _check(doc, agent, source, RELEASE_FIELDS)
        target = _text(doc, "lock_id", source) or _text(doc, "resource", source)
        if target is None:
            raise UsageError(f"msg post {source}: lock_release needs \"lock_id\" or \"resource\"",
                             data={"field": "lock_id"})
        released = locks.release(store, target)
        return {"type": "lock_release", "agent_id": agent, "lock_id": released["id"],
                "resource": locks.display_resource(released["resource"]), "lock_type": released["type"],
                "changes_made": doc.get("changes_made")}
    _check(doc, agent, source, REQUEST_FIELDS)
    resource = _text(doc, "resource", source, required=True)
    wanted = _text(doc, "lock_type", source) or "exclusive"
    if wanted == "none":
        raise UsageError(f"msg post {source}: lock_type \"none\" asks for no lock (a file its task owns needs "
                         "none); ask for exclusive, shared or intent", data={"field": "lock_type"})
    if wanted not in LOCK_TYPES:
        raise UsageError(f"msg post {source}: lock_type {wanted!r}: use one of {', '.join(LOCK_TYPES)}",
                         data={"field": "lock_type"})
    priority = doc.get("priority")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, (str, int))):
        raise UsageError(f"msg post {source}: \"priority\" must be text or a number", data={"field": "priority"})
    task = _text(doc, "task_id", source)
    try:
        lock = locks.acquire(store, resource, type=LOCK_TYPES[wanted], task=task, reason=_text(doc, "reason", source),
                             ttl=_text(doc, "estimated_duration", source))
    except Conflict as exc:
        # The hint speaks to `lock acquire`'s flags: say the whole command instead.
        queue = (f"; or queue for it: gitcoord lock acquire {shlex.quote(resource)} --type {LOCK_TYPES[wanted]}"
                 + (f" --task {task}" if task else "") + " --wait 30m")
        message = exc.message.replace(locks.RETRY_HINT, queue)
        refused = Conflict(message, hint=exc.hint, data=exc.data)
        raise Conflict(message, hint=exc.hint,
                       data={**(exc.data or {}), "reply": denied(refused, agent, resource)}) from None
    return granted(lock, agent)


def granted(lock: dict[str, Any], agent: str) -> dict[str, Any]:
    """The guide's ``lock_granted`` for ``agent``'s hold on ``lock``."""
    mine = next((h for h in lock.get("holders") or [] if h.get("agent") == agent), {})
    return {"type": "lock_granted", "agent_id": agent, "resource": locks.display_resource(lock["resource"]),
            "lock_type": lock["type"], "granted_at": mine.get("since"),
            "expires_at": mine.get("expires_at") or lock.get("expires_at"), "lock_id": lock["id"]}


def denied(conflict: Conflict, agent: str, resource: str) -> dict[str, Any]:
    """The guide's ``lock_denied`` from gitcoord's denial (or ownership request) of ``resource``."""
    data = conflict.data or {}
    holders = data.get("holders") or []
    owner = ", ".join(h["agent"] for h in holders if h.get("agent")) or None
    until = max((h.get("until") or "" for h in holders), default="") or None
    tasks = [a["id"] for a in data.get("alternatives") or [] if isinstance(a, dict) and a.get("id")]
    alternatives = list(ALTERNATIVES) + [f"Take ready task {t} instead" for t in tasks]
    reply: dict[str, Any] = {"type": "lock_denied", "agent_id": agent, "resource": resource,
                             "reason": conflict.message, "alternatives": alternatives}
    if data.get("requested"):  # the path belongs to another agent's task: that agent decides
        reply["current_lock"] = {"owner": data.get("owner"), "owner_task": data.get("owner_task"),
                                 "lock_type": "ownership", "estimated_release": None, "lock_id": data.get("lock")}
        reply["alternatives"] = [f"Wait for {data.get('owner')} to answer request {data.get('lock')} "
                                 "(`gitcoord inbox`)"] + alternatives[1:]
    elif owner:
        reply["current_lock"] = {"owner": owner, "lock_type": data.get("lock_type"), "estimated_release": until,
                                 "lock_id": data.get("lock")}
    return reply
