"""Shared fixtures: real git repositories, bare remotes, clones, a git daemon on 127.0.0.1."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path_factory, monkeypatch, request):
    """Every test gets its own HOME and a fixed git identity; no user config leaks in."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.com")
    for var in ("GITCOORD_AGENT", "GITCOORD_REMOTE", "GITCOORD_BRANCH", "GITCOORD_NOW", "GITCOORD_SKIP",
                "GITCOORD_OFFLINE", "GITCOORD_TEST_PAUSE", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)
    # Processes started by a test run this checkout's gitcoord, whatever else is installed.
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""))
    import pygit2  # libgit2 looked its global config up when it loaded: point it at this HOME too

    level = pygit2.enums.ConfigLevel.GLOBAL
    previous = pygit2.settings.search_path[level]
    pygit2.settings.search_path[level] = str(home)
    request.addfinalizer(lambda: pygit2.settings.search_path.__setitem__(level, previous))
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[user]\n\tname = Test\n\temail = test@example.com\n")


def git(cwd: Path | str, *args: str, check: bool = True, input: str | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout.strip()


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for name, content in (files or {"README.md": "hello\n"}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture
def repo(tmp_path) -> Path:
    """A work tree with one commit on main."""
    return make_repo(tmp_path / "work")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)


def run_cli(*args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None,
            input: str = "") -> Result:
    """Run gitcoord in-process (fast); `cwd` is passed as -C; stdin is `input` (never the terminal)."""
    from gitcoord.cli.main import main

    argv = (["-C", str(cwd)] if cwd is not None else []) + list(args)
    out, err = io.StringIO(), io.StringIO()
    old_env = {}
    for key, value in (env or {}).items():
        old_env[key] = os.environ.get(key)
        os.environ[key] = value
    code = 0
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(input)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin = old_stdin
        for key, value in old_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Result(code, out.getvalue(), err.getvalue())


def run_proc(*args: str, cwd: Path | str, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
    """Run gitcoord as a real OS process."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "gitcoord", *args], cwd=cwd, capture_output=True, text=True,
                          env=full_env, timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli():
    return run_cli


@dataclass
class Remote:
    bare: Path
    url: str
    root: Path

    def clone(self, name: str) -> Path:
        dest = self.root / name
        git(self.root, "clone", "-q", self.url, str(dest))
        return dest


def _make_remote(root: Path, url: str | None = None) -> Remote:
    bare = root / "remote.git"
    seed = make_repo(root / "seed")
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    git(seed, "push", "-q", str(bare), "main")
    return Remote(bare, url or str(bare), root)


@pytest.fixture
def remote(tmp_path) -> Remote:
    """A bare remote (file path URL) holding main, with a clone() factory."""
    return _make_remote(tmp_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def git_daemon(base: Path, *options: str):
    """Serve every repository below ``base`` over git:// on 127.0.0.1 (push enabled)."""
    port = free_port()
    proc = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack", f"--base-path={base}",
         "--listen=127.0.0.1", f"--port={port}", "--informative-errors", *options, str(base)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"git daemon did not start: {proc.stderr.read().decode()[:300]}")
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def daemon_remote(tmp_path):
    """A bare remote served by a real `git daemon` on 127.0.0.1."""
    rem = _make_remote(tmp_path)
    with git_daemon(tmp_path) as base_url:
        rem.url = f"{base_url}/remote.git"
        yield rem


SMALL_CART_SPEC = """\
openapi: 3.0.3
info: {title: Cart, version: 1.0.0}
paths:
  /cart:
    get:
      operationId: getCart
      responses:
        '200':
          description: the cart
          content:
            application/json:
              schema: {type: object, required: [total], properties: {total: {type: number}}}
              example: {total: 3.5}
"""  # the smallest valid contract the team-flow scenarios write


CART_SPEC = Path(__file__).parent / "contracts" / "fixtures" / "cart-api.yaml"


def commit_cart_spec(repo: Path, agent: str = "alice") -> Path:
    """The cart-api fixture committed as api/cart.yaml, and the coordination branch initialised."""
    import shutil

    (repo / "api").mkdir()
    shutil.copy(CART_SPEC, repo / "api" / "cart.yaml")
    git(repo, "add", "api/cart.yaml")
    git(repo, "commit", "-q", "-m", "cart api")
    assert run_cli("--agent", agent, "init", cwd=repo).code == 0
    return repo


def snapshot_worktree(path: Path) -> tuple[str, bytes, str]:
    """What gitcoord must never touch: status, index bytes and HEAD."""
    gitdir = Path(git(path, "rev-parse", "--absolute-git-dir"))
    index = gitdir / "index"
    return (git(path, "status", "--porcelain", "--untracked-files=all"),
            index.read_bytes() if index.exists() else b"",
            (gitdir / "HEAD").read_text())


def acquire_granted(repo: Path, agent: str, resource: str, **kwargs):
    """Take a lock the honest way: on paths another agent's task owns, the request is granted by
    that agent first (a lock on someone else's paths gives nothing until they agree)."""
    from gitcoord import gitutil, locks
    from gitcoord.errors import Conflict
    from gitcoord.store import Store

    opened = repo if not isinstance(repo, (str, Path)) else gitutil.open_repo(repo)
    try:
        return locks.acquire(Store(opened, agent=agent), resource, **kwargs)
    except Conflict as exc:
        if not exc.data.get("requested"):
            raise
        return locks.answer_request(Store(opened, agent=exc.data["owner"]), exc.data["lock"],
                                    grant=True, ttl=kwargs.get("ttl"))
