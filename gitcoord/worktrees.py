"""A linked git worktree per task, so parallel agents never share a checkout.

`task start --worktree` creates one on the task branch (by default under
``.gitcoord/worktrees/<task>`` in the main work tree, hidden through ``.git/info/exclude`` so
the user's ``.gitignore`` is never edited), records the claiming agent in that worktree's own
config (so every gitcoord command run inside it acts as that agent), and runs the
``worktree.setup`` commands of gitcoord.yaml there, keeping their output in a log file.

A worktree with uncommitted or untracked work is never removed: that would lose data.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pygit2

from gitcoord import gitutil
from gitcoord.errors import UsageError, Violation

DEFAULT_DIR = Path(".gitcoord") / "worktrees"
EXCLUDE_LINE = "/.gitcoord/"
FINISHED = ("merged", "cancelled")


@dataclass
class Worktree:
    path: str
    branch: str | None
    task: str | None = None
    status: str | None = None
    agent: str | None = None
    dirty: bool = False
    prunable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "branch": self.branch, "task": self.task, "status": self.status,
                "agent": self.agent, "dirty": self.dirty, "prunable": self.prunable}


@dataclass
class Created:
    path: str
    branch: str
    created: bool
    identity: str
    setup: list[dict[str, Any]] = field(default_factory=list)
    setup_log: str | None = None

    @property
    def setup_ok(self) -> bool:
        return all(s["exit_code"] == 0 for s in self.setup)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "branch": self.branch, "created": self.created, "identity": self.identity,
                "setup": self.setup, "setup_log": self.setup_log, "setup_ok": self.setup_ok}


def main_worktree(repo: pygit2.Repository) -> Path:
    """The main work tree's root (worktrees of a bare repository live next to its git directory)."""
    common = gitutil.common_dir(repo)
    if common.name == ".git":
        return common.parent
    return common


def default_path(repo: pygit2.Repository, task_id: str) -> Path:
    return main_worktree(repo) / DEFAULT_DIR / task_id


def log_path(repo: pygit2.Repository, task_id: str) -> Path:
    """Where setup output is kept: outside the worktree (it would make it dirty) and surviving its removal."""
    return gitutil.cache_dir(repo) / "worktrees" / f"{task_id}.setup.log"


def ensure_excluded(repo: pygit2.Repository) -> None:
    """Hide ``.gitcoord/`` from `git status` through info/exclude (the user's .gitignore stays theirs)."""
    info = gitutil.common_dir(repo) / "info"
    info.mkdir(parents=True, exist_ok=True)
    exclude = info / "exclude"
    text = exclude.read_text(encoding="utf-8", errors="replace") if exclude.exists() else ""
    if EXCLUDE_LINE in text.splitlines():
        return
    with exclude.open("a", encoding="utf-8") as fh:
        if text and not text.endswith("\n"):
            fh.write("\n")
        fh.write(f"# gitcoord: per-task worktrees\n{EXCLUDE_LINE}\n")


def _git(cwd: str | os.PathLike[str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GITCOORD_INTERNAL="1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(var, None)
    proc = subprocess.run(["git", "-C", os.fspath(cwd), *args], capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise UsageError(f"git {args[0]} {args[1] if len(args) > 1 else ''}: "
                         f"{gitutil.git_error_line(proc.stderr, proc.returncode)}")
    return proc


def listed(repo: pygit2.Repository) -> list[dict[str, Any]]:
    """`git worktree list --porcelain`, linked worktrees only: ``{path, branch, prunable}``."""
    proc = _git(main_worktree(repo), "worktree", "list", "--porcelain", check=False)
    out: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in proc.stdout.splitlines() + [""]:
        if line.startswith("worktree "):
            current = {"path": line[len("worktree "):], "branch": None, "prunable": False, "bare": False}
        elif current is None:
            continue
        elif line.startswith("branch "):
            ref = line[len("branch "):]
            current["branch"] = ref[len("refs/heads/"):] if ref.startswith("refs/heads/") else ref
        elif line.startswith("prunable"):
            current["prunable"] = True
        elif line == "bare":
            current["bare"] = True
        elif line == "":
            out.append(current)
            current = None
    main = os.path.realpath(main_worktree(repo))
    return [w for w in out if not w["bare"] and os.path.realpath(w["path"]) != main]


def is_dirty(path: str | os.PathLike[str]) -> bool:
    """Uncommitted changes or untracked (not ignored) files."""
    proc = _git(path, "status", "--porcelain", "--untracked-files=all", check=False)
    return proc.returncode != 0 or bool(proc.stdout.strip())


def for_task(repo: pygit2.Repository, branch: str | None) -> str | None:
    """The linked worktree that has ``branch`` checked out, if any."""
    if not branch:
        return None
    return next((w["path"] for w in listed(repo) if w["branch"] == branch and not w["prunable"]), None)


def create(repo: pygit2.Repository, task_id: str, branch: str, agent: str, *, path: str | None = None,
           setup: list[str] | None = None, env: Mapping[str, str] | None = None) -> Created:
    """A linked worktree on ``branch`` (existing), acting as ``agent``; idempotent for the same task."""
    existing = for_task(repo, branch)
    target = Path(path).expanduser() if path else default_path(repo, task_id)
    target = Path(os.path.abspath(target))
    if existing and os.path.realpath(existing) != os.path.realpath(target) and path:
        raise UsageError(f"--worktree {path}: branch {branch} is already checked out in {existing}")
    created = False
    if existing:
        target = Path(existing)
    else:
        checked = gitutil.worktree_heads(repo).get(f"refs/heads/{branch}")
        if checked:
            raise UsageError(f"branch {branch} is checked out in {checked}: move that checkout off it first "
                             f"(`git -C {_quote(checked)} switch --detach`), then run this again")
        if target.exists() and any(target.iterdir()):
            raise UsageError(f"--worktree {target}: the directory exists and is not empty")
        if str(target).startswith(str(main_worktree(repo) / DEFAULT_DIR)):
            ensure_excluded(repo)
        target.parent.mkdir(parents=True, exist_ok=True)
        _git(main_worktree(repo), "worktree", "add", "--quiet", str(target), branch)
        created = True
    wt_repo = pygit2.Repository(str(target))
    identity = gitutil.set_agent_config(wt_repo, agent)
    result = Created(str(target), branch, created, identity)
    marker = setup_marker(repo, task_id)
    if created:
        marker.unlink(missing_ok=True)
    if setup and not marker.exists():  # new, or its setup failed last time: (re)run it
        result.setup, result.setup_log = run_setup(repo, task_id, str(target), setup, env or {})
        if result.setup_ok:
            marker.write_text(str(target))
    return result


def setup_marker(repo: pygit2.Repository, task_id: str) -> Path:
    """Present once a worktree's setup commands all succeeded."""
    return log_path(repo, task_id).with_suffix(".ok")


def _quote(path: str) -> str:
    import shlex

    return shlex.quote(path)


def run_setup(repo: pygit2.Repository, task_id: str, path: str, commands: list[str],
              env: Mapping[str, str]) -> tuple[list[dict[str, Any]], str]:
    """Run each ``worktree.setup`` command (a shell line from gitcoord.yaml) in the worktree, in order,
    stopping at the first failure; all output goes to the task's setup log."""
    log = log_path(repo, task_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    full_env = dict(os.environ, **env)
    full_env.pop("GITCOORD_INTERNAL", None)
    with log.open("ab") as fh:
        for command in commands:
            fh.write(f"$ {command}\n".encode())
            fh.flush()
            proc = subprocess.run(command, shell=True, cwd=path, stdout=fh, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=full_env)
            fh.write(f"[exit {proc.returncode}]\n".encode())
            fh.flush()
            results.append({"command": command, "exit_code": proc.returncode})
            if proc.returncode != 0:
                break
    return results, str(log)


def inventory(repo: pygit2.Repository, tasks: Mapping[str, Mapping[str, Any]]) -> list[Worktree]:
    """Every linked worktree, with the task whose branch it has checked out."""
    by_branch = {t.get("branch"): t for t in tasks.values() if t.get("branch")}
    out = []
    for w in listed(repo):
        wt = _worktree(w, by_branch.get(w["branch"]))
        if not w["prunable"]:
            _read_state(wt)
        out.append(wt)
    return out


def _worktree(listing: dict[str, Any], task: Mapping[str, Any] | None) -> Worktree:
    return Worktree(listing["path"], listing["branch"], task["id"] if task else None, task["status"] if task else None,
                    task.get("agent") if task else None, prunable=listing["prunable"])


def _read_state(wt: Worktree) -> None:
    """Whether it is dirty, and the agent its own git config names (a `git status` each: only when needed)."""
    wt.dirty = is_dirty(wt.path)
    try:
        wt.agent = gitutil.git_config_get(pygit2.Repository(wt.path), "gitcoord.agent") or wt.agent
    except pygit2.GitError:
        pass


def find(repo: pygit2.Repository, tasks: Mapping[str, Mapping[str, Any]], which: str) -> Worktree:
    """A worktree by task id or path."""
    items = inventory(repo, tasks)
    real = os.path.realpath(which)
    for wt in items:
        if wt.task == which or os.path.realpath(wt.path) == real:
            return wt
    raise UsageError(f"{which}: no linked worktree for that task or path (see `gitcoord worktree list`)")


def remove(repo: pygit2.Repository, wt: Worktree) -> None:
    """Remove a clean worktree (the branch stays); a dirty one is refused (Violation, exit 1)."""
    if wt.prunable:
        _git(main_worktree(repo), "worktree", "prune")
        return
    if is_dirty(wt.path):
        raise Violation(f"worktree {wt.path} has uncommitted or untracked changes: it is kept (see them with "
                        f"`git -C {_quote(wt.path)} status`; commit or remove them first)",
                        data={"path": wt.path, "task": wt.task})
    _git(main_worktree(repo), "worktree", "remove", wt.path)


def prune(repo: pygit2.Repository, tasks: Mapping[str, Mapping[str, Any]],
          only: set[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Remove the worktrees of merged or cancelled tasks (``only``: of these tasks), keeping dirty ones;
    forget worktrees whose directory is gone."""
    removed: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    if not (gitutil.common_dir(repo) / "worktrees").is_dir():
        return {"removed": removed, "kept": kept}  # no linked worktree: nothing to remove or forget
    by_branch = {t.get("branch"): t for t in tasks.values() if t.get("branch")}
    if only is not None and not gitutil.maybe_prunable_worktrees(repo):
        heads = gitutil.worktree_heads(repo)
        if not any(f"refs/heads/{t['branch']}" in heads for t in by_branch.values() if t.get("id") in only):
            return {"removed": removed, "kept": kept}  # none of these tasks has a worktree, none to forget
    listing = listed(repo)
    for w in listing:
        wt = _worktree(w, by_branch.get(w["branch"]))
        if wt.prunable:
            continue
        if wt.status not in FINISHED or (only is not None and wt.task not in only):
            continue
        _read_state(wt)
        if wt.dirty:
            kept.append({**wt.to_dict(), "reason": "uncommitted or untracked changes"})
            continue
        _git(main_worktree(repo), "worktree", "remove", wt.path)
        removed.append(wt.to_dict())
    if any(w["prunable"] for w in listing):
        _git(main_worktree(repo), "worktree", "prune", check=False)
    return {"removed": removed, "kept": kept}
