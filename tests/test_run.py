"""`gitcoord run`: the manager driving real (scripted) agent processes in their own worktrees.

The agents are small Python programs written here: they read GITCOORD_* from their environment,
write files in their owned paths, commit in their worktree, post the guide's messages with
`gitcoord msg post -`, and exit — or crash, go silent, or break the test, as a script says.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import CART_SPEC, git, run_cli

AGENT = r'''
import json, os, subprocess, sys, time
task, agent = os.environ["GITCOORD_TASK"], os.environ["GITCOORD_AGENT"]
attempt = int(os.environ["GITCOORD_ATTEMPT"])
brief = open(os.environ["GITCOORD_BRIEF"]).read()
script = json.load(open(os.environ["AGENT_SCRIPT"])).get(task, {})
with open(os.environ["RUNLOG"], "a") as log:
    log.write(f"{task} {attempt} {agent} {os.getcwd()}\n")

def post(doc):
    subprocess.run([sys.executable, "-m", "gitcoord", "msg", "post", "-"], input=json.dumps(doc), text=True,
                   check=True, capture_output=True)

behaviour = script.get("once") if attempt == 1 else None
if behaviour == "silent":
    time.sleep(600)
post({"type": "status_update", "task_id": task, "status": "in_progress", "progress": 10,
      "current_item": "writing " + task})
if script.get("expect_in_brief") and all(text in brief for text in script["expect_in_brief"]):
    with open(os.environ["RUNLOG"], "a") as log:
        log.write(f"{task} brief-ok\n")
if script.get("contract"):  # the provider publishes its contract first: consumers start against it
    name, spec, source = script["contract"]
    os.makedirs(os.path.dirname(spec), exist_ok=True)
    with open(source) as src, open(spec, "w") as dst:
        dst.write(src.read())
    subprocess.run(["git", "add", spec], check=True)
    subprocess.run(["git", "commit", "-q", "-m", f"{task}: contract {name}"], check=True)
    for args in (["contract", "add", name, "--spec", spec], ["contract", "approve", name]):
        subprocess.run([sys.executable, "-m", "gitcoord", *args], check=True, capture_output=True)
time.sleep(script.get("sleep", 0))
if behaviour == "crash":
    print("agent crashed: out of tokens", flush=True)
    sys.exit(3)
if script.get("touch"):  # a shared file outside the owned paths: the way conflicts happen
    if attempt > 1 and "conflicts with" in brief:
        subprocess.run(["git", "merge", "-q", "-X", "theirs", "--no-edit", script["base"]], check=True)
        with open(os.environ["RUNLOG"], "a") as log:
            log.write(f"{task} saw-conflict\n")
    else:
        with open(script["touch"], "w") as fh:
            fh.write(f"{task} was here\n")
owned = script["path"]
os.makedirs(os.path.dirname(owned), exist_ok=True)
bug = behaviour == "fail-test"
with open(owned, "w") as fh:
    fh.write(("BUG " if bug else "ok ") + task + "\n")
if attempt > 1 and "the test command failed" in brief and "BUG" in brief:
    with open(os.environ["RUNLOG"], "a") as log:
        log.write(f"{task} saw-test-output\n")
subprocess.run(["git", "add", "-A"], check=True)
if subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True).stdout.strip():
    subprocess.run(["git", "commit", "-q", "-m", f"{task}: attempt {attempt}"], check=True)
post({"type": "task_complete", "task_id": task, "summary": f"{task} done", "deliverables": [owned]})
'''

PLAN = {
    "feature": "shop",
    "tasks": [
        {"id": "API", "title": "cart API", "role": "backend", "estimate": "2h", "owns": ["src/api/**"],
         "provides": ["cart-api"], "priority": 5},
        {"id": "UI", "title": "cart UI", "role": "frontend", "estimate": "2h", "owns": ["src/ui/**"],
         "consumes": ["cart-api"], "depends_on": [{"task": "API", "kind": "contract"}]},
        {"id": "DOCS", "title": "docs", "estimate": "1h", "owns": ["docs/**"],
         "depends_on": [{"task": "UI", "kind": "info"}]},
        {"id": "INT", "title": "integration", "estimate": "1h", "owns": ["src/int/**"],
         "depends_on": [{"task": "API", "kind": "hard"}, {"task": "UI", "kind": "hard"}]},
    ],
}
TEST_CMD = "if grep -rq BUG src docs 2>/dev/null; then grep -rn BUG src docs; echo 'BUG found'; exit 1; fi"


def _paths(plan):
    return {t["id"]: t["owns"][0].replace("**", "impl.txt") for t in plan["tasks"]}


def _project(work: Path, tmp: Path, plan: dict, script: dict, *, heartbeat: str = "10s", remote: bool,
             init: bool = True) -> dict[str, str]:
    if remote:
        git(work, "config", "gitcoord.remote", "origin")
    if init:
        assert run_cli("--agent", "lead", "init", cwd=work).code == 0
        for key, value in (("policies.heartbeat", heartbeat), ("merge.test", TEST_CMD)):
            r = run_cli("--agent", "lead", "config", "set", key, value, cwd=work)
            assert r.code == 0, r.err
        (tmp / "plan.json").write_text(json.dumps(plan))
        r = run_cli("--agent", "lead", "task", "import", str(tmp / "plan.json"), cwd=work)
        assert r.code == 0, r.err
    paths = _paths(plan)
    full = {tid: {"path": paths[tid], **script.get(tid, {})} for tid in paths}
    (tmp / "script.json").write_text(json.dumps(full))
    (tmp / "agent.py").write_text(AGENT)
    return {"AGENT_SCRIPT": str(tmp / "script.json"), "RUNLOG": str(tmp / "runs.log")}


def _runner(work: Path, tmp: Path, env: dict[str, str], *extra: str, agent: str = "mgr") -> subprocess.Popen:
    cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(tmp / 'agent.py'))}"
    return subprocess.Popen([sys.executable, "-m", "gitcoord", "--agent", agent, "--json", "run",
                             "--agent-cmd", cmd, "--poll", "0.2", *extra], cwd=work,
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, list[dict], str]:
    out, err = proc.communicate(timeout=timeout)
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    return proc.returncode, events, err


def _runs(tmp: Path) -> list[list[str]]:
    path = tmp / "runs.log"
    return [line.split(" ", 3) for line in path.read_text().splitlines()] if path.exists() else []


def _events(work: Path, etype: str) -> list[dict]:
    r = run_cli("--json", "log", "--type", etype, cwd=work)
    assert r.code == 0, r.err
    data = r.json
    return data["events"] if isinstance(data, dict) else data


@pytest.mark.parametrize("transport", ["file", "daemon"])
def test_feature_runs_to_merged_through_crash_silence_and_failing_test(transport, request, tmp_path):
    rem = request.getfixturevalue("remote" if transport == "file" else "daemon_remote")
    work = rem.clone("lead")
    script = {"API": {"contract": ["cart-api", "src/api/cart.yaml", str(CART_SPEC)], "sleep": 1},
              "UI": {"once": "crash", "expect_in_brief": ["cart-api: spec `src/api/cart.yaml`, status approved, "
                                                          "approved version 1.2.0", "## Paths you own",
                                                          "- `src/ui/**`", "gitcoord msg status"]},
              "DOCS": {"once": "silent"}, "INT": {"once": "fail-test"}}
    env = _project(work, tmp_path, PLAN, script, remote=True)
    code, events, err = _finish(_runner(work, tmp_path, env, "--feature", "shop", "--agents", "2"))
    assert code == 0, err[-3000:]
    tasks = {t["id"]: t for t in run_cli("--json", "task", "list", cwd=work).json}
    assert {t["status"] for t in tasks.values()} == {"merged"}
    runs = _runs(tmp_path)
    attempts = {tid: sorted(int(r[1]) for r in runs if r[0] == tid and r[1].isdigit()) for tid in tasks}
    assert attempts == {"API": [1], "UI": [1, 2], "DOCS": [1, 2], "INT": [1, 2]}
    # each attempt ran in the task's own worktree, as the agent holding the task
    for r in runs:
        if r[1].isdigit():
            assert r[3].endswith(f".gitcoord/worktrees/{r[0]}") and r[2] == tasks[r[0]]["agent"]
    # the contract dependency: UI started once API approved its contract, before API was done
    ui_start = min(e["at"] for e in _events(work, "run.dispatch") if e["task"] == "UI")
    api_done = [e["at"] for e in _events(work, "task.done") if e["task"] == "API"]
    approved = [e["at"] for e in _events(work, "contract.approved")]
    assert approved and approved[0] <= ui_start < api_done[0]
    assert ["UI", "brief-ok"] in runs
    # the crash and the silence: the task was blocked with the reason and a blocker reached its agent
    failed = {e["task"]: e for e in events if e["event"] == "failed"}
    assert failed["UI"]["outcome"] == "crashed" and "exited with code 3" in failed["UI"]["reason"]
    assert "out of tokens" in failed["UI"]["reason"]
    assert failed["DOCS"]["outcome"] == "silent"
    for tid in ("UI", "DOCS"):
        history = [h for h in tasks[tid]["history"] if h["status"] == "blocked"]
        assert history and history[0]["reason"].startswith("run: ")
        # addressed to the agent holding the task (its inbox while the task was open: moot once merged)
        blockers = [e for e in _events(work, "msg.blocker") if e["task"] == tid]
        assert [(e["to"], e["data"]["blocking_agent"]) for e in blockers] == [(tasks[tid]["agent"],) * 2]
    # the failing test went back to INT's agent as a coordination request with the output, and the
    # second attempt read it in its brief
    asks = [e for e in _events(work, "msg.request") if e["task"] == "INT"]
    assert [e["to"] for e in asks] == [tasks["INT"]["agent"]]
    assert "BUG found" in asks[0]["data"]["current_state"]
    assignments = [e for e in _events(work, "msg.assignment") if e["task"] == "INT"]
    assert [e["data"]["assigned_to"] for e in assignments] == [tasks["INT"]["agent"]] * 2
    assert ["INT", "saw-test-output"] in runs
    # the work is on the remote's main; the remote's coordination branch says merged
    fresh = rem.clone("check")
    git(fresh, "checkout", "-q", "main")
    for tid, path in _paths(PLAN).items():
        assert (fresh / path).read_text() == f"ok {tid}\n"
    assert [e["event"] for e in events][-1] == "finished" and Path(events[-1]["report"]).exists()
    # merged tasks' worktrees are gone
    assert run_cli("--json", "worktree", "list", cwd=work).json["worktrees"] == []


def test_two_runners_on_one_remote_split_the_work(remote, tmp_path):
    plan = {"feature": "f", "tasks": [{"id": f"T{i}", "title": f"task {i}", "estimate": "1h",
                                       "owns": [f"src/t{i}/**"]} for i in range(6)]}
    a = remote.clone("a")
    env = _project(a, tmp_path, plan, {f"T{i}": {"sleep": 0.5} for i in range(6)}, remote=True)
    b = remote.clone("b")
    git(b, "config", "gitcoord.remote", "origin")
    ra = _runner(a, tmp_path, env, "--agents", "2", "--max-idle", "30", agent="ra")
    rb = _runner(b, tmp_path, env, "--agents", "2", "--max-idle", "30", agent="rb")
    (ca, ea, erra), (cb, eb, errb) = _finish(ra), _finish(rb)
    assert (ca, cb) == (0, 0), (erra[-2000:], errb[-2000:])
    tasks = {f"T{i}" for i in range(6)}
    # Every task ran, and no attempt of a task ran twice (a retry after a failure under load is a new
    # attempt by the same runner; a double dispatch would repeat an attempt or span both runners).
    ran = Counter((r[0], r[1]) for r in _runs(tmp_path))
    assert {task for task, _ in ran} == tasks and max(ran.values()) == 1, ran
    dispatches = _events(a, "run.dispatch")
    attempts = Counter((e["task"], e["data"]["attempt"]) for e in dispatches)
    assert {task for task, _ in attempts} == tasks and max(attempts.values()) == 1, attempts
    runners: dict[str, set[str]] = {}
    for e in dispatches:
        runners.setdefault(e["task"], set()).add(e["data"]["runner"])
    assert all(len(names) == 1 for names in runners.values()), runners
    by_runner = {e["task"] for e in ea if e["event"] == "dispatch"}, {e["task"] for e in eb if e["event"] == "dispatch"}
    assert not (by_runner[0] & by_runner[1])
    assert {t["status"] for t in run_cli("--json", "task", "list", cwd=b).json} == {"merged"}


def test_through_hooks_and_a_guarded_remote_the_manager_acts_for_its_agents(remote, tmp_path, monkeypatch):
    """The pre-push hook judges who pushes: the runner pushes an agent's branch for that agent, not as
    itself (as itself the hook refused every branch: "belongs to task H0, held by a1"). The server guard
    lets a named maintainer record the claims and exits of the agents it drives, and nobody else."""
    monkeypatch.setenv("GITCOORD_BIN", f"{sys.executable} -m gitcoord")
    plan = {"feature": "f", "tasks": [{"id": f"H{i}", "title": f"task {i}", "estimate": "1h",
                                       "owns": [f"src/h{i}/**"]} for i in range(2)]}
    work = remote.clone("hooked")
    env = _project(work, tmp_path, plan, {}, remote=True)
    agents = [{"name": "mgr", "roles": ["maintainer"]}, {"name": "a1"}, {"name": "a2"}, {"name": "lead"}]
    assert run_cli("--agent", "lead", "config", "set", "agents", json.dumps(agents), cwd=work).code == 0
    assert run_cli("--agent", "lead", "hooks", "install", cwd=work).code == 0
    assert run_cli("hooks", "install", "--server", cwd=remote.bare).code == 0
    # Not a maintainer: the guard refuses the first claim it records for another agent (exit 3, one line).
    code, _events, err = _finish(_runner(work, tmp_path, env, "--use-agent", "a1", "--max-idle", "10",
                                         agent="lead"))
    assert code == 3 and "only a named maintainer" in err and "Traceback" not in err, err[-2000:]
    code, events, err = _finish(_runner(work, tmp_path, env, "--max-idle", "30"))
    assert code == 0, err[-2000:]
    assert [e for e in events if e["event"] == "failed"] == []
    listed = run_cli("--json", "task", "list", cwd=work).json
    assert {t["status"] for t in listed} == {"merged"} and {t["agent"] for t in listed} == {"a1", "a2"}
    for task in listed:  # on the remote, pushed through the pre-push hook as its agent
        assert git(remote.bare, "rev-parse", "--verify", f"refs/heads/{task['branch']}")


def test_sigkill_mid_run_and_restart_continues_without_double_dispatch(remote, tmp_path):
    plan = {"feature": "f", "tasks": [{"id": f"K{i}", "title": f"task {i}", "estimate": "1h",
                                       "owns": [f"src/k{i}/**"]} for i in range(3)]}
    work = remote.clone("lead")
    env = _project(work, tmp_path, plan, {f"K{i}": {"sleep": 3} for i in range(3)}, remote=True, heartbeat="1h")
    first = _runner(work, tmp_path, env, "--agents", "2")
    deadline = time.monotonic() + 120
    while len(_runs(tmp_path)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_runs(tmp_path)) == 2, first.stderr.read() if first.poll() is not None else "agents never started"
    first.send_signal(signal.SIGKILL)
    first.wait()
    code, events, err = _finish(_runner(work, tmp_path, env, "--agents", "2"))
    assert code == 0, err[-3000:]
    assert sorted(r[0] for r in _runs(tmp_path)) == ["K0", "K1", "K2"]  # none ran twice
    assert sorted(e["task"] for e in _events(work, "run.dispatch")) == ["K0", "K1", "K2"]
    assert sorted(e["task"] for e in events if e["event"] == "adopted") == sorted(r[0] for r in _runs(tmp_path)[:2])
    assert {t["status"] for t in run_cli("--json", "task", "list", cwd=work).json} == {"merged"}


def test_local_run_gives_up_after_retries_and_lists_what_is_left_out(repo, tmp_path):
    plan = {"feature": "f", "tasks": [
        {"id": "A", "title": "a", "owns": ["src/a/**"]},
        {"id": "B", "title": "b", "owns": ["src/b/**"], "depends_on": [{"task": "A", "kind": "hard"}]},
        {"id": "C", "title": "c", "owns": ["src/c/**"]}]}
    env = _project(repo, tmp_path, plan, {"A": {"once": "crash"}}, remote=False)
    git(repo, "checkout", "-q", "--detach")  # the lead's checkout is not on the base the run merges into
    cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(tmp_path / 'agent.py'))}"
    r = subprocess.run([sys.executable, "-m", "gitcoord", "--agent", "mgr", "run", "--agent-cmd", cmd,
                        "--retries", "0", "--poll", "0.2", "--agents", "1"], cwd=repo, env={**os.environ, **env},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "left out:" in r.stdout and "A (blocked, mgr-1): run: agent exited with code 3" in r.stdout
    assert "B (planned" in r.stdout
    tasks = {t["id"]: t for t in run_cli("--json", "task", "list", cwd=repo).json}
    assert tasks["C"]["status"] == "merged" and tasks["A"]["status"] == "blocked"
    box = run_cli("--json", "inbox", "--agent", "mgr-1", cwd=repo).json["messages"]
    assert [(m["type"], m["reason"]) for m in box if m.get("task") == "A" and m["type"] == "msg.blocker"] == \
        [("msg.blocker", "blocker")]
    assert git(repo, "show", "main:src/c/impl.txt") == "ok C"


def test_bad_input_is_a_one_line_error(repo, tmp_path):
    assert run_cli("--agent", "lead", "init", cwd=repo).code == 0
    r = run_cli("run", "--agent-cmd", "true", "--feature", "nope", cwd=repo)
    assert r.code == 2 and "--feature nope" in r.err and "Traceback" not in r.err
    r = run_cli("run", "--agent-cmd", "  ", cwd=repo)
    assert r.code == 2 and "--agent-cmd" in r.err
    r = run_cli("--agent", "lead", "run", "--agent-cmd", "true", "--use-agent", "bad name", cwd=repo)
    assert r.code == 2 and "--use-agent" in r.err and len(r.err.strip().splitlines()) == 1, r.err
    missing = tmp_path / "no" / "such" / "dir" / "report.html"
    r = run_cli("--agent", "lead", "run", "--agent-cmd", "true", "--report", str(missing), cwd=repo)
    assert r.code == 2 and "does not exist" in r.err and not (tmp_path / "no").exists()  # nothing created


def test_conflict_goes_back_to_its_agent_and_the_second_attempt_lands(repo, tmp_path):
    plan = {"feature": "f", "tasks": [
        {"id": "X", "title": "x", "owns": ["src/x/**"], "priority": 2},
        {"id": "Y", "title": "y", "owns": ["src/y/**"], "priority": 1}]}
    env = _project(repo, tmp_path, plan, {"X": {"touch": "README.md", "base": "main"},
                                          "Y": {"touch": "README.md", "base": "main", "sleep": 1}}, remote=False)
    git(repo, "checkout", "-q", "--detach")
    cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(tmp_path / 'agent.py'))}"
    r = subprocess.run([sys.executable, "-m", "gitcoord", "--agent", "mgr", "run", "--agent-cmd", cmd,
                        "--poll", "0.2", "--agents", "1"], cwd=repo, env={**os.environ, **env},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr + r.stdout
    # not a terminal: plain lines, one per event
    assert "dispatch  X -> mgr-1 (attempt 1)" in r.stdout and "reopened  Y: conflict" in r.stdout
    asks = [e for e in _events(repo, "msg.request") if e["task"] == "Y"]
    assert [e["to"] for e in asks] == ["mgr-1"] and "README.md" in asks[0]["data"]["current_state"]
    assert ["Y", "saw-conflict"] in _runs(tmp_path)
    assert git(repo, "show", "main:README.md") == "X was here"
    assert git(repo, "show", "main:src/y/impl.txt") == "ok Y"


def test_terminal_progress_redraws_one_line_per_agent(capsys):
    from gitcoord.cli.run_cmds import Progress

    show = Progress(as_json=False, tty=True)
    counts = {s: 0 for s in ("planned", "ready", "in_progress", "blocked", "ready_to_merge", "merged", "cancelled")}
    rows = [{"agent": "a-1", "task": "API", "attempt": 1, "progress": 40, "current": "routes", "elapsed": 12.0},
            {"agent": "a-2", "task": None, "attempt": None, "progress": None, "current": None, "elapsed": None}]
    show({"event": "tick", "agents": rows, "counts": {**counts, "in_progress": 1}})
    show({"event": "tick", "agents": rows, "counts": {**counts, "in_progress": 1, "merged": 1}})
    show({"event": "done", "task": "API", "agent": "a-1"})
    err = capsys.readouterr().err
    first, second = err.split("\x1b[3F\x1b[J", 1)[0], err.split("\x1b[3F\x1b[J")[1]
    assert "a-1" in first and "API" in first and "40%" in first and "routes" in first and "a-2" in first
    assert "idle" in first and "in progress 1" in first
    assert "merged 1" in second
    assert err.endswith("done      API (a-1)\n")  # an event line replaces the block, which is redrawn next tick


def test_declared_agents_take_tasks_of_their_role_with_their_own_command(repo, tmp_path):
    plan = {"feature": "f", "tasks": [
        {"id": "B1", "title": "b1", "role": "backend", "owns": ["src/b1/**"], "priority": 3},
        {"id": "B2", "title": "b2", "role": "backend", "owns": ["src/b2/**"]},
        {"id": "F1", "title": "f1", "role": "frontend", "owns": ["src/f1/**"]}]}
    env = _project(repo, tmp_path, plan, {}, remote=False)
    cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(tmp_path / 'agent.py'))}"
    agents = [{"name": "lead"}, {"name": "be", "roles": ["backend"], "command": cmd},
              {"name": "fe", "roles": ["frontend"]}]
    r = run_cli("--agent", "lead", "config", "set", "agents", json.dumps(agents), cwd=repo)
    assert r.code == 0, r.err
    missing = run_cli("--agent", "lead", "run", cwd=repo)
    assert missing.code == 2 and "agent fe has no `command`" in missing.err
    agents[2]["command"] = cmd
    assert run_cli("--agent", "lead", "config", "set", "agents", json.dumps(agents), cwd=repo).code == 0
    git(repo, "checkout", "-q", "--detach")
    r = subprocess.run([sys.executable, "-m", "gitcoord", "--agent", "lead", "--json", "run", "--poll", "0.2"],
                       cwd=repo, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    dispatched = [(e["task"], e["agent"]) for e in events if e["event"] == "dispatch"]
    assert sorted(dispatched) == [("B1", "be"), ("B2", "be"), ("F1", "fe")]
    assert [t for t, a in dispatched if a == "be"] == ["B1", "B2"]  # priority first
    assert all(e["event"] and e["at"] for e in events) and events[-1]["event"] == "finished"


def test_failing_worktree_setup_blocks_and_the_retry_runs_it_again(repo, tmp_path):
    plan = {"feature": "f", "tasks": [{"id": "S", "title": "s", "owns": ["src/s/**"]}]}
    env = _project(repo, tmp_path, plan, {}, remote=False)
    flag = tmp_path / "setup-ran-once"
    setup = [f'if [ -f "$SETUP_FLAG" ]; then echo deps ok; else touch "$SETUP_FLAG"; echo registry down; exit 4; fi']
    assert run_cli("--agent", "lead", "config", "set", "worktree.setup", json.dumps(setup), cwd=repo).code == 0
    git(repo, "checkout", "-q", "--detach")
    cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(tmp_path / 'agent.py'))}"
    r = subprocess.run([sys.executable, "-m", "gitcoord", "--agent", "mgr", "--json", "run", "--agent-cmd", cmd,
                        "--poll", "0.2", "--agents", "1", "--retries", "1"], cwd=repo,
                       env={**os.environ, **env, "SETUP_FLAG": str(flag)}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    failed = [e for e in events if e["event"] == "failed"]
    assert [(e["task"], e["outcome"], e["attempt"]) for e in failed] == [("S", "setup-failed", 1)]
    assert "worktree setup failed" in failed[0]["reason"]
    assert [r_[:2] for r_ in _runs(tmp_path)] == [["S", "2"]]  # the agent ran once, after the setup passed
    log = (repo / ".git" / "gitcoord" / "worktrees" / "S.setup.log").read_text()
    assert "registry down" in log and "deps ok" in log


def test_remote_failure_is_exit_3_with_one_line(remote, tmp_path):
    plan = {"feature": "f", "tasks": [{"id": "R", "title": "r", "owns": ["src/r/**"]}]}
    work = remote.clone("lead")
    _project(work, tmp_path, plan, {}, remote=True)
    git(work, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    r = run_cli("--agent", "mgr", "run", "--agent-cmd", "true", cwd=work)
    assert r.code == 3 and "origin" in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_on_a_terminal_the_agent_lines_are_redrawn_in_place(repo, tmp_path):
    import pty
    import threading

    plan = {"feature": "f", "tasks": [{"id": f"P{i}", "title": f"p{i}", "owns": [f"src/p{i}/**"]} for i in range(2)]}
    env = _project(repo, tmp_path, plan, {"P0": {"sleep": 1}, "P1": {"sleep": 1}}, remote=False)
    git(repo, "checkout", "-q", "--detach")
    master, slave = pty.openpty()
    cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(tmp_path / 'agent.py'))}"
    proc = subprocess.Popen([sys.executable, "-m", "gitcoord", "--agent", "mgr", "run", "--agent-cmd", cmd,
                             "--poll", "0.2", "--agents", "2"], cwd=repo, env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(master)
    screen = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, screen[-2000:]
    assert "\x1b[3F\x1b[J" in screen  # two agent lines and the summary, redrawn in place
    assert "mgr-1" in screen and "mgr-2" in screen and "merged 2" in screen
    assert "all tasks merged" in out
