"""Eight agents, each a real process in its own clone, race for one exclusive lock through a shared remote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import git, run_cli

RACERS = 8


def _race(remote, tmp_path: Path) -> None:
    first = remote.clone("c0")
    assert run_cli("init", "--remote", "origin", cwd=first).code == 0
    for n in range(RACERS):  # a lock names a task that exists
        assert run_cli("task", "add", f"T{n}", "--title", f"task {n}", cwd=first).code == 0
    clones = [first] + [remote.clone(f"c{n}") for n in range(1, RACERS)]
    go = tmp_path / "go"
    # Every racer imports gitcoord first, then waits for the same starting signal, so the
    # fetch-decide-push windows really overlap instead of being spread over interpreter start-up.
    starter = (
        "import os, sys, time\n"
        "import gitcoord.cli.main, gitcoord.locks, gitcoord.store\n"
        "while not os.path.exists(sys.argv[1]): time.sleep(0.002)\n"
        "sys.argv = ['gitcoord'] + sys.argv[2:]\n"
        "gitcoord.cli.main.main()\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", starter, str(go), "-C", str(clone), "--remote", "origin",
                               "--agent", f"agent{n}", "--json", "lock", "acquire", "src/", "--task", f"T{n}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
             for n, clone in enumerate(clones)]
    time.sleep(0.8)  # let the interpreters finish importing
    go.write_text("go")
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        results.append((proc.returncode, out, err))
    codes = sorted(code for code, _, _ in results)
    assert codes == [0] + [1] * (RACERS - 1), [(c, e[-300:]) for c, _, e in results]
    [winner] = [n for n, (code, _, _) in enumerate(results) if code == 0]
    granted = json.loads(results[winner][1])["lock"]
    assert granted["holders"][0]["agent"] == f"agent{winner}"
    for n, (code, out, err) in enumerate(results):
        if code == 1:
            error = json.loads(out)["error"]
            assert error["holders"][0]["agent"] == f"agent{winner}", err
            assert f"agent{winner}" in err and "lock denied" in err
    # The shared branch holds exactly one lock, the winner's, and one grant event.
    ref = "refs/heads/gitcoord"
    files = git(remote.bare, "ls-tree", "-r", "--name-only", ref).splitlines()
    lock_files = [f for f in files if f.startswith("locks/")]
    assert lock_files == [f"locks/{granted['id']}.json"]
    stored = json.loads(git(remote.bare, "show", f"{ref}:{lock_files[0]}"))
    assert stored["holders"][0]["agent"] == f"agent{winner}"
    grants = [f for f in files if f.startswith("events/")
              and json.loads(git(remote.bare, "show", f"{ref}:{f}"))["type"] == "lock.granted"]
    assert len(grants) == 1


def test_eight_processes_race_for_one_lock_through_a_bare_remote(remote, tmp_path):
    _race(remote, tmp_path)


def test_eight_processes_race_for_one_lock_over_git_daemon(daemon_remote, tmp_path):
    assert daemon_remote.url.startswith("git://127.0.0.1:")
    _race(daemon_remote, tmp_path)


def test_remote_waiter_is_granted_after_release_through_the_remote(remote):
    """--wait in remote mode polls by fetching: a release pushed from another clone frees it."""
    holder_clone, waiter_clone = remote.clone("h"), remote.clone("w")
    assert run_cli("init", "--remote", "origin", cwd=holder_clone).code == 0
    held = run_cli("--remote", "origin", "--agent", "alice", "lock", "acquire", "src/", cwd=holder_clone)
    assert held.code == 0
    waiter = subprocess.Popen([sys.executable, "-m", "gitcoord", "-C", str(waiter_clone), "--remote", "origin",
                               "--agent", "bob", "lock", "acquire", "src/", "--wait", "30s"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while "waits for exclusive" not in git(remote.bare, "log", "-1", "--format=%s", "refs/heads/gitcoord"):
            assert time.monotonic() < deadline and waiter.poll() is None, "waiter never queued"
            time.sleep(0.05)
        assert run_cli("--remote", "origin", "--agent", "alice", "lock", "release", "src/", cwd=holder_clone).code == 0
        out, err = waiter.communicate(timeout=20)
        assert waiter.returncode == 0, err
        listed = run_cli("--remote", "origin", "--json", "lock", "list", cwd=holder_clone).json["locks"]
        assert [(row["id"], row["holders"][0]["agent"]) for row in listed] == [(out.strip(), "bob")]
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()


@pytest.mark.parametrize("resource", ["../x", "/abs/path", "a\x00b"])
def test_hostile_resource_touches_nothing_on_the_remote(remote, resource):
    clone = remote.clone("c")
    assert run_cli("init", "--remote", "origin", cwd=clone).code == 0
    before = git(remote.bare, "rev-parse", "refs/heads/gitcoord")
    result = run_cli("--remote", "origin", "--agent", "a", "lock", "acquire", resource, cwd=clone)
    assert result.code == 2
    assert git(remote.bare, "rev-parse", "refs/heads/gitcoord") == before
