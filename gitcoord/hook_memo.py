"""pre-commit's memo: a commit whose staged paths all passed before, in the same context, passes
again without loading pygit2, the store or the check engine.

Every pre-commit rule but two judges one path at a time against the coordination state (the
tip of the local coordination branch), the agent, the branch and the config. So when a full
check of some paths came out clean - no error, no warning, nothing printed - the same paths
pass again as long as none of those inputs changed. The memo records them with everything the
verdict depended on: the coordination tip, HEAD's branch, the git config files and the
environment that decide the agent, gitcoord's own code, and a time limit (the earliest expiry
of a lock, since an own lock expiring can block a path it allowed; the staleness warning's
deadline). The two rules that read content - contract specs and symlinks - are never memoised:
a staged ``.yaml``/``.yml``/``.json`` file, a symlink or a submodule always takes the full
check. Stdlib only, so that a hit costs an interpreter start and two git commands.
"""

from __future__ import annotations

import marshal
import os
import subprocess
import time

MEMO_FILE = "pre-commit-memo.marshal"
MEMO_VERSION = 1
CONTENT_SUFFIXES = (".yaml", ".yml", ".json")  # contract specs: their content is checked
UNSAFE_MODES = (b"120000", b"160000")  # symlinks (their target is checked) and submodules
MAX_PATHS = 100_000
MAX_AGE_SECONDS = 3600.0


def _git(*args: str) -> bytes | None:
    proc = subprocess.run(["git", *args], capture_output=True, env=dict(os.environ, GITCOORD_INTERNAL="1"))
    return proc.stdout if proc.returncode == 0 else None


def git_dirs() -> tuple[str, str, str] | None:
    """(git dir, common dir, HEAD's ref or "") as absolute paths, from one git command."""
    out = _git("rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir", "--symbolic-full-name",
               "HEAD")
    if out is None:
        return None
    lines = out.decode("utf-8", "surrogateescape").split("\n")
    if len(lines) < 3:
        return None
    head = lines[2] if lines[2].startswith("refs/") else ""
    return lines[0], lines[1], head


def _stat(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def context_key(git_dir: str, common_dir: str, head: str) -> tuple:
    """Everything besides the coordination tip that the verdict on a path depends on."""
    env = tuple(sorted((k, v) for k, v in os.environ.items()
                       if k.startswith(("GITCOORD_", "GIT_CONFIG")) or k in ("USER", "HOME", "XDG_CONFIG_HOME")))
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    configs = (os.path.join(common_dir, "config"), os.path.join(git_dir, "config.worktree"),
               os.path.join(home, ".gitconfig"), os.path.join(xdg, "git", "config"), "/etc/gitconfig")
    here = os.path.dirname(os.path.abspath(__file__))
    code = tuple(sorted((name, _stat(os.path.join(here, name))) for name in os.listdir(here) if name.endswith(".py")))
    return (MEMO_VERSION, git_dir, head, env, tuple((p, _stat(p)) for p in configs), code)


def read_ref(common_dir: str, ref: str) -> str | None:
    """A ref's object id read from the ref store's files (loose, then packed); None when unsure."""
    try:
        with open(os.path.join(common_dir, ref), "rb") as fh:
            value = fh.read().strip().decode("ascii", "replace")
        return value if value and not value.startswith("ref:") else None
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        with open(os.path.join(common_dir, "packed-refs"), "rb") as fh:
            for line in fh:
                oid, _, name = line.rstrip(b"\n").partition(b" ")
                if name.decode("utf-8", "surrogateescape") == ref and not oid.startswith((b"#", b"^")):
                    return oid.decode("ascii", "replace")
    except OSError:
        return None
    return None


def claims_stamp(common_dir: str, ref: str) -> tuple:
    """What changes when a claim ref beside coordination ``ref`` is added or moved (claims.py): the
    directory of the loose claim refs, and packed-refs."""
    claims = "refs/gitcoord/claims" if ref == "refs/heads/gitcoord" else f"refs/gitcoord/{ref[len('refs/'):]}/claims"
    return _stat(os.path.join(common_dir, claims)), _stat(os.path.join(common_dir, "packed-refs"))


def _memo_path(common_dir: str) -> str:
    return os.path.join(common_dir, "gitcoord", MEMO_FILE)


def _load(common_dir: str) -> dict | None:
    try:
        with open(_memo_path(common_dir), "rb") as fh:
            memo = marshal.loads(fh.read())
        return memo if isinstance(memo, dict) else None
    except (OSError, EOFError, ValueError, TypeError):
        return None


def passes() -> bool:
    """True when every staged path passed before in this very context: the commit may go on."""
    if os.environ.get("GITCOORD_SKIP") == "1":
        return False  # a skip is recorded as an event: the full hook does that
    dirs = git_dirs()
    if dirs is None:
        return False
    git_dir, common_dir, head = dirs
    memo = _load(common_dir)
    if memo is None or memo.get("key") != context_key(git_dir, common_dir, head):
        return False
    if time.time() >= memo.get("valid_until", 0) or read_ref(common_dir, memo.get("ref", "")) != memo.get("tip") \
            or claims_stamp(common_dir, memo.get("ref", "")) != memo.get("claims"):
        return False
    raw = _git("diff", "--cached", "--raw", "-z", "--no-renames", "--no-ext-diff", "--no-abbrev")
    if raw is None:
        return False
    fields = raw.split(b"\0")
    passed = memo.get("paths") or frozenset()
    seen = 0
    for i in range(0, len(fields) - 1, 2):  # ":old new oldid newid status" NUL path NUL
        meta, path = fields[i], fields[i + 1]
        parts = meta.split(b" ")
        if len(parts) < 5 or parts[1] in UNSAFE_MODES or path.decode("utf-8", "surrogateescape") not in passed:
            return False
        seen += 1
    if seen == 0:
        return False  # nothing staged: let the full hook say what it says
    return _leave_trailers(common_dir, head, memo.get("trailers") or [])


def _leave_trailers(common_dir: str, head: str, lines: list[str]) -> bool:
    """The note the commit-msg shim reads (see hooks._leave_trailers), for this index tree."""
    tree = _git("write-tree")
    if tree is None:
        return False
    path = os.path.join(common_dir, "gitcoord", "commit-trailers")
    try:
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(f"{tree.decode().strip()} {head}\n" + "".join(f"{line}\n" for line in lines))
        os.replace(tmp, path)
    except OSError:
        return False
    return True


def remember(tip: str, ref: str, paths: list[str], valid_until: float, trailers: list[str],
             claims: tuple | None = None) -> None:
    """Record that ``paths`` passed a clean full check at coordination ``tip`` with the claim refs
    as ``claims`` (a ``claims_stamp`` taken before they were read) (adds to the paths already
    recorded for the same context)."""
    dirs = git_dirs()
    if dirs is None:
        return
    git_dir, common_dir, head = dirs
    claims = claims if claims is not None else claims_stamp(common_dir, ref)
    key = context_key(git_dir, common_dir, head)
    keep = {p for p in paths if not p.endswith(CONTENT_SUFFIXES)}
    memo = _load(common_dir)
    if memo is not None and memo.get("key") == key and memo.get("tip") == tip and memo.get("ref") == ref \
            and memo.get("trailers") == trailers and memo.get("claims") == claims:
        keep |= set(memo.get("paths") or ())
        valid_until = min(valid_until, memo.get("valid_until", valid_until))
    if len(keep) > MAX_PATHS:
        return
    path = _memo_path(common_dir)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(marshal.dumps({"key": key, "tip": tip, "ref": ref, "claims": claims, "paths": frozenset(keep),
                                    "trailers": trailers,
                                    "valid_until": min(valid_until, time.time() + MAX_AGE_SECONDS)}))
        os.replace(tmp, path)
    except OSError:
        pass  # a memo is an optimisation only


def main(argv: list[str]) -> int:
    """``python -m gitcoord.hook_memo pre-commit ARGS``: the pre-commit shim's entry. A memo hit
    exits at once; anything else runs the full hook in this same process."""
    if os.environ.get("GITCOORD_INTERNAL") != "1" and not os.environ.get("GITCOORD_TEST_PAUSE") and passes():
        return 0
    from gitcoord.hooks import main as run_hooks

    return run_hooks(["run", "pre-commit", *argv[1:]], memo_checked=True)


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:] or ["pre-commit"]))
