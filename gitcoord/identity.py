"""Who is acting: --agent, else GITCOORD_AGENT, else `git config gitcoord.agent`, else the agent in
the current branch name, else the git user's email."""

from __future__ import annotations

import os

import pygit2

from gitcoord import gitutil
from gitcoord.branches import parse_branch
from gitcoord.store import CONFIG_PATH, DEFAULT_CONFIG


def current_branch(repo: pygit2.Repository) -> str | None:
    try:
        if repo.head_is_unborn:
            target = repo.references["HEAD"].target
            return target[len("refs/heads/"):] if isinstance(target, str) and target.startswith("refs/heads/") else None
        if repo.head_is_detached:
            return None
        return repo.head.shorthand
    except (pygit2.GitError, KeyError):
        return None


def agent_from_branch(branch: str | None, template: str) -> str | None:
    if not branch:
        return None
    fields = parse_branch(branch, template)
    if not fields:
        return None
    return fields.get("agent") or fields.get("role")


def resolve_agent(repo: pygit2.Repository | None, explicit: str | None = None,
                  template: str | None = None) -> tuple[str, str]:
    """Return (agent, source) where source says which rule decided."""
    if explicit:
        return explicit, "--agent"
    env = os.environ.get("GITCOORD_AGENT")
    if env:
        return env, "GITCOORD_AGENT"
    if repo is not None:
        configured = gitutil.git_config_get(repo, "gitcoord.agent")
        if configured:
            return configured, "git config gitcoord.agent"
        from_branch = agent_from_branch(current_branch(repo), template or DEFAULT_CONFIG["branch_template"])
        if from_branch:
            return from_branch, "branch name"
        email = gitutil.git_config_get(repo, "user.email")
        if email:
            return email, "git user.email"
        name = gitutil.git_config_get(repo, "user.name")
        if name:
            return name, "git user.name"
    return os.environ.get("USER") or "unknown", "environment"


__all__ = ["resolve_agent", "current_branch", "agent_from_branch", "CONFIG_PATH"]
