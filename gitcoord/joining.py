"""Joining a team: finding the remote that already holds the coordination branch.

A fresh clone of a repository whose remote holds ``gitcoord`` has ``origin/gitcoord`` but no
local branch and no ``gitcoord.remote``. Rather than asking for `gitcoord init` (which would
fork the store with an orphan beside the shared one), adopt that remote and record it.
"""

from __future__ import annotations

import pygit2

from gitcoord import gitutil
from gitcoord.errors import UsageError
from gitcoord.store import DEFAULT_BRANCH


def coordination_branch(repo: pygit2.Repository) -> str:
    import os

    return os.environ.get("GITCOORD_BRANCH") or gitutil.git_config_get(repo, "gitcoord.branch") or DEFAULT_BRANCH


def remotes_with_branch(repo: pygit2.Repository, branch: str, *, probe: bool = False) -> list[str]:
    """Remotes known to hold ``branch``: by their remote-tracking refs, or (``probe``) by asking
    each remote (`git ls-remote`, network)."""
    names = [r.name for r in repo.remotes if r.name]
    found = [n for n in names if f"refs/remotes/{n}/{branch}" in repo.references]
    if found or not probe:
        return found
    return [n for n in names if gitutil.remote_has_ref(repo, n, f"refs/heads/{branch}")]


def adopt_remote(repo: pygit2.Repository, *, probe: bool = False) -> str | None:
    """When there is no local coordination branch and exactly one remote holds it, record that
    remote as ``gitcoord.remote`` and return it; several → a usage error listing them."""
    branch = coordination_branch(repo)
    if f"refs/heads/{branch}" in repo.references:
        return None
    found = remotes_with_branch(repo, branch, probe=probe)
    if not found:
        return None
    if len(found) > 1:
        raise UsageError(f"several remotes hold the coordination branch '{branch}': {', '.join(found)}",
                         hint=f"choose one: git config gitcoord.remote {found[0]}")
    repo.config["gitcoord.remote"] = found[0]
    return found[0]
