"""`gitcoord demo --run`: the demo's plan driven by `gitcoord run` (real process, real git daemon)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter

import pytest

from conftest import ROOT, git, run_cli


def test_demo_run_merges_the_plan_and_routes_the_conflict_back(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Test\n\temail = test@example.com\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITCOORD_")}
    env.update({"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "PYTHONPATH": str(ROOT)})
    directory = tmp_path / "shop"
    proc = subprocess.run([sys.executable, "-m", "gitcoord", "--json", "demo", "--run", str(directory)],
                          capture_output=True, text=True, env=env, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    from gitcoord.demo import SHARED, TASK_FILES
    from gitcoord.demo_run import CONFLICTING

    assert summary["transport"] == "git-daemon"
    port = int(summary["remote_url"].split(":")[2].split("/")[0])
    with pytest.raises(OSError):  # the daemon was stopped
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    bare = directory / "remote" / "shop.git"
    listed = run_cli("--json", "task", "list", cwd=bare)
    assert {t["id"]: t["status"] for t in listed.json} == {t: "merged" for t in TASK_FILES}
    # exactly one of the two tasks that edited the shared line conflicted; it went back to its agent
    [rejected] = summary["rejections"]
    assert rejected["task"] in CONFLICTING and rejected["reason"] == "conflict" and rejected["files"] == [SHARED]
    owner = {t["id"]: t["agent"] for t in listed.json}
    assert rejected["agent"] == owner[rejected["task"]]
    runs = Counter(d["task"] for d in summary["dispatches"])
    assert runs == Counter({t: 2 if t == rejected["task"] else 1 for t in TASK_FILES})
    assert summary["failures"] == []
    # the remote's main holds every task's files, and the shared line of the task that landed first
    files = set(git(bare, "ls-tree", "-r", "--name-only", "main").split())
    assert {f for paths in TASK_FILES.values() for f in paths} <= files
    landed_first = next(t for t in CONFLICTING if t != rejected["task"])
    assert f"# checked by {landed_first}" in git(bare, "show", f"main:{SHARED}")
    # contract first: bob and carol started on the approved contract before DESIGN was merged
    dispatched = {e["task"]: e["at"] for e in reversed(run_cli("--json", "log", "--type", "run.dispatch",
                                                                cwd=bare).json["events"])}
    merged = {e["task"]: e["at"] for e in run_cli("--json", "log", "--type", "task.merged", cwd=bare).json["events"]}
    assert dispatched["API"] < merged["DESIGN"] and dispatched["UI"] < merged["DESIGN"]
    assert all(dispatched["INTEGRATION"] > merged[t] for t in ("API", "UI", "ANALYTICS", "TESTS"))
    assert (directory / "report.html").read_text().startswith("<!DOCTYPE html>")
