"""Repairing an unreadable coordination branch by rolling it forward.

Two kinds of damage make the shared state unreadable: a tip commit that libgit2 cannot parse
(a malformed author line once did it) and entity files that fail to parse or break their
schema. Neither is fixed by rewriting history — that would need a force-push, which the
remote rightly refuses. Instead a new *audit commit* goes on top of the damaged tip (so it is a
fast-forward everywhere) whose tree is the tip's tree with every unreadable file restored to
its last readable version, or removed when it never was readable. Nothing readable is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pygit2

from gitcoord import gitutil, schemas
from gitcoord.errors import GitcoordError, RaceError, UsageError
from gitcoord.store import Store, _build_tree, _flatten, parse_bytes

MAX_HISTORY = 5000  # how far back a file's last readable version is looked for


@dataclass
class RepairPlan:
    tip: str | None
    tree: str | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)  # {"path", "problem", "action", "from"}
    commit_problem: str | None = None

    @property
    def needed(self) -> bool:
        return bool(self.problems or self.commit_problem)

    def to_dict(self) -> dict[str, Any]:
        return {"tip": self.tip, "needed": self.needed, "commit_problem": self.commit_problem,
                "files": self.problems}


def _file_problem(repo: pygit2.Repository, path: str, oid: str) -> str | None:
    """Why a stored file is unreadable for gitcoord, or None when it is fine."""
    kind = schemas.kind_for_path(path)
    if kind is None:
        return None  # approved spec snapshots and other data files are not entities
    try:
        obj = parse_bytes(path, repo[oid].data)
        if kind is not None:
            schemas.validate(kind, obj, path=path)
    except GitcoordError as exc:
        return exc.message
    except (RecursionError, MemoryError, ValueError) as exc:
        return f"{type(exc).__name__}"
    return None


def _tree_id(repo: pygit2.Repository, commit: str) -> str | None:
    raw = gitutil.raw_commit(repo, commit)
    return str(raw["tree"]) if raw and raw.get("tree") else None


def _first_parent_chain(repo: pygit2.Repository, tip: str) -> list[str]:
    out, seen, current = [], set(), tip
    while current and current not in seen and len(out) < MAX_HISTORY:
        seen.add(current)
        out.append(current)
        raw = gitutil.raw_commit(repo, current)
        parents = list(raw["parents"]) if raw else []  # type: ignore[arg-type]
        current = parents[0] if parents else None
    return out


def plan_repair(repo: pygit2.Repository, tip: str | None) -> RepairPlan:
    """What is unreadable at ``tip`` and what the audit commit would restore."""
    plan = RepairPlan(tip)
    if tip is None:
        return plan
    try:
        repo[tip].peel(pygit2.Tree)
    except (pygit2.GitError, ValueError, KeyError) as exc:
        plan.commit_problem = str(exc).split(": ", 1)[-1] or type(exc).__name__
    tree_id = _tree_id(repo, tip)
    if tree_id is None:
        raise UsageError(f"coordination branch tip {tip[:10]} is not a readable commit; nothing to build on")
    files = _flatten(repo, repo[tree_id])
    bad = {path: problem for path, oid in files.items() if (problem := _file_problem(repo, path, oid))}
    if bad:
        chain = _first_parent_chain(repo, tip)[1:]
        for path, problem in sorted(bad.items()):
            restored = None
            for commit in chain:
                old_tree = _tree_id(repo, commit)
                if old_tree is None:
                    continue
                try:
                    entry = repo[old_tree][path]
                except KeyError:
                    break  # the file did not exist before: nothing older to restore
                if entry.type == pygit2.GIT_OBJECT_BLOB and _file_problem(repo, path, str(entry.id)) is None:
                    restored = (commit, str(entry.id))
                    break
            plan.problems.append({"path": path, "problem": problem,
                                  "action": "restored" if restored else "removed",
                                  "from": restored[0] if restored else None,
                                  "_blob": restored[1] if restored else None})
    plan.tree = tree_id
    return plan


def repair(store: Store, *, dry_run: bool = False) -> dict[str, Any]:
    """Roll the coordination branch forward past the damage (see the module doc). In remote mode the
    remote's branch is repaired, by a plain fast-forward push."""
    repo = store.repo
    for _attempt in range(store.retries):
        tip = store.fetch() if store.remote else store.local_tip()
        if tip is None and store.remote:
            tip = store.local_tip()
        plan = plan_repair(repo, tip)
        result = plan.to_dict()
        result["files"] = [{k: v for k, v in p.items() if not k.startswith("_")} for p in plan.problems]
        if not plan.needed or dry_run:
            result["commit"] = None
            return result
        changes: dict[str, bytes | None] = {
            p["path"]: (repo[p["_blob"]].data if p["_blob"] else None) for p in plan.problems}
        new_tree = _build_tree(repo, repo[plan.tree], changes) if changes else plan.tree
        lines = [f"[repair] roll forward past unreadable state at {str(tip)[:10]}", ""]
        if plan.commit_problem:
            lines.append(f"unreadable commit: {plan.commit_problem}")
        for p in plan.problems:
            lines.append(f"{p['action']} {p['path']}: {p['problem'][:200]}".replace("\n", " "))
        lines += ["", "Gitcoord-Op: repair", f"Gitcoord-Agent: {store.agent}"]
        commit = _write_commit(repo, store, str(new_tree), tip, "\n".join(lines) + "\n")
        if store.remote:
            outcome = gitutil.push(repo, store.remote, [f"{commit}:{store.ref}"])
            if not outcome.ok:
                continue
            repo.references.create(store.tracking_ref, commit, force=True)
            _set_local(store, commit)
        elif not store._cas(tip, commit, "gitcoord: repair"):
            continue
        result["commit"] = commit
        return result
    raise RaceError("repair: the coordination branch kept moving; run it again")


def _write_commit(repo: pygit2.Repository, store: Store, tree: str, parent: str, message: str) -> str:
    """Write the commit object directly: libgit2's commit API parses the parent, which is the very
    commit it may be unable to read."""
    import time

    sig = store._signature()
    stamp = f"{int(time.time())} +0000"
    person = f"{sig.name} <{sig.email}> {stamp}"
    data = f"tree {tree}\nparent {parent}\nauthor {person}\ncommitter {person}\n\n{message}".encode()
    return str(repo.odb.write(pygit2.GIT_OBJECT_COMMIT, data))


def _set_local(store: Store, commit: str) -> None:
    """Point the local branch at the repaired tip (it may hold the damaged commit or be behind)."""
    local = store.local_tip()
    if local is None or gitutil.is_ancestor(store.repo, local, commit):
        store._cas(local, commit, "gitcoord: repair")
