"""Per-task claim refs: claims on different tasks never race each other (issue 14).

A claim (a planned or ready task moving to in_progress) used to be one more commit on the
coordination ref, so sixteen agents claiming sixteen different tasks queued behind each other,
a fetch and a push each. Through a remote, a claim is now written to the task's own ref,
``refs/gitcoord/claims/<task>``, with a compare-and-swap push (a lease on the ref's value as last
seen, "absent" for a task never claimed): of several agents claiming one task exactly one wins,
and agents claiming different tasks do not meet at all.

A claim commit holds the claimed manifest (``tasks/<task>.yaml``) and, in its message, the blob
of the manifest it replaces (``Gitcoord-Claim-Base``). Readers lay a claim over the coordination
branch while the branch still holds exactly that blob: the task reads as in progress by the
claimer. The next coordination write of that task builds on the claimed content, so the claim is
folded into the branch and, its base gone, no longer laid over anything.

One rule keeps this exact: a coordination write that changes a task which could still be claimed
(planned or ready, as the writer sees it) *seals* the task's claim ref in the same atomic push
(moves it to a seal commit, leased on the value it saw). A claim pushed meanwhile makes that push
fail (the writer fetches and builds on the claim); a seal pushed first makes the claim's push
fail (the claimer fetches and decides again). Without a remote, claims stay on the branch.
"""

from __future__ import annotations

from typing import Any, Iterable

import pygit2

CLAIMABLE = ("planned", "ready")  # a task in one of these may be claimed (moved to in_progress)
CLAIM_OP = "task.in_progress"
SEAL_OP = "task.seal"
BASE_TRAILER = "Gitcoord-Claim-Base: "
MAX_SEALS = 4000  # seals in one push (each is two arguments to `git push`; the OS caps their size)


def task_of_path(path: str) -> str | None:
    """The task id of a manifest path ``tasks/<id>.yaml``, else None."""
    if path.startswith("tasks/") and path.endswith(".yaml") and "/" not in path[6:]:
        return path[6:-5]
    return None


def claim_ref(prefix: str, task_id: str) -> str | None:
    """The claim ref of ``task_id``, or None for an id git refuses as a ref name (such a task is
    claimed on the branch, and never needs a seal)."""
    ref = prefix + task_id
    return ref if pygit2.reference_is_valid_name(ref) else None


def tips(repo: pygit2.Repository, prefix: str) -> tuple[tuple[str, str], ...]:
    """``(task id, commit)`` of every claim ref held here, sorted."""
    return tuple(sorted((r.name[len(prefix):], str(r.target)) for r in repo.references.iterator()
                        if r.name.startswith(prefix) and r.type == pygit2.enums.ReferenceType.DIRECT))


def read_overlay(repo: pygit2.Repository, claim_tips: Iterable[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """``{manifest path: (base blob, claimed blob)}`` for every claim (seals and unreadable refs are
    skipped: a bad ref cannot make the state unreadable)."""
    out: dict[str, tuple[str, str]] = {}
    for task_id, oid in claim_tips:
        known = _READ.get(oid)
        if known is not None:
            if known[0]:
                out[f"tasks/{task_id}.yaml"] = known  # type: ignore[assignment]
            continue
        _READ[oid] = ("", "")  # a seal or an unreadable ref, unless read below
        try:
            commit = repo[oid]
            if not isinstance(commit, pygit2.Commit):
                continue
            message = commit.message
            at = message.find(BASE_TRAILER)
            if at < 0 or f"Gitcoord-Op: {CLAIM_OP}\n" not in message:
                continue
            base = message[at + len(BASE_TRAILER):].split("\n", 1)[0].strip()
            path = f"tasks/{task_id}.yaml"
            entry = commit.tree[path]
            if entry.type != pygit2.GIT_OBJECT_BLOB or len(base) != len(str(entry.id)):
                continue
            out[path] = _READ[oid] = (base, str(entry.id))
        except (KeyError, ValueError, pygit2.GitError):
            continue
    return out


_READ: dict[str, tuple[str, str]] = {}  # claim commit -> (base, claimed blob): commits never change


def is_claim(changes: dict[str, bytes | None], before: Any, after: Any) -> str | None:
    """The manifest path when a change set is a plain claim: one task moved from planned/ready to
    in_progress, plus new event files only."""
    paths = [p for p in changes if not p.startswith("events/")]
    if len(paths) != 1 or task_of_path(paths[0]) is None or changes[paths[0]] is None:
        return None
    if not isinstance(before, dict) or not isinstance(after, dict):
        return None
    if before.get("status") not in CLAIMABLE or after.get("status") != "in_progress":
        return None
    return paths[0]


def commit_message(op: str, agent: str, task_id: str, summary: str, base: str | None = None) -> str:
    lines = [f"[{op}] {summary}".strip(), "", f"Gitcoord-Op: {op}", f"Gitcoord-Agent: {agent}",
             f"Gitcoord-Task: {task_id}"]
    if base:
        lines.append(BASE_TRAILER + base)
    return "\n".join(line.replace("\0", "") for line in lines) + "\n"


def claim_tree(repo: pygit2.Repository, path: str, data: bytes) -> pygit2.Oid:
    """A tree holding just the claimed manifest at ``path``."""
    sub = repo.TreeBuilder()
    sub.insert(path.split("/", 1)[1], repo.create_blob(data), pygit2.GIT_FILEMODE_BLOB)
    top = repo.TreeBuilder()
    top.insert("tasks", sub.write(), pygit2.GIT_FILEMODE_TREE)
    return top.write()


def parents(repo: pygit2.Repository, previous: str | None) -> list[str]:
    """The parent of a new claim or seal: the claim ref's previous commit, when it is one (junk
    pushed there by hand is replaced, not built on)."""
    try:
        return [previous] if previous and isinstance(repo[previous], pygit2.Commit) else []
    except (KeyError, ValueError):
        return []


def empty_tree(repo: pygit2.Repository) -> pygit2.Oid:
    return repo.TreeBuilder().write()
