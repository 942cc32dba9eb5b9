"""Resource locks on the coordination branch: ``locks/<id>.json``.

A lock names a *resource* — a path, a directory (``dir/``) or a CODEOWNERS-style pattern —
and a type:

* ``exclusive``: only the holder may modify what the resource matches;
* ``shared``: several holders read, nobody modifies; the sole holder may upgrade;
* ``intent``: a declared plan to change it; blocks nobody, but warns everyone else;
* ``none``: an ownership note; never conflicts.

``exclusive`` conflicts with ``exclusive`` and ``shared``; ``shared`` with ``exclusive``;
the rest with nothing. Two resources conflict when some path could match both (decided
exactly by :func:`gitcoord.ownership.patterns_overlap`). A lock of one agent never blocks
that same agent, except a shared lock it shares with others.

Holders of one lock file share its resource and type (shared readers join one file); each
holder has its own expiry, so each renews on its own. Expired holders are ignored at once
and deleted by the next lock transaction (:func:`cleanup_expired`, which others may call).

A denied request with ``wait`` joins a FIFO queue stored on the blocking lock file; when the
holder goes, the file stays (without holders) as long as someone waits on it. A request is
granted only when no conflicting holder exists *and* no conflicting waiter on an overlapping
resource queued earlier — so a newcomer cannot overtake the queue, and waiters are served
in the order they asked.

Hooks call :func:`locks_blocking` and :func:`intents_on`; they import nothing heavy.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Union

from gitcoord import timeutil
from gitcoord.errors import Conflict, NotFound, UsageError
from gitcoord.paths import validate_pattern

if TYPE_CHECKING:
    from gitcoord.store import Snapshot, Store, Txn

    View = Union[Snapshot, Txn]

__all__ = [
    "LOCK_DIR",
    "TYPES",
    "types_conflict",
    "normalize_resource",
    "display_resource",
    "path_resource",
    "acquire",
    "release",
    "renew",
    "break_lock",
    "active_locks",
    "all_locks",
    "lock_state",
    "locks_blocking",
    "locks_on",
    "intents_on",
    "intents_overlapping",
    "release_task_locks",
    "cleanup_expired",
    "answer_request",
]

LOCK_DIR = "locks"
TYPES = ("exclusive", "shared", "intent", "none")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_REASON_CHARS = 2000

# Which held (or queued) types a request of a given type conflicts with. Symmetric.
_CONFLICTS: dict[str, frozenset[str]] = {
    "exclusive": frozenset({"exclusive", "shared"}),
    "shared": frozenset({"exclusive"}),
    "intent": frozenset(),
    "none": frozenset(),
}


def types_conflict(requested: str, held: str) -> bool:
    """Do two lock types conflict when their resources overlap?"""
    return held in _CONFLICTS[requested]


# --------------------------------------------------------------------------- input checks


def normalize_resource(resource: str, *, what: str = "resource") -> str:
    """A lock resource, checked and normalised (CODEOWNERS dialect, see docs/ownership.md).

    Resources are relative to the repository root. A leading ``/`` is refused as an absolute
    path (write ``./name`` to anchor a bare name at the root); ``..``, NUL, line breaks and
    backslashes are refused too. Raises UsageError (exit 2) before anything is written.
    """
    if isinstance(resource, str) and resource.startswith("/"):
        shown = repr(resource) if len(resource) <= 80 else repr(resource[:77]) + "..."
        raise UsageError(f"{what} {shown} is absolute; lock resources are relative to the repository root "
                         "(write './name' to anchor a bare name at the root)")
    return validate_pattern(resource, what=what)


def display_resource(resource: str) -> str:
    """The one printed form of a stored resource, which `lock acquire` accepts back: a root-anchored
    ``/src/x`` is shown as ``./src/x`` (a leading ``/`` is refused as an absolute path)."""
    return "." + resource if resource.startswith("/") else resource


def path_resource(path: str) -> str:
    """The resource naming exactly one repository path (anchored at the root: ``./src/x.py``)."""
    return "./" + path.lstrip("/")


def _check_type(lock_type: str) -> str:
    if lock_type not in TYPES:
        raise UsageError(f"lock type {lock_type!r}: use one of {', '.join(TYPES)}")
    return lock_type


def _check_task(task: str | None) -> str | None:
    if task is not None and (not isinstance(task, str) or not ID_RE.match(task)):
        raise UsageError(f"--task {task!r}: not a task id (1-64 letters, digits, '.', '_' or '-')")
    return task


def _check_reason(reason: str | None, *, what: str = "--reason") -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str) or "\x00" in reason:
        raise UsageError(f"{what} must be text without NUL bytes")
    if len(reason) > MAX_REASON_CHARS:
        raise UsageError(f"{what} is {len(reason)} characters; keep it under {MAX_REASON_CHARS}")
    return reason


def _check_lock_id(lock_id: str) -> str:
    if not isinstance(lock_id, str) or not ID_RE.match(lock_id):
        raise UsageError(f"lock id {lock_id!r}: not a lock id (see `gitcoord lock list`)")
    return lock_id


def _duration(value: str | float | int | timedelta | None, what: str) -> timedelta | None:
    if value is None:
        return None
    td = value if isinstance(value, timedelta) else timeutil.parse_duration(value, what=what)
    if td.total_seconds() <= 0:
        raise UsageError(f"{what} {value!r}: must be longer than zero")
    return td


def lock_path(lock_id: str) -> str:
    return f"{LOCK_DIR}/{_check_lock_id(lock_id)}.json"


def _new_lock_id(resource: str) -> str:
    """Readable and unique: a slug of the resource and 8 random hex digits."""
    import uuid  # lazily: hooks never create locks

    slug = re.sub(r"[^A-Za-z0-9]+", "-", resource).strip("-")[:40].rstrip("-")
    return f"{slug or 'lock'}-{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- reading state


_TIME_CACHE: dict[str, datetime] = {}


def _t(text: str | None) -> datetime | None:
    """Parse an ISO time from a lock file (memoised: hooks read the same stamps again and again)."""
    if not text:
        return None
    found = _TIME_CACHE.get(text)
    if found is None:
        found = timeutil.parse_time(text)
        if len(_TIME_CACHE) > 50_000:
            _TIME_CACHE.clear()
        _TIME_CACHE[text] = found
    return found


def _holder_live(holder: dict[str, Any], lock: dict[str, Any], now: datetime) -> bool:
    expires = _t(holder.get("expires_at") or lock.get("expires_at"))
    return expires is None or expires > now


def _entry_live(entry: dict[str, Any], now: datetime) -> bool:
    until = _t(entry.get("until"))
    lease = _t(entry.get("lease_until"))  # heartbeat: a crashed waiter stops renewing it
    return (until is None or until > now) and (lease is None or lease > now)


def queue_lease() -> timedelta:
    """How long a waiter's queue entry lives without a heartbeat (GITCOORD_QUEUE_LEASE seconds, default 30)."""
    import os

    try:
        return timedelta(seconds=max(1.0, float(os.environ.get("GITCOORD_QUEUE_LEASE") or 30)))
    except ValueError:
        return timedelta(seconds=30)


def _live_holders(lock: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    return [h for h in lock.get("holders") or [] if _holder_live(h, lock, now)]


def _live_queue(lock: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    return [e for e in lock.get("queue") or [] if _entry_live(e, now)]


def _now(now: datetime | str | None) -> datetime:
    if now is None:
        return timeutil.now()
    if isinstance(now, str):
        return timeutil.parse_time(now)
    return now


def all_locks(view: View) -> list[dict[str, Any]]:
    """Every lock file as stored (expired holders and queue-only files included), by id."""
    return list(view.load_dir(LOCK_DIR, ".json").values())


def lock_state(lock: dict[str, Any], now: datetime | str | None = None) -> str:
    """``held`` (some holder unexpired), ``waiting`` (no holder, someone queued) or ``expired``."""
    moment = _now(now)
    if _live_holders(lock, moment):
        return "held"
    return "waiting" if _live_queue(lock, moment) else "expired"


def active_locks(view: View, now: datetime | str | None = None) -> list[dict[str, Any]]:
    """Locks with at least one unexpired holder; expired holders are left out of the copies returned."""
    moment = _now(now)
    out = []
    for lock in all_locks(view):
        holders = lock.get("holders") or []
        live = _live_holders(lock, moment)
        if not live:
            continue
        out.append(lock if len(live) == len(holders) else {**lock, "holders": live})
    return out


def _holder_agents(lock: dict[str, Any]) -> list[str]:
    return [h["agent"] for h in lock.get("holders") or []]


def _forbids_modify(lock: dict[str, Any], agent: str) -> bool:
    """Does an (active) lock forbid ``agent`` to modify what it covers?"""
    kind = lock["type"]
    if kind not in ("exclusive", "shared"):
        return False
    agents = _holder_agents(lock)
    others = any(name != agent for name in agents)
    return others  # exclusive/shared by others; shared by self only when others hold it too


def _match_locks(locks: list[dict[str, Any]], paths: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
    """(path, lock) for every path each lock's resource matches; patterns compiled and indexed once."""
    if not locks:
        return []
    from gitcoord.ownership import OwnershipIndex

    index = OwnershipIndex([(lock["resource"], [str(number)]) for number, lock in enumerate(locks)])
    out: list[tuple[str, dict[str, Any]]] = []
    for path, numbers in index.owners_many(paths).items():
        for number in sorted(set(numbers), key=int):
            out.append((path, locks[int(number)]))
    return out


def locks_blocking(view: View, agent: str, paths: Iterable[str],
                   now: datetime | str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(path, lock) for each path ``agent`` may not modify because of someone else's lock.

    Blocking: exclusive or shared locks held by another agent, and shared locks this agent
    holds together with others. Fast for thousands of locks × paths (one pattern index).
    """
    blocking = [lock for lock in active_locks(view, now) if _forbids_modify(lock, agent)]
    return _match_locks(blocking, paths)


def locks_on(view: View, paths: Iterable[str],
             now: datetime | str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(path, lock) for every active lock of any type on each path (what `owners PATH…` shows)."""
    return _match_locks(active_locks(view, now), paths)


def intents_on(view: View, agent: str, paths: Iterable[str],
               now: datetime | str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(path, lock) for each path other agents declared an ``intent`` to change (a warning, not a block)."""
    intents = [lock for lock in active_locks(view, now)
               if lock["type"] == "intent" and any(name != agent for name in _holder_agents(lock))]
    return _match_locks(intents, paths)


def intents_overlapping(view: View, agent: str, resource: str,
                        now: datetime | str | None = None) -> list[dict[str, Any]]:
    """Other agents' intent locks whose resource could match a path ``resource`` matches."""
    from gitcoord.ownership import patterns_overlap

    resource = validate_pattern(resource)  # stored resources may be root-anchored ('/name')
    return [lock for lock in active_locks(view, now)
            if lock["type"] == "intent" and any(name != agent for name in _holder_agents(lock))
            and patterns_overlap(resource, lock["resource"])]


# --------------------------------------------------------------------------- decisions


class _Decision:
    """Why a request is granted or not: the conflicting lock (or queued waiter) if any."""

    __slots__ = ("granted", "blocker", "holders", "waiter", "own_entry")

    def __init__(self, granted: bool, blocker: dict[str, Any] | None = None,
                 holders: list[dict[str, Any]] | None = None, waiter: dict[str, Any] | None = None,
                 own_entry: tuple[str, int] | None = None):
        self.granted = granted
        self.blocker = blocker
        self.holders = holders or []
        self.waiter = waiter
        self.own_entry = own_entry


def _same_request(entry: dict[str, Any], agent: str, resource: str, lock_type: str) -> bool:
    return entry.get("agent") == agent and entry.get("resource") == resource and entry.get("type") == lock_type


def _decide(locks: dict[str, dict[str, Any]], agent: str, resource: str, lock_type: str,
            now: datetime) -> _Decision:
    """May ``agent`` have ``lock_type`` on ``resource`` now? Holders first, then the FIFO queue."""
    own_entry = None
    queue: list[tuple[datetime, int, int, str, dict[str, Any]]] = []
    for file_number, (path, lock) in enumerate(locks.items()):
        for position, entry in enumerate(lock.get("queue") or []):
            if not _entry_live(entry, now):
                continue
            if own_entry is None and _same_request(entry, agent, resource, lock_type):
                own_entry = (path, position)
            queue.append((_t(entry.get("requested_at")) or now, file_number, position, path, entry))
    if lock_type in ("intent", "none"):
        return _Decision(True, own_entry=own_entry)
    from gitcoord.ownership import patterns_overlap

    for lock in locks.values():
        if not types_conflict(lock_type, lock["type"]):
            continue
        live = _live_holders(lock, now)
        others = [h for h in live if h["agent"] != agent]
        if others and patterns_overlap(resource, lock["resource"]):
            return _Decision(False, blocker=lock, holders=others, own_entry=own_entry)
    queue.sort(key=lambda item: item[:3])
    for _, _, position, path, entry in queue:
        if own_entry is not None and (path, position) == own_entry:
            break  # everyone after us waits behind us
        if entry.get("agent") == agent or entry.get("needs") or not types_conflict(lock_type, entry.get("type", "exclusive")):
            continue  # a request still waiting for an owner's grant holds no place in the queue
        if patterns_overlap(resource, entry.get("resource") or locks[path]["resource"]):
            return _Decision(False, blocker=locks[path], waiter=entry, own_entry=own_entry)
    return _Decision(True, own_entry=own_entry)


def conflicting_lock(view: View, lock: dict[str, Any], *, exclude_path: str | None = None,
                     now: datetime | str | None = None) -> dict[str, Any] | None:
    """A live lock on ``view`` that another agent holds and that conflicts with ``lock`` (sync uses it
    to tell whether a lock taken offline still stands), or None."""
    from gitcoord.ownership import patterns_overlap

    moment = _now(now)
    mine = {h.get("agent") for h in _live_holders(lock, moment)}
    if not mine:
        return None
    for path, other in _lock_files(view).items():
        if path == exclude_path or not types_conflict(lock["type"], other["type"]):
            continue
        others = [h for h in _live_holders(other, moment) if h["agent"] not in mine]
        if others and patterns_overlap(lock["resource"], other["resource"]):
            return other
    return None


def _lock_files(view: View) -> dict[str, dict[str, Any]]:
    return view.load_dir(LOCK_DIR, ".json")


def _require_init(txn: Txn) -> None:
    """A lock is never the first file of a coordination branch: that would skip gitcoord.yaml."""
    if not txn.base.exists and not txn.changes:
        raise UsageError("no coordination branch yet: run `gitcoord init` first")


# --------------------------------------------------------------------------- writing helpers


def _store_lock(txn: Txn, path: str, lock: dict[str, Any], now: datetime) -> None:
    """Write a lock file back (recomputing its overall expiry), or delete it when nothing is left."""
    holders = lock.get("holders") or []
    if not holders and not lock.get("queue"):
        txn.delete(path)
        return
    expiries = [h.get("expires_at") for h in holders]
    if holders and all(expiries):
        lock["expires_at"] = max(expiries, key=lambda text: _t(text))  # type: ignore[arg-type]
    elif not holders:
        lock["expires_at"] = None
    if not lock.get("queue"):
        lock.pop("queue", None)
    txn.put(path, lock)


def cleanup_expired(txn: Txn, now: datetime | str | None = None) -> list[str]:
    """Drop expired holders and queue entries; delete lock files left empty. Returns expired lock ids.

    Each dropped holder is recorded as a ``lock.expired`` event. Call it from any write
    transaction; it writes nothing when nothing has expired.
    """
    moment = _now(now if now is not None else txn.now)
    expired_ids = []
    for path, lock in _lock_files(txn).items():
        holders = lock.get("holders") or []
        queue = lock.get("queue") or []
        live_holders = _live_holders(lock, moment)
        live_queue = _live_queue(lock, moment)
        if len(live_holders) == len(holders) and len(live_queue) == len(queue):
            continue
        for holder in holders:
            if holder not in live_holders:
                txn.add_event("lock.expired", task=holder.get("task"), to=holder["agent"],
                              summary=f"{lock['type']} lock on {lock['resource']} held by {holder['agent']} expired",
                              data={"lock": lock["id"], "resource": lock["resource"], "type": lock["type"],
                                    "holder": holder["agent"], "expires_at": holder.get("expires_at")
                                    or lock.get("expires_at")})
        if len(live_holders) != len(holders):
            expired_ids.append(lock["id"])
        lock["holders"] = live_holders
        lock["queue"] = live_queue
        _store_lock(txn, path, lock, moment)
    return expired_ids


def _remove_entry(txn: Txn, locks: dict[str, dict[str, Any]], where: tuple[str, int], now: datetime) -> None:
    path, position = where
    lock = locks[path]
    queue = list(lock.get("queue") or [])
    del queue[position]
    lock["queue"] = queue
    _store_lock(txn, path, lock, now)


def _holder(agent: str, task: str | None, reason: str | None, now_iso: str, expires: str) -> dict[str, Any]:
    return {"agent": agent, "task": task, "since": now_iso, "expires_at": expires, "reason": reason}


def _describe_holders(holders: list[dict[str, Any]], lock: dict[str, Any]) -> str:
    parts = []
    for h in holders:
        task = f", task {h['task']}" if h.get("task") else ""
        parts.append(f"{h['agent']}{task}, since {h.get('since') or lock.get('granted_at') or '?'}, "
                     f"until {h.get('expires_at') or lock.get('expires_at') or 'released'}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- alternatives


def _agent_roles(view: View, agent: str) -> list[str] | None:
    for entry in view.config.get("agents") or []:
        if isinstance(entry, dict) and entry.get("name") == agent:
            return list(entry.get("roles") or []) or None
    return None


def ready_alternatives(view: View, agent: str, *, exclude_task: str | None = None,
                       avoid_resources: Iterable[str] = (), limit: int = 5) -> list[dict[str, Any]]:
    """Ready tasks this agent could take instead: assigned to it or unassigned, role fits.

    Tasks whose owned patterns overlap one of ``avoid_resources`` are left out (the same lock
    would stop them). Best first (the tasks module's readiness order when it is present).
    """
    avoid = list(avoid_resources)
    try:
        from gitcoord import tasks as tasks_module

        tasks = tasks_module.load_tasks(view)
        ready = tasks_module.ready_ids(view, tasks)
    except (ImportError, AttributeError):
        tasks = {t["id"]: t for t in view.load_dir("tasks", ".yaml").values()}
        ready = sorted((tid for tid, t in tasks.items() if t.get("status") == "ready"),
                       key=lambda tid: (-(tasks[tid].get("priority") or 0), tid))
    roles = _agent_roles(view, agent)
    out = []
    for task_id in ready:
        task = tasks.get(task_id)
        if task is None or task_id == exclude_task or task.get("status") not in ("planned", "ready"):
            continue
        if task.get("agent") not in (None, agent):
            continue
        if roles is not None and task.get("role") and task["role"] not in roles:
            continue
        if avoid and task.get("owns"):
            from gitcoord.ownership import patterns_overlap

            try:
                if any(patterns_overlap(res, pattern) for res in avoid for pattern in task["owns"]):
                    continue
            except UsageError:
                pass  # a malformed pattern in a task is `doctor`'s business, not a reason to hide it
        out.append({"id": task_id, "title": task.get("title"), "priority": task.get("priority"),
                    "role": task.get("role"), "agent": task.get("agent")})
        if len(out) >= limit:
            break
    return out


def _denial(view: View, agent: str, resource: str, lock_type: str, task: str | None, decision: _Decision,
            *, waited: timedelta | None = None, queued: bool = False) -> Conflict:
    """A Conflict saying who holds it, since/until when, and what else this agent could do."""
    blocker = decision.blocker or {}
    avoid = [resource] + ([blocker["resource"]] if blocker.get("resource") else [])
    alternatives = ready_alternatives(view, agent, exclude_task=task, avoid_resources=avoid)
    if decision.waiter is not None:
        waiter = decision.waiter
        why = (f"{waiter.get('agent')} is queued first for a {waiter.get('type')} lock on "
               f"'{waiter.get('resource') or blocker.get('resource')}' (since {waiter.get('requested_at')}, "
               f"waiting until {waiter.get('until') or '?'}) on lock {blocker.get('id')}")
    else:
        same = blocker.get("resource") == resource
        why = (f"held {blocker.get('type')} by {_describe_holders(decision.holders, blocker)} "
               f"(lock {blocker.get('id')}{'' if same else ' on ' + repr(blocker.get('resource'))})")
    if alternatives:
        alt = "ready tasks you could take instead: " + ", ".join(
            f"{a['id']} ({a['title']})" if a.get("title") else a["id"] for a in alternatives)
    else:
        alt = "no other ready task is free for you"
    waited_text = f" after waiting {_fmt_duration(waited)}" if waited is not None else ""
    next_step = "" if waited is not None or queued else RETRY_HINT
    message = (f"lock denied{waited_text}: {lock_type} '{resource}' for {agent}: {why}; {alt}{next_step}")
    data = {
        "denied": {"resource": resource, "type": lock_type, "agent": agent, "task": task},
        "lock": blocker.get("id"),
        "lock_resource": blocker.get("resource"),
        "lock_type": blocker.get("type"),
        "holders": [{"agent": h["agent"], "task": h.get("task"), "since": h.get("since"),
                     "until": h.get("expires_at") or blocker.get("expires_at")} for h in decision.holders],
        "queued_before_you": ({"agent": decision.waiter.get("agent"), "type": decision.waiter.get("type"),
                               "resource": decision.waiter.get("resource"),
                               "requested_at": decision.waiter.get("requested_at")}
                              if decision.waiter is not None else None),
        "alternatives": alternatives,
    }
    if waited is not None:
        data["waited_seconds"] = round(waited.total_seconds(), 3)
    return Conflict(message, data=data)


RETRY_HINT = "; or retry with --wait 30m to queue for it"  # said to `lock acquire`; other callers reword it


def _fmt_duration(td: timedelta) -> str:
    seconds = td.total_seconds()
    if seconds < 120:
        return f"{seconds:g}s"
    if seconds < 7200:
        return f"{seconds / 60:g}m"
    return f"{seconds / 3600:g}h"


# --------------------------------------------------------------------------- operations


def _ttl_from(view: View, ttl: timedelta | None) -> timedelta:
    if ttl is not None:
        return ttl
    return _duration(view.config["policies"].get("lock_ttl") or "2h", "policies.lock_ttl")  # type: ignore[return-value]


def _grant(txn: Txn, agent: str, resource: str, lock_type: str, task: str | None, reason: str | None,
           ttl: timedelta | None, new_id: str, own_entry: tuple[str, int] | None) -> dict[str, Any]:
    """Write the grant (joining, upgrading or refreshing an own lock where one fits)."""
    now = timeutil.parse_time(txn.now)
    cleanup_expired(txn, now)
    locks = _lock_files(txn)
    if own_entry is not None:
        # Find our queue entry again after the cleanup (positions may have shifted).
        own_entry = None
        for path, lock in locks.items():
            for position, entry in enumerate(lock.get("queue") or []):
                if _same_request(entry, agent, resource, lock_type):
                    own_entry = (path, position)
                    break
            if own_entry:
                break
        if own_entry is not None:
            _remove_entry(txn, locks, own_entry, now)
            locks = _lock_files(txn)
    expires = timeutil.iso(now + _ttl_from(txn, ttl))
    holder = _holder(agent, task, reason, txn.now, expires)
    joinable = lock_type in ("shared", "intent", "none")
    for path, lock in locks.items():
        if lock["resource"] != resource:
            continue
        holders = lock.get("holders") or []
        agents = [h["agent"] for h in holders]
        if lock["type"] == lock_type and agent in agents:
            for h in holders:
                if h["agent"] == agent:
                    h["expires_at"] = expires
                    h["task"] = task if task is not None else h.get("task")
                    if reason is not None:
                        h["reason"] = reason
            _store_lock(txn, path, lock, now)
            txn.add_event("lock.renewed", task=task, summary=f"{agent} re-acquired {lock_type} {resource}",
                          data={"lock": lock["id"], "resource": resource, "type": lock_type, "expires_at": expires})
            txn.describe("lock.acquire", f"{agent} keeps {lock_type} lock on {resource}", task=task)
            return lock
        if agents == [agent] and {lock["type"], lock_type} == {"shared", "exclusive"}:
            previous = lock["type"]
            lock.update(type=lock_type, task=task if task is not None else lock.get("task"))
            lock["holders"] = [holder]
            if reason is not None:
                lock["reason"] = reason
            _store_lock(txn, path, lock, now)
            verb = "upgraded" if lock_type == "exclusive" else "downgraded"
            txn.add_event("lock.granted", task=task, summary=f"{agent} {verb} {previous} → {lock_type} on {resource}",
                          data={"lock": lock["id"], "resource": resource, "type": lock_type, "from": previous,
                                "expires_at": expires})
            txn.describe("lock.acquire", f"{agent} {verb} lock on {resource} to {lock_type}", task=task)
            return lock
        if joinable and lock["type"] == lock_type and holders:
            lock["holders"] = holders + [holder]
            _store_lock(txn, path, lock, now)
            txn.add_event("lock.granted", task=task, summary=f"{agent} joined {lock_type} lock on {resource}",
                          data={"lock": lock["id"], "resource": resource, "type": lock_type, "expires_at": expires,
                                "joined": True})
            txn.describe("lock.acquire", f"{agent} joins {lock_type} lock on {resource}", task=task)
            return lock
    lock = {"id": new_id, "resource": resource, "type": lock_type, "holders": [holder], "reason": reason,
            "task": task, "granted_at": txn.now, "expires_at": expires}
    _store_lock(txn, lock_path(new_id), lock, now)
    txn.add_event("lock.granted", task=task, summary=f"{agent} holds {lock_type} lock on {resource}",
                  data={"lock": new_id, "resource": resource, "type": lock_type, "expires_at": expires})
    txn.describe("lock.acquire", f"{agent} takes {lock_type} lock on {resource}", task=task)
    return lock


def acquire(store: Store, resource: str, *, type: str = "exclusive", ttl: str | float | timedelta | None = None,
            task: str | None = None, reason: str | None = None, wait: str | float | timedelta | None = None,
            poll: float = 0.5) -> dict[str, Any]:
    """Take a lock for ``store.agent``; returns the lock. Denied: Conflict (exit 1), nothing written.

    With ``wait``, a denied request joins the FIFO queue (one commit, event ``lock.denied``),
    then polls the store (fetching in remote mode) every ``poll`` seconds until it is first
    in line and nothing conflicting is held, or the wait runs out (Conflict, entry removed).
    Acquiring a lock you already hold refreshes its expiry; the sole shared holder asking
    for exclusive on the same resource upgrades it in place.
    """
    lock_type = _check_type(type)
    resource = normalize_resource(resource)
    task = _check_task(task)
    reason = _check_reason(reason)
    ttl_td = _duration(ttl, "--ttl")
    wait_td = _duration(wait, "--wait")
    agent = store.agent
    new_id = _new_lock_id(resource)
    queued_once = False

    def attempt(txn: Txn) -> tuple[str, Any]:
        _require_init(txn)
        if task is not None and not txn.has(f"tasks/{task}.yaml"):
            raise NotFound(f"--task {task}: no such task (see `gitcoord task list`)")
        now = timeutil.parse_time(txn.now)
        locks = _lock_files(txn)
        decision = _decide(locks, agent, resource, lock_type, now)
        if decision.granted:
            owners = _owning_tasks(txn, agent, resource, lock_type, task)
            if owners:
                return "requested", _request(txn, agent, resource, lock_type, task, reason, owners, new_id, now,
                                             wait_td)
            return "granted", _grant(txn, agent, resource, lock_type, task, reason, ttl_td, new_id,
                                     decision.own_entry)
        if wait_td is None:
            raise _denial(txn, agent, resource, lock_type, task, decision)
        if decision.own_entry is not None or queued_once:
            return "waiting", decision  # already queued (or our entry ran out): a poll writes nothing
        cleanup_expired(txn, now)
        locks = _lock_files(txn)
        blocker_path = lock_path(decision.blocker["id"])  # type: ignore[index]
        target = locks.get(blocker_path)
        if target is None:  # cannot happen: a blocker is live, so the cleanup kept it
            raise _denial(txn, agent, resource, lock_type, task, decision)
        entry = {"agent": agent, "type": lock_type, "task": task, "resource": resource, "requested_at": txn.now,
                 "until": timeutil.iso(now + wait_td), "lease_until": timeutil.iso(now + queue_lease()),
                 "reason": reason}
        target["queue"] = list(target.get("queue") or []) + [entry]
        _store_lock(txn, blocker_path, target, now)
        position = len(_live_queue(target, now))
        txn.add_event("lock.denied", task=task, to=(decision.holders[0]["agent"] if decision.holders else None),
                      summary=f"{agent} queued for {lock_type} {resource} behind lock {target['id']}",
                      data={"lock": target["id"], "resource": resource, "type": lock_type,
                            "holders": [h["agent"] for h in decision.holders], "position": position,
                            "until": entry["until"]})
        txn.describe("lock.queue", f"{agent} waits for {lock_type} lock on {resource}", task=task)
        return "queued", decision

    if wait_td is None:
        kind, payload = store.transact(attempt).value
        if kind == "requested":
            raise _requested(payload, agent)
        return payload
    deadline = time.monotonic() + wait_td.total_seconds()
    started = time.monotonic()
    beat = time.monotonic()
    while True:
        if store.remote:
            store.fetch()
        kind, payload = store.transact(attempt).value
        if kind == "granted":
            return payload
        if kind == "requested":
            return _await_answer(store, payload, agent, deadline, poll)
        if kind == "queued":
            beat = time.monotonic()
        elif time.monotonic() - beat >= queue_lease().total_seconds() / 3:
            _renew_queue_lease(store, agent, resource, lock_type)
            beat = time.monotonic()
        queued_once = True
        if time.monotonic() >= deadline:
            _leave_queue(store, agent, resource, lock_type)
            view = store.snapshot()
            raise _denial(view, agent, resource, lock_type, task, payload,
                          waited=timedelta(seconds=time.monotonic() - started))
        time.sleep(max(0.01, min(poll, deadline - time.monotonic())))


def _renew_queue_lease(store: Store, agent: str, resource: str, lock_type: str) -> None:
    """The waiter's heartbeat: push its queue entries' ``lease_until`` forward."""

    def op(txn: Txn) -> None:
        now = timeutil.parse_time(txn.now)
        lease = timeutil.iso(now + queue_lease())
        for path, lock in _lock_files(txn).items():
            queue = [dict(e) for e in lock.get("queue") or []]
            mine = [e for e in queue if _same_request(e, agent, resource, lock_type) and _entry_live(e, now)]
            if mine:
                for entry in mine:
                    entry["lease_until"] = lease
                lock["queue"] = queue
                _store_lock(txn, path, lock, now)
                txn.describe("lock.heartbeat", f"{agent} still waits for {lock_type} lock on {resource}")

    store.transact(op)


# --------------------------------------------------------------------------- requests to owners
#
# An exclusive or shared lock would let its holder change (or stop others changing) paths. When the
# resource touches paths another agent's active task owns, the lock is that agent's to give: the
# request is written as a lock file with no holder and one queue entry marked ``needs`` (the owning
# task and its holder), lands in the owner's inbox, and confers nothing until `lock grant`.

ACTIVE_OWNER_STATUSES = ("in_progress", "blocked", "ready_to_merge")
REQUEST_TTL = timedelta(hours=24)


def _owning_tasks(view: View, agent: str, resource: str, lock_type: str, task: str | None) -> list[dict[str, Any]]:
    """Active tasks of other agents whose owned paths the requested lock would reach."""
    if lock_type not in ("exclusive", "shared"):
        return []
    from gitcoord.ownership import patterns_overlap

    out = []
    for tid, t in view.load_dir("tasks", ".yaml").items():
        if not isinstance(t, dict) or t.get("status") not in ACTIVE_OWNER_STATUSES:
            continue
        holder = t.get("agent")
        if not holder or holder == agent or t.get("id") == task:
            continue
        try:
            if any(patterns_overlap(resource, pattern) for pattern in t.get("owns") or []):
                out.append(t)
        except UsageError:
            continue
    return out


def _request(txn: Txn, agent: str, resource: str, lock_type: str, task: str | None, reason: str | None,
             owners: list[dict[str, Any]], new_id: str, now: datetime, wait: timedelta | None) -> dict[str, Any]:
    """Write (or find) the request for the owners' consent; returns the request's lock file."""
    for lock in _lock_files(txn).values():
        for entry in lock.get("queue") or []:
            if entry.get("needs") and _same_request(entry, agent, resource, lock_type) and _entry_live(entry, now):
                return lock  # asked already: one request, not one per retry
    owner = owners[0]
    entry = {"agent": agent, "type": lock_type, "task": task, "resource": resource, "requested_at": txn.now,
             "until": timeutil.iso(now + max(wait or REQUEST_TTL, REQUEST_TTL)), "reason": reason,
             "needs": {"task": owner["id"], "agent": owner["agent"]}}
    lock = {"id": new_id, "resource": resource, "type": lock_type, "holders": [], "reason": reason, "task": task,
            "granted_at": txn.now, "expires_at": None, "queue": [entry]}
    _store_lock(txn, lock_path(new_id), lock, now)
    shown = display_resource(resource)
    txn.add_event("lock.requested", task=owner["id"], to=owner["agent"],
                  summary=f"{agent} asks for {'an' if lock_type[0] in 'aeiou' else 'a'} {lock_type} lock on {shown}, owned by your task {owner['id']}"
                          + (f": {reason}" if reason else ""),
                  data={"lock": new_id, "resource": resource, "type": lock_type, "requester": agent,
                        "requester_task": task, "owner_task": owner["id"],
                        "grant": f"gitcoord lock grant {new_id}", "deny": f"gitcoord lock deny {new_id}"})
    txn.describe("lock.request", f"{agent} asks {owner['agent']} for {lock_type} lock on {shown}", task=task)
    return lock


def _requested(lock: dict[str, Any], agent: str) -> Conflict:
    entry = next(e for e in lock.get("queue") or [] if e.get("needs") and e.get("agent") == agent)
    needs = entry["needs"]
    return Conflict(
        f"{display_resource(lock['resource'])} is owned by task {needs['task']} of {needs['agent']}: "
        f"asked {needs['agent']} for the lock (request {lock['id']}); it gives you nothing until they grant it",
        hint=f"{needs['agent']} answers with `gitcoord lock grant {lock['id']}`; you will see it in `gitcoord inbox`",
        data={"requested": True, "lock": lock["id"], "owner_task": needs["task"], "owner": needs["agent"]})


def _await_answer(store: Store, request: dict[str, Any], agent: str, deadline: float, poll: float) -> dict[str, Any]:
    """Poll until the owner grants (the lock is returned) or denies the request, or time runs out."""
    path = lock_path(request["id"])
    while True:
        view = store.snapshot(fetch=bool(store.remote))
        lock = view.load(path)
        if lock is not None and agent in [h["agent"] for h in lock.get("holders") or []]:
            return lock
        if lock is None or not any(e.get("agent") == agent for e in lock.get("queue") or []):
            raise Conflict(f"lock request {request['id']} on {display_resource(request['resource'])} was denied "
                           f"or withdrawn", data={"lock": request["id"], "denied": True})
        if time.monotonic() >= deadline:
            raise _requested(request, agent)
        time.sleep(max(0.01, min(poll, deadline - time.monotonic())))


def answer_request(store: Store, lock_id: str, *, grant: bool, ttl: str | float | timedelta | None = None,
                   reason: str | None = None) -> dict[str, Any]:
    """The owning task's holder grants or denies a request on its paths; returns the lock file."""
    agent = store.agent
    _check_lock_id(lock_id)
    reason = _check_reason(reason)
    ttl_td = _duration(ttl, "--ttl")
    verb = "grant" if grant else "deny"

    def op(txn: Txn) -> dict[str, Any]:
        _require_init(txn)
        now = timeutil.parse_time(txn.now)
        path = lock_path(lock_id)
        lock = txn.load(path)
        entries = [e for e in (lock or {}).get("queue") or [] if e.get("needs") and _entry_live(e, now)]
        if lock is None or not entries:
            raise NotFound(f"no open lock request {lock_id!r} (see `gitcoord inbox`)")
        entry = entries[0]
        needs = entry["needs"]
        if needs.get("agent") != agent:
            raise Conflict(f"request {lock_id} is for {needs.get('agent')} (owner of task {needs.get('task')}) "
                           f"to answer, not {agent}", data={"lock": lock_id, "owner": needs.get("agent")})
        requester = entry["agent"]
        shown = display_resource(lock["resource"])
        lock["queue"] = [e for e in lock.get("queue") or [] if e is not entry]
        if grant:
            decision = _decide({p: l for p, l in _lock_files(txn).items() if p != path}, requester,
                               lock["resource"], lock["type"], now)
            if not decision.granted:
                raise Conflict(f"cannot grant {lock_id} now: {shown} is locked "
                               f"({_describe_holders(decision.holders, decision.blocker or {})})",
                               data={"lock": lock_id})
            expires = timeutil.iso(now + _ttl_from(txn, ttl_td))
            lock["holders"] = [_holder(requester, entry.get("task"), entry.get("reason"), txn.now, expires)]
            lock["granted_at"] = txn.now
        _store_lock(txn, path, lock, now)
        txn.add_event("lock.granted" if grant else "lock.denied", task=entry.get("task"), to=requester,
                      summary=f"{agent} {'granted' if grant else 'denied'} {requester}'s {lock['type']} lock on "
                              f"{shown}" + (f": {reason}" if reason else ""),
                      data={"lock": lock_id, "resource": lock["resource"], "type": lock["type"],
                            "owner_task": needs.get("task"), "by": agent, "requester": requester,
                            **({"reason": reason} if reason else {})})
        txn.describe(f"lock.{verb}", f"{agent} {verb}s {requester} {lock['type']} lock on {shown}",
                     task=needs.get("task"))
        return lock

    return store.transact(op).value


def _leave_queue(store: Store, agent: str, resource: str, lock_type: str) -> None:
    """Remove this agent's queue entries for this request (a waiter that gave up)."""

    def op(txn: Txn) -> int:
        now = timeutil.parse_time(txn.now)
        removed = 0
        for path, lock in _lock_files(txn).items():
            queue = lock.get("queue") or []
            kept = [e for e in queue if not _same_request(e, agent, resource, lock_type)]
            if len(kept) != len(queue):
                removed += len(queue) - len(kept)
                lock["queue"] = kept
                _store_lock(txn, path, lock, now)
        if removed:
            txn.describe("lock.unqueue", f"{agent} stops waiting for {lock_type} lock on {resource}")
        return removed

    store.transact(op)


def _find_own(locks: dict[str, dict[str, Any]], agent: str, resource_or_id: str,
              now: datetime) -> tuple[str, dict[str, Any]]:
    """The lock named by id or by resource that ``agent`` holds (live); Conflict/NotFound otherwise."""
    if ID_RE.match(resource_or_id) and f"{LOCK_DIR}/{resource_or_id}.json" in locks:
        path = f"{LOCK_DIR}/{resource_or_id}.json"
        lock = locks[path]
        if agent not in [h["agent"] for h in _live_holders(lock, now)]:
            holders = _live_holders(lock, now)
            who = ", ".join(h["agent"] for h in holders) or "nobody (it expired or was released)"
            raise Conflict(f"lock {resource_or_id} on '{lock['resource']}' is held by {who}, not by {agent}; "
                           "only a holder may do this (use `gitcoord lock break ID --reason R` to force)",
                           data={"lock": lock["id"], "holders": [h["agent"] for h in holders]})
        return path, lock
    if any(lock["resource"] == resource_or_id for lock in locks.values()):
        resource = resource_or_id  # exactly as `lock list` shows it (may be root-anchored: '/name')
    else:
        resource = normalize_resource(resource_or_id, what="resource or lock id")
    mine = [(p, lock) for p, lock in locks.items() if lock["resource"] == resource
            and agent in [h["agent"] for h in _live_holders(lock, now)]]
    if len(mine) == 1:
        return mine[0]
    if len(mine) > 1:
        raise UsageError(f"you hold {len(mine)} locks on '{resource}' "
                         f"({', '.join(lock['id'] for _, lock in mine)}); name one by id")
    others = [lock for lock in locks.values() if lock["resource"] == resource and _live_holders(lock, now)]
    if others:
        who = ", ".join(sorted({h["agent"] for lock in others for h in _live_holders(lock, now)}))
        raise Conflict(f"'{resource}' is locked by {who}, not by {agent}; only a holder may do this "
                       "(use `gitcoord lock break ID --reason R` to force)",
                       data={"locks": [lock["id"] for lock in others]})
    raise NotFound(f"no lock of yours named or on {resource_or_id!r} (see `gitcoord lock list`)")


def release(store: Store, resource_or_id: str) -> dict[str, Any]:
    """Give up this agent's hold on a lock (by id or by its exact resource); returns the lock as it was.

    The file goes away with its last holder unless someone is queued on it.
    """
    agent = store.agent
    if not isinstance(resource_or_id, str):
        raise UsageError("release needs a lock id or a resource")

    def op(txn: Txn) -> dict[str, Any]:
        _require_init(txn)
        now = timeutil.parse_time(txn.now)
        path, lock = _find_own(_lock_files(txn), agent, resource_or_id, now)
        released = {**lock, "holders": list(lock.get("holders") or [])}
        cleanup_expired(txn, now)
        current = txn.load(path) or lock
        current["holders"] = [h for h in current.get("holders") or [] if h["agent"] != agent]
        _store_lock(txn, path, current, now)
        txn.add_event("lock.released", task=lock.get("task"),
                      summary=f"{agent} released {lock['type']} lock on {lock['resource']}",
                      data={"lock": lock["id"], "resource": lock["resource"], "type": lock["type"],
                            "waiting": len(_live_queue(current, now))})
        txn.describe("lock.release", f"{agent} releases {lock['type']} lock on {lock['resource']}",
                     task=lock.get("task"))
        return released

    return store.transact(op).value


def renew(store: Store, lock_id: str, ttl: str | float | timedelta | None = None) -> dict[str, Any]:
    """Extend this agent's hold on ``lock_id`` to now + ttl (default ``policies.lock_ttl``). Holder only."""
    agent = store.agent
    _check_lock_id(lock_id)
    ttl_td = _duration(ttl, "--ttl")

    def op(txn: Txn) -> dict[str, Any]:
        _require_init(txn)
        now = timeutil.parse_time(txn.now)
        locks = _lock_files(txn)
        path = lock_path(lock_id)
        if path not in locks:
            raise NotFound(f"no lock {lock_id!r} (see `gitcoord lock list`)")
        path, lock = _find_own(locks, agent, lock_id, now)
        expires = timeutil.iso(now + _ttl_from(txn, ttl_td))
        cleanup_expired(txn, now)
        current = txn.load(path) or lock
        for holder in current["holders"]:
            if holder["agent"] == agent:
                holder["expires_at"] = expires
        _store_lock(txn, path, current, now)
        txn.add_event("lock.renewed", task=current.get("task"),
                      summary=f"{agent} renewed {current['type']} lock on {current['resource']} until {expires}",
                      data={"lock": lock_id, "resource": current["resource"], "expires_at": expires})
        txn.describe("lock.renew", f"{agent} renews lock on {current['resource']}", task=current.get("task"))
        return current

    return store.transact(op).value


def break_lock(store: Store, lock_id: str, reason: str) -> dict[str, Any]:
    """Force a lock open (anyone may); recorded as ``lock.broken`` naming the previous holders.

    Returns the lock as it was. Its queue is cleared too (a stalled waiter is a common reason to break).
    """
    agent = store.agent
    _check_lock_id(lock_id)
    reason = _check_reason(reason, what="--reason")  # type: ignore[assignment]
    if not reason or not reason.strip():
        raise UsageError("lock break needs --reason: say why the lock is forced open (it is recorded)")

    def op(txn: Txn) -> dict[str, Any]:
        _require_init(txn)
        now = timeutil.parse_time(txn.now)
        path = lock_path(lock_id)
        lock = txn.load(path)
        if lock is None:
            raise NotFound(f"no lock {lock_id!r} (see `gitcoord lock list`)")
        previous = [h["agent"] for h in lock.get("holders") or []]
        broken = {**lock, "holders": list(lock.get("holders") or [])}
        lock["holders"] = []
        lock["queue"] = []  # waiters re-queue (or take it) on their next poll: a broken lock starts clean
        _store_lock(txn, path, lock, now)
        txn.add_event("lock.broken", task=lock.get("task"), to=previous[0] if len(previous) == 1 else None,
                      summary=f"{agent} broke {lock['type']} lock on {lock['resource']} held by "
                              f"{', '.join(previous) or 'nobody'}: {reason}",
                      data={"lock": lock_id, "resource": lock["resource"], "type": lock["type"],
                            "previous_holders": previous, "reason": reason})
        cleanup_expired(txn, now)
        txn.describe("lock.break", f"{agent} breaks lock on {lock['resource']} ({reason.splitlines()[0][:80]})",
                     task=lock.get("task"))
        return broken

    return store.transact(op).value


def release_task_locks(txn: Txn, task_id: str) -> list[str]:
    """Inside the caller's transaction: drop every hold taken for ``task_id`` (task merged or cancelled).

    Returns the ids of the locks touched; each is recorded as ``lock.released``.
    """
    now = timeutil.parse_time(txn.now)
    touched = []
    for path, lock in _lock_files(txn).items():
        holders = lock.get("holders") or []
        kept = [h for h in holders if (h["task"] if "task" in h else lock.get("task")) != task_id]
        if len(kept) == len(holders):
            continue
        lock["holders"] = kept
        _store_lock(txn, path, lock, now)
        touched.append(lock["id"])
        txn.add_event("lock.released", task=task_id,
                      summary=f"{lock['type']} lock on {lock['resource']} released with task {task_id}",
                      data={"lock": lock["id"], "resource": lock["resource"], "type": lock["type"],
                            "reason": f"task {task_id} finished"})
    return touched
