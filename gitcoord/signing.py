"""Identity that can be verified: SSH-signed coordination commits (``identity.mode: signed``).

Client: when git is set up for SSH signing (``gpg.format=ssh`` and ``user.signingkey``), every
commit gitcoord writes on the coordination branch is signed with ``ssh-keygen -Y sign`` in git's
own format (namespace ``git``), so ``git verify-commit`` understands it too.

Server: a commit's signer is found with ``ssh-keygen -Y find-principals`` and checked with
``ssh-keygen -Y verify`` against an allowed-signers list built from
- the maintainers' keys in the server's own configuration
  (``git config --add gitcoord.maintainer "NAME ssh-ed25519 AAAA…"``), which no push can change;
- ``agents[].signing_key`` in gitcoord.yaml on the coordination branch before the push (a list
  only maintainers change, see ``guard``) — except for maintainers' names, whose keys come only
  from the server.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from typing import Any, Callable

import pygit2

from gitcoord.errors import UsageError

NAMESPACE = "git"


# --------------------------------------------------------------------------- client: signing


def signing_key(repo: pygit2.Repository) -> str | None:
    """The SSH key git would sign with (``user.signingkey`` with ``gpg.format=ssh``), else None."""
    from gitcoord import gitutil

    if (gitutil.git_config_get(repo, "gpg.format") or "").lower() != "ssh":
        return None
    key = gitutil.git_config_get(repo, "user.signingkey")
    return os.path.expanduser(key) if key else None


def sign(payload: bytes, key: str) -> str:
    """An armored SSH signature of ``payload`` (``ssh-keygen -Y sign -n git``)."""
    with tempfile.TemporaryDirectory(prefix="gitcoord-sign-") as tmp:
        keyfile = key
        if key.startswith("key::"):  # a literal public key: the private half is in ssh-agent
            keyfile = os.path.join(tmp, "key.pub")
            with open(keyfile, "w") as fh:
                fh.write(key[len("key::"):].strip() + "\n")
        data = os.path.join(tmp, "payload")
        with open(data, "wb") as fh:
            fh.write(payload)
        proc = subprocess.run(["ssh-keygen", "-Y", "sign", "-n", NAMESPACE, "-f", keyfile, data],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
            raise UsageError(f"cannot sign the coordination commit with user.signingkey {key}: {last}")
        with open(data + ".sig") as fh:
            return fh.read()


def create_commit(repo: pygit2.Repository, author: pygit2.Signature, committer: pygit2.Signature,
                  message: str, tree: Any, parents: list[Any]) -> str:
    """``repo.create_commit`` (no ref update), SSH-signed when git is set up for it."""
    key = signing_key(repo)
    if key is None:
        return str(repo.create_commit(None, author, committer, message, tree, parents))
    payload = repo.create_commit_string(author, committer, message, tree, parents)
    signature = sign(payload.encode() if isinstance(payload, str) else payload, key)
    return str(repo.create_commit_with_signature(payload, signature))


# --------------------------------------------------------------------------- server: verifying


def allowed_signers(repo: pygit2.Repository, config: dict[str, Any]) -> list[tuple[str, str]]:
    """(principal, public key) pairs the server accepts; see the module docstring."""
    from gitcoord.guard import MAINTAINER
    from gitcoord.identity import is_agent_name

    pairs: list[tuple[str, str]] = []
    server_names: set[str] = set()
    try:
        values = list(repo.config.get_multivar("gitcoord.maintainer"))
    except (KeyError, pygit2.GitError):
        values = []
    for value in values:
        parts = value.split(None, 1)
        if len(parts) == 2 and is_agent_name(parts[0]):
            pairs.append((parts[0], parts[1].strip()))
            server_names.add(parts[0])
        elif parts and is_agent_name(parts[0]):
            server_names.add(parts[0])
    maintainers = set(server_names)
    for agent in config.get("agents") or []:
        if isinstance(agent, dict) and MAINTAINER in (agent.get("roles") or []):
            maintainers.add(agent.get("name"))
    for agent in config.get("agents") or []:
        if not isinstance(agent, dict):
            continue
        name, key = agent.get("name"), agent.get("signing_key")
        if isinstance(name, str) and isinstance(key, str) and is_agent_name(name) and name not in maintainers \
                and "\n" not in key:
            pairs.append((name, key.strip()))
    return pairs


def verifier(repo: pygit2.Repository, config: dict[str, Any]) -> Callable[[pygit2.Commit], str | None]:
    """A function: commit → the agent whose listed key made its valid signature, else None."""
    pairs = allowed_signers(repo, config)
    cache: dict[str, str | None] = {}

    def verify(commit: pygit2.Commit) -> str | None:
        sha = str(commit.id)
        if sha not in cache:
            cache[sha] = _verify(commit, pairs)
        return cache[sha]

    return verify


def _verify(commit: pygit2.Commit, pairs: list[tuple[str, str]]) -> str | None:
    signature, payload = commit.gpg_signature
    if not signature or not payload or not pairs or b"SSH SIGNATURE" not in signature:
        return None
    with tempfile.TemporaryDirectory(prefix="gitcoord-verify-") as tmp:
        signers = os.path.join(tmp, "allowed_signers")
        with open(signers, "w") as fh:
            for name, key in pairs:
                fh.write(f'{name} namespaces="{NAMESPACE}" {key}\n')
        sigfile = os.path.join(tmp, "sig")
        with open(sigfile, "wb") as fh:
            fh.write(signature)
        found = subprocess.run(["ssh-keygen", "-Y", "find-principals", "-s", sigfile, "-f", signers],
                               capture_output=True, text=True, timeout=30)
        principals = [line.strip() for line in found.stdout.splitlines() if line.strip()]
        if found.returncode != 0 or len(principals) != 1:
            return None  # unknown key, or one key listed for several agents: no single signer
        checked = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", signers, "-I", principals[0], "-n", NAMESPACE,
                                  "-s", sigfile], input=payload, capture_output=True, timeout=30)
        return principals[0] if checked.returncode == 0 else None
