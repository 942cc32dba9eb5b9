"""Who is acting, and whether that name may be written anywhere.

Identity is resolved in this order: ``--agent`` (before or after the command), else
``GITCOORD_AGENT``, else ``git config gitcoord.agent`` (the worktree's own config first:
``task start`` records the claiming agent there), else the git user's email, else its name.
A role taken from a branch name is never an identity: every backend agent shares that role.

Every name entering by any route passes one rule — the rule of ``agents[].name`` in
gitcoord.yaml — because names end up in commit headers, file names and trailers, and one
newline in an author line once made the shared branch unreadable for everybody.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from gitcoord.errors import UsageError

AGENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$"
_AGENT_NAME = re.compile(AGENT_NAME_PATTERN)


def is_agent_name(name: object) -> bool:
    return isinstance(name, str) and _AGENT_NAME.fullmatch(name) is not None


def check_agent_name(name: str, source: str) -> str:
    """Return ``name`` when it is a valid agent name; else a usage error naming where it came from."""
    if is_agent_name(name):
        return name
    shown = repr(name) if len(name) <= 60 else repr(name[:57]) + "..."
    raise UsageError(
        f"{source}: {shown} is not a valid agent name (letters, digits and . _ @ + -, starting with a "
        f"letter or digit, at most 128 characters)",
        data={"source": source})


def suggest_name(text: str) -> str:
    """A valid agent name derived from free text (for hints): `Jane Doe` → `Jane-Doe`."""
    slug = re.sub(r"[^A-Za-z0-9._@+-]+", "-", text).strip("-._@+")[:128]
    return slug if is_agent_name(slug) else "agent-1"


@dataclass(frozen=True)
class Identity:
    name: str
    source: str  # which rule decided: "--agent", "GITCOORD_AGENT", "git config gitcoord.agent", ...

    def to_dict(self) -> dict[str, str]:
        return {"agent": self.name, "source": self.source}


# Where each fallback comes from, in order; the first one set decides.
_CONFIG_SOURCES = (("gitcoord.agent", "git config gitcoord.agent"), ("user.email", "git user.email"),
                   ("user.name", "git user.name"))


def resolve(repo: Any | None, explicit: str | None = None, explicit_source: str = "--agent") -> Identity:
    """The acting agent and where the name came from; a bad name is a usage error naming its source."""
    if explicit:
        return Identity(check_agent_name(explicit, explicit_source), explicit_source)
    env = os.environ.get("GITCOORD_AGENT")
    if env:
        return Identity(check_agent_name(env, "GITCOORD_AGENT"), "GITCOORD_AGENT")
    if repo is not None:
        from gitcoord import gitutil

        for key, source in _CONFIG_SOURCES:
            value = gitutil.git_config_get(repo, key)
            if value:
                if key == "user.name" and not is_agent_name(value):
                    raise UsageError(
                        f"git user.name: {value!r} is not a valid agent name and no other identity is set",
                        hint=f"run `git config gitcoord.agent {suggest_name(value)}`", data={"source": source})
                if key == "gitcoord.agent" and gitutil.git_config_is_worktree(repo, key):
                    source = "git config --worktree gitcoord.agent"
                return Identity(check_agent_name(value, source), source)
    user = os.environ.get("USER")
    if user and is_agent_name(user):
        return Identity(user, "$USER")
    raise UsageError("no identity: pass --agent NAME, set GITCOORD_AGENT, or run `git config gitcoord.agent NAME`")


def resolve_agent(repo: Any | None, explicit: str | None = None, template: str | None = None) -> tuple[str, str]:
    """(agent, source) — kept for callers that want a tuple. ``template`` is ignored: the branch name
    no longer decides identity (it names a role, shared by many agents)."""
    ident = resolve(repo, explicit)
    return ident.name, ident.source


def remember(repo: Any, agent: str) -> str:
    """Record ``agent`` as this checkout's identity, where :func:`resolve` finds it again: the
    worktree's own config when the repository has linked worktrees, else the repository config.
    Returns where it was written."""
    from gitcoord import gitutil

    check_agent_name(agent, "agent")
    if gitutil.git_config_get(repo, "gitcoord.agent") == agent and not os.environ.get("GITCOORD_AGENT"):
        return "unchanged"
    return gitutil.set_agent_config(repo, agent)


def current_branch(repo: Any) -> str | None:
    import pygit2

    try:
        if repo.head_is_unborn:
            target = repo.references["HEAD"].target
            return target[len("refs/heads/"):] if isinstance(target, str) and target.startswith("refs/heads/") else None
        if repo.head_is_detached:
            return None
        return repo.head.shorthand
    except (pygit2.GitError, KeyError):
        return None


__all__ = ["AGENT_NAME_PATTERN", "Identity", "check_agent_name", "is_agent_name", "resolve", "resolve_agent",
           "remember", "current_branch", "suggest_name"]
