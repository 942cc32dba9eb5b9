"""The coordination store against real repositories: init, isolation, worktrees, bare repos,
crash safety, sync and bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pygit2
import pytest

from conftest import git, make_repo, run_cli, snapshot_worktree
from gitcoord.errors import InvalidFile
from gitcoord.store import Store


def dirty(repo: Path) -> None:
    """Leave staged, unstaged and untracked changes, which gitcoord must not touch."""
    (repo / "README.md").write_text("changed but not staged\n")
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")
    (repo / "untracked.txt").write_text("untracked\n")


def test_init_is_idempotent_and_leaves_worktree_index_head_alone(repo):
    dirty(repo)
    before = snapshot_worktree(repo)
    first = run_cli("--json", "init", cwd=repo)
    assert first.code == 0, first.err
    assert first.json["created"] is True
    tip = git(repo, "rev-parse", "refs/heads/gitcoord")
    second = run_cli("--json", "init", cwd=repo)
    assert second.code == 0 and second.json["created"] is False
    assert git(repo, "rev-parse", "refs/heads/gitcoord") == tip  # no new commit
    assert git(repo, "ls-tree", "--name-only", "gitcoord") == "gitcoord.yaml"
    assert git(repo, "rev-list", "--max-parents=0", "gitcoord") == tip  # orphan
    git(repo, "branch", "dev")  # a base must exist (config set base refuses one that does not)
    for args in (["state"], ["task", "add", "T1", "--title", "One", "--owns", "src/**"], ["config", "set", "base", "dev"],
                 ["task", "start", "T1"], ["history"]):
        result = run_cli(*args, cwd=repo)
        assert result.code == 0, (args, result.err)
    assert snapshot_worktree(repo) == before


def test_structured_commit_messages(repo):
    run_cli("init", cwd=repo)
    run_cli("--agent", "alice", "task", "add", "T1", "--title", "One", cwd=repo)
    message = git(repo, "log", "-1", "--format=%B", "gitcoord")
    assert message.splitlines()[0] == "[task.add] add T1: One"
    assert "Gitcoord-Op: task.add" in message
    assert "Gitcoord-Agent: alice" in message
    assert "Gitcoord-Task: T1" in message
    history = run_cli("--json", "history", cwd=repo).json["history"]
    assert [h["op"] for h in history] == ["task.add", "init"]
    assert history[0]["task"] == "T1" and history[0]["agent"] == "alice"


def test_linked_worktree_shares_the_store(repo, tmp_path):
    run_cli("init", cwd=repo)
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "other", str(wt))
    before = snapshot_worktree(wt)
    assert run_cli("task", "add", "W1", "--title", "from worktree", cwd=wt).code == 0
    assert snapshot_worktree(wt) == before
    listed = run_cli("--json", "task", "list", cwd=repo).json
    assert [t["id"] for t in listed] == ["W1"]


def test_bare_repository(tmp_path):
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    assert run_cli("init", cwd=bare).code == 0
    assert run_cli("task", "add", "B1", "--title", "bare", cwd=bare).code == 0
    state = run_cli("--json", "state", cwd=bare).json
    assert state["counts"]["tasks"] == 1


def test_crash_between_objects_and_ref_leaves_old_state(repo, tmp_path):
    run_cli("init", cwd=repo)
    run_cli("task", "add", "T1", "--title", "one", cwd=repo)
    old_tip = git(repo, "rev-parse", "gitcoord")
    marker = tmp_path / "paused"
    env = dict(os.environ, GITCOORD_TEST_PAUSE=f"before-cas:{marker}")
    proc = subprocess.Popen([sys.executable, "-m", "gitcoord", "task", "add", "T2", "--title", "two"], cwd=repo,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert git(repo, "rev-parse", "gitcoord") == old_tip
    git(repo, "fsck", "--no-dangling")
    listed = run_cli("--json", "task", "list", cwd=repo)
    assert listed.code == 0 and [t["id"] for t in listed.json] == ["T1"]
    again = run_cli("task", "add", "T2", "--title", "two", cwd=repo)
    assert again.code == 0, again.err
    assert [t["id"] for t in run_cli("--json", "task", "list", cwd=repo).json] == ["T1", "T2"]


def _write_raw(repo: Path, path: str, data: bytes) -> None:
    store = Store(pygit2.Repository(str(repo)), agent="test")
    store.transact(lambda txn: txn.put_bytes(path, data))


@pytest.mark.parametrize("content, expect", [
    (b"id: X\ntitle: [unclosed\n", "tasks/X.yaml: malformed YAML (line "),
    (b"id: X\ntitle: fine\nstatus: flying\n", "tasks/X.yaml at /status:"),
    (b"id: X\ntitle: fine\nstatus: planned\nbogus: 1\n", "tasks/X.yaml at /:"),
    (b"a: &a [1, 2]\nb: *a\n", "YAML aliases"),
])
def test_bad_files_on_the_branch_are_reported_with_path_and_pointer(repo, content, expect):
    run_cli("init", cwd=repo)
    _write_raw(repo, "tasks/X.yaml", content)
    result = run_cli("task", "list", cwd=repo)
    assert result.code == 2
    assert expect in result.err
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_bad_input_exit_2_one_line(repo, tmp_path):
    run_cli("init", cwd=repo)
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    cases = [
        (["state"], outside, "not inside a git repository"),
        (["config", "get", "no.such.key"], repo, "unknown config key 'no.such.key'"),
        (["config", "set", "policies.unowned", "maybe"], repo, "config key 'policies.unowned'"),
        (["task", "show", "NOPE"], repo, "unknown task 'NOPE'"),
        (["task", "add", "../evil", "--title", "x"], repo, "task id '../evil'"),
        (["task", "add", "OK", "--title", "x", "--owns", "../etc/passwd"], repo, ".."),
        (["task", "add", "OK", "--title", "x", "--owns", "/abs\0nul"], repo, "NUL"),
        (["init", "--branch", "bad..name"], repo, "not a valid git ref name"),
        (["--remote", "nowhere", "state"], repo, "no such remote"),
    ]
    tip = git(repo, "rev-parse", "gitcoord")
    for args, cwd, expect in cases:
        result = run_cli(*args, cwd=cwd)
        assert result.code == 2, (args, result.out, result.err)
        assert expect in result.err, (args, result.err)
        assert "Traceback" not in result.err
    assert git(repo, "rev-parse", "gitcoord") == tip  # nothing written


def test_debug_shows_traceback(repo):
    result = run_cli("--debug", "task", "show", "NOPE", cwd=repo)
    assert result.code == 2 and "Traceback" in result.err


def test_json_errors_are_json_on_stdout(repo):
    run_cli("init", cwd=repo)
    result = run_cli("--json", "task", "show", "NOPE", cwd=repo)
    assert result.code == 2
    assert result.json["error"]["exit_code"] == 2


def test_entity_cache_survives_and_is_keyed_by_blob(repo):
    run_cli("init", cwd=repo)
    for i in range(5):
        run_cli("task", "add", f"T{i}", "--title", f"task {i}", cwd=repo)
    cache = Path(git(repo, "rev-parse", "--git-common-dir"))
    cache = (repo / cache) if not cache.is_absolute() else cache
    assert (cache / "gitcoord" / "entities-task.marshal").exists()
    assert not (cache / "gitcoord" / "entities-event.marshal").exists()  # events were never read
    # A corrupted cache is ignored.
    (cache / "gitcoord" / "entities-task.marshal").write_bytes(b"garbage")
    assert len(run_cli("--json", "task", "list", cwd=repo).json) == 5


def test_sync_fast_forwards_and_merges_local_divergence(remote):
    a = remote.clone("a")
    b = remote.clone("b")
    assert run_cli("--remote", "origin", "init", cwd=a).code == 0
    # b adopts the shared branch instead of forking it
    assert run_cli("init", "--remote", "origin", cwd=b).code == 0
    assert git(a, "rev-parse", "gitcoord") == git(b, "rev-parse", "gitcoord")
    # b works offline (local mode), a works through the remote: they diverge
    git(b, "config", "--unset", "gitcoord.remote")
    assert run_cli("task", "add", "LOCAL", "--title", "offline work", cwd=b).code == 0
    assert run_cli("--remote", "origin", "task", "add", "SHARED", "--title", "online", cwd=a).code == 0
    result = run_cli("--json", "--remote", "origin", "sync", cwd=b)
    assert result.code == 0, result.err
    assert result.json["action"] == "replayed" and [op["op"] for op in result.json["replayed"]] == ["task.add"]
    ids = [t["id"] for t in run_cli("--json", "--remote", "origin", "task", "list", cwd=a).json]
    assert ids == ["LOCAL", "SHARED"]
    assert run_cli("--json", "--remote", "origin", "sync", cwd=a).json["action"] in ("up-to-date", "fast-forward-local")


def test_sync_reports_a_true_conflict(remote):
    a = remote.clone("a")
    b = remote.clone("b")
    run_cli("--remote", "origin", "init", cwd=a)
    run_cli("--remote", "origin", "task", "add", "T", "--title", "original", cwd=a)
    run_cli("--remote", "origin", "sync", cwd=b)
    run_cli("task", "edit", "T", "--title", "local title", cwd=b)
    run_cli("--remote", "origin", "task", "edit", "T", "--title", "remote title", cwd=a)
    remote_tip = git(remote.bare, "rev-parse", "gitcoord")
    result = run_cli("--remote", "origin", "sync", cwd=b)
    assert result.code == 1
    assert "LOST: [task.edit] edit T — task T changed on the remote meanwhile" in result.out
    assert git(remote.bare, "rev-parse", "gitcoord") == remote_tip
    # the lost operation is not applied anywhere, and the offline commit stays reachable
    assert git(b, "rev-parse", "gitcoord") == remote_tip
    backup = [w for w in result.out.split() if w.startswith("refs/gitcoord/offline-backup/")][0].rstrip(";")
    assert "local title" in git(b, "show", f"{backup}:tasks/T.yaml")


def test_usage_errors_are_one_line_and_bare_groups_show_help(repo):
    bad = run_cli("plan", "--agents", "0", cwd=repo)
    assert bad.code == 2
    assert bad.err.strip().splitlines() == [
        "gitcoord: error: Invalid value for '--agents': 0 is not in the range x>=1. (see `gitcoord plan --help`)"]
    unknown = run_cli("nosuch", cwd=repo)
    assert unknown.code == 2 and len(unknown.err.strip().splitlines()) == 1
    bare = run_cli("task", cwd=repo)
    assert bare.code == 0 and bare.out.startswith("Usage: gitcoord task")
    assert run_cli("--version").out.startswith("gitcoord, version ")


def test_cold_read_in_parallel_matches_serial_and_reports_bad_files(repo, monkeypatch):
    import shutil

    from gitcoord import store as store_mod

    run_cli("init", cwd=repo)
    st = Store(pygit2.Repository(str(repo)), agent="test")
    docs = {f"T{i:03d}": {"id": f"T{i:03d}", "title": f"task {i}", "status": "planned", "estimate": i / 2}
            for i in range(40)}
    # half as gitcoord writes them, half hand-edited (a comment: only PyYAML reads those, in workers)
    st.transact(lambda txn: [txn.put_bytes(f"tasks/{k}.yaml", (b"# edited\n" if i % 2 else b"")
                                           + store_mod.dump_bytes("t.yaml", v))
                             for i, (k, v) in enumerate(docs.items())] and None)
    cache_dir = Path(st.repo.path) / "gitcoord"
    shutil.rmtree(cache_dir, ignore_errors=True)
    monkeypatch.setattr(store_mod, "PARALLEL_PARSE_MIN", 10)
    assert store_mod._can_fork_workers()
    shares = []
    in_workers = store_mod._in_workers
    monkeypatch.setattr(store_mod, "_in_workers", lambda work, items: shares.append(len(items)) or in_workers(work, items))
    parallel = Store(pygit2.Repository(str(repo)), agent="test").snapshot().load_dir("tasks", ".yaml")
    assert shares == [20]  # the 20 hand-edited files went to the workers
    assert {p.split("/")[1][:-5]: {k: v for k, v in o.items() if k in ("id", "title", "status", "estimate")}
            for p, o in parallel.items()} == docs
    assert (cache_dir / "entities-task.marshal").exists()
    _write_raw(repo, "tasks/T017.yaml", b"id: T017\ntitle: x\nstatus: lost\n")
    shutil.rmtree(cache_dir, ignore_errors=True)
    with pytest.raises(InvalidFile) as err:
        Store(pygit2.Repository(str(repo)), agent="test").snapshot().load_dir("tasks", ".yaml")
    assert err.value.path == "tasks/T017.yaml" and err.value.pointer == "/status"


def test_a_push_refused_by_the_remote_is_reported_not_retried_as_a_race(remote):
    """A pre-receive hook (or a protected branch) refusing the push is final: say so at once,
    instead of re-fetching and retrying until "kept moving"."""
    a = remote.clone("a")
    assert run_cli("--remote", "origin", "init", cwd=a).code == 0
    hook = remote.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'coordination branch is frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    tip = git(remote.bare, "rev-parse", "gitcoord")
    result = run_cli("--remote", "origin", "task", "add", "T", "--title", "t", cwd=a)
    assert result.code == 3
    assert "pre-receive hook declined" in result.err and "coordination branch is frozen" in result.err
    assert "kept moving" not in result.err
    assert git(remote.bare, "rev-parse", "gitcoord") == tip


def test_a_write_moving_another_ref_moves_both_or_neither(repo):
    """A batch merge lands its target together with its record: one ref transaction."""
    from gitcoord.errors import RaceError

    assert run_cli("init", cwd=repo).code == 0
    store = Store(pygit2.Repository(str(repo)), agent="alice")
    main = git(repo, "rev-parse", "main")
    git(repo, "branch", "target", main)
    git(repo, "commit", "-q", "--allow-empty", "-m", "next")
    new = git(repo, "rev-parse", "HEAD")
    coord = store.local_tip()

    def write(txn):
        txn.put_bytes("notes/x.txt", b"x\n")

    with pytest.raises(RaceError):  # the target is not where the caller saw it: nothing moves
        store.transact(write, also=(("refs/heads/target", new, main),))
    assert store.local_tip() == coord and git(repo, "rev-parse", "target") == main
    result = store.transact(write, also=(("refs/heads/target", main, new),))
    assert result.changed and store.local_tip() == result.commit != coord
    assert git(repo, "rev-parse", "target") == new


def test_state_json_is_remembered_by_commit_and_follows_every_change(repo):
    assert run_cli("init", cwd=repo).code == 0
    assert run_cli("task", "add", "T1", "--title", "One", "--owns", "src/**", cwd=repo).code == 0
    first = run_cli("--json", "state", cwd=repo)
    assert first.code == 0 and (repo / ".git" / "gitcoord" / "state-json.marshal").is_file()
    assert run_cli("--json", "state", cwd=repo).json == first.json
    assert run_cli("--agent", "bob", "--json", "state", cwd=repo).json["agent"] == "bob"  # not from the memo
    assert run_cli("task", "add", "T2", "--title", "Two", "--owns", "lib/**", cwd=repo).code == 0
    after = run_cli("--json", "state", cwd=repo).json
    assert [t["id"] for t in after["tasks"]] == ["T1", "T2"] and after["commit"] != first.json["commit"]
