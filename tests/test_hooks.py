"""Hooks in real repositories: install/chain/uninstall, pre-commit, commit-msg, pre-push, pre-receive."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git, make_repo, run_cli, acquire_granted

from gitcoord import gitutil, locks
from gitcoord.store import Store

BRANCH_A = "feature/shop/agent/backend/api-1"
BRANCH_B = "feature/shop/agent/frontend/web-1"


def put_task(repo: Path, task_id: str, agent: str, owns: list[str], status: str = "in_progress",
             role: str = "backend") -> None:
    store = Store(gitutil.open_repo(repo), agent="lead")

    def op(txn):
        txn.put(f"tasks/{task_id}.yaml", {"id": task_id, "title": f"task {task_id}", "feature": "shop",
                                          "role": role, "agent": agent, "owns": owns, "status": status})

    store.transact(op)


def setup_project(repo: Path, monkeypatch) -> None:
    """Two tasks: API-1 (alice) owns src/api/, WEB-1 (bob) owns src/web/; hooks installed."""
    assert run_cli("init", cwd=repo).code == 0
    put_task(repo, "API-1", "alice", ["src/api/"])
    put_task(repo, "WEB-1", "bob", ["src/web/"], role="frontend")
    monkeypatch.delenv("GITCOORD_BIN", raising=False)  # the shim's fast path: the installing Python
    monkeypatch.setenv("GITCOORD_AGENT", "alice")
    res = run_cli("hooks", "install", cwd=repo)
    assert res.code == 0, res.err
    git(repo, "checkout", "-q", "-b", BRANCH_A)


def commit(repo: Path, files: dict[str, str], message: str = "change", extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        git(repo, "add", name)
    return subprocess.run(["git", "commit", "-q", "-m", message, *extra], cwd=repo, capture_output=True, text=True)


def head_paths(repo: Path) -> str:
    return git(repo, "show", "--name-only", "--format=", "HEAD")


# --------------------------------------------------------------------------- pre-commit


def test_own_path_accepted_foreign_rejected_naming_path_and_task(repo, monkeypatch):
    setup_project(repo, monkeypatch)
    ok = commit(repo, {"src/api/users.py": "x = 1\n"})
    assert ok.returncode == 0, ok.stderr
    assert "src/api/users.py" in head_paths(repo)

    bad = commit(repo, {"src/web/app.js": "let x\n"})
    assert bad.returncode != 0
    assert "src/web/app.js" in bad.stderr and "WEB-1" in bad.stderr and "bob" in bad.stderr
    assert "outside-ownership" in bad.stderr
    assert "src/web/app.js" not in head_paths(repo)  # nothing was committed


def test_locked_path_rejected_with_holder(repo, monkeypatch):
    setup_project(repo, monkeypatch)
    put_task(repo, "API-1", "alice", ["src/api/", "shared/"])
    acquire_granted(repo, "bob", "shared/schema.sql", type="exclusive", ttl="2h")
    bad = commit(repo, {"shared/schema.sql": "create table t();\n"})
    assert bad.returncode != 0
    assert "shared/schema.sql" in bad.stderr and "locked" in bad.stderr and "bob" in bad.stderr


def test_own_exclusive_lock_allows_foreign_path(repo, monkeypatch):
    setup_project(repo, monkeypatch)
    acquire_granted(repo, "alice", "src/web/shared.js", type="exclusive", ttl="2h")
    ok = commit(repo, {"src/web/shared.js": "export {}\n"})
    assert ok.returncode == 0, ok.stderr


def test_commit_a_uses_the_temporary_index(repo, monkeypatch):
    setup_project(repo, monkeypatch)
    (repo / "README.md").write_text("changed\n")  # tracked, owned by nobody: warn by default
    put_task(repo, "WEB-1", "bob", ["src/web/", "README.md"], role="frontend")
    res = subprocess.run(["git", "commit", "-q", "-a", "-m", "all"], cwd=repo, capture_output=True, text=True)
    assert res.returncode != 0 and "README.md" in res.stderr and "WEB-1" in res.stderr


def test_unowned_policy_deny_blocks_warn_allows(repo, monkeypatch):
    setup_project(repo, monkeypatch)
    warned = commit(repo, {"misc/notes.txt": "a\n"})
    assert warned.returncode == 0 and "unowned" in warned.stderr
    assert run_cli("config", "set", "policies.unowned", "deny", cwd=repo).code == 0
    denied = commit(repo, {"misc/more.txt": "b\n"})
    assert denied.returncode != 0 and "misc/more.txt" in denied.stderr and "unowned" in denied.stderr


def test_preexisting_hook_still_runs_and_uninstall_restores_it(repo, monkeypatch, tmp_path):
    hooks_dir = repo / ".git" / "hooks"
    marker = tmp_path / "ran"
    original = f"#!/bin/sh\necho ran >> '{marker}'\n"
    (hooks_dir / "pre-commit").write_text(original)
    (hooks_dir / "pre-commit").chmod(0o755)
    setup_project(repo, monkeypatch)
    assert (hooks_dir / "pre-commit.gitcoord-orig").read_text() == original
    assert "gitcoord hook shim" in (hooks_dir / "pre-commit").read_text()
    # idempotent: a second install keeps the chained original
    assert run_cli("hooks", "install", cwd=repo).code == 0
    assert (hooks_dir / "pre-commit.gitcoord-orig").read_text() == original

    assert commit(repo, {"src/api/a.py": "1\n"}).returncode == 0
    assert marker.read_text() == "ran\n"
    assert commit(repo, {"src/web/a.js": "1\n"}).returncode != 0  # gitcoord still enforces
    assert marker.read_text() == "ran\nran\n"

    res = run_cli("--json", "hooks", "uninstall", cwd=repo)
    assert res.code == 0
    assert {"hook": "pre-commit", "path": str(hooks_dir / "pre-commit"), "action": "restored"} in res.json["hooks"]
    assert (hooks_dir / "pre-commit").read_text() == original
    assert not (hooks_dir / "pre-commit.gitcoord-orig").exists()
    assert not (hooks_dir / "pre-push").exists()
    assert commit(repo, {"src/web/b.js": "1\n"}).returncode == 0  # no gitcoord any more


def test_failing_original_hook_stops_the_commit(repo, monkeypatch):
    hooks_dir = repo / ".git" / "hooks"
    (hooks_dir / "pre-commit").write_text("#!/bin/sh\necho nope >&2\nexit 3\n")
    (hooks_dir / "pre-commit").chmod(0o755)
    setup_project(repo, monkeypatch)
    res = commit(repo, {"src/api/a.py": "1\n"})
    assert res.returncode != 0 and "nope" in res.stderr


def test_core_hookspath_honoured(repo, monkeypatch):
    git(repo, "config", "core.hooksPath", "githooks")
    setup_project(repo, monkeypatch)
    assert (repo / "githooks" / "pre-commit").exists()
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    assert commit(repo, {"src/web/x.js": "1\n"}).returncode != 0


def test_linked_worktree_uses_common_hooks(repo, monkeypatch, tmp_path):
    setup_project(repo, monkeypatch)
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", BRANCH_B, str(wt))
    assert run_cli("hooks", "install", cwd=wt).code == 0  # from the worktree: same common hooks dir
    git_says = Path(git(wt, "rev-parse", "--path-format=absolute", "--git-path", "hooks"))
    assert (git_says / "pre-commit").read_text() == (repo / ".git" / "hooks" / "pre-commit").read_text()
    monkeypatch.setenv("GITCOORD_AGENT", "bob")
    assert commit(wt, {"src/web/ok.js": "1\n"}).returncode == 0
    bad = commit(wt, {"src/api/no.py": "1\n"})
    assert bad.returncode != 0 and "API-1" in bad.stderr


def test_commit_msg_adds_task_trailer_once(repo, monkeypatch):
    setup_project(repo, monkeypatch)
    assert commit(repo, {"src/api/a.py": "1\n"}, message="add a").returncode == 0
    body = git(repo, "log", "-1", "--format=%B")
    assert body.count("Task: API-1") == 1
    assert commit(repo, {"src/api/b.py": "1\n"}, message="add b\n\nTask: API-1").returncode == 0
    assert git(repo, "log", "-1", "--format=%B").count("Task: API-1") == 1
    git(repo, "checkout", "-q", "-b", "scratch")
    assert commit(repo, {"src/api/c.py": "1\n"}, message="add c").returncode == 0
    assert "Task:" not in git(repo, "log", "-1", "--format=%B")


def test_commit_msg_uses_the_trailers_pre_commit_left_and_python_when_they_are_stale(repo, monkeypatch):
    """pre-commit leaves the commit's trailers keyed by index tree and HEAD; the commit-msg shim adds
    them without starting Python while both match, and asks Python when they do not."""
    setup_project(repo, monkeypatch)
    note = repo / ".git" / "gitcoord" / "commit-trailers"
    assert commit(repo, {"src/api/a.py": "1\n"}, message="add a").returncode == 0
    body = git(repo, "log", "-1", "--format=%B")
    assert body.count("Task: API-1") == 1 and "Gitcoord-Agent: alice" in body
    assert note.read_text().splitlines()[1:] == ["Task: API-1", "Gitcoord-Agent: alice"]

    (repo / ".git" / "hooks" / "pre-commit").unlink()  # only commit-msg runs from here on
    (repo / "src" / "api" / "b.py").write_text("2\n")
    git(repo, "add", "src/api/b.py")
    key = f"{git(repo, 'write-tree')} {git(repo, 'symbolic-ref', 'HEAD')}"
    note.write_text(f"{key}\nTask: FROM-NOTE\n")  # a note for exactly this index and HEAD: used as is
    assert subprocess.run(["git", "commit", "-q", "-m", "add b"], cwd=repo).returncode == 0
    assert "Task: FROM-NOTE" in git(repo, "log", "-1", "--format=%B")

    note.write_text("0000000000000000000000000000000000000000 refs/heads/elsewhere\nTask: STALE\n")
    assert commit(repo, {"src/api/c.py": "3\n"}, message="add c").returncode == 0
    body = git(repo, "log", "-1", "--format=%B")
    assert "STALE" not in body and body.count("Task: API-1") == 1  # Python decided


def test_a_clean_check_is_remembered_for_the_same_paths_and_context_only(repo, monkeypatch):
    """pre-commit remembers paths that passed a clean check; the next commit of those paths in the
    same context passes without the full check, anything else (another path, a new lock, another
    agent) gets the full check."""
    import marshal

    setup_project(repo, monkeypatch)
    memo = repo / ".git" / "gitcoord" / "pre-commit-memo.marshal"
    assert commit(repo, {"src/api/a.py": "1\n"}).returncode == 0
    doc = marshal.loads(memo.read_bytes())
    assert doc["paths"] == frozenset({"src/api/a.py"})
    doc["trailers"] = ["Task: FROM-MEMO"]  # marks a commit that took the memo's path
    memo.write_bytes(marshal.dumps(doc))
    assert commit(repo, {"src/api/a.py": "2\n"}).returncode == 0
    assert "Task: FROM-MEMO" in git(repo, "log", "-1", "--format=%B")

    assert commit(repo, {"src/web/x.js": "1\n"}).returncode != 0  # not remembered: full check, blocked
    git(repo, "reset", "-q")
    assert commit(repo, {"src/api/a.py": "3\n"}).returncode == 0  # remembered again (fresh memo)
    doc = marshal.loads(memo.read_bytes())
    doc["trailers"] = ["Task: FROM-MEMO"]
    memo.write_bytes(marshal.dumps(doc))
    monkeypatch.setenv("GITCOORD_AGENT", "bob")  # same path, another agent: not this memo's context
    assert commit(repo, {"src/api/a.py": "3b\n"}).returncode == 0
    assert "FROM-MEMO" not in git(repo, "log", "-1", "--format=%B")
    monkeypatch.setenv("GITCOORD_AGENT", "alice")
    assert commit(repo, {"src/api/a.py": "4\n"}).returncode == 0
    acquire_granted(repo, "bob", "src/api/a.py", reason="hotfix")  # the coordination tip moves
    res = commit(repo, {"src/api/a.py": "5\n"})
    assert res.returncode != 0 and "locked" in res.stderr


def test_skip_is_audited_on_client(repo, monkeypatch):
    setup_project(repo, monkeypatch)
    monkeypatch.setenv("GITCOORD_SKIP", "1")
    res = commit(repo, {"src/web/hot.js": "fix\n"})
    assert res.returncode == 0 and "GITCOORD_SKIP" in res.stderr
    snap = Store(gitutil.open_repo(repo)).snapshot()
    events = [snap.load(p) for p in snap.walk("events")]
    skipped = [e for e in events if e["type"] == "hook.skipped"]
    assert len(skipped) == 1
    assert skipped[0]["agent"] == "alice" and skipped[0]["data"]["hook"] == "pre-commit"
    assert skipped[0]["data"]["paths"] == ["src/web/hot.js"]


def test_internal_calls_do_nothing(repo, monkeypatch):
    setup_project(repo, monkeypatch)
    monkeypatch.setenv("GITCOORD_INTERNAL", "1")
    assert commit(repo, {"src/web/internal.js": "1\n"}).returncode == 0


def test_corrupt_store_blocks_with_one_line_unless_policy_allows(repo, monkeypatch):
    setup_project(repo, monkeypatch)
    store = Store(gitutil.open_repo(repo), agent="lead")
    store.transact(lambda txn: txn.put_bytes("tasks/API-1.yaml", b"id: [unclosed\n"))
    res = commit(repo, {"src/api/a.py": "1\n"})
    assert res.returncode != 0
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "blocked" in lines[0] and "tasks/API-1.yaml" in lines[0]

    def allow(txn):
        cfg = txn.load("gitcoord.yaml")
        cfg.setdefault("policies", {})["on_error"] = "allow"
        txn.put("gitcoord.yaml", cfg)

    store.transact(allow)
    res = commit(repo, {"src/api/a.py": "2\n"})
    assert res.returncode == 0 and "on_error" in res.stderr


def _allow_on_error(store: Store) -> None:
    def allow(txn):
        cfg = txn.load("gitcoord.yaml")
        cfg.setdefault("policies", {})["on_error"] = "allow"
        txn.put("gitcoord.yaml", cfg)

    store.transact(allow)


def test_odd_file_name_is_not_a_store_error_that_on_error_allow_lets_through(repo, monkeypatch):
    """A backslash in a file name must not turn the whole check into 'cannot read the store' (allowed)."""
    setup_project(repo, monkeypatch)
    _allow_on_error(Store(gitutil.open_repo(repo), agent="lead"))
    res = commit(repo, {"src/web/foreign.js": "1\n", "src/api/odd\\name.py": "1\n"})
    assert res.returncode != 0, res.stderr
    assert "odd" in res.stderr and "cannot read the coordination store" not in res.stderr
    assert "foreign.js" not in head_paths(repo)


def test_server_odd_file_name_does_not_open_the_gate(remote, monkeypatch):
    work = _server_setup(remote, monkeypatch)
    _allow_on_error(Store(gitutil.open_repo(remote.bare), agent="lead"))
    assert commit(work, {"src/web/foreign.js": "1\n", "odd\\name.txt": "1\n"},
                  extra=("--no-verify",)).returncode == 0
    res = subprocess.run(["git", "push", "--no-verify", "origin", BRANCH_A], cwd=work, capture_output=True, text=True)
    assert res.returncode != 0 and "odd" in res.stderr, res.stderr
    assert git(remote.bare, "branch", "--list", BRANCH_A) == ""


def test_no_coordination_branch_means_nothing_to_enforce(repo, monkeypatch):
    monkeypatch.setenv("GITCOORD_BIN", f"{sys.executable} -m gitcoord")
    assert run_cli("hooks", "install", cwd=repo).code == 0
    assert commit(repo, {"anything.txt": "1\n"}).returncode == 0


def test_install_rejects_unknown_hook_and_bare_client_install(repo, tmp_path):
    res = run_cli("hooks", "install", "--hook", "post-merge", cwd=repo)
    assert res.code == 2 and "post-merge" in res.err
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    res = run_cli("hooks", "install", cwd=bare)
    assert res.code == 2 and "--server" in res.err


# --------------------------------------------------------------------------- pre-push


def test_pre_push_checks_every_commit_per_ref(remote, monkeypatch):
    work = remote.clone("alice")
    setup_project(work, monkeypatch)
    assert commit(work, {"src/api/one.py": "1\n"}).returncode == 0
    assert commit(work, {"src/web/two.js": "1\n"}, extra=("--no-verify",)).returncode == 0
    assert commit(work, {"src/api/three.py": "1\n"}).returncode == 0
    git(work, "branch", "feature/shop/agent/frontend/web-1", "HEAD~2")  # clean: only one.py (owned by API-1!)
    res = subprocess.run(["git", "push", "origin", BRANCH_A], cwd=work, capture_output=True, text=True)
    assert res.returncode != 0
    assert "src/web/two.js" in res.stderr and "WEB-1" in res.stderr
    assert "src/api/one.py" not in res.stderr  # own paths are not reported
    ok = subprocess.run(["git", "push", "origin", f"HEAD~2:refs/heads/{BRANCH_A}"], cwd=work, capture_output=True,
                        text=True)
    assert ok.returncode == 0, ok.stderr
    # a ref whose branch names no task is refused by the branch-name rule
    git(work, "branch", "wip", "HEAD~2")
    res = subprocess.run(["git", "push", "origin", "wip"], cwd=work, capture_output=True, text=True)
    assert res.returncode != 0 and "branch-name" in res.stderr


def test_pre_push_skip_audited(remote, monkeypatch):
    work = remote.clone("alice")
    setup_project(work, monkeypatch)
    assert commit(work, {"src/web/two.js": "1\n"}, extra=("--no-verify",)).returncode == 0
    monkeypatch.setenv("GITCOORD_SKIP", "1")
    res = subprocess.run(["git", "push", "origin", BRANCH_A], cwd=work, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    snap = Store(gitutil.open_repo(work)).snapshot()
    skipped = [snap.load(p) for p in snap.walk("events") if snap.load(p)["type"] == "hook.skipped"]
    assert skipped and skipped[-1]["data"]["hook"] == "pre-push" and "src/web/two.js" in skipped[-1]["data"]["paths"]


# --------------------------------------------------------------------------- server (pre-receive)


def _server_setup(rem, monkeypatch) -> Path:
    """Coordination branch pushed to the bare remote; server hook installed; a clone for alice."""
    work = rem.clone("alice")
    monkeypatch.setenv("GITCOORD_BIN", f"{sys.executable} -m gitcoord")
    monkeypatch.setenv("GITCOORD_AGENT", "alice")
    assert run_cli("init", cwd=work).code == 0
    put_task(work, "API-1", "alice", ["src/api/"])
    put_task(work, "WEB-1", "bob", ["src/web/"], role="frontend")
    git(work, "push", "-q", str(rem.bare), "gitcoord")
    res = run_cli("hooks", "install", "--server", cwd=rem.bare)
    assert res.code == 0, res.err
    assert (rem.bare / "hooks" / "pre-receive").exists()
    git(work, "checkout", "-q", "-b", BRANCH_A)
    return work


def test_server_hook_rejects_no_verify_push_over_git_daemon(daemon_remote, monkeypatch):
    work = _server_setup(daemon_remote, monkeypatch)
    git(work, "remote", "set-url", "origin", daemon_remote.url)
    assert commit(work, {"src/web/sneaky.js": "1\n"}, extra=("--no-verify",)).returncode == 0
    monkeypatch.setenv("GITCOORD_SKIP", "1")  # ignored by the server
    res = subprocess.run(["git", "push", "--no-verify", "origin", BRANCH_A], cwd=work, capture_output=True, text=True)
    assert res.returncode != 0
    assert "src/web/sneaky.js" in res.stderr and "outside-ownership" in res.stderr and "WEB-1" in res.stderr
    assert git(daemon_remote.bare, "branch", "--list", BRANCH_A) == ""


def test_server_hook_accepts_clean_push_over_git_daemon(daemon_remote, monkeypatch):
    work = _server_setup(daemon_remote, monkeypatch)
    git(work, "remote", "set-url", "origin", daemon_remote.url)
    assert commit(work, {"src/api/clean.py": "1\n"}, extra=("--no-verify",)).returncode == 0
    res = subprocess.run(["git", "push", "--no-verify", "origin", BRANCH_A], cwd=work, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert git(daemon_remote.bare, "rev-parse", BRANCH_A) == git(work, "rev-parse", "HEAD")


def test_server_hook_allows_coordination_and_base_pushes_rejects_unknown_branch(remote, monkeypatch):
    work = _server_setup(remote, monkeypatch)
    put_task(work, "API-2", "alice", ["src/api/v2/"])
    ok = subprocess.run(["git", "push", "--no-verify", "origin", "gitcoord"], cwd=work, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    git(work, "checkout", "-q", "main")
    assert commit(work, {"anything.txt": "1\n"}, extra=("--no-verify",)).returncode == 0
    ok = subprocess.run(["git", "push", "--no-verify", "origin", "main"], cwd=work, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(["git", "push", "--no-verify", "origin", "main:refs/heads/random"], cwd=work,
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "branch-name" in bad.stderr


def test_server_hook_not_bypassed_by_parking_commits_under_a_tag(remote, monkeypatch):
    """Commits already reachable from an unchecked ref (a tag, a custom ref) must still be checked."""
    work = _server_setup(remote, monkeypatch)
    assert commit(work, {"src/web/sneaky.js": "1\n"}, extra=("--no-verify",)).returncode == 0
    for parking in ("refs/tags/park", "refs/custom/park"):
        ok = subprocess.run(["git", "push", "--no-verify", "origin", f"HEAD:{parking}"], cwd=work,
                            capture_output=True, text=True)
        assert ok.returncode == 0, ok.stderr
    res = subprocess.run(["git", "push", "--no-verify", "origin", BRANCH_A], cwd=work, capture_output=True, text=True)
    assert res.returncode != 0 and "src/web/sneaky.js" in res.stderr, res.stderr
    assert git(remote.bare, "branch", "--list", BRANCH_A) == ""


def test_server_hook_refuses_deleting_the_coordination_branch(remote, monkeypatch):
    """Deleting the coordination branch would switch the server hook off for every later push."""
    work = _server_setup(remote, monkeypatch)
    res = subprocess.run(["git", "push", "--no-verify", "origin", ":gitcoord"], cwd=work, capture_output=True,
                         text=True)
    assert res.returncode != 0 and "gitcoord" in res.stderr
    assert git(remote.bare, "rev-parse", "--verify", "-q", "refs/heads/gitcoord") != ""
    assert commit(work, {"src/web/sneaky.js": "1\n"}, extra=("--no-verify",)).returncode == 0
    res = subprocess.run(["git", "push", "--no-verify", "origin", BRANCH_A], cwd=work, capture_output=True, text=True)
    assert res.returncode != 0 and "src/web/sneaky.js" in res.stderr


def test_server_corrupt_store_rejects(remote, monkeypatch):
    work = _server_setup(remote, monkeypatch)
    server = Store(gitutil.open_repo(remote.bare), agent="lead")
    server.transact(lambda txn: txn.put_bytes("gitcoord.yaml", b"version: [\n"))
    assert commit(work, {"src/api/x.py": "1\n"}, extra=("--no-verify",)).returncode == 0
    res = subprocess.run(["git", "push", "--no-verify", "origin", BRANCH_A], cwd=work, capture_output=True, text=True)
    assert res.returncode != 0 and "cannot read the coordination store" in res.stderr


def test_hook_run_unknown_name_exit_2(repo):
    res = run_cli("hook", "run", "post-checkout", cwd=repo)
    assert res.code == 2


def test_pre_commit_path_stays_lean(repo, monkeypatch):
    """No jsonschema/openapi/planner on the hook path once entity files are cached by blob id."""
    setup_project(repo, monkeypatch)
    assert commit(repo, {"src/api/warm.py": "1\n"}).returncode == 0  # warms the entity cache
    (repo / "src/api/lean.py").write_text("1\n")
    git(repo, "add", "src/api/lean.py")
    probe = ("import sys\nfrom gitcoord.hooks import run_hook\nout = run_hook('pre-commit', [], '')\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('jsonschema', 'openapi_spec_validator', "
             "'click') or m in ('gitcoord.tasks', 'gitcoord.graph'))\nprint(out.code, heavy)\n")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True)
    assert proc.stdout.strip() == "0 []", proc.stdout + proc.stderr


def test_a_gitcoord_folder_in_the_project_does_not_shadow_the_hook(repo, monkeypatch):
    setup_project(repo, monkeypatch)
    evil = repo / "gitcoord"
    evil.mkdir()
    (evil / "__init__.py").write_text("raise SystemExit('shadowed: the project folder was imported')\n")
    (evil / "hooks.py").write_text("raise SystemExit('shadowed: the project folder was imported')\n")
    bad = commit(repo, {"src/web/app.js": "let x\n"})
    assert "shadowed" not in bad.stderr
    assert bad.returncode != 0 and "outside-ownership" in bad.stderr


def _hook_hints(stderr: str) -> list[str]:
    """The gitcoord commands a hook's `→` hint lines suggest."""
    import re

    return [m.group(1).strip() for line in stderr.splitlines() if "→" in line
            for m in [re.search(r"(gitcoord [^()`;,]+?)(?:\s+\(|;|,|$)", line)] if m]


def test_every_hint_the_pre_commit_hook_prints_works_as_printed(repo, monkeypatch):
    """Foreign path: the hint asks its owner (a request, never a key); unowned path: the hint adds it."""
    import shlex

    setup_project(repo, monkeypatch)
    bad = commit(repo, {"src/web/app.js": "let x\n"})
    assert bad.returncode != 0
    [ask] = [h for h in _hook_hints(bad.stderr) if "lock acquire" in h]
    asked = run_cli(*shlex.split(ask)[1:], cwd=repo)
    assert asked.code == 1 and "asked bob" in asked.err  # a request to the owner, nothing taken
    again = subprocess.run(["git", "commit", "-q", "-m", "again"], cwd=repo, capture_output=True, text=True)
    assert again.returncode != 0  # the request confers nothing
    git(repo, "reset", "-q", "HEAD", "--", "src/web/app.js")

    put_task(repo, "API-1", "alice", ["src/api/"])  # unowned paths warn by default: deny them
    store = Store(gitutil.open_repo(repo), agent="lead")
    store.transact(lambda txn: txn.put("gitcoord.yaml", {**txn.load("gitcoord.yaml"),
                                                          "policies": {"unowned": "deny"}}))
    unowned = commit(repo, {"tools/gen.py": "x\n"})
    assert unowned.returncode != 0
    [add] = [h for h in _hook_hints(unowned.stderr) if "--add-owns" in h]
    assert run_cli(*shlex.split(add)[1:], cwd=repo, env={"GITCOORD_AGENT": "lead"}).code == 0
    retried = subprocess.run(["git", "commit", "-q", "-m", "gen"], cwd=repo, capture_output=True, text=True)
    assert retried.returncode == 0, retried.stderr
    owns = run_cli("--json", "task", "show", "API-1", cwd=repo).json["owns"]
    assert owns == ["src/api/", "/tools/gen.py"]  # added, nothing replaced
