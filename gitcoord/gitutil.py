"""Thin helpers around pygit2 and the ``git`` command.

Everything local goes through pygit2 in-process; network operations (fetch, push) go
through the ``git`` command so users' credential helpers, SSH config and proxies work.
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pygit2

from gitcoord.errors import NotInRepository, RemoteError, UsageError

ZERO_OID = "0" * 40


def open_repo(path: str | os.PathLike[str] | None = None) -> pygit2.Repository:
    """Open the repository containing ``path`` (a work tree, a linked worktree or a bare repo)."""
    start = os.fspath(path) if path is not None else os.getcwd()
    if not os.path.exists(start):
        raise UsageError(f"-C {start}: no such directory")
    found = pygit2.discover_repository(start)
    if found is None:
        raise NotInRepository(f"{start}: not inside a git repository (run `git init` first, or pass -C PATH)")
    return pygit2.Repository(found)


def common_dir(repo: pygit2.Repository) -> Path:
    """The directory shared by all worktrees (where refs/heads and objects live)."""
    # pygit2's `path` is the per-worktree gitdir; commondir holds shared state.
    gitdir = Path(repo.path)
    marker = gitdir / "commondir"
    if marker.is_file():
        return (gitdir / marker.read_text().strip()).resolve()
    return gitdir


def cache_dir(repo: pygit2.Repository) -> Path:
    """Where gitcoord keeps its local, disposable caches (keyed by git object ids)."""
    return common_dir(repo) / "gitcoord"


def run_git(
    repo: pygit2.Repository | str | os.PathLike[str],
    *args: str,
    check: bool = True,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git`` against ``repo``'s git directory; raise RemoteError/UsageError on failure when check."""
    gitdir = repo.path if isinstance(repo, pygit2.Repository) else os.fspath(repo)
    full_env = dict(os.environ)
    full_env.setdefault("GIT_TERMINAL_PROMPT", "0")
    # Never let our own hooks recurse into gitcoord's store operations.
    full_env["GITCOORD_INTERNAL"] = "1"
    if env:
        full_env.update(env)
    proc = subprocess.run(
        ["git", f"--git-dir={gitdir}", *args],
        input=input,
        capture_output=True,
        env=full_env,
    )
    if check and proc.returncode != 0:
        raise RemoteError(f"git {args[0]} failed: {git_error_line(proc.stderr, proc.returncode)}")
    return proc


def git_error_line(stderr: bytes | str, returncode: int = 1) -> str:
    """git's first meaningful line of an error (``fatal: '/x' does not appear to be a git repository``),
    not the last one (``and the repository exists.``)."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for prefix in ("fatal: ", "error: "):
        for ln in lines:
            if ln.startswith(prefix):
                return ln[len(prefix):]
    return lines[0] if lines else f"exit {returncode}"


def remote_exists(repo: pygit2.Repository, name: str) -> bool:
    try:
        repo.remotes[name]
        return True
    except (KeyError, ValueError):
        return False


@dataclass(frozen=True)
class PushOutcome:
    ok: bool
    rejected: bool  # a lost race: non-fast-forward, fetch first, stale lease
    detail: str
    dropped: bool = False  # the connection failed: the push may or may not have landed (fetch to know)


# A server at its connection limit (git daemon: 32 by default) drops new connections.
# The last is also a wrong URL or a refused key: a dropped connection only where the remote answered before.
DROPPED_CONNECTION = ("reset by peer", "hung up unexpectedly", "early EOF", "Broken pipe", "exit -13",
                      "Could not read from remote repository")


def push(repo: pygit2.Repository, remote: str, refspecs: list[str], *, atomic: bool = False,
         leases: list[str] | None = None) -> PushOutcome:
    """``git push --porcelain``; tells a lost race (rejected) apart from a remote failure."""
    args = ["push", "--porcelain", "--no-verify"]
    if atomic:
        args.append("--atomic")
    for lease in leases or []:
        args.append(f"--force-with-lease={lease}")
    args += [remote, *refspecs]
    proc = run_git(repo, *args, check=False)
    out = proc.stdout.decode(errors="replace")
    err = proc.stderr.decode(errors="replace")
    if proc.returncode == 0:
        return PushOutcome(True, False, out.strip())
    status_lines = [ln for ln in out.splitlines() if ln[:1] in ("!", "*", "+", "-", "=", " ") and "\t" in ln]
    failed = [ln for ln in status_lines if ln.startswith("!")]
    # A server-side refusal (a hook declined, a protected branch...) is final: retrying it as a lost
    # race would only report "kept moving" after every retry. The remote's own ref-update race
    # shows up as a failed ref lock or a stale old value, and stays a lost race.
    refused = [ln for ln in failed if "[remote rejected]" in ln and not any(
        m in ln for m in ("lock", "failed to update ref", "incorrect old value", "atomic push fail",
                          "atomic transaction failed", "transaction failed to start"))]
    if refused:
        reason = refused[0].split("\t")[-1]
        remote_says = [ln[len("remote: "):].strip() for ln in err.splitlines() if ln.startswith("remote: ")]
        detail = f" ({'; '.join(m for m in remote_says if m)[:1000]})" if any(remote_says) else ""
        raise RemoteError(f"push to remote '{remote}' refused: {reason}{detail}")
    rejected_markers = ("non-fast-forward", "fetch first", "stale info", "rejected", "atomic push fail")
    if failed and any(m in out for m in rejected_markers):
        return PushOutcome(False, True, out.strip())
    if not failed and (any(m in err for m in DROPPED_CONNECTION) or proc.returncode == -13):  # SIGPIPE
        return PushOutcome(False, True, git_error_line(err, proc.returncode), dropped=True)
    raise RemoteError(f"push to remote '{remote}' failed: {git_error_line(err or out, proc.returncode)}")


def fetch_ref(repo: pygit2.Repository, remote: str, ref: str, into: str, *, also: tuple[str, ...] = ()) -> str | None:
    """Fetch ``ref`` from ``remote`` into local ``into`` (forced); return its oid, or None if absent.

    ``also``: more refspecs fetched in the same round trip (the agents' event logs, the claim refs).
    Only ``into`` and the destinations of ``also`` are offered to the server as what this clone
    has: hundreds of unrelated little histories (one per claimed task) would otherwise be offered
    too, costing rounds of negotiation on every fetch of a busy wave."""
    tips = [f"--negotiation-tip={into}*"] + [f"--negotiation-tip={spec.split(':', 1)[1]}"
                                             for spec in also if ":" in spec and spec.endswith("*")]
    for attempt in range(8):
        # No auto-maintenance process after each fetch, no forced-update walk per updated ref: a busy
        # wave fetches after every write (git gc still runs when the user's git runs it).
        proc = run_git(repo, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-auto-maintenance",
                       "--no-show-forced-updates", *tips, remote,
                       f"+{ref}:{into}", *also, check=False)
        # Linked worktrees share refs: an agent fetching in its worktree while the runner fetches in the
        # main one makes one of them lose git's ref lock. The other fetch brought the same news: retry.
        if proc.returncode == 0 or b"cannot lock ref" not in proc.stderr:
            break
        import time

        time.sleep(0.05 * (attempt + 1))
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace")
        if "couldn't find remote ref" in err or "could not find remote ref" in err.lower():
            # The remote has no coordination branch yet: forget any stale tracking ref.
            try:
                repo.references.delete(into)
            except KeyError:
                pass
            return None
        raise RemoteError(f"fetch from remote '{remote}' failed: {git_error_line(err, proc.returncode)}")
    ref_obj = repo.references.get(into)
    return str(ref_obj.target) if ref_obj is not None else None


def git_config_get(repo: pygit2.Repository, key: str) -> str | None:
    try:
        return repo.config[key]
    except (KeyError, ValueError):
        return None


def git_config_is_worktree(repo: pygit2.Repository, key: str) -> bool:
    """Whether ``key`` is set in this worktree's own config (``config.worktree``)."""
    path = Path(repo.path) / "config.worktree"
    if not path.is_file():
        return False
    try:
        return key in pygit2.Config(str(path))
    except (pygit2.GitError, ValueError):
        return False


def has_linked_worktrees(repo: pygit2.Repository) -> bool:
    return (common_dir(repo) / "worktrees").is_dir() and any((common_dir(repo) / "worktrees").iterdir())


def set_agent_config(repo: pygit2.Repository, agent: str) -> str:
    """Record ``gitcoord.agent`` for this checkout: per worktree when there are linked worktrees
    (turning on ``extensions.worktreeConfig``), else in the repository's own config."""
    if has_linked_worktrees(repo) or git_config_is_worktree(repo, "gitcoord.agent"):
        if git_config_get(repo, "extensions.worktreeConfig") not in ("true", "1", "yes", "on"):
            run_git(repo, "config", "extensions.worktreeConfig", "true")
        run_git(repo, "config", "--worktree", "gitcoord.agent", agent)
        return "git config --worktree gitcoord.agent"
    run_git(repo, "config", "--local", "gitcoord.agent", agent)
    return "git config gitcoord.agent"


def worktree_heads(repo: pygit2.Repository) -> dict[str, str]:
    """Map branch ref → worktree path for every worktree that has a branch checked out.

    Read from the files `git worktree list` reads when the repository has the usual layout
    (see ``_worktree_files``): a merge run asks twice, and a git process costs more than the run's
    own work on a branch. Else git answers."""
    files = _worktree_files(repo)
    if files is not None:
        return {head: path for path, head, _gitdir in files if head is not None}
    proc = run_git(repo, "worktree", "list", "--porcelain", check=False)
    heads: dict[str, str] = {}
    path = None
    for line in proc.stdout.decode(errors="replace").splitlines():
        if line.startswith("worktree "):
            path = line[len("worktree "):]
        elif line.startswith("branch ") and path is not None:
            heads[line[len("branch "):]] = path
    return heads


def _worktree_files(repo: pygit2.Repository) -> list[tuple[str, str | None, str | None]] | None:
    """``(path, branch ref or None, the .git file it names or None)`` per worktree, main first, read
    as git reads them (``HEAD``; for a linked one ``worktrees/<id>/HEAD`` and ``gitdir``); None
    unless the layout is the usual one: a ``.git`` directory in the main work tree, not bare, no
    ``core.worktree``."""
    common = common_dir(repo)
    if common.name != ".git":
        return None
    try:
        config = pygit2.Config(str(common / "config"))
        if ("core.bare" in config and config.get_bool("core.bare")) or "core.worktree" in config:
            return None
    except (OSError, ValueError, pygit2.GitError):
        return None

    def head_of(git_dir: Path) -> str | None:
        try:
            text = (git_dir / "HEAD").read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            return None
        return text[len("ref: "):].strip() if text.startswith("ref: ") else None

    out: list[tuple[str, str | None, str | None]] = [(os.path.realpath(common.parent), head_of(common), None)]
    try:
        ids = sorted(os.listdir(common / "worktrees"))
    except FileNotFoundError:
        return out
    except OSError:
        return None
    for wt_id in ids:
        admin = common / "worktrees" / wt_id
        try:
            gitdir = (admin / "gitdir").read_text(encoding="utf-8", errors="surrogateescape").rstrip()
        except OSError:
            gitdir = ""
        if not gitdir:
            continue  # git skips a worktree whose gitdir file is unreadable or empty
        gitdir = os.path.normpath(os.path.join(admin, gitdir))  # (relative since git 2.48's relative paths)
        path = gitdir[:-len("/.git")] if gitdir.endswith("/.git") else gitdir
        out.append((path, head_of(admin), gitdir))
    return out


def maybe_prunable_worktrees(repo: pygit2.Repository) -> bool:
    """Could `git worktree prune` forget a linked worktree? False only when every one's ``.git``
    file is where its ``gitdir`` says (git prunes nothing then); any doubt: True."""
    files = _worktree_files(repo)
    if files is None:
        return True
    try:
        admin_dirs = os.listdir(common_dir(repo) / "worktrees")
    except FileNotFoundError:
        admin_dirs = []
    except OSError:
        return True
    linked = files[1:]
    if len(linked) != len(admin_dirs):
        return True  # a worktree git would skip (no gitdir file) is one it may prune
    return not all(gitdir is not None and os.path.isfile(gitdir) for _path, _head, gitdir in linked)


def check_ref_name(name: str, *, what: str = "ref name") -> str:
    """Validate a full ref name with git's rules (``git check-ref-format``)."""
    if not name or "\0" in name or "\n" in name:
        raise UsageError(f"{what} {name!r}: not a valid git ref name")
    if not pygit2.reference_is_valid_name(name):
        raise UsageError(f"{what} {name!r}: not a valid git ref name (see `git help check-ref-format`)")
    return name


def branch_ref(name: str) -> str:
    """``gitcoord`` → ``refs/heads/gitcoord``; a full ``refs/...`` name is kept."""
    return name if name.startswith("refs/") else f"refs/heads/{name}"


def remote_has_ref(repo: pygit2.Repository, remote: str, ref: str) -> bool:
    """Whether ``remote`` has ``ref`` (asks the remote: `git ls-remote`); an unreachable remote says no."""
    proc = run_git(repo, "ls-remote", "--refs", remote, ref, check=False)
    return proc.returncode == 0 and bool(proc.stdout.strip())


def is_ancestor(repo: pygit2.Repository, ancestor: str, descendant: str) -> bool:
    """Whether ``ancestor`` is ``descendant`` or one of its ancestors. libgit2 refuses to walk through
    a commit it cannot parse (a malformed author line, say); git can, so it decides then."""
    if ancestor == descendant:
        return True
    try:
        return bool(repo.descendant_of(descendant, ancestor))
    except (pygit2.GitError, ValueError):
        proc = run_git(repo, "merge-base", "--is-ancestor", ancestor, descendant, check=False)
        return proc.returncode == 0


def merge_base(repo: pygit2.Repository, a: str, b: str) -> str | None:
    """The best common ancestor of two commits (git decides when libgit2 cannot parse the history)."""
    try:
        found = repo.merge_base(a, b)
        return str(found) if found is not None else None
    except (pygit2.GitError, ValueError):
        proc = run_git(repo, "merge-base", a, b, check=False)
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def raw_commit(repo: pygit2.Repository, oid: str) -> dict[str, object] | None:
    """A commit's headers read from the object itself (tree, parents, author line), for commits that
    libgit2 refuses to parse. None when the object is missing or not a commit."""
    try:
        kind, data = repo.odb.read(oid)
    except (KeyError, ValueError, pygit2.GitError):
        return None
    if kind != pygit2.GIT_OBJECT_COMMIT:
        return None
    header, _, message = data.partition(b"\n\n")
    out: dict[str, object] = {"tree": None, "parents": [], "message": message.decode(errors="replace")}
    for line in header.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"tree":
            out["tree"] = value.decode(errors="replace")
        elif key == b"parent":
            out["parents"].append(value.decode(errors="replace"))  # type: ignore[union-attr]
    return out


def remote_branches(repo: pygit2.Repository, remote: str, branches: list[str]) -> dict[str, str]:
    """Fetch the named branches that exist on ``remote`` into ``refs/remotes/<remote>/<branch>``.

    Returns branch → tip for those the remote has (one ``ls-remote`` and one ``fetch``; a branch
    the remote lacks is simply absent, and its stale tracking ref is removed)."""
    wanted = list(dict.fromkeys(b for b in branches if b))
    if not wanted:
        return {}
    proc = run_git(repo, "ls-remote", "--heads", remote, *[f"refs/heads/{b}" for b in wanted], check=False)
    if proc.returncode != 0:
        raise RemoteError(f"listing branches on remote '{remote}' failed: "
                          f"{git_error_line(proc.stderr, proc.returncode)}")
    found: dict[str, str] = {}
    for line in proc.stdout.decode(errors="replace").splitlines():
        oid, _, ref = line.partition("\t")
        name = ref[len("refs/heads/"):]
        if name in wanted:
            found[name] = oid
    missing = [oid for oid in found.values() if not _has_object(repo, oid)]
    if missing:
        specs = [f"+refs/heads/{b}:refs/remotes/{remote}/{b}" for b in found]
        fetched = run_git(repo, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, *specs, check=False)
        if fetched.returncode != 0:
            raise RemoteError(f"fetch from remote '{remote}' failed: "
                              f"{git_error_line(fetched.stderr, fetched.returncode)}")
    for name in wanted:
        tracking = f"refs/remotes/{remote}/{name}"
        if name in found and missing:
            written = repo.references.get(tracking)  # what the fetch brought (it may be newer than ls-remote said)
            if written is not None:
                found[name] = str(written.target)
        elif name in found:
            repo.references.create(tracking, found[name], force=True)
        elif repo.references.get(tracking) is not None:
            repo.references.delete(tracking)
    return found


def _has_object(repo: pygit2.Repository, oid: str) -> bool:
    try:
        return oid in repo
    except (ValueError, pygit2.GitError):
        return False


def push_branch(repo: pygit2.Repository, remote: str, branch: str, *, as_agent: str | None = None) -> str:
    """``git push -u REMOTE BRANCH`` as the user would type it (their pre-push hook runs).

    ``as_agent``: the agent whose branch it is, when someone pushes for them (`gitcoord run` pushes
    each finished agent's branch): the pre-push hook then judges the push as that agent's.

    Returns the pushed tip; a rejection (the remote branch has commits this one lacks) is a
    RaceError, any other failure a RemoteError, each with git's own reason."""
    from gitcoord.errors import RaceError

    ref = f"refs/heads/{branch}"
    local = repo.references.get(ref)
    if local is None:
        raise UsageError(f"branch {branch} does not exist here")
    # Run from the work tree, as the user would: the pre-push hook finds its repository from there.
    where = ["-C", repo.workdir] if repo.workdir else []
    env = {"GITCOORD_INTERNAL": ""}
    if as_agent:
        env["GITCOORD_AGENT"] = as_agent
    proc = run_git(repo, *where, "push", "--porcelain", "-u", remote, f"{ref}:{ref}", check=False, env=env)
    if proc.returncode != 0:
        out = proc.stdout.decode(errors="replace")
        err = proc.stderr.decode(errors="replace")
        if any(m in out for m in ("non-fast-forward", "fetch first")):
            raise RaceError(f"push of {branch} to '{remote}' rejected: the remote branch has commits this one "
                            f"lacks; integrate them first (`git pull --no-rebase {remote} {branch}` on that branch)")
        if "\t" not in out and "fatal:" not in err:
            # Nothing reached the remote and git itself did not fail: the pre-push hook refused.
            from gitcoord.errors import Violation

            said = [ln.strip() for ln in err.splitlines()
                    if ln.strip() and not ln.startswith("error: failed to push some refs")]
            raise Violation(f"push of {branch} refused by the pre-push hook: "
                            f"{'; '.join(said)[:500] or 'exit ' + str(proc.returncode)}")
        raise RemoteError(f"push of {branch} to '{remote}' failed: {git_error_line(proc.stderr, proc.returncode)}")
    repo.references.create(f"refs/remotes/{remote}/{branch}", str(local.target), force=True)
    return str(local.target)


def merge_base_oid(repo: pygit2.Repository, a: pygit2.Oid, b: pygit2.Oid) -> pygit2.Oid | None:
    """``repo.merge_base(a, b)`` for commit ids, remembered (``merge_base`` above takes hex and
    falls back to git): a merge run asks it of each branch three times (is
    it empty, what does it change, how does it merge). Two commit ids name their whole histories,
    so the answer never changes (no base is not remembered: a shallow clone may fetch one later)."""
    key = (a, b) if a.raw <= b.raw else (b, a)
    found = _MERGE_BASES.get(key)
    if found is None:
        found = repo.merge_base(a, b)
        if found is not None:
            if len(_MERGE_BASES) >= 4096:
                _MERGE_BASES.clear()
            _MERGE_BASES[key] = found
    return found


_MERGE_BASES: dict[tuple[pygit2.Oid, pygit2.Oid], pygit2.Oid] = {}


# --------------------------------------------------------------------------- raw trees

TREE_MODE, LINK_MODE = 0o040000, 0o120000
_TREE_ENTRIES: dict[pygit2.Oid, frozenset[bytes]] = {}  # tree id -> its raw entries (an id names its content)


def raw_tree_entries(repo: pygit2.Repository, tree_id: pygit2.Oid | None) -> frozenset[bytes]:
    """A tree's entries as raw bytes (``<mode> <name>\\0<id>``), read once per id.

    Comparing two trees' entry sets as bytes finds the few entries that differ without making a
    Python object per entry: what lets tree diffs and merges skip the 99% of a big tree that did
    not change."""
    if tree_id is None:
        return frozenset()
    found = _TREE_ENTRIES.get(tree_id)
    if found is None:
        if len(_TREE_ENTRIES) >= 1024:
            _TREE_ENTRIES.clear()
        found = _TREE_ENTRIES[tree_id] = frozenset(_tree_entry_re(len(tree_id.raw)).findall(repo.odb.read(tree_id)[1]))
    return found


def parse_tree_entries(raw_entries: Iterable[bytes]) -> dict[bytes, tuple[int, pygit2.Oid]]:
    """``{name: (mode, id)}`` for raw entries; the mode as git reads it (``040000``/``100664`` spellings
    normalised like libgit2 does)."""
    parsed: dict[bytes, tuple[int, pygit2.Oid]] = {}
    seen = _PARSED_ENTRIES.get
    for raw in raw_entries:
        known = seen(raw)
        if known is None:
            head, _, oid = raw.partition(b"\0")
            mode, _, name = head.partition(b" ")
            if len(_PARSED_ENTRIES) >= 65_536:
                _PARSED_ENTRIES.clear()
            known = _PARSED_ENTRIES[raw] = (name, (_normal_mode(int(mode, 8)), pygit2.Oid(raw=oid)))
        parsed[known[0]] = known[1]
    return parsed


# raw entry -> (name, (mode, id)): a merge run meets the same entries of the base tree once per branch
_PARSED_ENTRIES: dict[bytes, tuple[bytes, tuple[int, pygit2.Oid]]] = {}


def _normal_mode(mode: int) -> int:
    kind = mode & 0o170000
    if kind == TREE_MODE:
        return TREE_MODE
    if mode & 0o111:
        return 0o100755
    if kind in (0o160000, LINK_MODE):
        return kind
    return 0o100644


@functools.cache
def _tree_entry_re(oid_bytes: int) -> "re.Pattern[bytes]":
    import re

    return re.compile(rb"[0-7]+ [^\0]*\0.{%d}" % oid_bytes, re.S)
