"""Batch merges through the CLI: selection and order from the task graph, records on the
coordination branch, conflicts with owners, thresholds, and atomic pushes with leases."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import git, run_cli, snapshot_worktree


def commit_on(repo: Path, branch: str, files: dict[str, str], message: str) -> None:
    """Commit files on `branch` without touching the main work tree (plumbing via a temp index)."""
    import os
    import subprocess

    env = dict(os.environ, GIT_INDEX_FILE=str(repo / ".git" / f"tmp-index-{branch.replace('/', '_')}"))
    parent = git(repo, "rev-parse", branch)
    subprocess.run(["git", "read-tree", parent], cwd=repo, env=env, check=True)
    for path, content in files.items():
        blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=content, text=True,
                              capture_output=True, check=True).stdout.strip()
        subprocess.run(["git", "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}"], cwd=repo, env=env,
                       check=True)
    tree = subprocess.run(["git", "write-tree"], cwd=repo, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()
    commit = git(repo, "commit-tree", tree, "-p", parent, "-m", message)
    git(repo, "update-ref", f"refs/heads/{branch}", commit)


def make_task(repo: Path, task_id: str, owns: str, files: dict[str, str], deps: list[str] = (), agent: str = "ann",
              priority: int = 0) -> None:
    args = ["task", "add", task_id, "--title", f"task {task_id}", "--owns", owns, "--estimate", "1h",
            "--feature", "cart", "--role", "dev", "--priority", str(priority)]
    for dep in deps:
        args += ["--depends-on", dep]
    assert run_cli(*args, cwd=repo).code == 0
    start = run_cli("--json", "--agent", agent, "task", "start", task_id, "--force", cwd=repo)
    assert start.code == 0, start.err
    commit_on(repo, start.json["branch"], files, f"work on {task_id}")
    shared = git(repo, "config", "--get", "gitcoord.remote", check=False)  # remote mode: push the work too
    done = run_cli("--agent", agent, "task", "done", task_id, *(["--push"] if shared else []), cwd=repo)
    assert done.code == 0, done.err


@pytest.fixture
def project(repo: Path) -> Path:
    git(repo, "switch", "-q", "-c", "workbench")  # the user's checkout is not the merge target
    assert run_cli("init", cwd=repo).code == 0
    return repo


def test_diamond_lands_in_dependency_order_and_is_recorded(project):
    repo = project
    make_task(repo, "BASE", "/base/", {"base/a.txt": "base\n"})
    make_task(repo, "LEFT", "/left/", {"left/l.txt": "l\n"}, ["BASE"])
    make_task(repo, "RIGHT", "/right/", {"right/r.txt": "r\n"}, ["BASE"], priority=5)
    make_task(repo, "TOP", "/top/", {"top/t.txt": "t\n"}, ["LEFT", "RIGHT:info"])
    run_cli("--agent", "ann", "lock", "acquire", "left/", "--task", "LEFT", cwd=repo)
    plan = run_cli("--json", "merge", "plan", cwd=repo).json
    assert [i["task"] for i in plan["order"]] == ["BASE", "RIGHT", "LEFT", "TOP"]  # RIGHT first: priority
    assert plan["clean"] and plan["ready_share"] == 1.0
    before = snapshot_worktree(repo)
    result = run_cli("--json", "merge", "run", cwd=repo)
    assert result.code == 0, result.err
    data = result.json
    assert data["merged"] == ["BASE", "RIGHT", "LEFT", "TOP"] and data["skipped"] == []
    assert snapshot_worktree(repo) == before
    assert git(repo, "rev-parse", "main") == data["after"]
    log = git(repo, "log", "--first-parent", "--format=%s%n%b", "main")
    assert log.index("task TOP") < log.index("task LEFT") < log.index("task RIGHT") < log.index("task BASE")
    assert "Task: TOP" in log
    assert git(repo, "show", "main:top/t.txt") == "t"
    statuses = {t["id"]: t["status"] for t in run_cli("--json", "task", "list", cwd=repo).json}
    assert set(statuses.values()) == {"merged"}
    assert run_cli("--json", "lock", "list", cwd=repo).json["locks"] == []  # released with LEFT
    shown = run_cli("--json", "merge", "show", data["run"][:12], cwd=repo).json
    assert shown["merged"] == data["merged"] and shown["before"] == data["before"]
    assert run_cli("--json", "merge", "list", cwd=repo).json["runs"][0]["run"] == data["run"]


def test_conflict_drops_dependents_only_and_names_owners(project):
    repo = project
    commit_on(repo, "main", {"shared.txt": "original\n"}, "shared file")
    make_task(repo, "A", "/a/", {"a/x.txt": "a\n", "shared.txt": "from A\n"}, priority=5)
    make_task(repo, "B", "/b/", {"b/x.txt": "b\n", "shared.txt": "from B\n"}, agent="bob")
    make_task(repo, "C", "/c/", {"c/x.txt": "c\n"}, ["B"], agent="bob")
    make_task(repo, "D", "/d/", {"d/x.txt": "d\n"})
    run_cli("task", "edit", "A", "--owns", "/a/", "--owns", "shared.txt", cwd=repo)
    plan = run_cli("--json", "merge", "plan", cwd=repo).json
    # the plan shows what the run will do: B changes shared.txt, which A owns, so it stays out
    assert {e["task"]: e["reason"] for e in plan["excluded"]} == {"B": "ownership", "C": "dependency-skipped"}
    result = run_cli("--json", "merge", "run", cwd=repo)
    assert result.code == 1
    assert result.json["merged"] == ["A", "D"]
    reasons = {s["task"]: s["reason"] for s in result.json["skipped"]}
    # B also changes shared.txt, which A owns: the net-change re-check keeps it out before it can conflict
    assert reasons == {"B": "ownership", "C": "dependency-skipped"}
    statuses = {t["id"]: t["status"] for t in run_cli("--json", "task", "list", cwd=repo).json}
    assert statuses == {"A": "merged", "B": "ready_to_merge", "C": "ready_to_merge", "D": "merged"}
    inbox_events = run_cli("--json", "log", "--type", "merge.skipped", cwd=repo)
    if inbox_events.code == 0:
        assert {e["task"] for e in inbox_events.json["events"]} == {"B", "C"}


def test_atomic_mode_changes_nothing_on_failure(project):
    repo = project
    make_task(repo, "GOOD", "/good/", {"good/x.txt": "ok\n"})
    make_task(repo, "BAD", "/bad/", {"bad/x.txt": "fail\n"})
    main_before = git(repo, "rev-parse", "main")
    result = run_cli("--json", "merge", "run", "--mode", "atomic", "--test", "! test -f bad/x.txt", cwd=repo)
    assert result.code == 1
    assert result.json["merged"] == [] and git(repo, "rev-parse", "main") == main_before
    assert {s["task"] for s in result.json["skipped"]} == {"GOOD", "BAD"}
    assert result.json["tested"] and result.json["test_runs"] >= 1


def test_dependency_not_ready_stays_out_and_threshold(project):
    repo = project
    make_task(repo, "DONE1", "/one/", {"one/x": "1\n"})
    run_cli("task", "add", "OPEN", "--title", "still open", "--feature", "cart", cwd=repo)
    make_task(repo, "AFTER", "/after/", {"after/x": "2\n"}, ["OPEN:info"])
    plan = run_cli("--json", "merge", "plan", "--feature", "cart", "--threshold", "0.9", cwd=repo).json
    assert [i["task"] for i in plan["order"]] == ["DONE1"]
    assert plan["excluded"][0]["task"] == "AFTER" and plan["excluded"][0]["reason"] == "dependency-not-ready"
    assert plan["not_ready"] == [{"task": "OPEN", "status": "ready", "agent": None}]
    assert plan["ready_share"] == pytest.approx(2 / 3, abs=1e-3) and plan["threshold_met"] is False
    before = git(repo, "rev-parse", "main")
    result = run_cli("merge", "run", "--feature", "cart", "--threshold", "0.9", cwd=repo)
    assert result.code == 1 and "nothing merged" in result.err
    assert git(repo, "rev-parse", "main") == before
    waited = run_cli("merge", "run", "--feature", "cart", "--threshold", "0.9", "--wait", "1s", cwd=repo)
    assert waited.code == 1 and "threshold 90%" in waited.err
    dry = run_cli("--json", "merge", "run", "--dry-run", "--test", "true", cwd=repo).json
    assert dry["dry_run"] and dry["expected_test_runs"] == 1
    assert git(repo, "rev-parse", "main") == before


def test_refuses_checked_out_target(repo):
    run_cli("init", cwd=repo)
    make_task(repo, "X", "/x/", {"x/1": "1\n"})
    result = run_cli("merge", "run", cwd=repo)
    assert result.code == 2 and "checked out" in result.err
    assert run_cli("merge", "run", "--allow-checked-out", cwd=repo).code == 0


def test_push_lands_target_and_coordination_branch_atomically(remote):
    repo = remote.clone("integrator")
    git(repo, "switch", "-q", "-c", "workbench")
    assert run_cli("init", "--remote", "origin", cwd=repo).code == 0
    make_task(repo, "P1", "/p1/", {"p1/x": "1\n"})
    make_task(repo, "P2", "/p2/", {"p2/x": "2\n"}, ["P1"])
    result = run_cli("--json", "merge", "run", "--push", cwd=repo)
    assert result.code == 0, result.err
    assert git(remote.bare, "rev-parse", "main") == result.json["after"] == git(repo, "rev-parse", "main")
    remote_tasks = git(remote.bare, "show", "gitcoord:tasks/P2.yaml")
    assert "status: merged" in remote_tasks
    assert git(remote.bare, "ls-tree", "--name-only", "gitcoord", "merges/") == f"merges/{result.json['run']}.json"


def test_push_race_on_target_exits_3_and_changes_nothing(remote):
    repo = remote.clone("integrator")
    git(repo, "switch", "-q", "-c", "workbench")
    run_cli("init", "--remote", "origin", cwd=repo)
    make_task(repo, "R1", "/r1/", {"r1/x": "1\n"})
    other = remote.clone("other")
    (other / "concurrent.txt").write_text("someone else landed first\n")
    git(other, "add", "concurrent.txt")
    git(other, "commit", "-qm", "concurrent")
    # The test command runs while the batch is being built: another developer pushes to main then.
    result = run_cli("merge", "run", "--push", "--test", f"git -C {other} push -q origin main", cwd=repo)
    assert result.code == 3, result.err
    assert "nothing was changed" in result.err
    assert git(remote.bare, "rev-parse", "main") == git(other, "rev-parse", "HEAD")
    assert "status: ready_to_merge" in git(remote.bare, "show", "gitcoord:tasks/R1.yaml")
    assert git(remote.bare, "ls-tree", "gitcoord", "merges/") == ""


def test_threshold_from_config_gates_merge_run(project):
    repo = project
    make_task(repo, "READY", "/ready/", {"ready/x": "1\n"})
    run_cli("task", "add", "LATER", "--title", "not yet", "--feature", "cart", cwd=repo)
    assert run_cli("--json", "merge", "plan", cwd=repo).json["threshold"] == 0  # no threshold by default
    run_cli("config", "set", "merge.threshold", "0.9", cwd=repo)
    before = git(repo, "rev-parse", "main")
    gated = run_cli("merge", "run", cwd=repo)
    assert gated.code == 1 and "threshold 90%" in gated.err and git(repo, "rev-parse", "main") == before
    assert run_cli("merge", "run", "--threshold", "0.5", cwd=repo).code == 0  # the flag overrides the config


def test_task_reopened_during_the_run_still_gets_a_record(project):
    """The batch lands before the record is written: a task reopened meanwhile (here by the test
    command) must not make the record fail with the target already moved."""
    import sys

    repo = project
    make_task(repo, "KEEP", "/keep/", {"keep/x": "1\n"})
    make_task(repo, "REOPEN", "/re/", {"re/x": "2\n"})
    reopen = f"{sys.executable} -m gitcoord -C {repo} --agent ann task start REOPEN"
    result = run_cli("--json", "merge", "run", "--test", reopen, cwd=repo)
    assert result.code == 0, result.err
    assert result.json["merged"] == ["KEEP", "REOPEN"]
    assert git(repo, "rev-parse", "main") == result.json["after"]
    statuses = {t["id"]: t["status"] for t in run_cli("--json", "task", "list", cwd=repo).json}
    assert statuses == {"KEEP": "merged", "REOPEN": "in_progress"}  # the reopened task keeps its status
    shown = run_cli("--json", "merge", "show", result.json["run"], cwd=repo).json
    assert shown["merged"] == ["KEEP", "REOPEN"] and shown["status_kept"] == ["REOPEN"]


def test_empty_branch_left_out_but_a_branch_merged_earlier_is_not_empty(project):
    repo = project
    make_task(repo, "EARLY", "/early/", {"early/x": "1\n"})
    early_tip = git(repo, "rev-parse", run_cli("--json", "task", "show", "EARLY", cwd=repo).json["branch"])
    git(repo, "update-ref", "refs/heads/main",  # merged by hand with a merge commit, status not updated
        git(repo, "commit-tree", f"{early_tip}^{{tree}}", "-p", "main", "-p", early_tip, "-m", "merge by hand"))
    run_cli("task", "add", "NOOP", "--title", "nothing to change", "--owns", "/noop/", cwd=repo)
    assert run_cli("--agent", "ann", "task", "start", "NOOP", cwd=repo).code == 0
    refused = run_cli("--agent", "ann", "task", "done", "NOOP", cwd=repo)
    assert refused.code == 1 and "no commits of its own" in refused.err
    assert run_cli("--agent", "ann", "task", "done", "NOOP", "--allow-empty", cwd=repo).code == 0
    plan = run_cli("--json", "merge", "plan", cwd=repo).json
    assert [i["task"] for i in plan["order"]] == ["EARLY"]
    assert [(e["task"], e["reason"]) for e in plan["excluded"]] == [("NOOP", "empty")]
    before = git(repo, "rev-parse", "main")
    result = run_cli("--json", "merge", "run", cwd=repo)
    assert result.code == 1 and result.json["merged"] == ["EARLY"]  # already on main: honest to mark it
    assert git(repo, "rev-parse", "main") == before
    statuses = {t["id"]: t["status"] for t in run_cli("--json", "task", "list", cwd=repo).json}
    assert statuses == {"EARLY": "merged", "NOOP": "ready_to_merge"}
    assert run_cli("--json", "merge", "run", "--allow-empty", cwd=repo).json["merged"] == ["NOOP"]


def test_nothing_to_merge_writes_nothing(project):
    repo = project
    tip = git(repo, "rev-parse", "gitcoord")
    result = run_cli("--json", "merge", "run", cwd=repo)
    assert result.code == 0 and result.json["run"] is None and result.json["written"] is False
    assert git(repo, "rev-parse", "gitcoord") == tip
    assert run_cli("--json", "merge", "list", cwd=repo).json["runs"] == []
    assert "nothing to merge" in run_cli("merge", "run", cwd=repo).out


def test_done_again_after_a_fix_keeps_the_task_ready_to_merge(project):
    repo = project
    make_task(repo, "FIX", "/fix/", {"fix/x": "1\n"})
    again = run_cli("--agent", "ann", "task", "done", "FIX", cwd=repo)
    assert again.code == 0 and "already yours (ready_to_merge)" in again.out
    assert run_cli("--agent", "bob", "task", "done", "FIX", cwd=repo).code == 2  # not bob's: no silent no-op
