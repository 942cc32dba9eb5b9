"""Real OS processes racing on one coordination branch: through a bare remote, over a
git daemon on 127.0.0.1, and on one local repository. No lost updates, one winner."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import git, run_cli

# Each worker waits at a gate file so that all of them start the operation at the same instant.
WORKER = """
import os, sys, time
gate = sys.argv[1]
while not os.path.exists(gate):
    time.sleep(0.002)
from gitcoord.cli.main import main
main(sys.argv[2:])
"""


def race(jobs: list[tuple[Path, list[str]]], gate: Path, timeout: float = 120) -> list[tuple[int, str, str]]:
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(gate), *args], cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=dict(os.environ, GITCOORD_OFFLINE="0"))
             for cwd, args in jobs]
    time.sleep(0.8)  # let every interpreter import gitcoord and wait at the gate
    gate.write_text("go")
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=timeout)
        out.append((proc.returncode, stdout, stderr))
    return out


def clones(remote, n: int) -> list[Path]:
    first = remote.clone("c0")
    assert run_cli("init", "--remote", "origin", cwd=first).code == 0
    result = [first]
    for i in range(1, n):
        c = remote.clone(f"c{i}")
        git(c, "config", "gitcoord.remote", "origin")
        result.append(c)
    return result


def _distinct_and_same(remote, tmp_path):
    workers = clones(remote, 8)
    results = race([(c, ["task", "add", f"T{i}", "--title", f"task {i}"]) for i, c in enumerate(workers)],
                   tmp_path / "gate1")
    assert all(code == 0 for code, _, _ in results), [r[2] for r in results]
    listed = run_cli("--json", "task", "list", cwd=workers[0]).json
    assert sorted(t["id"] for t in listed) == [f"T{i}" for i in range(8)]  # no lost update

    results = race([(c, ["task", "add", "SAME", "--title", f"by {i}"]) for i, c in enumerate(workers)],
                   tmp_path / "gate2")
    winners = [r for r in results if r[0] == 0]
    losers = [r for r in results if r[0] != 0]
    assert len(winners) == 1, [r[2] for r in results]
    assert all(code == 1 and "already exists" in err for code, _, err in losers), losers
    return workers


def test_eight_processes_through_a_bare_remote(remote, tmp_path):
    workers = _distinct_and_same(remote, tmp_path)
    # Every clone converges on the remote's history; the remote holds every commit.
    tip = git(remote.bare, "rev-parse", "gitcoord")
    assert git(remote.bare, "rev-list", "--count", "gitcoord") == str(1 + 8 + 1)
    run_cli("sync", cwd=workers[3])
    assert git(workers[3], "rev-parse", "gitcoord") == tip


def test_eight_processes_over_git_daemon(daemon_remote, tmp_path):
    assert daemon_remote.url.startswith("git://127.0.0.1:")
    _distinct_and_same(daemon_remote, tmp_path)


def test_eight_agents_claim_one_task_exactly_one_wins(remote, tmp_path):
    workers = clones(remote, 8)
    assert run_cli("task", "add", "HOT", "--title", "contested", cwd=workers[0]).code == 0
    results = race([(c, ["--agent", f"agent{i}", "task", "start", "HOT"]) for i, c in enumerate(workers)],
                   tmp_path / "gate")
    winners = [i for i, r in enumerate(results) if r[0] == 0]
    assert len(winners) == 1, [r[2] for r in results]
    holder = f"agent{winners[0]}"
    for i, (code, _, err) in enumerate(results):
        if i != winners[0]:
            assert code == 1 and f"held by {holder}" in err, err
    task = run_cli("--json", "task", "show", "HOT", cwd=workers[5]).json
    assert task["status"] == "in_progress" and task["agent"] == holder


def test_eight_processes_on_one_local_repository(repo, tmp_path):
    assert run_cli("init", cwd=repo).code == 0
    results = race([(repo, ["task", "add", f"L{i}", "--title", f"local {i}"]) for i in range(8)], tmp_path / "gate")
    assert all(code == 0 for code, _, _ in results), [r[2] for r in results]
    assert len(run_cli("--json", "task", "list", cwd=repo).json) == 8


def test_nothing_to_do_is_confirmed_against_the_remote(remote):
    a, b = remote.clone("a"), remote.clone("b")
    assert run_cli("init", "--remote", "origin", cwd=a).code == 0
    run_cli("task", "add", "T", "--title", "t", cwd=a)
    git(b, "config", "gitcoord.remote", "origin")
    assert run_cli("--agent", "bob", "task", "start", "T", cwd=b).code == 0
    # b's tracking ref still shows bob's claim; meanwhile the task is handed to carol
    assert run_cli("task", "edit", "T", "--agent", "carol", cwd=a).code == 0
    # b's view is stale: bob's "already yours" must not be answered from it
    result = run_cli("--agent", "bob", "task", "start", "T", cwd=b)
    assert result.code == 1 and "held by carol" in result.err, result.err


def test_history_limit_zero(repo):
    run_cli("init", cwd=repo)
    assert run_cli("--json", "history", "-n", "0", cwd=repo).json["history"] == []
