"""Attack suite, item 1: a crafted merge must not delete or revert another task's files.

Every check judges the net effect of a branch (merge-base with the base branch → tip), so the
client pre-push hook, the server pre-receive hook, `check --range` and `merge run` all refuse
a merge commit whose tree drops ``src/b/`` or reverts bob's file. The remote is a real bare
repository with `hooks install --server`; the shared helpers here are used by the other
tests/test_attacks_*.py files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from conftest import git, run_cli

A_OWNS, B_OWNS = "src/a/", "src/b/"
BOB_FILE = "src/b/x.py"


@dataclass
class Team:
    remote: object
    lead: Path
    alice: Path
    bob: Path
    branches: dict[str, str]


def ok(result, what: str):
    assert result.code == 0, f"{what}: exit {result.code}: {result.err.strip()[-800:]}"
    return result


def sh(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})))


def push(cwd: Path, *refspecs: str, verify: bool = False, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return sh(cwd, "git", "push", *([] if verify else ["--no-verify"]), "origin", *refspecs, env=env)


def write_commit(work: Path, files: dict[str, str], message: str = "change", verify: bool = False) -> None:
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    git(work, "add", "--", *files)
    git(work, "commit", "-q", *([] if verify else ["--no-verify"]), "-m", message)


def clone(remote, name: str) -> Path:
    work = remote.clone(name)
    git(work, "config", "gitcoord.agent", name)
    git(work, "config", "gitcoord.remote", "origin")
    return work


def team(remote, monkeypatch, *, maintainers: tuple[str, ...] = ("lead",), server_hook: bool = True) -> Team:
    """lead set up the plan: A (alice, src/a/) and B (bob, src/b/), both started; bob's file on main;
    the server hook installed on the bare remote; alice and bob on their task branches."""
    monkeypatch.setenv("GITCOORD_BIN", f"{sys.executable} -m gitcoord")
    monkeypatch.delenv("GITCOORD_AGENT", raising=False)
    lead = clone(remote, "lead")
    write_commit(lead, {BOB_FILE: "v1\n"}, "bob's first file")
    git(lead, "push", "-q", "origin", "main")
    ok(run_cli("init", "--remote", "origin", cwd=lead), "init")
    agents = [{"name": m, "roles": ["maintainer"]} for m in maintainers] + \
        [{"name": a} for a in ("lead", "alice", "bob") if a not in maintainers]
    ok(run_cli("config", "set", "agents", json.dumps(agents), cwd=lead), "config agents")
    for task, agent, owns in (("A", "alice", A_OWNS), ("B", "bob", B_OWNS)):
        ok(run_cli("task", "add", task, "--title", f"task {task}", "--feature", "shop", "--role", "dev",
                   "--agent", agent, "--owns", owns, "--estimate", "1h", cwd=lead), f"add {task}")
    alice, bob = clone(remote, "alice"), clone(remote, "bob")
    branches = {}
    for task, work in (("A", alice), ("B", bob)):
        started = ok(run_cli("--json", "task", "start", task, cwd=work), f"start {task}")
        branches[task] = started.json["branch"]
        git(work, "switch", "-q", branches[task])
    if server_hook:
        ok(run_cli("hooks", "install", "--server", cwd=remote.bare), "server hook")
    return Team(remote, lead, alice, bob, branches)


def bare_files(remote, ref: str = "main") -> set[str]:
    return set(git(remote.bare, "ls-tree", "-r", "--name-only", ref).split())


def _crafted_merge_dropping_src_b(work: Path) -> str:
    """commit-tree(<HEAD's tree without src/b/>, -p HEAD -p <root commit>): no parent diff shows src/b/ going."""
    write_commit(work, {"src/a/ok.py": "ok\n"}, "honest work")
    env = dict(os.environ, GIT_INDEX_FILE=str(work / ".git" / "crafted-index"))
    subprocess.run(["git", "read-tree", "HEAD"], cwd=work, env=env, check=True)
    subprocess.run(["git", "rm", "-rq", "--cached", "src/b"], cwd=work, env=env, check=True)
    tree = subprocess.run(["git", "write-tree"], cwd=work, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()
    root = git(work, "rev-list", "--max-parents=0", "HEAD")
    crafted = git(work, "commit-tree", tree, "-p", "HEAD", "-p", root, "-m", "Merge innocently")
    git(work, "reset", "-q", "--hard", crafted)
    return crafted


def test_crafted_merge_dropping_another_tasks_files_is_refused_everywhere(remote, monkeypatch):
    t = team(remote, monkeypatch)
    _crafted_merge_dropping_src_b(t.alice)
    branch = t.branches["A"]

    checked = run_cli("--json", "check", "--range", "origin/main..HEAD", cwd=t.alice)
    assert checked.code == 1
    assert [(v["path"], v["rule"]) for v in checked.json["violations"] if v["level"] == "error"] == \
        [(BOB_FILE, "outside-ownership")]

    ok(run_cli("hooks", "install", cwd=t.alice), "client hooks")
    client = push(t.alice, branch, verify=True)
    assert client.returncode != 0 and BOB_FILE in client.stderr and "outside-ownership" in client.stderr

    server = push(t.alice, branch)
    assert server.returncode != 0, server.stderr
    assert "pre-receive" in server.stderr and BOB_FILE in server.stderr and "outside-ownership" in server.stderr
    assert git(remote.bare, "branch", "--list", branch) == ""


def test_merge_of_main_that_reverts_bobs_file_is_refused(remote, monkeypatch):
    t = team(remote, monkeypatch)
    write_commit(t.alice, {"src/a/ok.py": "ok\n"}, "honest work")
    # bob's change lands on main after alice forked
    write_commit(t.lead, {BOB_FILE: "v2\n"}, "bob's second version")
    git(t.lead, "push", "-q", "origin", "main")
    git(t.alice, "fetch", "-q", "origin")
    # "merge" main but keep the old content: no single parent diff shows bob's file changing
    git(t.alice, "merge", "-q", "--no-verify", "-s", "ours", "-m", "merge main", "origin/main")
    assert (t.alice / BOB_FILE).read_text() == "v1\n"

    checked = run_cli("--json", "check", "--range", "origin/main..HEAD", cwd=t.alice)
    assert checked.code == 1 and BOB_FILE in {v["path"] for v in checked.json["violations"]}
    server = push(t.alice, t.branches["A"])
    assert server.returncode != 0 and BOB_FILE in server.stderr and "outside-ownership" in server.stderr

    # the honest merge of main (bob's v2 kept) is fine
    git(t.alice, "reset", "-q", "--hard", "HEAD~1")
    git(t.alice, "merge", "-q", "--no-verify", "--no-edit", "origin/main")
    honest = push(t.alice, t.branches["A"])
    assert honest.returncode == 0, honest.stderr


def test_merge_run_rechecks_the_net_change_before_landing(remote, monkeypatch):
    """A crafted branch that reached the remote past every hook still never lands on main."""
    t = team(remote, monkeypatch, server_hook=False)
    _crafted_merge_dropping_src_b(t.alice)
    assert push(t.alice, t.branches["A"]).returncode == 0  # no server hook yet
    write_commit(t.bob, {"src/b/y.py": "y\n"}, "bob's work")
    assert push(t.bob, t.branches["B"]).returncode == 0
    ok(run_cli("task", "done", "A", cwd=t.alice), "done A")
    ok(run_cli("task", "done", "B", cwd=t.bob), "done B")
    ok(run_cli("hooks", "install", "--server", cwd=remote.bare), "server hook")

    git(t.lead, "fetch", "-q", "origin")
    git(t.lead, "switch", "-q", "-c", "workbench")  # the merge target is not checked out
    planned = ok(run_cli("--json", "merge", "plan", cwd=t.lead), "plan").json  # the plan says so first
    assert [(e["task"], e["reason"]) for e in planned["excluded"] if e["task"] == "A"] == [("A", "ownership")]
    merged = run_cli("--json", "merge", "run", "--push", cwd=t.lead)
    assert merged.code == 1, merged.err
    assert merged.json["merged"] == ["B"]
    [left_out] = [s for s in merged.json["skipped"] if s["task"] == "A"]
    assert left_out["reason"] == "ownership" and BOB_FILE in left_out["files"]
    files = bare_files(remote)
    assert {BOB_FILE, "src/b/y.py"} <= files and "src/a/ok.py" not in files
