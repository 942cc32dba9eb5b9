"""Task branches: names from the template in gitcoord.yaml (default ``feature/{feature}/agent/{role}/{task}``),
where a branch starts (in remote mode the remote's base tip, never HEAD), and whether it holds work of
its own that the remote has (checked before a task is done)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from gitcoord import gitutil
from gitcoord.errors import GitcoordError, UsageError

PLACEHOLDERS = ("feature", "role", "task", "agent")


@functools.lru_cache(maxsize=32)
def template_regex(template: str) -> re.Pattern[str]:
    """A regex with one named group per placeholder; each matches one path segment."""
    out, pos = [], 0
    literal = re.sub(r"\{\w+\}", "", template)
    if "{" in literal or "}" in literal:
        # str.format would read these as fields ({task, {task!r}, {task.attr}, {0}): refuse them here
        raise UsageError(f"branch_template {template!r}: stray '{{' or '}}'; placeholders are "
                         f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
    for match in re.finditer(r"\{(\w+)\}", template):
        name = match.group(1)
        if name not in PLACEHOLDERS:
            raise UsageError(f"branch_template {template!r}: unknown placeholder {{{name}}} "
                             f"(use {', '.join('{' + p + '}' for p in PLACEHOLDERS)})")
        out.append(re.escape(template[pos:match.start()]))
        out.append(f"(?P<{name}>[^/]+)" if f"(?P<{name}>" not in "".join(out) else f"(?P={name})")
        pos = match.end()
    out.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(out) + "$")


def parse_branch(name: str, template: str) -> dict[str, str] | None:
    """The placeholder values of a branch name, or None if it does not follow the template."""
    if name.startswith("refs/heads/"):
        name = name[len("refs/heads/"):]
    match = template_regex(template).match(name)
    return match.groupdict() if match else None


def find_task_for_branch(tasks, branch: str | None, template: str):
    """The task a branch belongs to: the one that recorded it, else the {task} the template names.

    ``tasks`` maps id → task manifest (already loaded: hooks use this without the planner)."""
    if not branch:
        return None
    name = branch[len("refs/heads/"):] if branch.startswith("refs/heads/") else branch
    for task in tasks.values():
        if task.get("branch") == name:
            return task
    try:
        fields = parse_branch(name, template)
    except UsageError:
        return None
    if fields and fields.get("task"):
        wanted = fields["task"].lower()
        for task_id, task in tasks.items():
            if task_id.lower() == wanted:
                return task
    return None


def slug(value: str | None, default: str) -> str:
    text = (value or default).strip()
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or default
    return text


def render_branch(template: str, *, task: str, feature: str | None, role: str | None,
                  agent: str | None = None) -> str:
    template_regex(template)  # validates the placeholders
    name = template.format(task=task.lower(), feature=slug(feature, "default"), role=slug(role, "any"),
                           agent=slug(agent, "anyone"))
    gitutil.check_ref_name(f"refs/heads/{name}", what="branch name")
    return name


@dataclass(frozen=True)
class StartPoint:
    """Where a task branch starts: the commit, the ref it came from, and why (for the user)."""

    commit: str
    source: str
    note: str | None = None


def _peel(repo, rev: str) -> str | None:
    import pygit2

    try:
        return str(repo.revparse_single(rev).peel(pygit2.Commit).id)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        return None


def resolve_start_point(repo, base: str, remote: str | None = None, from_rev: str | None = None, *,
                        fetch: bool = True, task_branch: str | None = None) -> StartPoint:
    """The commit a new task branch starts from: --from, else the base branch.

    In remote mode the base is fetched and the remote's tip wins (a local base may be behind
    what the team has merged); when it cannot be fetched (offline, unreachable) the local base
    is used and ``note`` says why. Never HEAD: a missing base is an error. A ``task_branch``
    already on the remote (the task continues in another clone) is continued instead.
    """
    if from_rev:
        commit = _peel(repo, from_rev)
        if commit is None:
            raise UsageError(f"--from {from_rev!r}: no such revision")
        return StartPoint(commit, from_rev)
    local = _peel(repo, f"refs/heads/{base}")
    if remote:
        tracking = f"refs/remotes/{remote}/{base}"
        why = None
        if fetch:
            try:
                found = gitutil.remote_branches(repo, remote, [base] + ([task_branch] if task_branch else []))
            except GitcoordError as exc:
                why = f"could not fetch {base} from {remote} ({exc.message})"
            else:
                if task_branch and task_branch in found:
                    return StartPoint(found[task_branch], f"{remote}/{task_branch}",
                                      f"continues the work already pushed to {remote}/{task_branch}")
                if base in found:
                    note = None
                    if local and local != found[base] and not repo.descendant_of(found[base], local):
                        note = (f"local {base} has commits that are not on {remote}/{base}; "
                                f"the branch starts from {remote}/{base}")
                    return StartPoint(found[base], f"{remote}/{base}", note)
                why = f"{remote} has no branch {base}"
        else:
            why = "offline"
        cached = _peel(repo, tracking)
        if local:
            return StartPoint(local, base, f"{why}: started from local {base}, which may be behind {remote}/{base}")
        if cached:
            return StartPoint(cached, f"{remote}/{base}", f"{why}: started from the last fetched {remote}/{base}")
        raise UsageError(f"base branch {base!r} exists neither here nor on {remote} ({why}); "
                         "`git branch -a` lists the branches `gitcoord config set base` accepts (or pass --from REV)")
    if local:
        return StartPoint(local, base)
    fallback = _peel(repo, f"refs/remotes/origin/{base}")
    if fallback:
        return StartPoint(fallback, f"origin/{base}", f"no local {base}: started from origin/{base}")
    raise UsageError(f"base branch {base!r} not found; `git branch -a` lists the branches "
                     "`gitcoord config set base` accepts (or pass --from REV)")


def require_base(repo, base: str, remote: str | None, *, fetch: bool = True) -> None:
    """Refuse a base branch that exists neither locally nor on the coordination remote."""
    import pygit2

    if not isinstance(base, str) or not base:
        raise UsageError(f"config key 'base': {base!r} is not a branch name")
    if not pygit2.reference_is_valid_name(f"refs/heads/{base}"):
        raise UsageError(f"config key 'base': {base!r} is not a valid branch name (see `git help check-ref-format`)")
    if _peel(repo, f"refs/heads/{base}"):
        return
    if remote:
        if fetch:
            if base in gitutil.remote_branches(repo, remote, [base]):
                return
        elif _peel(repo, f"refs/remotes/{remote}/{base}"):
            return
        raise UsageError(f"config key 'base': branch {base!r} exists neither here nor on {remote}")
    raise UsageError(f"config key 'base': no branch {base!r} here (see `git branch`)")


def ensure_branch(repo, name: str, start: str) -> bool:
    """Create refs/heads/<name> at ``start`` unless it exists; never touches HEAD or the work tree."""
    ref = gitutil.check_ref_name(f"refs/heads/{name}", what="branch name")
    if repo.references.get(ref) is not None:
        return False
    try:
        repo.references.create(ref, start, force=False)
    except (ValueError, Exception) as exc:  # created concurrently: fine, it exists now
        if repo.references.get(ref) is None:
            raise UsageError(f"cannot create branch {name}: {exc}") from None
        return False
    return True


@dataclass(frozen=True)
class BranchWork:
    """What a task branch holds: its tips here and on the remote, and its commits beyond the base."""

    branch: str
    local: str | None
    remote_tip: str | None
    base: str | None
    own_commits: int
    pushed_now: bool = False

    def to_dict(self) -> dict:
        return {"branch": self.branch, "local": self.local, "remote": self.remote_tip, "base": self.base,
                "own_commits": self.own_commits, "pushed_now": self.pushed_now}


def commits_beyond(repo, tip: str, base: str | None) -> int:
    """How many commits ``tip`` has that ``base`` does not (all of them when there is no base)."""
    if base is None:
        return 1
    if tip == base:
        return 0
    return repo.ahead_behind(tip, base)[0]


def check_done(repo, task_id: str, branch: str | None, base: str, remote: str | None, *, fetch: bool = True,
               push: bool = False, allow_empty: bool = False, as_agent: str | None = None) -> BranchWork:
    """Refuse to finish a task whose branch holds no work of its own, or (remote mode) whose work
    is not on the remote; with ``push`` the branch is pushed first (as ``as_agent`` when someone
    pushes an agent's branch for it). Raises Violation/UsageError."""
    from gitcoord.errors import Violation

    if push and not remote:
        raise UsageError("--push needs a remote: pass --remote NAME or `git config gitcoord.remote NAME`")
    if not branch:
        raise Violation(f"task {task_id} has no branch recorded: nothing to merge (start it with "
                        f"`gitcoord task start {task_id}`)")
    local = _peel(repo, f"refs/heads/{branch}")
    remote_tip = None
    base_tip = _peel(repo, f"refs/heads/{base}")
    if remote:
        if fetch:
            found = gitutil.remote_branches(repo, remote, [branch, base])
            remote_tip = found.get(branch)
            base_tip = found.get(base) or base_tip
        else:
            remote_tip = _peel(repo, f"refs/remotes/{remote}/{branch}")
            base_tip = _peel(repo, f"refs/remotes/{remote}/{base}") or base_tip
    tip = local or remote_tip
    if tip is None:
        where = f"here nor on {remote}" if remote else "here"
        raise Violation(f"task {task_id}: branch {branch} exists neither {where}: there is no work to merge")
    own = commits_beyond(repo, tip, base_tip)
    if own == 0 and not allow_empty:
        raise Violation(f"task {task_id}: branch {branch} has no commits of its own beyond {base}; commit your "
                        f"work on it first (`git switch {branch}`), or if the task needs no change: "
                        f"`gitcoord task done {task_id} --allow-empty`",
                        data={"task": task_id, "branch": branch, "reason": "empty"})
    pushed_now = False
    if remote and local and fetch:
        unpushed = remote_tip is None or (local != remote_tip and not repo.descendant_of(remote_tip, local))
        if unpushed and not push:
            state = "was never pushed" if remote_tip is None else f"on {remote} is behind the local one"
            again = f"gitcoord task done {task_id} --push" + (" --allow-empty" if allow_empty else "")
            raise Violation(f"task {task_id}: branch {branch} {state}; `{again}` "
                            f"pushes it and marks the task done",
                            data={"task": task_id, "branch": branch, "reason": "unpushed"})
        if unpushed:
            remote_tip = gitutil.push_branch(repo, remote, branch, as_agent=as_agent)
            pushed_now = True
    return BranchWork(branch, local, remote_tip, base_tip, own, pushed_now)
