"""Attack suite, item 7 (locks): a crashed waiter no longer stalls the FIFO queue, `lock break`
clears the queue, a client whose clock runs ahead cannot take a live lock past the server, and a
lock race between real processes still has exactly one winner with the server hook installed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

from conftest import git, run_cli, run_proc
from test_attacks_net import ok, team

RESOURCE = "src/shared/config.py"


def _locks(work) -> list[dict]:
    data = ok(run_cli("--json", "lock", "list", cwd=work), "lock list").json
    return data["locks"] if isinstance(data, dict) else data


def _iso(delta: timedelta) -> str:
    return (datetime.now(timezone.utc) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def _crashed_waiter(t, work) -> None:
    """alice queues for RESOURCE with --wait 1h, then her process is killed (SIGKILL)."""
    env = dict(os.environ, GITCOORD_QUEUE_LEASE="5")
    proc = subprocess.Popen([sys.executable, "-m", "gitcoord", "lock", "acquire", RESOURCE, "--wait", "1h"],
                            cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):  # until her queue entry is on the shared branch
            git(t.bob, "fetch", "-q", "origin")
            rows = [r for r in _locks(t.bob) if r["resource"] == RESOURCE]
            if rows and any(e.get("agent") == "alice" for e in rows[0].get("queue") or []):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("alice never got queued")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def test_a_crashed_waiter_does_not_stall_the_queue(remote, monkeypatch):
    t = team(remote, monkeypatch)
    ok(run_cli("lock", "acquire", RESOURCE, "--reason", "editing", cwd=t.bob), "bob locks")
    _crashed_waiter(t, t.alice)
    ok(run_cli("lock", "release", RESOURCE, cwd=t.bob), "bob releases")
    # a minute later alice's heartbeat has long stopped: lead is not stuck behind her entry
    later = {"GITCOORD_NOW": _iso(timedelta(minutes=1))}
    res = run_cli("--json", "lock", "acquire", RESOURCE, cwd=t.lead, env=later)
    assert res.code == 0, res.err


def test_lock_break_clears_the_queue(remote, monkeypatch):
    t = team(remote, monkeypatch)
    taken = ok(run_cli("--json", "lock", "acquire", RESOURCE, "--reason", "editing", cwd=t.bob), "bob locks")
    lock_id = taken.json.get("id")
    _crashed_waiter(t, t.alice)
    ok(run_cli("lock", "break", lock_id, "--reason", "bob and alice are gone", cwd=t.lead), "audited break")
    assert [r for r in _locks(t.lead) if r["resource"] == RESOURCE] == []
    ok(run_cli("lock", "acquire", RESOURCE, cwd=t.lead), "the resource is free again")


def test_client_clock_ahead_cannot_take_a_live_lock_over_git_daemon(daemon_remote, monkeypatch):
    t = team(daemon_remote, monkeypatch)
    for work in (t.lead, t.alice, t.bob):
        git(work, "remote", "set-url", "origin", daemon_remote.url)
    ok(run_cli("lock", "acquire", RESOURCE, "--ttl", "2h", "--reason", "editing", cwd=t.bob), "bob locks for 2h")
    ahead = {"GITCOORD_NOW": _iso(timedelta(hours=3))}  # alice's clock runs 3h ahead
    res = run_cli("lock", "acquire", RESOURCE, cwd=t.alice, env=ahead)
    assert res.code != 0 and "not alice's to release" in res.err, res.err
    holders = [[h["agent"] for h in r["holders"]] for r in _locks(t.bob) if r["resource"] == RESOURCE]
    assert holders == [["bob"]]


def test_lock_race_has_one_winner_with_the_server_hook(remote, monkeypatch):
    t = team(remote, monkeypatch)
    clones = {"lead": t.lead, "alice": t.alice, "bob": t.bob}
    barrier = threading.Barrier(len(clones))
    results: dict[str, object] = {}

    def one(name, work):
        barrier.wait(timeout=30)
        results[name] = run_proc("--json", "lock", "acquire", RESOURCE, "--reason", "race", cwd=work)

    threads = [threading.Thread(target=one, args=item) for item in clones.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    codes = sorted(r.code for r in results.values())
    assert codes == [0, 1, 1], {n: (r.code, r.err[-300:]) for n, r in results.items()}
    (winner,) = [n for n, r in results.items() if r.code == 0]
    assert [[h["agent"] for h in r["holders"]] for r in _locks(t.lead) if r["resource"] == RESOURCE] == [[winner]]


def _plant_ref_lock(gitdir, age_seconds: float):
    lock = gitdir / "refs" / "heads" / "gitcoord.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    then = time.time() - age_seconds
    os.utime(lock, (then, then))
    return lock


def test_a_stale_ref_lock_left_by_a_crash_is_recovered_a_live_one_is_not(repo):
    assert run_cli("init", cwd=repo).code == 0
    lock = _plant_ref_lock(repo / ".git", 600)
    ok(run_cli("task", "add", "T1", "--title", "one", cwd=repo), "write past a stale lock")
    assert not lock.exists() and list((repo / ".git" / "gitcoord" / "stale-locks").iterdir())
    fresh = _plant_ref_lock(repo / ".git", 0)
    res = run_cli("task", "add", "T2", "--title", "two", cwd=repo)
    assert res.code == 3 and "gitcoord.lock exists" in res.err, res.err
    assert fresh.exists()  # a lock that may belong to a running git process is left alone
    fresh.unlink()


def test_a_stale_ref_lock_on_the_server_does_not_block_pushes(remote, monkeypatch):
    t = team(remote, monkeypatch)
    _plant_ref_lock(remote.bare, 600)
    ok(run_cli("lock", "acquire", RESOURCE, cwd=t.alice), "push past the server's stale lock")


def test_a_lock_taken_after_a_push_blocks_new_changes_to_the_path_not_the_whole_branch(remote, monkeypatch):
    from test_attacks_net import push, write_commit

    t = team(remote, monkeypatch)
    branch = t.branches["A"]
    write_commit(t.alice, {"docs/notes.md": "v1\n"})
    assert push(t.alice, branch).returncode == 0
    ok(run_cli("lock", "acquire", "docs/notes.md", "--reason", "rewriting", cwd=t.bob), "bob locks docs")
    write_commit(t.alice, {"src/a/more.py": "x\n"})
    res = push(t.alice, branch)
    assert res.returncode == 0, res.stderr
    write_commit(t.alice, {"docs/notes.md": "v2\n"})
    res = push(t.alice, branch)
    assert res.returncode != 0 and "locked" in res.stderr and "docs/notes.md" in res.stderr, res.stderr
