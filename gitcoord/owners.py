"""Who owns a path in this project: live tasks' ``owns`` patterns plus imported CODEOWNERS entries.

Two sources, two rules (see docs/hooks.md):

- **tasks** — every live task (not merged or cancelled) whose ``owns`` patterns match a path owns
  it; several tasks may own one path (``doctor`` reports that overlap).
- **imported entries** — ``policies.ownership`` in gitcoord.yaml, written by ``owners import``
  from a CODEOWNERS file; as in CODEOWNERS, the last matching entry wins.

Hooks import this module, so it stays light: pattern matching lives in ``gitcoord.ownership``
(compiled once per run into an index) and nothing here imports jsonschema.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from gitcoord.errors import UsageError
from gitcoord.ownership import OwnershipIndex, is_valid_owner, parse_codeowners, render_codeowners
from gitcoord.paths import MAX_PATTERNS, normalize_repo_path

LIVE_STATUSES = frozenset({"planned", "ready", "in_progress", "blocked", "ready_to_merge"})
"""Tasks in these states own their patterns; merged and cancelled tasks no longer do."""


def load_tasks(view: Any) -> dict[str, dict[str, Any]]:
    """All tasks by id, read straight from ``tasks/*.yaml`` (same rule as ``tasks.load_tasks``: the id
    must match the file name). Not imported from ``gitcoord.tasks``, which pulls in the planner: this
    runs on every commit."""
    out: dict[str, dict[str, Any]] = {}
    for path, task in view.load_dir("tasks", ".yaml").items():
        expected = path[len("tasks/"):-len(".yaml")]
        if task.get("id") != expected:
            from gitcoord.errors import InvalidFile

            raise InvalidFile(path, f"id {task.get('id')!r} does not match the file name", pointer="/id")
        out[expected] = task
    return out


def literal_runs(pattern: str) -> list[str]:
    """The literal pieces of a pattern (between wildcards and slashes, escapes resolved)."""
    runs: list[str] = []
    current: list[str] = []
    index, size = 0, len(pattern)
    while index < size:
        char = pattern[index]
        if char == "\\" and index + 1 < size:
            current.append(pattern[index + 1])
            index += 2
            continue
        if char in "*?/":
            if current:
                runs.append("".join(current))
                current = []
        else:
            current.append(char)
        index += 1
    if current:
        runs.append("".join(current))
    return runs


def prefilter(paths: Iterable[str]) -> Callable[[str], bool]:
    """A cheap, sound test "could this pattern match any of ``paths``?".

    Every wildcard-free segment of a pattern matches exactly one path segment, so it must be
    one of the paths' segment names; every literal piece of a wildcard segment must occur in
    some path. Patterns failing that are dropped before anything is compiled: a commit that
    touches one corner of the tree compiles a handful of patterns instead of thousands.
    """
    paths = list(paths)
    names = {name for path in paths for name in path.split("/")}
    # A literal piece holds no "/": it occurs in some path exactly when it occurs in one of their
    # segment names, and those are far fewer than the paths (10,000 paths: a few hundred names).
    haystack = "\n".join(names)
    cache: dict[str, bool] = {}

    def could_match(pattern: str) -> bool:
        found = cache.get(pattern)
        if found is None:
            found = True
            for segment in pattern.split("/"):
                if segment in ("", ".", "**"):
                    continue
                if "*" in segment or "?" in segment or "\\" in segment:
                    if not all(run in haystack for run in literal_runs(segment)):
                        found = False
                        break
                elif segment not in names:
                    found = False
                    break
            cache[pattern] = found
        return found

    return could_match


def agent_handle(agent: str) -> str | None:
    """An agent name as a CODEOWNERS owner (``alice`` → ``@alice``; e-mails stay), or None."""
    if is_valid_owner(agent):
        return agent
    if is_valid_owner("@" + agent):
        return "@" + agent
    return None


def _same_owner(agent: str, owner: str) -> bool:
    return owner == agent or owner == "@" + agent or owner.lstrip("@") == agent


@dataclass
class OwnershipView:
    """Ownership of paths as one snapshot of the coordination branch sees it."""

    tasks: dict[str, dict[str, Any]]
    task_index: OwnershipIndex
    imported_index: OwnershipIndex | None
    imported_entries: list[dict[str, Any]] = field(default_factory=list)

    def task_owners(self, path: str) -> list[str]:
        """Ids of the live tasks whose patterns match ``path``."""
        return self.task_index.owners(path)

    def task_owners_many(self, paths: Iterable[str]) -> dict[str, list[str]]:
        return self.task_index.owners_many(paths)

    def imported_owners(self, path: str) -> list[str]:
        """Owners named by the last matching imported CODEOWNERS entry."""
        return self.imported_index.owners(path) if self.imported_index is not None else []

    def agents_of(self, task_ids: Iterable[str]) -> list[str]:
        out: list[str] = []
        for task_id in task_ids:
            agent = (self.tasks.get(task_id) or {}).get("agent")
            if agent and agent not in out:
                out.append(agent)
        return out

    def imported_owner_is(self, path: str, agents: Iterable[str]) -> bool:
        """Does an imported entry name one of ``agents`` (``alice`` or ``@alice``) as owner of ``path``?"""
        owners = self.imported_owners(path)
        return any(_same_owner(agent, owner) for agent in agents for owner in owners)


def ownership_view(view: Any, tasks: dict[str, dict[str, Any]] | None = None,
                   paths: Iterable[str] | None = None) -> OwnershipView:
    """Build the indexes once for a snapshot (or transaction); every lookup after that is cheap.

    With ``paths``, only patterns that could match one of them are indexed (see ``prefilter``):
    the answers for those paths are the same, and the hook path stays fast.
    """
    keep = prefilter(paths) if paths is not None else None
    if tasks is None:
        tasks = load_tasks(view)
    entries: list[tuple[str, str]] = []
    for task_id in sorted(tasks):
        task = tasks[task_id]
        if task.get("status") not in LIVE_STATUSES:
            continue
        for pattern in task.get("owns") or []:
            if keep is None or keep(pattern):
                entries.append((pattern, task_id))
    imported = list((view.config.get("policies") or {}).get("ownership") or [])
    imported_index = (OwnershipIndex([(e["pattern"], list(e.get("owners") or [])) for e in imported],
                                     last_match_wins=True) if imported else None)
    return OwnershipView(tasks, OwnershipIndex(entries), imported_index, imported)


# --------------------------------------------------------------------------- owners PATH…


def owners_report(view: Any, paths: list[str], agent: str | None = None) -> dict[str, Any]:
    """``{"paths": [{path, owners, agents, codeowners, locks}]}`` for ``owners PATH…``."""
    if len(paths) > MAX_PATTERNS:
        raise UsageError(f"too many paths: {len(paths)} (at most {MAX_PATTERNS}); ask about a directory instead")
    clean = [normalize_repo_path(path) for path in paths]  # hostile input fails before any lookup
    own = ownership_view(view)
    locks_by_path = _locks_on(view, clean)
    rows = []
    for path in clean:
        task_ids = own.task_owners(path)
        rows.append({
            "path": path,
            "owners": task_ids,
            "agents": own.agents_of(task_ids),
            "codeowners": own.imported_owners(path),
            "locks": locks_by_path.get(path, []),
        })
    return {"paths": rows}


def _locks_on(view: Any, paths: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Active locks whose resource covers each path (via the locks module; empty without it)."""
    try:
        from gitcoord import locks as locks_module
    except ImportError:
        return {}
    active = list(locks_module.active_locks(view))
    if not active:
        return {}
    index = OwnershipIndex([(lock["resource"], lock["id"]) for lock in active])
    by_id = {lock["id"]: lock for lock in active}
    out: dict[str, list[dict[str, Any]]] = {}
    for path, ids in index.owners_many(paths).items():
        if ids:
            out[path] = [_lock_summary(by_id[i]) for i in ids]
    return out


def _lock_summary(lock: dict[str, Any]) -> dict[str, Any]:
    return {"id": lock["id"], "resource": lock["resource"], "type": lock["type"],
            "holders": [h.get("agent") for h in lock.get("holders") or []],
            "task": lock.get("task"), "expires_at": lock.get("expires_at")}


# --------------------------------------------------------------------------- import / export


def parse_codeowners_entries(text: str, source: str) -> list[dict[str, Any]]:
    """CODEOWNERS text → ``[{pattern, owners}]`` (file order; refuses more than MAX_PATTERNS lines)."""
    parsed = parse_codeowners(text, source=source)
    if len(parsed) > MAX_PATTERNS:
        raise UsageError(f"{source}: {len(parsed)} entries (at most {MAX_PATTERNS}); use broader patterns")
    return [{"pattern": pattern, "owners": owners} for pattern, owners, _line in parsed]


def import_codeowners(store: Any, text: str, source: str = "CODEOWNERS") -> dict[str, Any]:
    """Replace ``policies.ownership`` with the entries of a CODEOWNERS file, in one transaction."""
    from gitcoord.store import CONFIG_PATH

    entries = parse_codeowners_entries(text, source)

    def op(txn: Any) -> int:
        if not txn.base.exists:
            raise UsageError("no coordination branch yet: run `gitcoord init` first")
        raw = copy.deepcopy(txn.load(CONFIG_PATH) or {"version": 1})
        policies = raw.setdefault("policies", {})
        if not isinstance(policies, dict):
            raise UsageError(f"{CONFIG_PATH}: 'policies' is not a mapping; fix it with `gitcoord config set`")
        previous = len(policies.get("ownership") or [])
        policies["ownership"] = entries
        txn.put(CONFIG_PATH, raw)
        txn.describe("owners.import", f"import {len(entries)} ownership entries from {source}")
        return previous

    result = store.transact(op)
    return {"source": source, "entries": len(entries), "replaced": result.value, "commit": result.commit,
            "changed": result.changed}


def export_codeowners(view: Any) -> str:
    """A CODEOWNERS file: imported entries first, then each live task's patterns with its agent.

    Later lines win on GitHub, so task entries (more specific, and what gitcoord enforces) come
    last. An agent name that GitHub would not accept as an owner is left out, with a comment.
    """
    own = ownership_view(view)
    header = (f"Generated by `gitcoord owners export` from coordination commit {str(view.commit)[:12]}.\n"
              "Imported entries first, then one section per live task (later lines win).")
    parts = [render_codeowners([], header=header).rstrip("\n")]
    if own.imported_entries:
        parts.append(render_codeowners([(e["pattern"], e.get("owners") or []) for e in own.imported_entries],
                                       header="imported (policies.ownership)").rstrip("\n"))
    for task_id in sorted(own.tasks):
        task = own.tasks[task_id]
        if task.get("status") not in LIVE_STATUSES or not task.get("owns"):
            continue
        agent = task.get("agent")
        handle = agent_handle(agent) if agent else None
        note = f"task {task_id}: {task.get('title', '')}".strip()
        if agent and handle is None:
            note += f" (agent {agent!r} is not a valid CODEOWNERS owner; left out)"
        elif not agent:
            note += " (no agent assigned)"
        parts.append(render_codeowners([(p, [handle] if handle else []) for p in task["owns"]],
                                       header=note.replace("\n", " ")).rstrip("\n"))
    return "\n\n".join(parts) + "\n"
