"""Batch merge engine: land many task branches on a target ref, in dependency order, on git alone.

Everything happens on objects, never in the user's checkout: each branch is merged in memory
(``git merge-tree --write-tree`` or libgit2) on top of the running result, one ``--no-ff`` merge
commit per task. An optional test command runs in a throw-away linked worktree of the speculative
result; on failure the engine bisects over dependency-closed prefixes (prefixes of a topological
order are always dependency-closed) to find the first failing branch. Only at the end is the
target ref moved, by a compare-and-swap (locally) and/or an atomic ``git push`` with leases, so
the target is never half-merged and a concurrent move is detected rather than overwritten.

The coordination store (tasks, merge records, locks) is not used here: the caller passes the
items already in dependency order and records what :class:`BatchResult` reports.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Literal, Sequence

import pygit2

from gitcoord.errors import NotFound, RaceError, RemoteError, UsageError
from gitcoord.gitutil import merge_base_oid

Mode = Literal["skip", "prefix", "atomic"]
Backend = Literal["git", "pygit2"]
MODES: tuple[str, ...] = ("skip", "prefix", "atomic")
BACKENDS: tuple[str, ...] = ("git", "pygit2")
#: Measured in bench/merge.py: ``git merge-tree`` (merge-ort) only walks the subtrees that differ,
#: while libgit2 materialises a full index of the repository for every merge.
DEFAULT_BACKEND: Backend = "git"

#: Environment variables that would point a git child process at the wrong repository.
_GIT_LOCATION_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX", "GIT_COMMON_DIR")
#: What a merge record keeps of each test run's output: the last lines, at most this many characters.
OUTPUT_TAIL_LINES = 40
_OUTPUT_TAIL = 4000


@dataclass(frozen=True)
class MergeItem:
    """One task branch to land. ``commit`` is the branch tip (oid hex, or any revision)."""

    task: str
    commit: str
    branch: str | None = None
    depends_on: frozenset[str] = frozenset()


@dataclass
class PredictedConflict:
    """A conflict found by a trial merge.

    ``stage`` is ``"target"`` (the item alone against the target) or ``"cumulative"`` (the item on
    top of every earlier item of the batch). ``conflicts_with`` names the earlier items whose
    changes touch the conflicting files (cumulative stage only).
    """

    task: str
    stage: Literal["target", "cumulative"]
    files: list[str]
    conflicts_with: list[str] = field(default_factory=list)
    detail: str | None = None

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "stage": self.stage,
            "files": list(self.files),
            "conflicts_with": list(self.conflicts_with),
            "detail": self.detail,
        }


@dataclass
class ConflictReport:
    """What :func:`predict_conflicts` found; ``blocked`` maps a task to the dropped item it needs."""

    target: str
    base: str
    order: list[str]
    conflicts: list[PredictedConflict]
    blocked: dict[str, str]

    @property
    def clean(self) -> bool:
        return not self.conflicts and not self.blocked

    def for_task(self, task: str) -> list[PredictedConflict]:
        return [c for c in self.conflicts if c.task == task]

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "base": self.base,
            "order": list(self.order),
            "clean": self.clean,
            "conflicts": [c.to_dict() for c in self.conflicts],
            "blocked": dict(self.blocked),
        }


@dataclass
class TestRun:
    """One execution of the test command (cache hits are not runs)."""

    tree: str
    commit: str
    tasks: list[str]
    passed: bool
    seconds: float
    output_tail: str
    exit_code: int | None = None

    def to_dict(self) -> dict:
        return {
            "tree": self.tree,
            "commit": self.commit,
            "tasks": list(self.tasks),
            "passed": self.passed,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 3),
            "output_tail": self.output_tail,
        }


def output_tail(output: bytes, lines: int = OUTPUT_TAIL_LINES, limit: int = _OUTPUT_TAIL) -> str:
    """The last ``lines`` lines of a command's output (at most ``limit`` characters), as text."""
    text = output[-limit * 4:].decode(errors="replace")
    kept = text.rstrip("\n").split("\n")[-lines:]
    return "\n".join(kept)[-limit:]


@dataclass
class BatchResult:
    """What :func:`run_batch` did.

    ``result`` is the speculative tip that was (or would have been) landed, ``after`` the new
    target value, None when nothing landed. ``skipped`` entries are dicts with ``task``,
    ``reason`` (conflict | test-failed | target-failed | dependency-skipped | atomic-abort |
    prefix-cut), ``files``, ``caused_by`` (the root cause task, or None) and ``detail``.
    ``target_failed``: the target fails the test command on its own, so nothing landed and no
    branch was blamed.
    """

    target: str
    mode: str
    backend: str
    before: str
    after: str | None = None
    result: str | None = None
    merged: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    tested: bool = False
    test_runs: int = 0
    conflicts: list[PredictedConflict] = field(default_factory=list)
    commits: dict[str, str] = field(default_factory=dict)
    already_merged: list[str] = field(default_factory=list)
    landed: bool = False
    pushed: bool = False
    tests: list[TestRun] = field(default_factory=list)
    target_failed: bool = False

    @property
    def complete(self) -> bool:
        """True when every item landed (exit 0 in the CLI); False means exit 1."""
        return not self.skipped

    def to_dict(self) -> dict:
        return {
            "into": self.target,
            "mode": self.mode,
            "backend": self.backend,
            "before": self.before,
            "after": self.after,
            "result": self.result,
            "merged": list(self.merged),
            "skipped": [dict(s) for s in self.skipped],
            "tested": self.tested,
            "test_runs": self.test_runs,
            "conflicts": [c.to_dict() for c in self.conflicts],
            "commits": dict(self.commits),
            "already_merged": list(self.already_merged),
            "landed": self.landed,
            "pushed": self.pushed,
            "tests": [t.to_dict() for t in self.tests],
            "target_failed": self.target_failed,
        }


# --------------------------------------------------------------------------- small git helpers


def _git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}
    env.setdefault("LC_ALL", "C")
    if extra:
        env.update(extra)
    return env


def _repo_dir(repo: pygit2.Repository) -> str:
    return repo.workdir or repo.path


def _git(
    repo: pygit2.Repository, *args: str, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        ["git", *args],
        cwd=_repo_dir(repo),
        env=_git_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    if check and proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise RemoteError(f"git {args[0]} failed: {msg[-1] if msg else 'exit ' + str(proc.returncode)}")
    return proc


def _signature(repo: pygit2.Repository) -> pygit2.Signature:
    try:
        return repo.default_signature
    except (KeyError, pygit2.GitError):
        return pygit2.Signature("gitcoord", "gitcoord@localhost")


def _resolve_commit(repo: pygit2.Repository, rev: str, what: str) -> pygit2.Oid:
    try:
        obj = repo.revparse_single(rev)
        return obj.peel(pygit2.Commit).id
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        raise NotFound(
            f"{what}: commit {rev!r} not found in {_repo_dir(repo)} (fetch the branch first)"
        ) from None


def _resolve_target_ref(repo: pygit2.Repository, name: str) -> str:
    """Full name of a direct reference: ``main`` → ``refs/heads/main``."""
    candidates = [name] if name.startswith("refs/") else [f"refs/heads/{name}", f"refs/{name}", name]
    for cand in candidates:
        ref = repo.references.get(cand)
        if ref is None:
            continue
        if ref.type != pygit2.enums.ReferenceType.DIRECT:
            raise UsageError(f"target ref {name!r} is symbolic; name the branch it points to instead")
        return ref.name
    raise NotFound(f"target ref {name!r} does not exist in {_repo_dir(repo)}")


def checked_out_refs(repo: pygit2.Repository) -> dict[str, str]:
    """Branches checked out in any worktree of the repository: ref name → worktree path."""
    from gitcoord.gitutil import worktree_heads

    return worktree_heads(repo)


# --------------------------------------------------------------------------- in-memory merges


@dataclass
class _Outcome:
    tree: pygit2.Oid | None
    files: list[str]
    detail: str | None = None


def _merge_with_git(repo: pygit2.Repository, ours: pygit2.Oid, theirs: pygit2.Oid) -> _Outcome:
    proc = _git(
        repo, "merge-tree", "--write-tree", "--name-only", "-z", "--no-messages",
        str(ours), str(theirs), check=False,
    )
    if proc.returncode == 0:
        return _Outcome(pygit2.Oid(hex=proc.stdout.split(b"\0", 1)[0].decode()), [])
    if proc.returncode == 1:
        fields = proc.stdout.split(b"\0")
        files: list[str] = []
        for raw in fields[1:]:
            if not raw:
                break
            name = raw.decode(errors="surrogateescape")
            if name not in files:
                files.append(name)
        return _Outcome(None, files, "merge conflict")
    err = proc.stderr.decode(errors="replace").strip().splitlines()
    return _Outcome(None, [], err[-1] if err else f"git merge-tree exited {proc.returncode}")


MAX_LINEAR_WALK = 200  # commits of a branch checked for being a plain line before combining in-process


def _merge_in_process(repo: pygit2.Repository, ours: pygit2.Oid, theirs: pygit2.Oid,
                      base: pygit2.Oid | None = None) -> _Outcome | None:
    """The merge, when it is a pure combination of trees: the answer ``git merge-tree`` gives, or None.

    Where only one side changed a subtree, merge-ort takes that side's subtree; this does the same
    without a process, so the usual batch (branches changing a few files each) costs no git call
    per branch. Anything that needs git's judgement returns None and is left to ``git merge-tree``:
    a file or directory changed on both sides (content merges, add/add), a deletion or a type change
    in a directory both sides changed (rename and directory-rename detection could move the other
    side's changes), a non-UTF-8 name, or history that may have several merge bases. The merge
    base is unique when the branch's commits since it form a line: every commit in ``base..theirs``
    has one parent (a common ancestor inside that line would be a better base than ``base``).
    ``base``: the unique merge base, when the caller already knows it (see ``_ChainAncestry``).
    """
    if base is None:
        base = merge_base_oid(repo, ours, theirs)
        if base is None or _line_since(repo, theirs, base) is None:
            return None
    trees = [repo[oid].peel(pygit2.Tree).id for oid in (base, ours, theirs)]
    try:
        tree = _combine_trees(repo, *trees)
    except UnicodeDecodeError:
        return None
    return _Outcome(tree, []) if tree is not None else None


def _line_since(repo: pygit2.Repository, tip: pygit2.Oid, base: pygit2.Oid) -> list[pygit2.Oid] | None:
    """The commits of ``base..tip`` when each has one parent (a plain line of work), else None."""
    walker = repo.walk(tip, pygit2.enums.SortMode.NONE)
    walker.hide(base)
    line = []
    for commit in walker:
        if len(commit.parent_ids) != 1 or len(line) >= MAX_LINEAR_WALK:
            return None
        line.append(commit.id)
    return line


class _ChainAncestry:
    """What a merge chain's head descends from, to answer "already merged?" and "merge base?"
    without walking the growing chain for every branch (two libgit2 walks of ~1 ms each per
    branch on a 50-branch batch).

    The head is ``start`` plus the merged tips. For a tip whose commits since its merge base with
    ``start`` form a line (``_line_since``) that shares no commit with the lines merged before:
    the tip is not in the head's history, and that merge base is the head's unique merge base with
    it (every common ancestor lies below it). A tip in a line merged before, or with no commit
    of its own, is already merged. Anything else (stacked or merge-containing branches) is
    answered by libgit2, and from then on every answer is.
    """

    def __init__(self, repo: pygit2.Repository, start: pygit2.Oid):
        self.repo = repo
        self.start = start
        self.merged_lines: set[pygit2.Oid] = set()
        self.exact = True
        self._line: list[pygit2.Oid] | None = None

    def relation(self, tip: pygit2.Oid) -> tuple[bool, pygit2.Oid | None] | None:
        """``(already merged, merge base)`` for the next tip, or None when libgit2 must answer."""
        self._line = None
        if not self.exact:
            return None
        if tip in self.merged_lines:
            return True, None
        base = merge_base_oid(self.repo, self.start, tip)
        if base is None:
            return None
        line = _line_since(self.repo, tip, base)
        if line is None or not self.merged_lines.isdisjoint(line):
            return None
        if not line:
            return True, None  # in start's own history
        self._line = line
        return False, base

    def merged(self, known: bool) -> None:
        """The tip just asked about was merged into the head (``known``: relation() had answered)."""
        if known and self._line is not None:
            self.merged_lines.update(self._line)
        else:
            self.exact = False


def _combine_trees(repo: pygit2.Repository, base: pygit2.Oid | None, ours: pygit2.Oid,
                   theirs: pygit2.Oid) -> pygit2.Oid | None:
    """``ours`` + ``theirs``'s changes since ``base`` when no entry needs a real merge; None otherwise."""
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    from gitcoord.gitutil import TREE_MODE, parse_tree_entries, raw_tree_entries

    b, o, t = (raw_tree_entries(repo, oid) for oid in (base, ours, theirs))
    ours_changed, theirs_changed = parse_tree_entries(o - b), parse_tree_entries(t - b)
    ours_deleted = parse_tree_entries(b - o).keys() - ours_changed.keys()
    theirs_deleted = parse_tree_entries(b - t).keys() - theirs_changed.keys()
    if ours_deleted or theirs_deleted:
        return None  # a deletion in a directory both sides changed: git decides (renames)
    base_changed = parse_tree_entries((b - o) | (b - t))
    changes: dict[bytes, tuple[int, pygit2.Oid]] = {}
    for name, mine in ours_changed.items():
        before = base_changed.get(name)
        if before is not None and (before[0] == TREE_MODE) != (mine[0] == TREE_MODE):
            return None  # a type change
    for name, other in theirs_changed.items():
        before = base_changed.get(name)
        if before is not None and (before[0] == TREE_MODE) != (other[0] == TREE_MODE):
            return None
        mine = ours_changed.get(name)
        if mine is None:
            changes[name] = other  # only theirs changed it
        elif mine != other:
            if mine[0] != TREE_MODE or other[0] != TREE_MODE:
                return None  # a file changed on both sides (or added twice): a content merge
            sub = _combine_trees(repo, before[1] if before is not None else None, mine[1], other[1])
            if sub is None:
                return None
            if sub != mine[1]:
                changes[name] = (TREE_MODE, sub)
    if not changes:
        return ours
    builder = repo.TreeBuilder(repo[ours])
    for name, (mode, oid) in changes.items():
        builder.insert(name.decode("utf-8"), oid, mode)
    return builder.write()


def _merge_with_pygit2(repo: pygit2.Repository, ours: pygit2.Oid, theirs: pygit2.Oid) -> _Outcome:
    try:
        index = repo.merge_commits(ours, theirs)
    except pygit2.GitError as exc:
        return _Outcome(None, [], str(exc))
    if index.conflicts is not None:
        files: list[str] = []
        for entries in index.conflicts:
            for entry in entries:
                if entry is not None and entry.path not in files:
                    files.append(entry.path)
        return _Outcome(None, sorted(files), "merge conflict")
    return _Outcome(index.write_tree(repo), [])


def _merge_like_git(repo: pygit2.Repository, ours: pygit2.Oid, theirs: pygit2.Oid,
                    base: pygit2.Oid | None = None) -> _Outcome:
    """git's merge: combined in-process when that gives git's answer, else ``git merge-tree``."""
    return _merge_in_process(repo, ours, theirs, base) or _merge_with_git(repo, ours, theirs)


_MERGERS: dict[str, Callable[..., _Outcome]] = {
    "git": _merge_like_git,
    "pygit2": _merge_with_pygit2,
}


def _check_items(repo: pygit2.Repository, items: Sequence[MergeItem]) -> dict[str, pygit2.Oid]:
    """Resolve every tip and check ids are unique and dependencies come first."""
    seen: set[str] = set()
    tips: dict[str, pygit2.Oid] = {}
    all_tasks = {item.task for item in items}
    for item in items:
        if not isinstance(item, MergeItem):
            raise UsageError(f"merge items must be MergeItem, got {type(item).__name__}")
        if item.task in seen:
            raise UsageError(f"task {item.task} appears twice in the merge batch")
        late = sorted((item.depends_on & all_tasks) - seen - {item.task})
        if late:
            raise UsageError(
                f"task {item.task} depends on {', '.join(late)}, which comes later in the batch; "
                "pass the items in dependency order"
            )
        seen.add(item.task)
        tips[item.task] = _resolve_commit(repo, item.commit, f"task {item.task}")
    return tips


@dataclass
class _Link:
    """One merged item in the speculative chain."""

    item: MergeItem
    parent: pygit2.Oid
    commit: pygit2.Oid
    tree: pygit2.Oid


class _Chain:
    """Merges items one by one on top of a running result, recording conflicts and drops."""

    def __init__(
        self,
        repo: pygit2.Repository,
        backend: str,
        tips: dict[str, pygit2.Oid],
        *,
        message: Callable[[MergeItem], str] | None = None,
        signature: pygit2.Signature | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.repo = repo
        self.merge = _MERGERS[backend]
        self.tips = tips
        self.message = message
        self.signature = signature or _signature(repo)
        self.progress = progress
        self.root_cause: dict[str, str] = {}
        self.skipped: dict[str, dict] = {}
        self.conflicts: list[PredictedConflict] = []
        self.already_merged: set[str] = set()
        self._changed_paths: dict[pygit2.Oid, set[str]] = {}

    def drop(self, task: str, reason: str, files: Iterable[str] = (), *,
             caused_by: str | None = None, detail: str | None = None) -> None:
        self.root_cause[task] = caused_by or task
        self.skipped[task] = {
            "task": task,
            "reason": reason,
            "files": list(files),
            "caused_by": caused_by,
            "detail": detail,
        }

    def blocker(self, item: MergeItem) -> str | None:
        """The root cause of a dropped dependency of ``item``, if any."""
        for dep in sorted(item.depends_on):
            if dep in self.root_cause:
                return self.root_cause[dep]
        return None

    def _paths_changed_by(self, link: _Link) -> set[str]:
        if link.commit not in self._changed_paths:
            diff = self.repo.diff(self.repo[link.parent].peel(pygit2.Tree), self.repo[link.tree])
            paths: set[str] = set()
            for delta in diff.deltas:
                paths.add(delta.old_file.path)
                paths.add(delta.new_file.path)
            self._changed_paths[link.commit] = paths
        return self._changed_paths[link.commit]

    def _commit_message(self, item: MergeItem, position: str) -> str:
        if self.message is not None:
            text = self.message(item).rstrip("\n")
        else:
            what = f"branch '{item.branch}'" if item.branch else f"commit {item.commit[:12]}"
            text = f"Merge {what} (task {item.task})\n\nBatch merge by gitcoord, item {position}."
        if f"Task: {item.task}" not in text.splitlines():
            text += f"\n\nTask: {item.task}"
        return text + "\n"

    def extend(self, start: pygit2.Oid, items: Sequence[MergeItem], links: list[_Link]) -> list[_Link]:
        """Merge ``items`` on top of ``start`` (the tip of ``links``); return the longer chain."""
        links = list(links)
        head = start
        ancestry = _ChainAncestry(self.repo, start) if self.merge is _merge_like_git else None
        for number, item in enumerate(items, 1):
            if item.task in self.skipped:
                continue
            cause = self.blocker(item)
            if cause is not None:
                self.drop(item.task, "dependency-skipped", caused_by=cause,
                          detail=f"depends on a task left out because of {cause}")
                continue
            tip = self.tips[item.task]
            if self.progress:
                self.progress(f"merging {item.task} ({number}/{len(items)})")
            known = ancestry.relation(tip) if ancestry is not None else None
            if tip == head or (known[0] if known is not None else self.repo.descendant_of(head, tip)):
                self.already_merged.add(item.task)
                links.append(_Link(item, head, head, self.repo[head].peel(pygit2.Tree).id))
                continue
            outcome = self.merge(self.repo, head, tip, *([known[1]] if known is not None else []))
            if outcome.tree is None:
                involved = set(outcome.files)
                with_tasks = [
                    link.item.task for link in links
                    if link.commit != link.parent and involved & self._paths_changed_by(link)
                ]
                self.conflicts.append(PredictedConflict(
                    item.task, "cumulative", outcome.files, with_tasks, outcome.detail))
                self.drop(item.task, "conflict", outcome.files, detail=outcome.detail)
                continue
            commit = self.repo.create_commit(
                None, self.signature, self.signature,
                self._commit_message(item, f"{number}/{len(items)}"),
                outcome.tree, [head, tip],
            )
            links.append(_Link(item, head, commit, outcome.tree))
            head = commit
            if ancestry is not None:
                ancestry.merged(known is not None)
        return links


# --------------------------------------------------------------------------- public API


def predict_conflicts(
    repo: pygit2.Repository,
    target: str,
    items: Sequence[MergeItem],
    *,
    backend: Backend = DEFAULT_BACKEND,
) -> ConflictReport:
    """Trial-merge each item against ``target`` alone, then cumulatively in the given order.

    Nothing is written but blobs and trees (unreferenced objects, collected by ``git gc``). In the
    cumulative pass a conflicting item is left out and its dependents are reported in ``blocked``.
    """
    if backend not in _MERGERS:
        raise UsageError(f"merge backend {backend!r} is not one of {', '.join(BACKENDS)}")
    base = _resolve_commit(repo, target, "merge target")
    tips = _check_items(repo, items)
    merge = _MERGERS[backend]
    conflicts: list[PredictedConflict] = []
    for item in items:
        tip = tips[item.task]
        if tip == base or repo.descendant_of(base, tip):
            continue
        outcome = merge(repo, base, tip)
        if outcome.tree is None:
            conflicts.append(PredictedConflict(item.task, "target", outcome.files, [], outcome.detail))
    # The cumulative pass writes (unreferenced) merge commits: the next merge needs them as parents.
    chain = _Chain(repo, backend, tips)
    chain.extend(base, items, [])
    conflicts.extend(chain.conflicts)
    blocked = {
        task: entry["caused_by"]
        for task, entry in chain.skipped.items()
        if entry["reason"] == "dependency-skipped"
    }
    return ConflictReport(target, str(base), [i.task for i in items], conflicts, blocked)


def dry_run_estimate(items: Sequence[MergeItem], test_cmd: str | None, *, failures: int = 0) -> int:
    """Expected test runs: one when everything passes, plus a bisection (⌈log2 n⌉) and a re-test
    for each failing branch (``failures``)."""
    n = len(items)
    if not test_cmd or n == 0:
        return 0
    per_failure = math.ceil(math.log2(n)) + 1 if n > 1 else 0
    return 1 + min(failures, n) * per_failure


class _Tester:
    """Runs the test command in throw-away worktrees, caching verdicts by tree id."""

    def __init__(self, repo: pygit2.Repository, test_cmd: str,
                 progress: Callable[[str], None] | None) -> None:
        self.repo = repo
        self.test_cmd = test_cmd
        self.progress = progress
        self.verdicts: dict[pygit2.Oid, bool] = {}
        self.runs: list[TestRun] = []

    def passes(self, commit: pygit2.Oid, tree: pygit2.Oid, tasks: list[str]) -> bool:
        if tree in self.verdicts:
            return self.verdicts[tree]
        if self.progress:
            self.progress(f"testing {len(tasks)} task(s) at {str(commit)[:12]} (run {len(self.runs) + 1})")
        started = time.monotonic()
        scratch = tempfile.mkdtemp(prefix="gitcoord-merge-test-")
        worktree = os.path.join(scratch, "wt")
        try:
            _git(self.repo, "-c", "core.hooksPath=/dev/null", "worktree", "add", "--detach",
                 "--quiet", worktree, str(commit))
            proc = subprocess.run(
                ["sh", "-c", self.test_cmd],
                cwd=worktree,
                env=_git_env({
                    "GITCOORD_MERGE_TASKS": " ".join(tasks),
                    "GITCOORD_MERGE_COMMIT": str(commit),
                }),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            passed = proc.returncode == 0
            tail = output_tail(proc.stdout)
        finally:
            _git(self.repo, "worktree", "remove", "--force", worktree, check=False)
            shutil.rmtree(scratch, ignore_errors=True)
            _git(self.repo, "worktree", "prune", check=False)
        self.verdicts[tree] = passed
        self.runs.append(TestRun(str(tree), str(commit), tasks, passed,
                                 time.monotonic() - started, tail, proc.returncode))
        return passed

    def first_failing(self, base: pygit2.Oid, links: list[_Link]) -> int:
        """Index in ``links`` of the item whose prefix first fails; the whole chain must fail.

        The empty prefix (the target itself) is assumed to pass; :meth:`base_passes` checks it.
        """
        lo, hi = 0, len(links)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            link = links[mid - 1]
            if self.passes(link.commit, link.tree, [l.item.task for l in links[:mid]]):
                lo = mid
            else:
                hi = mid
        return hi - 1

    def base_passes(self, base: pygit2.Oid) -> bool:
        return self.passes(base, self.repo[base].peel(pygit2.Tree).id, [])


def _push(
    repo: pygit2.Repository,
    remote: str,
    updates: Sequence[tuple[str, str, str | None]],
) -> None:
    """One ``git push --atomic`` of every (ref, new, expected-old) with its own lease."""
    args = ["push", "--atomic", "--porcelain", remote]
    for ref, _new, old in updates:
        args.append(f"--force-with-lease={ref}:{old or ''}")
    for ref, new, _old in updates:
        args.append(f"{new}:{ref}")
    proc = _git(repo, *args, check=False)
    if proc.returncode == 0:
        return
    out = proc.stdout.decode(errors="replace")
    err = proc.stderr.decode(errors="replace").strip()
    rejected = [line for line in out.splitlines() if line.startswith("!")]
    stale = [line for line in rejected
             if any(w in line for w in ("stale info", "fetch first", "non-fast-forward", "already exists"))]
    if stale:
        refs = ", ".join(line.split("\t")[1].split(":")[-1] for line in stale if "\t" in line)
        raise RaceError(
            f"push to {remote} rejected: {refs or 'a ref'} moved on the remote since it was read; "
            "fetch and run the merge again",
            data={"remote": remote, "porcelain": out},
        )
    reason = rejected[0].split("\t")[-1] if rejected else (err.splitlines()[-1] if err else "")
    raise RemoteError(f"push to {remote} failed: {reason or 'exit ' + str(proc.returncode)}",
                      data={"remote": remote, "porcelain": out, "stderr": err})


def _land(
    repo: pygit2.Repository,
    ref: str,
    before: pygit2.Oid,
    after: pygit2.Oid,
    *,
    land: bool,
    push_remote: str | None,
    extra_push_refs: Sequence[tuple[str, str, str | None]],
    signature: pygit2.Signature,
    log_message: str,
    push_ref: str | None = None,
) -> None:
    """Move ``ref`` from ``before`` to ``after``: push first (atomic, leased), then the local CAS.

    The local ref stays locked during the push, so a lost push leaves everything as it was and a
    won push cannot be overtaken locally. ``push_ref`` names the ref on the remote when it differs
    from the local one (a remote-tracking ref stands for the remote's branch).
    """
    updates = [(push_ref or ref, str(after), str(before)), *extra_push_refs]
    if not land:
        if push_remote:
            _push(repo, push_remote, updates)
        return
    try:
        with repo.transaction() as tx:
            tx.lock_ref(ref)
            current = repo.references.get(ref)
            if current is None or current.target != before:
                now = str(current.target) if current is not None else "deleted"
                raise RaceError(
                    f"target {ref} moved during the merge ({str(before)[:12]} → {now[:12]}); "
                    "nothing was landed, run the merge again",
                    data={"ref": ref, "before": str(before), "current": now, "result": str(after)},
                )
            if push_remote:
                _push(repo, push_remote, updates)
            # pygit2 1.21 cannot pass a Signature here (cffi type error); libgit2 uses the repo identity.
            tx.set_target(ref, after, message=log_message)
    except pygit2.GitError as exc:
        raise RaceError(f"could not update {ref}: {exc}; nothing was landed locally",
                        data={"ref": ref, "result": str(after), "pushed": bool(push_remote)}) from None


def land_result(
    repo: pygit2.Repository,
    target_ref: str,
    before: str,
    after: str,
    *,
    land: bool = True,
    push_remote: str | None = None,
    extra_push_refs: Sequence[tuple[str, str, str | None]] = (),
    push_ref: str | None = None,
) -> None:
    """Land an already computed result (``BatchResult.result``) the way :func:`run_batch` does.

    For callers that must build other refs from the result first (the coordination branch
    record that goes in the same atomic push). With ``push_ref``, ``target_ref`` may be the
    remote-tracking ref of the remote's ``push_ref``: it moves only when the push succeeded."""
    ref = _resolve_target_ref(repo, target_ref)
    _land(repo, ref, pygit2.Oid(hex=before), pygit2.Oid(hex=after), land=land, push_remote=push_remote,
          extra_push_refs=extra_push_refs, signature=_signature(repo),
          log_message=f"gitcoord merge: {str(before)[:12]} -> {str(after)[:12]}", push_ref=push_ref)


def run_batch(
    repo: pygit2.Repository,
    target_ref: str,
    items: Sequence[MergeItem],
    *,
    mode: Mode = "skip",
    test_cmd: str | None = None,
    land: bool = True,
    allow_checked_out: bool = False,
    push_remote: str | None = None,
    extra_push_refs: Sequence[tuple[str, str, str | None]] = (),
    progress: Callable[[str], None] | None = None,
    message: Callable[[MergeItem], str] | None = None,
    backend: Backend = DEFAULT_BACKEND,
    signature: pygit2.Signature | None = None,
) -> BatchResult:
    """Merge ``items`` (already in dependency order) onto ``target_ref`` and land the result.

    Never touches a worktree, index or HEAD. Raises UsageError/NotFound for bad input (also when
    the target is checked out somewhere and ``allow_checked_out`` is false), RaceError when the
    target (or a leased push ref) moved meanwhile, RemoteError when the push fails otherwise.
    """
    if mode not in MODES:
        raise UsageError(f"merge mode {mode!r} is not one of {', '.join(MODES)}")
    if backend not in _MERGERS:
        raise UsageError(f"merge backend {backend!r} is not one of {', '.join(BACKENDS)}")
    ref = _resolve_target_ref(repo, target_ref)
    if land and not allow_checked_out:
        where = checked_out_refs(repo).get(ref)
        if where is not None:
            raise UsageError(
                f"refusing to move {ref}: it is checked out in the worktree at {where}; "
                "merge into another ref, switch that worktree away, or allow it explicitly"
            )
    before = repo.references[ref].target
    tips = _check_items(repo, items)
    sig = signature or _signature(repo)
    result = BatchResult(target=ref, mode=mode, backend=backend, before=str(before))
    chain = _Chain(repo, backend, tips, message=message, signature=sig, progress=progress)
    links = chain.extend(before, items, [])
    position = {item.task: n for n, item in enumerate(items)}

    def cut_after(index: int, reason: str, cause: str | None) -> None:
        """Leave out every item at or after original position ``index`` that is still in."""
        for item in items[index:]:
            if item.task not in chain.skipped:
                chain.drop(item.task, reason, caused_by=cause)

    # Conflicts decided by mode.
    failed_positions = [position[t] for t, s in chain.skipped.items() if s["reason"] == "conflict"]
    if failed_positions and mode == "atomic":
        cut_after(0, "atomic-abort", None)
        links = []
    elif failed_positions and mode == "prefix":
        first = min(failed_positions)
        cut_after(first, "prefix-cut", items[first].task)
        links = [link for link in links if position[link.item.task] < first]

    tester = _Tester(repo, test_cmd, progress) if test_cmd else None
    while tester is not None and links and not tester.passes(
        links[-1].commit, links[-1].tree, [l.item.task for l in links]
    ):
        culprit = tester.first_failing(before, links)
        # A branch is blamed only on evidence that the prefix before it passes; for the first
        # branch that prefix is the target alone, so the target is tested before blaming it.
        if culprit == 0 and not tester.base_passes(before):
            for link in links:
                chain.drop(link.item.task, "target-failed", caused_by=None,
                           detail=f"{ref} fails the test command on its own; no branch is blamed")
            links = []
            result.target_failed = True
            break
        bad = links[culprit].item
        failed = next((r for r in reversed(tester.runs) if r.tree == str(links[culprit].tree)), None)
        code = f" (exit {failed.exit_code})" if failed is not None else ""
        chain.drop(bad.task, "test-failed", detail=f"the test command failed{code} with this branch merged")
        if mode == "atomic":
            cut_after(0, "atomic-abort", bad.task)
            links = []
            break
        if mode == "prefix":
            cut_after(position[bad.task], "prefix-cut", bad.task)
            links = links[:culprit]
            break
        kept = links[:culprit]
        rest = [link.item for link in links[culprit + 1:]]
        start = kept[-1].commit if kept else before
        links = chain.extend(start, rest, kept)

    result.conflicts = chain.conflicts
    result.skipped = [chain.skipped[item.task] for item in items if item.task in chain.skipped]
    if tester is not None:
        result.test_runs = len(tester.runs)
        result.tests = tester.runs
        result.tested = bool(tester.runs) or bool(tester.verdicts)
    if not links:
        return result
    tip = links[-1].commit
    result.result = str(tip)
    result.merged = [link.item.task for link in links]
    result.commits = {link.item.task: str(link.commit) for link in links}
    result.already_merged = [t for t in result.merged if t in chain.already_merged]
    if tip == before or not (land or push_remote):
        return result
    if progress:
        progress(f"landing {len(links)} task(s) on {ref}")
    _land(
        repo, ref, before, tip,
        land=land, push_remote=push_remote, extra_push_refs=extra_push_refs, signature=sig,
        log_message=f"gitcoord merge: {len(links)} task(s): {', '.join(result.merged)}",
    )
    result.after = str(tip)
    result.landed = land
    result.pushed = bool(push_remote)
    return result
