"""Task branch names from the template in gitcoord.yaml (default ``feature/{feature}/agent/{role}/{task}``)."""

from __future__ import annotations

import functools
import re

from gitcoord import gitutil
from gitcoord.errors import UsageError

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


def resolve_start_point(repo, base: str, remote: str | None = None, from_rev: str | None = None) -> str:
    """The commit a new task branch starts from: --from, else the base branch (local, then remote)."""
    import pygit2

    if from_rev:
        try:
            return str(repo.revparse_single(from_rev).peel(pygit2.Commit).id)
        except (KeyError, ValueError, pygit2.GitError):
            raise UsageError(f"--from {from_rev!r}: no such revision") from None
    candidates = [f"refs/heads/{base}"] + ([f"refs/remotes/{remote}/{base}"] if remote else []) + \
        [f"refs/remotes/origin/{base}", "HEAD"]
    for ref in candidates:
        try:
            return str(repo.revparse_single(ref).peel(pygit2.Commit).id)
        except (KeyError, ValueError, pygit2.GitError):
            continue
    raise UsageError(f"base branch {base!r} not found (set it with `gitcoord config set base NAME` or pass --from)")


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
