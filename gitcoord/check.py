"""The check engine: which changed paths break ownership, locks, the unowned policy or branch rules.

Used by ``gitcoord check`` and by every hook (pre-commit, pre-push, the server's pre-receive).
It works on a list of changed paths plus a context (who is acting, for which task, on which
branch) and returns findings; collecting the paths from git is done here too, in-process with
pygit2 (index vs HEAD, commits of a range, a merge-base diff, the new commits of a push).

Kept lean for the hook path: locks and contracts are imported lazily, contracts only when a
changed path could be a contract spec.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import pygit2

from gitcoord.errors import NotFound, UsageError
from gitcoord.gitutil import merge_base_oid
from gitcoord.owners import OwnershipView, load_tasks, ownership_view, prefilter
from gitcoord.ownership import OwnershipIndex

ERROR, WARNING = "error", "warning"

RULES = ("outside-ownership", "locked", "unowned", "branch-name", "intent", "no-task", "contract", "path",
         "symlink", "branch-owner")


@dataclass
class Finding:
    """One violation or warning; ``hint`` says what to do about it."""

    path: str | None
    rule: str
    level: str
    message: str
    owner: str | None = None
    hint: str | None = None
    commit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"path": self.path, "rule": self.rule, "level": self.level, "message": self.message,
               "owner": self.owner, "hint": self.hint}
        if self.commit:
            out["commit"] = self.commit
        return out


@dataclass
class CheckContext:
    """Who is acting and on what: passed to every rule, including ``extra_checks``."""

    agent: str
    tasks: list[dict[str, Any]]
    task_source: str
    branch: str | None
    mode: str
    config: dict[str, Any]
    ownership: OwnershipView
    coordination_branch: str = "gitcoord"

    @property
    def task_ids(self) -> list[str]:
        return [t["id"] for t in self.tasks]

    @property
    def agents(self) -> list[str]:
        """The acting agent and the agents of the acting tasks: their own locks never block them."""
        out = [self.agent]
        for task in self.tasks:
            if task.get("agent") and task["agent"] not in out:
                out.append(task["agent"])
        return out


@dataclass
class CheckResult:
    findings: list[Finding]
    context: CheckContext
    paths: int
    commits: int = 0

    @property
    def ok(self) -> bool:
        return not any(f.level == ERROR for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        ids = self.context.task_ids
        return {"ok": self.ok, "task": ids[0] if len(ids) == 1 else (ids or None), "agent": self.context.agent,
                "branch": self.context.branch, "task_source": self.context.task_source,
                "mode": self.context.mode, "paths_checked": self.paths, "commits_checked": self.commits,
                "violations": [f.to_dict() for f in self.findings]}


ExtraCheck = Callable[[Any, list[str], CheckContext], Iterable[Finding]]

extra_checks: list[ExtraCheck] = []
"""Extension point: callables ``(view, changed_paths, context) -> findings`` run after the built-in
rules (contract checks plug in here). A check may return Finding objects or dicts with the same keys."""


# --------------------------------------------------------------------------- collecting paths


def _delta_paths(diff: pygit2.Diff) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for delta in diff.deltas:
        for path in (delta.old_file.path, delta.new_file.path):
            if path and path not in seen:
                seen.add(path)
                out.append(path)
    return out


Reader = Callable[[str], "bytes | None"]


def index_reader(repo: pygit2.Repository) -> Reader:
    """The staged content of a path (honours GIT_INDEX_FILE, as `git commit -a` sets it)."""
    def read(path: str) -> bytes | None:
        index_file = os.environ.get("GIT_INDEX_FILE")
        index = pygit2.Index(index_file) if index_file else repo.index
        entry = index[path] if path in index else None
        return _read_blob(repo, entry.id, path) if entry is not None else None
    return read


def _read_blob(repo: pygit2.Repository, oid: Any, path: str) -> bytes:
    """A blob's content, its size checked first: a huge file is refused before it is read."""
    from gitcoord.contracts.loader import MAX_SPEC_BYTES

    _kind, size = repo.odb.read_header(oid)
    if size > MAX_SPEC_BYTES:
        raise UsageError(f"{path}: {size} bytes, over the {MAX_SPEC_BYTES}-byte limit for a checked file")
    return repo[oid].data


def blob_reader(repo: pygit2.Repository, rev: str) -> Reader:
    """The content of a path at commit ``rev`` (None when the commit deletes it)."""
    def read(path: str) -> bytes | None:
        try:
            tree = repo.revparse_single(rev).peel(pygit2.Tree)
            entry = tree[path]
        except (KeyError, ValueError, pygit2.GitError):
            return None
        return _read_blob(repo, entry.id, path) if entry.type == pygit2.GIT_OBJECT_BLOB else None
    return read


def staged_paths(repo: pygit2.Repository, links: dict[str, str] | None = None) -> list[str]:
    """Paths whose staged content differs from HEAD (the index git is about to commit).

    Asked of ``git diff --cached`` rather than computed with pygit2: git reads the index it is
    committing (``GIT_INDEX_FILE`` for ``git commit -a`` / ``git commit PATH``) and skips
    unchanged directories with its cache-tree, which on a 20,000-file index is several times
    faster than loading the index into libgit2 and diffing it against HEAD's tree.
    ``links`` receives the staged symlinks (path → target), from the same output's modes.
    """
    from gitcoord.errors import UsageError

    env = dict(os.environ, GITCOORD_INTERNAL="1")
    cwd = repo.workdir or repo.path
    proc = subprocess.run(["git", "diff", "--cached", "--raw", "-z", "--no-renames", "--no-ext-diff", "--no-abbrev"],
                          cwd=cwd, capture_output=True, env=env)
    if proc.returncode != 0:
        last = (proc.stderr.decode(errors="replace").strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise UsageError(f"cannot list the staged changes: git diff --cached: {last}")
    fields = proc.stdout.split(b"\0")
    out: list[str] = []
    for i in range(0, len(fields) - 1, 2):  # ":<old mode> <new mode> <old> <new> <status>" NUL path NUL
        meta, name = fields[i], fields[i + 1]
        path = name.decode("utf-8", "surrogateescape")
        out.append(path)
        if links is not None and meta[8:14] == b"120000":
            links[path] = repo[meta.split()[3].decode()].data.decode("utf-8", "surrogateescape")
    return out


def commit_paths(repo: pygit2.Repository, commit: pygit2.Commit) -> list[str]:
    """Paths a commit changed. A merge counts only paths that differ from every parent (its own edits).

    The pruned walk of ``changed_paths`` (libgit2's tree diff lists the same paths in the same
    order, but visits every entry of a 20,000-file tree: ~5 ms a commit)."""
    tree = commit.tree
    parents = commit.parents
    if not parents:
        return changed_paths(repo, None, tree)
    first = changed_paths(repo, parents[0].tree, tree)
    if len(parents) == 1:
        return first
    common = set(first)
    for parent in parents[1:]:
        common &= set(changed_paths(repo, parent.tree, tree))
    return [p for p in first if p in common]


def resolve_commit(repo: pygit2.Repository, rev: str, what: str = "revision") -> pygit2.Commit:
    if not rev or "\0" in rev or "\n" in rev:
        raise UsageError(f"{what} {rev!r}: not a revision")
    try:
        return repo.revparse_single(rev).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        raise NotFound(f"{what} {rev!r}: no such commit in this repository") from None


def walk_new(repo: pygit2.Repository, tip: str, hide: Iterable[str]) -> list[pygit2.Commit]:
    """Commits reachable from ``tip`` but not from any of ``hide`` (``git rev-list tip --not hide…``), oldest first."""
    walker = repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    for oid in hide:
        try:
            walker.hide(oid)
        except (KeyError, ValueError, pygit2.GitError):
            continue  # a ref to an object we do not have cannot hide anything
    return list(walker)


def range_commits(repo: pygit2.Repository, spec: str) -> list[pygit2.Commit]:
    """The commits of ``A..B`` (B defaults to HEAD), oldest first."""
    if ".." not in spec or "..." in spec:
        raise UsageError(f"--range {spec!r}: expected A..B (two dots)")
    left, _, right = spec.partition("..")
    base = resolve_commit(repo, left or "HEAD", "--range start")
    head = resolve_commit(repo, right or "HEAD", "--range end")
    return walk_new(repo, str(head.id), [str(base.id)])


def paths_of_commits(repo: pygit2.Repository, commits: Iterable[pygit2.Commit]) -> dict[str, str]:
    """``{path: first commit (hex) that changed it}`` over a list of commits."""
    out: dict[str, str] = {}
    for commit in commits:
        sha = str(commit.id)
        for path in commit_paths(repo, commit):
            out.setdefault(path, sha)
    return out


def net_change_paths(repo: pygit2.Repository, tip: str, base: str | None,
                     links: dict[str, str] | None = None) -> list[str]:
    """What ``tip`` changes relative to the base it will merge into: ``git diff $(merge-base base tip) tip``.

    This is what every check judges, never each commit against its parents: a crafted merge
    (``commit-tree <tree without src/b/> -p HEAD -p <root>``, or a merge of the base that reverts
    someone's file) shows the dropped or reverted files here. With no base, or no common history,
    everything in ``tip`` counts.
    """
    head = repo[tip].peel(pygit2.Commit)
    fork = None
    if base:
        try:
            fork = merge_base_oid(repo, repo[base].peel(pygit2.Commit).id, head.id)
        except (KeyError, ValueError, pygit2.GitError):
            fork = None
    old = repo[fork].peel(pygit2.Tree) if fork is not None else None
    return changed_paths(repo, old, head.tree, links)


def changed_paths(repo: pygit2.Repository, old: pygit2.Tree | None, new: pygit2.Tree,
                  links: dict[str, str] | None = None) -> list[str]:
    """The paths a tree diff ``old`` → ``new`` lists (no renames; a type change is a deletion and
    an addition), sorted as git sorts them; ``links`` receives the symlinks among the new files.

    Walked here rather than with ``Tree.diff_to_tree``: subtrees with the same id are skipped and
    a tree's unchanged entries are dropped by comparing raw entries as bytes, so a branch that
    changes 4 files of a 20,000-file tree costs a few tree reads (libgit2's diff visits every
    entry: ~3 ms a branch)."""
    from gitcoord.gitutil import LINK_MODE, TREE_MODE, parse_tree_entries, raw_tree_entries

    out: list[str] = []

    def walk(before: pygit2.Oid | None, after: pygit2.Oid | None, prefix: str) -> None:
        old_entries, new_entries = raw_tree_entries(repo, before), raw_tree_entries(repo, after)
        removed = parse_tree_entries(old_entries - new_entries)
        added = parse_tree_entries(new_entries - old_entries)
        for raw_name in removed.keys() | added.keys():
            o, e = removed.get(raw_name), added.get(raw_name)
            if o == e:
                continue  # the same entry written with another mode spelling (040000 for 40000)
            path = prefix + raw_name.decode("utf-8", "surrogateescape")
            was_tree, is_tree = o is not None and o[0] == TREE_MODE, e is not None and e[0] == TREE_MODE
            if was_tree or is_tree:
                walk(o[1] if was_tree else None, e[1] if is_tree else None, path + "/")  # type: ignore[index]
            if (o is not None and not was_tree) or (e is not None and not is_tree):
                out.append(path)  # a file changed, added or deleted (also where a directory took its place)
            if links is not None and e is not None and e[0] == LINK_MODE:
                links[path] = repo[e[1]].data.decode("utf-8", "surrogateescape")

    walk(old.id if old is not None else None, new.id, "")
    out.sort(key=lambda p: p.encode("utf-8", "surrogateescape"))
    return out


def net_change(repo: pygit2.Repository, tip: str, base: str | None,
               commits: Iterable[pygit2.Commit] = (), links: dict[str, str] | None = None,
               touched: set[str] | None = None) -> dict[str, str]:
    """``{path: commit}`` for the net change of ``tip`` (see ``net_change_paths``); each path is
    attributed to the first of ``commits`` that touched it, else to ``tip`` (a crafted merge).
    ``touched`` receives the paths that one of ``commits`` itself changed."""
    paths = net_change_paths(repo, tip, base, links)
    if not paths:
        return {}
    wanted = set(paths)
    first: dict[str, str] = {}
    for commit in commits:
        for path in commit_paths(repo, commit):
            if path in wanted:
                first.setdefault(path, str(commit.id))
    if touched is not None:
        touched.update(first)
    return {path: first.get(path, tip) for path in paths}


def only_new_lock_findings(findings: list[Finding], touched: set[str]) -> list[Finding]:
    """Ownership is judged on the whole net change; locks and intents only on what the new commits
    change: a lock taken after a path was pushed must not freeze the rest of the branch."""
    return [f for f in findings if f.rule not in ("locked", "intent") or f.path in touched]


def ref_target(repo: pygit2.Repository, *refs: str) -> str | None:
    """The commit the first existing ref of ``refs`` points at."""
    for name in refs:
        ref = repo.references.get(name)
        if ref is not None:
            try:
                return str(ref.resolve().target)
            except (KeyError, pygit2.GitError):
                continue
    return None


def merge_base_paths(repo: pygit2.Repository, base: str, head: str = "HEAD") -> list[str]:
    """Paths changed on ``head`` since it forked from ``base`` (``git diff base...head``)."""
    base_commit = resolve_commit(repo, base, "--base")
    head_commit = resolve_commit(repo, head, "--head")
    fork = repo.merge_base(base_commit.id, head_commit.id)
    if fork is None:
        raise UsageError(f"--base {base} and --head {head} have no common history")
    return _delta_paths(repo[fork].peel(pygit2.Tree).diff_to_tree(head_commit.tree))


# --------------------------------------------------------------------------- who is acting


def task_for_branch(view: Any, tasks: dict[str, dict[str, Any]], branch: str | None,
                    template: str) -> dict[str, Any] | None:
    """The task a branch belongs to: its recorded ``branch``, else the {task} in the template."""
    from gitcoord.branches import find_task_for_branch

    return find_task_for_branch(tasks, branch, template)


def acting_tasks(view: Any, tasks: dict[str, dict[str, Any]], *, agent: str, branch: str | None,
                 explicit: str | None, template: str) -> tuple[list[dict[str, Any]], str]:
    """(tasks, how they were found): --task, else the branch's task, else the agent's in_progress tasks."""
    if explicit:
        task = tasks.get(explicit)
        if task is None:
            raise NotFound(f"--task {explicit}: no such task (see `gitcoord task list`)")
        return [task], "--task"
    by_branch = task_for_branch(view, tasks, branch, template)
    if by_branch is not None:
        return [by_branch], f"branch {branch}"
    mine = [t for t in tasks.values() if t.get("agent") == agent and t.get("status") == "in_progress"]
    if mine:
        return sorted(mine, key=lambda t: t["id"]), f"in_progress tasks of {agent}"
    return [], "none"


def make_context(view: Any, *, agent: str, branch: str | None, mode: str, task: str | None = None,
                 coordination_branch: str = "gitcoord", paths: list[str] | None = None,
                 config: dict[str, Any] | None = None, tasks: dict[str, dict[str, Any]] | None = None) -> CheckContext:
    """Who acts on what, and the ownership index for ``paths``; ``tasks``: the view's tasks, if read already."""
    config = config if config is not None else view.config
    tasks = tasks if tasks is not None else load_tasks(view)
    acting, source = acting_tasks(view, tasks, agent=agent, branch=branch, explicit=task,
                                  template=config.get("branch_template") or "")
    return CheckContext(agent=agent, tasks=acting, task_source=source, branch=branch, mode=mode, config=config,
                        ownership=ownership_view(view, tasks, paths), coordination_branch=coordination_branch)


# --------------------------------------------------------------------------- rules


class LockSubsetView:
    """A view whose ``locks/`` holds only the locks whose resource could match the changed paths.

    The locks module still decides everything (expiry, who blocks whom); it just gets fewer
    candidates, so it compiles a few patterns instead of every lock's.
    """

    def __init__(self, view: Any, keep: Callable[[str], bool]):
        self._view = view
        self._keep = keep
        self._locks: dict[tuple[str, str | None], dict[str, Any]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)

    def load_dir(self, directory: str, suffix: str | None = None) -> dict[str, Any]:
        if directory != "locks":
            return self._view.load_dir(directory, suffix)
        key = (directory, suffix)
        if key not in self._locks:
            self._locks[key] = {path: lock for path, lock in self._view.load_dir(directory, suffix).items()
                                if not isinstance(lock, dict) or self._keep(str(lock.get("resource", "")))}
        return dict(self._locks[key])


def _lock_holders(lock: dict[str, Any]) -> list[str]:
    return [h.get("agent") for h in lock.get("holders") or [] if h.get("agent")]


def _lock_rows(found: Any) -> list[tuple[str, dict[str, Any]]]:
    """Normalise what the locks module returns: [(path, lock)] or {path: [lock]}."""
    if isinstance(found, dict):
        return [(path, lock) for path, locks in found.items() for lock in (locks if isinstance(locks, list) else [locks])]
    rows = []
    for item in found or []:
        if isinstance(item, tuple) and len(item) == 2:
            rows.append((item[0], item[1]))
    return rows


def check_branch(ctx: CheckContext, level: str = ERROR) -> list[Finding]:
    """The branch follows the template and names a known task (base and coordination branch exempt)."""
    branch = ctx.branch
    if not branch or branch in (ctx.config.get("base"), ctx.coordination_branch):
        return []
    template = ctx.config.get("branch_template") or ""
    from gitcoord.branches import parse_branch

    try:
        fields = parse_branch(branch, template)
    except UsageError as exc:
        return [Finding(None, "branch-name", level, f"branch_template is invalid: {exc.message}",
                        hint="fix it: gitcoord config set branch_template ...")]
    if fields is None and not (ctx.task_source.startswith("branch") or ctx.task_source == "--task"):
        return [Finding(None, "branch-name", level,
                        f"branch {branch!r} does not follow the template {template!r}",
                        hint="create task branches with `gitcoord branch create TASK` (or rename: git branch -m)")]
    if not ctx.task_source.startswith("branch") and ctx.task_source != "--task":
        named = (fields or {}).get("task")
        return [Finding(None, "branch-name", level,
                        f"branch {branch!r} names task {named!r}, which does not exist",
                        hint="check the id with `gitcoord task list`, or create the task first")]
    return []


def check_paths(view: Any, paths: list[str], ctx: CheckContext,
                commit_of: dict[str, str] | None = None, read: Reader | None = None) -> list[Finding]:
    """Ownership, unowned policy, locks and intents for ``paths`` (normalised already, as
    ``run_check`` does); then contracts and extra checks."""
    commit_of = commit_of or {}
    own = ctx.ownership
    findings: list[Finding] = []
    policy = (ctx.config.get("policies") or {}).get("unowned", "warn")
    acting_ids = set(ctx.task_ids)
    agents = ctx.agents
    owners_of = own.task_owners_many(paths)
    lock_view = LockSubsetView(view, prefilter(paths)) if paths else view
    held = _held_exclusive_index(lock_view, agents) if paths else None
    if not ctx.tasks:
        findings.append(Finding(None, "no-task", WARNING,
                                f"no task for this change (branch {ctx.branch or '-'}, agent {ctx.agent}): "
                                f"only other agents' tasks and locks are enforced",
                                hint="work on a task branch (`gitcoord branch create TASK`) or pass --task ID"))
    for path in paths:
        owners = owners_of[path]
        commit = commit_of.get(path)
        if owners and (acting_ids.intersection(owners) if ctx.tasks else
                       any((own.tasks[t].get("agent") in agents) for t in owners)):
            continue
        if held is not None and held.is_owned(path):
            continue  # an exclusive lock held by the acting agent lets it change the path
        if owners:
            owner_agents = own.agents_of(owners)
            who = ", ".join(f"{t} ({(own.tasks[t].get('agent') or 'unassigned')})" for t in owners)
            ask = owner_agents[0] if owner_agents else "its owner"
            mine = ", ".join(ctx.task_ids) or "no task"
            findings.append(Finding(
                path, "outside-ownership", ERROR,
                f"{path} is owned by task {who}, not by {mine}",
                owner=owners[0],
                hint=(f"ask {ask} for it: gitcoord lock acquire ./{path} (a request {ask} grants or denies; "
                      f"it gives you nothing until granted), or split the task"),
                commit=commit))
            continue
        imported = own.imported_owners(path)
        if imported:
            if own.imported_owner_is(path, agents):
                continue
            findings.append(Finding(
                path, "outside-ownership", ERROR,
                f"{path} is owned by {' '.join(imported)} (CODEOWNERS), not by {', '.join(ctx.task_ids) or ctx.agent}",
                owner=imported[0],
                hint=f"ask {imported[0]} before changing it, or leave it to them",
                commit=commit))
            continue
        if ctx.tasks and policy != "allow":
            level = ERROR if policy == "deny" else WARNING
            findings.append(Finding(
                path, "unowned", level, f"{path} is owned by no task (policies.unowned: {policy})",
                hint=f"add it to the task's owns: gitcoord task edit {ctx.task_ids[0]} --add-owns /{path}",
                commit=commit))
        elif not ctx.tasks and policy == "deny":
            findings.append(Finding(path, "unowned", ERROR, f"{path} is owned by no task (policies.unowned: deny)",
                                    hint="add it to a task's owns", commit=commit))
    findings.extend(_collision_findings(paths, ctx, commit_of, {f.path for f in findings if f.path and f.level == ERROR}))
    findings.extend(_lock_findings(lock_view, paths, ctx, commit_of))
    findings.extend(_contract_findings(view, paths, ctx, read))
    for extra in extra_checks:
        for item in extra(view, paths, ctx) or []:
            findings.append(item if isinstance(item, Finding) else Finding(**{
                k: item.get(k) for k in ("path", "rule", "level", "message", "owner", "hint", "commit")}))
    return findings


def _collision_findings(paths: list[str], ctx: CheckContext, commit_of: dict[str, str],
                        reported: set[str]) -> list[Finding]:
    """A path that a case-insensitive or Unicode-normalising file system sees as another task's path
    (``SRC/B/x.py``, an NFD-decomposed name) counts as that task's path."""
    from gitcoord.owners import LIVE_STATUSES
    from gitcoord.paths import fold

    own = ctx.ownership
    entries = [(p, tid) for tid, t in own.tasks.items() if t.get("status") in LIVE_STATUSES
               for p in t.get("owns") or () if isinstance(p, str)]
    odd_paths = [p for p in paths if fold(p) != p]
    odd_patterns = [(p, tid) for p, tid in entries if fold(p) != p]
    if not odd_paths and not odd_patterns:
        return []
    folded = {p: fold(p) for p in paths}
    keep = prefilter(folded.values())
    index = OwnershipIndex([(fold(p), tid) for p, tid in entries if keep(fold(p))])
    acting = set(ctx.task_ids)
    out: list[Finding] = []
    for path in paths:
        if path in reported:
            continue
        direct = set(own.task_owners(path)) if odd_patterns or folded[path] != path else set()
        others = [t for t in index.owners(folded[path]) if t not in direct and t not in acting]
        if not others or (not ctx.tasks and any(own.tasks[t].get("agent") in ctx.agents for t in others)):
            continue
        who = ", ".join(f"{t} ({own.tasks[t].get('agent') or 'unassigned'})" for t in others)
        out.append(Finding(path, "outside-ownership", ERROR,
                           f"{path} is the same file as a path of task {who} on a case-insensitive or "
                           f"Unicode-normalising file system", owner=others[0],
                           hint="rename it; the path belongs to that task", commit=commit_of.get(path)))
    return out


def symlinks(repo: pygit2.Repository, tip: str, paths: Iterable[str]) -> dict[str, str]:
    """``{path: target}`` for the changed paths that are symlinks at ``tip``."""
    tree = repo[tip].peel(pygit2.Tree)
    out: dict[str, str] = {}
    for path in paths:
        try:
            entry = tree[path]
        except (KeyError, ValueError):
            continue
        if entry.filemode == pygit2.GIT_FILEMODE_LINK:
            out[path] = repo[entry.id].data.decode("utf-8", "surrogateescape")
    return out


def check_links(links: dict[str, str], ctx: CheckContext, commit_of: dict[str, str]) -> list[Finding]:
    """A symlink whose target leaves the acting task's owned paths is a violation (it would let the
    task write, or read, someone else's files through a path it owns)."""
    import posixpath

    out: list[Finding] = []
    own = ctx.ownership
    acting = set(ctx.task_ids)
    for path, target in links.items():
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if target.startswith("/") or resolved == ".." or resolved.startswith("../") or "\0" in target:
            problem = "points outside the repository"
        else:
            owners = set(own.task_owners(resolved))
            if owners and (owners & acting if ctx.tasks else any(own.tasks[t].get("agent") in ctx.agents
                                                                   for t in owners)):
                continue
            problem = (f"points at {resolved}, owned by task {', '.join(sorted(owners))}" if owners
                       else f"points at {resolved}, which the task does not own")
        out.append(Finding(path, "symlink", ERROR, f"symlink {path} -> {target} {problem}",
                           hint="replace the symlink with a file, or point it inside the task's own paths",
                           commit=commit_of.get(path)))
    return out


def _held_exclusive_index(view: Any, agents: list[str]) -> OwnershipIndex | None:
    try:
        from gitcoord import locks as locks_module
    except ImportError:
        return None
    mine = [(lock["resource"], lock["id"]) for lock in locks_module.active_locks(view)
            if lock.get("type") == "exclusive" and set(_lock_holders(lock)) & set(agents)]
    return OwnershipIndex(mine) if mine else None


def _lock_findings(view: Any, paths: list[str], ctx: CheckContext, commit_of: dict[str, str]) -> list[Finding]:
    if not paths:
        return []
    try:
        from gitcoord import locks as locks_module
    except ImportError:
        return []
    findings: list[Finding] = []
    agents = set(ctx.agents)
    acting_ids = set(ctx.task_ids)
    for path, lock in _lock_rows(locks_module.locks_blocking(view, ctx.agent, paths)):
        holders = _lock_holders(lock)
        if lock.get("type") == "shared":
            # holders read, nobody modifies: a holder is blocked too while someone else shares it
            if all(name in agents for name in holders):
                continue
        elif agents.intersection(holders) or (lock.get("task") and lock.get("task") in acting_ids):
            continue
        holder = ", ".join(holders) or "someone"
        others = ", ".join(h for h in holders if h not in agents) or "someone"
        until = lock.get("expires_at") or "no expiry"
        resource = locks_module.display_resource(str(lock.get("resource")))
        findings.append(Finding(
            path, "locked", ERROR,
            f"{path} is locked ({lock.get('type')}, {resource}) by {holder} until {until}",
            owner=holders[0] if holders else None,
            hint=f"ask {others} to release it, or queue for it: gitcoord lock acquire {resource} --wait 1h",
            commit=commit_of.get(path)))
    intents = getattr(locks_module, "intents_on", None)
    if intents is not None:
        for path, lock in _lock_rows(intents(view, ctx.agent, paths)):
            holders = _lock_holders(lock)
            if agents.intersection(holders):
                continue
            reason = f": {lock['reason']}" if lock.get("reason") else ""
            findings.append(Finding(
                path, "intent", WARNING,
                f"{', '.join(holders) or 'someone'} intends to change {lock.get('resource')}{reason}",
                owner=holders[0] if holders else None,
                hint=f"coordinate: gitcoord msg request --to {holders[0] if holders else 'AGENT'} ...",
                commit=commit_of.get(path)))
    return findings


_SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def _contract_findings(view: Any, paths: list[str], ctx: CheckContext, read: Reader | None = None) -> list[Finding]:
    """Contract checks, only when a changed path could be a contract spec (keeps the hook lean)."""
    candidates = [p for p in paths if p.endswith(_SPEC_SUFFIXES)]
    if not candidates:
        return []
    globs = list((ctx.config.get("contracts") or {}).get("globs") or [])
    specs = {c.get("spec") for c in view.load_dir("contracts", ".yaml").values() if isinstance(c, dict)}
    index = OwnershipIndex([(g, "glob") for g in globs]) if globs else None
    touched = [p for p in candidates if p in specs or (index is not None and index.is_owned(p))]
    if not touched:
        return []
    try:
        from gitcoord import contracts as contracts_pkg

        check_changed = getattr(contracts_pkg, "check_changed", None)
    except ImportError:
        check_changed = None
    if check_changed is None:
        return []
    out: list[Finding] = []
    if read is not None:
        contents: dict[str, bytes | None] = {}
        for path in list(touched):
            try:
                contents[path] = read(path)
            except UsageError as exc:  # too big to read: a finding, not a store problem
                out.append(Finding(path, "contract", ERROR, exc.message, hint="keep contract specs small"))
                touched.remove(path)
        read = contents.get
    for item in check_changed(view, touched, ctx, read) or []:
        if isinstance(item, Finding):
            out.append(item)
        elif isinstance(item, dict):
            out.append(Finding(item.get("path"), item.get("rule") or "contract", item.get("level") or ERROR,
                               item.get("message") or "contract check failed", item.get("owner"), item.get("hint"),
                               item.get("commit")))
    return out


# --------------------------------------------------------------------------- whole checks


def run_check(view: Any, paths: list[str], *, agent: str, branch: str | None, mode: str,
              task: str | None = None, commit_of: dict[str, str] | None = None, commits: int = 0,
              branch_level: str | None = ERROR, coordination_branch: str = "gitcoord",
              config: dict[str, Any] | None = None, read: Reader | None = None,
              links: dict[str, str] | None = None, tasks: dict[str, dict[str, Any]] | None = None) -> CheckResult:
    """Check ``paths`` as changed by ``agent`` on ``branch``; ``branch_level`` None skips the branch rule.

    ``links`` maps changed symlinks to their targets (see ``symlinks``)."""
    from gitcoord.paths import checkout_refusal, normalize_repo_path

    refused: list[Finding] = []
    for raw in paths:
        why = checkout_refusal(raw)
        if why:
            refused.append(Finding(raw, "path", ERROR, f"{raw!r} {why}: git refuses to check it out",
                                   hint="remove or rename it", commit=(commit_of or {}).get(raw)))
    if refused:
        bad = {f.path for f in refused}
        paths = [p for p in paths if p not in bad]
    total = len(paths) + len(refused)
    paths = [normalize_repo_path(p) for p in paths]
    ctx = make_context(view, agent=agent, branch=branch, mode=mode, task=task,
                       coordination_branch=coordination_branch, paths=paths, config=config, tasks=tasks)
    findings: list[Finding] = list(refused)
    if branch_level is not None:
        findings.extend(check_branch(ctx, branch_level))
    findings.extend(check_paths(view, paths, ctx, commit_of, read))
    if links:
        findings.extend(check_links(links, ctx, commit_of or {}))
    return CheckResult(findings, ctx, total, commits)


OWNERSHIP_RULES = ("outside-ownership", "unowned", "path", "symlink")


class _ReadOnce:
    """A snapshot whose directories and config are read once, for many checks against it."""

    def __init__(self, view: Any):
        self._view = view
        self._dirs: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._config: dict[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)

    def load_dir(self, directory: str, suffix: str | None = None) -> dict[str, Any]:
        key = (directory, suffix)
        if key not in self._dirs:
            self._dirs[key] = self._view.load_dir(directory, suffix)
        return dict(self._dirs[key])

    @property
    def config(self) -> dict[str, Any]:
        if self._config is None:
            self._config = self._view.config
        return self._config


def exclude_foreign_changes(view: Any, repo: pygit2.Repository, target: str, selection: Any) -> None:
    """``merge run``: re-check each branch's net change against its own task before anything lands.

    A branch whose change (merge-base with ``target`` → tip) breaks ownership leaves
    ``selection.items`` for ``selection.excluded`` (reason ``ownership``), and so do its dependents:
    a crafted merge that got onto the branch past the hooks still never reaches the base.
    """
    base = ref_target(repo, target)
    view = _ReadOnce(view)  # every branch is checked against the same snapshot
    tasks = load_tasks(view)
    gone: set[str] = set()
    keep = []
    for item in selection.items:
        blocker = next((d for d in sorted(item.depends_on) if d in gone), None)
        if blocker:
            selection.excluded.append({"task": item.task, "reason": "dependency-skipped", "files": [],
                                       "caused_by": blocker, "detail": f"needs {blocker}, which cannot land"})
            gone.add(item.task)
            continue
        paths = net_change_paths(repo, item.commit, base)
        agent = (tasks.get(item.task) or {}).get("agent") or "unknown"
        result = run_check(view, paths, agent=agent, branch=item.branch, mode="merge", task=item.task,
                           branch_level=None, coordination_branch="", read=blob_reader(repo, item.commit),
                           links=symlinks(repo, item.commit, paths), tasks=tasks)
        bad = [f for f in result.findings if f.level == ERROR and f.rule in OWNERSHIP_RULES]
        if not bad:
            keep.append(item)
            continue
        gone.add(item.task)
        selection.excluded.append({"task": item.task, "reason": "ownership", "files": [f.path for f in bad if f.path],
                                   "caused_by": None,
                                   "detail": f"the branch changes paths its task does not own: {bad[0].message}"})
    selection.items = keep


# --------------------------------------------------------------------------- output formats


def render_text(result: CheckResult) -> str:
    ctx = result.context
    head = (f"gitcoord check ({ctx.mode}): {result.paths} path(s)"
            + (f" in {result.commits} commit(s)" if result.commits else "")
            + f", task {', '.join(ctx.task_ids) or '-'} ({ctx.task_source}), agent {ctx.agent}")
    if not result.findings:
        return head + "\nok: no violations"
    lines = [head, f"{'LEVEL':<8} {'RULE':<18} {'PATH':<40} MESSAGE"]
    for f in result.findings:
        lines.append(f"{f.level:<8} {f.rule:<18} {(f.path or '-'):<40} {f.message}")
        if f.hint:
            lines.append(f"{'':<8} {'':<18} {'':<40} → {f.hint}")
    errors = sum(1 for f in result.findings if f.level == ERROR)
    lines.append(f"{errors} error(s), {len(result.findings) - errors} warning(s)")
    return "\n".join(lines)


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(result: CheckResult) -> str:
    """GitHub Actions workflow commands (``::error file=…,title=…::message``), one per finding."""
    lines = []
    for f in result.findings:
        kind = "error" if f.level == ERROR else "warning"
        props = [f"title={_gh_escape('gitcoord ' + f.rule, True)}"]
        if f.path:
            props.insert(0, f"file={_gh_escape(f.path, True)}")
        message = f.message + (f" — {f.hint}" if f.hint else "")
        lines.append(f"::{kind} {','.join(props)}::{_gh_escape(message)}")
    if not lines:
        lines.append("::notice title=gitcoord check::no violations")
    return "\n".join(lines)


def render_junit(result: CheckResult) -> str:
    """JUnit XML: one test case per checked rule/path finding (errors fail, warnings are system-out)."""
    from xml.sax.saxutils import escape, quoteattr

    errors = [f for f in result.findings if f.level == ERROR]
    cases = []
    for f in result.findings:
        name = quoteattr(f"{f.rule}: {f.path or '-'}")
        body = escape(f.message + (f"\nhint: {f.hint}" if f.hint else ""))
        if f.level == ERROR:
            cases.append(f'    <testcase classname="gitcoord.{f.rule}" name={name}>\n'
                         f'      <failure type={quoteattr(f.rule)} message={quoteattr(f.message)}>{body}</failure>\n'
                         f'    </testcase>')
        else:
            cases.append(f'    <testcase classname="gitcoord.{f.rule}" name={name}>\n'
                         f'      <system-out>{body}</system-out>\n    </testcase>')
    if not cases:
        cases.append('    <testcase classname="gitcoord.check" name="no violations"/>')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuites name="gitcoord" tests="{len(cases)}" failures="{len(errors)}">\n'
            f'  <testsuite name="gitcoord check" tests="{len(cases)}" failures="{len(errors)}" errors="0">\n'
            + "\n".join(cases) + "\n  </testsuite>\n</testsuites>\n")
