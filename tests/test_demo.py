"""`gitcoord demo` end to end: one real run (real processes, a real git daemon, `gitcoord run` and its
scripted agents in their worktrees), outcomes read back from git and gitcoord themselves."""

from __future__ import annotations

import html.parser
import json
import os
import shlex
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from conftest import ROOT, git, run_cli

TASKS = ("DESIGN", "API", "UI", "ANALYTICS", "TESTS", "INTEGRATION")
DEPENDS = {"API": {"DESIGN"}, "UI": {"DESIGN"}, "ANALYTICS": {"DESIGN"}, "TESTS": {"DESIGN"},
           "INTEGRATION": {"API", "UI", "ANALYTICS", "TESTS"}}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """Run `gitcoord --json demo DIR` once as a real process, in an isolated HOME."""
    base = tmp_path_factory.mktemp("demo")
    home = base / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Test\n\temail = test@example.com\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITCOORD_")}
    env.update({"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "PYTHONPATH": str(ROOT)})
    directory = base / "my shop"  # a space: every printed hint must still work as printed
    proc = subprocess.run([sys.executable, "-m", "gitcoord", "--json", "demo", str(directory)], capture_output=True,
                          text=True, env=env, timeout=300, cwd=base)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"summary": json.loads(proc.stdout), "narration": proc.stderr, "dir": directory,
            "bare": directory / "remote" / "shop.git", "lead": directory / "lead", "env": env}


def events(directory: Path, *args: str) -> list[dict]:
    result = run_cli("--json", "log", *args, cwd=directory)
    assert result.code == 0, result.err
    return result.json["events"] if isinstance(result.json, dict) else result.json


def test_runs_over_a_git_daemon_it_stops_afterwards(demo_run):
    # How long it takes is bench/demo.py's business: a timed assertion fails on a busy machine.
    summary = demo_run["summary"]
    assert summary["transport"] == "git-daemon" and summary["exit_code"] == 0
    assert summary["remote_url"].startswith("git://127.0.0.1:")
    port = int(summary["remote_url"].split(":")[2].split("/")[0])
    with pytest.raises(OSError):  # the daemon was stopped
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


def test_gitcoord_run_drove_real_agent_processes_in_worktrees(demo_run):
    summary = demo_run["summary"]
    launched = [s for s in summary["steps"] if s["kind"] == "launched"]
    assert {s["agent"] for s in launched} == {"alice", "bob", "carol", "dave"}
    assert all(".gitcoord/worktrees/" in s["text"] for s in launched)
    assert summary["failures"] == []
    # Each task's commits are its agent's own, made in its worktree; the merged worktrees are gone.
    authors = set(git(demo_run["bare"], "log", "--format=%an", "main").split())
    assert {"alice", "bob", "carol", "dave"} <= authors
    listed = run_cli("--json", "worktree", "list", cwd=demo_run["lead"])
    assert listed.code == 0, listed.err
    rows = listed.json if isinstance(listed.json, list) else listed.json.get("worktrees", [])
    assert [r for r in rows if r.get("task")] == []
    # The agents spoke the guide's protocol: status updates and completions from each of them.
    kinds = Counter((e["agent"], e["type"]) for e in events(demo_run["bare"], "--type", "msg"))
    for agent in ("alice", "bob", "carol", "dave"):
        assert kinds[(agent, "msg.status")] >= 1 and kinds[(agent, "msg.complete")] >= 1, agent


def test_the_closing_hint_works_as_printed(demo_run, tmp_path):
    line = next(ln for ln in demo_run["narration"].splitlines() if "Look around:" in ln)
    command = line.split("Look around:", 1)[1].split(" (", 1)[0].strip()
    assert command.startswith(f"cd {shlex.quote(str(demo_run['lead']))} && gitcoord state")
    shim = tmp_path / "gitcoord"  # `gitcoord` on PATH means this checkout, as installed it would
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m gitcoord \"$@\"\n")
    shim.chmod(0o755)
    env = dict(demo_run["env"], PATH=f"{tmp_path}{os.pathsep}{demo_run['env'].get('PATH', '')}")
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "INTEGRATION" in proc.stdout and "msg.status" in proc.stdout


def test_the_remote_is_guarded_and_the_manager_passed_the_guard(demo_run):
    hook = demo_run["bare"] / "hooks" / "pre-receive"
    assert hook.exists() and "gitcoord" in hook.read_text()
    # every coordination commit the manager made for an agent names lead as its writer
    dispatches = events(demo_run["bare"], "--type", "run.dispatch")
    assert dispatches and {e["agent"] for e in dispatches} == {"lead"}
    started = events(demo_run["bare"], "--type", "task.started")
    assert {e["agent"] for e in started} == {"alice", "bob", "carol", "dave"}


def test_remote_main_holds_every_tasks_files_and_not_the_rejected_one(demo_run):
    files = set(git(demo_run["bare"], "ls-tree", "-r", "--name-only", "main").split())
    from gitcoord.demo import TASK_FILES

    for task, paths in TASK_FILES.items():
        assert set(paths) <= files, f"{task}: {set(paths) - files} missing on the remote's main"
    assert "src/ui/api-client.js" not in files  # bob's rejected commit never landed
    config = git(demo_run["bare"], "show", "main:src/shared/config.py")
    assert "API_TIMEOUT_SECONDS" in config and "UI_PAGE_SIZE" in config  # both lock holders' edits merged
    changelog = git(demo_run["bare"], "show", "main:CHANGELOG.md")
    assert "Cart API" in changelog and "Cart page" in changelog  # the conflict was resolved keeping both
    assert "<<<<<<<" not in changelog and ">>>>>>>" not in changelog


def test_every_task_merged_in_dependency_order(demo_run):
    listed = run_cli("--json", "task", "list", cwd=demo_run["bare"])
    assert listed.code == 0, listed.err
    assert {t["id"]: t["status"] for t in listed.json} == {t: "merged" for t in TASKS}
    merges = demo_run["summary"]["merges"]
    assert merges[-1]["merged"] == ["INTEGRATION"]
    order = [task for m in merges for task in m["merged"]]
    assert sorted(order) == sorted(TASKS)
    # The same order, read from git itself: the Task trailers of main's first-parent merges.
    log = git(demo_run["bare"], "log", "--first-parent", "--reverse", "--format=%(trailers:key=Task,valueonly)", "main")
    landed = [line.strip() for line in log.splitlines() if line.strip()]
    assert landed == order
    for index, task in enumerate(landed):
        assert DEPENDS.get(task, set()) <= set(landed[:index]), f"{task} landed before {DEPENDS[task]}"


def test_the_merge_conflict_went_back_to_its_agent_who_resolved_it(demo_run):
    from gitcoord.demo import CHANGELOG, CONFLICTING

    summary = demo_run["summary"]
    [rejected] = summary["rejections"]
    assert rejected["task"] in CONFLICTING and rejected["reason"] == "conflict" and rejected["files"] == [CHANGELOG]
    skipped = [s for m in summary["merges"] for s in m["skipped"]]
    assert skipped == [{"task": rejected["task"], "reason": "conflict"}]
    owner = {t["id"]: t["agent"] for t in run_cli("--json", "task", "list", cwd=demo_run["bare"]).json}
    assert rejected["agent"] == owner[rejected["task"]]
    runs = Counter(d["task"] for d in summary["dispatches"])
    assert runs == Counter({t: 2 if t == rejected["task"] else 1 for t in TASKS})
    # The coordination request went to that agent, naming the file (the inbox drops it once merged).
    requests = [e for e in events(demo_run["bare"], "--type", "coordination_request", "--task", rejected["task"])
                if e.get("to") == rejected["agent"] and e["agent"] == "lead"]
    assert len(requests) == 1 and CHANGELOG in json.dumps(requests[0]) and "conflicts with" in json.dumps(requests[0])
    resolved = [s for s in summary["steps"] if s["kind"] == "resolved"]
    assert [s["agent"] for s in resolved] == [rejected["agent"]]


def test_the_hook_rejected_a_path_owned_by_another_task(demo_run):
    (rejection,) = demo_run["summary"]["hook_rejections"]
    assert rejection["agent"] == "bob" and rejection["path"] == "src/ui/api-client.js"
    assert "owned by task UI (carol)" in rejection["message"] and "pre-commit" in rejection["message"]
    assert "REJECTS" in demo_run["narration"] and "owned by task UI (carol)" in demo_run["narration"]


def test_a_breaking_contract_change_was_caught_then_fixed(demo_run):
    (caught,) = demo_run["summary"]["breaking_changes"]
    assert caught["exit_code"] == 1 and caught["agent"] == "alice"
    assert any(c["id"] == "response-property-removed" and c["path"].endswith("/Cart/properties/total")
               for c in caught["changes"])
    assert caught["caught_by"] == ["contract diff", "pre-commit hook"]
    assert "contract-breaking" in caught["hook_message"]
    shown = run_cli("--json", "contract", "show", "cart-api", cwd=demo_run["bare"])
    assert shown.code == 0, shown.err
    assert [a["version"] for a in shown.json["approved"]] == ["1.0.0", "1.1.0"]  # fixed compatibly: no 2.0.0
    assert not any(a["breaking"] for a in shown.json["approved"])


def test_a_lock_denial_named_the_holder_who_later_released_it(demo_run):
    (denial,) = demo_run["summary"]["lock_denials"]
    assert denial["agent"] == "carol" and denial["holders"] == ["bob"]
    assert "held exclusive by bob" in denial["message"]
    granted = [e["agent"] for e in events(demo_run["bare"], "--type", "lock.granted") if "config.py" in json.dumps(e)]
    assert granted == ["bob", "carol"]


def test_contract_first_the_consumers_started_before_design_was_merged(demo_run):
    dispatched = {e["task"]: e["at"] for e in reversed(events(demo_run["bare"], "--type", "run.dispatch"))}
    merged = {e["task"]: e["at"] for e in events(demo_run["bare"], "--type", "task.merged")}
    for consumer in ("API", "UI", "ANALYTICS", "TESTS"):
        assert dispatched[consumer] < merged["DESIGN"], consumer
    assert all(dispatched["INTEGRATION"] > merged[t] for t in ("API", "UI", "ANALYTICS", "TESTS"))
    rows = {r["task"]: r for r in demo_run["summary"]["plan_vs_actual"]}
    assert rows["API"]["start_hours"] < rows["DESIGN"]["finish_hours"]


def test_report_and_timeline_are_written(demo_run):
    files = demo_run["summary"]["files"]
    page = Path(files["report_html"]).read_text()

    class Collector(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.text: list[str] = []
            self.tags = 0

        def handle_starttag(self, tag, attrs) -> None:
            self.tags += 1

        def handle_data(self, data) -> None:
            self.text.append(data)

    parser = Collector()
    parser.feed(page)
    parser.close()
    text = " ".join(parser.text)
    assert parser.tags > 20
    for task in TASKS:
        assert task in text, f"{task} missing from report.html"
    for key in ("timeline_svg", "plan_svg"):
        assert ET.parse(files[key]).getroot().tag.endswith("svg")


def test_plan_vs_actual_and_metrics_come_from_gitcoord(demo_run):
    summary = demo_run["summary"]
    rows = {r["task"]: r for r in summary["plan_vs_actual"]}
    assert set(rows) == set(TASKS)
    assert all(r["actual_seconds"] and r["actual_seconds"] > 0 for r in rows.values())
    metrics = run_cli("--json", "metrics", "--feature", "cart", cwd=demo_run["bare"])
    assert metrics.code == 0
    assert metrics.json["speedup"] == pytest.approx(summary["metrics"]["speedup"])
    assert summary["metrics"]["speedup"] > 1  # the four consumers ran at the same time
    assert summary["metrics"]["conflict_rate"] > 0  # the changelog conflict is counted
    assert "plan versus actual" in demo_run["narration"] and "speedup" in demo_run["narration"]


def test_the_narration_says_what_and_why(demo_run):
    narration = demo_run["narration"]
    for phrase in ("contract-first", "MOCK", "DENIED", "BREAKING", "REJECTS", "CONFLICT", "batch integration",
                   "dependencies first", "keeping both entries"):
        assert phrase in narration, phrase
    assert all(step["text"] for step in demo_run["summary"]["steps"])
    assert "Traceback" not in narration


def test_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("mine\n")
    result = run_cli("demo", str(tmp_path))
    assert result.code == 2
    assert "must be new or empty" in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
