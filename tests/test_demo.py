"""`gitcoord demo` end to end: one real run (a real process, a real git daemon), outcomes asserted."""

from __future__ import annotations

import html.parser
import json
import os
import socket
import subprocess
import sys
import time
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
    directory = base / "shop"
    began = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "gitcoord", "--json", "demo", str(directory)], capture_output=True,
                          text=True, env=env, timeout=180, cwd=base)
    elapsed = time.monotonic() - began
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"summary": json.loads(proc.stdout), "narration": proc.stderr, "elapsed": elapsed, "dir": directory,
            "bare": directory / "remote" / "shop.git", "env": env}


def test_runs_over_a_git_daemon_it_stops_afterwards(demo_run):
    # How long it takes is bench/demo.py's business: a timed assertion fails on a busy machine.
    summary = demo_run["summary"]
    assert summary["transport"] == "git-daemon"
    assert summary["remote_url"].startswith("git://127.0.0.1:")
    port = int(summary["remote_url"].split(":")[2].split("/")[0])
    with pytest.raises(OSError):  # the daemon was stopped
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


def test_remote_main_holds_every_tasks_files_and_not_the_rejected_one(demo_run):
    files = set(git(demo_run["bare"], "ls-tree", "-r", "--name-only", "main").split())
    from gitcoord.demo import TASK_FILES

    for task, paths in TASK_FILES.items():
        assert set(paths) <= files, f"{task}: {set(paths) - files} missing on the remote's main"
    assert "src/ui/api-client.js" not in files  # bob's rejected commit never landed
    config = git(demo_run["bare"], "show", "main:src/shared/config.py")
    assert "API_TIMEOUT_SECONDS" in config and "UI_PAGE_SIZE" in config  # both lock holders' edits merged


def test_every_task_merged_in_dependency_order(demo_run):
    listed = run_cli("--json", "task", "list", cwd=demo_run["bare"])
    assert listed.code == 0, listed.err
    assert {t["id"]: t["status"] for t in listed.json} == {t: "merged" for t in TASKS}
    merges = demo_run["summary"]["merges"]
    assert [m["merged"] for m in merges][-1] == ["INTEGRATION"] and all(not m["skipped"] for m in merges)
    order = [task for m in merges for task in m["merged"]]
    assert sorted(order) == sorted(TASKS)
    # The same order, read from git itself: the Task trailers of main's first-parent merges.
    log = git(demo_run["bare"], "log", "--first-parent", "--reverse", "--format=%(trailers:key=Task,valueonly)", "main")
    landed = [line.strip() for line in log.splitlines() if line.strip()]
    assert landed == order
    for index, task in enumerate(landed):
        assert DEPENDS.get(task, set()) <= set(landed[:index]), f"{task} landed before {DEPENDS[task]}"


def test_exactly_one_agent_won_the_claim_race(demo_run):
    claims = demo_run["summary"]["claims"]
    assert len(claims) == 2 and sorted(c["won"] for c in claims) == [False, True]
    winner = next(c["agent"] for c in claims if c["won"])
    loser = next(c for c in claims if not c["won"])
    assert winner in loser["message"] and "already in progress" in loser["message"]
    log = run_cli("--json", "log", "--task", "TESTS", cwd=demo_run["bare"])
    started = [e for e in log.json["events"] if e["type"] == "task.started"] if isinstance(log.json, dict) else \
        [e for e in log.json if e["type"] == "task.started"]
    assert [e["agent"] for e in started] == [winner]


def test_the_hook_rejected_a_path_owned_by_another_task(demo_run):
    (rejection,) = demo_run["summary"]["hook_rejections"]
    assert rejection["agent"] == "bob" and rejection["path"] == "src/ui/api-client.js"
    assert "owned by task UI (carol)" in rejection["message"] and "pre-commit" in rejection["message"]
    assert "REJECTS" in demo_run["narration"] and "owned by task UI (carol)" in demo_run["narration"]


def test_a_breaking_contract_change_was_caught_then_fixed(demo_run):
    (caught,) = demo_run["summary"]["breaking_changes"]
    assert caught["exit_code"] == 1
    assert any(c["id"] == "response-property-removed" and c["path"].endswith("/Cart/properties/total")
               for c in caught["changes"])
    assert "contract diff" in caught["caught_by"] and "pre-commit hook" in caught["caught_by"]
    shown = run_cli("--json", "contract", "show", "cart-api", cwd=demo_run["bare"])
    assert shown.code == 0, shown.err
    assert [a["version"] for a in shown.json["approved"]] == ["1.0.0", "1.1.0"]  # fixed compatibly: no 2.0.0
    assert not any(a["breaking"] for a in shown.json["approved"])


def test_a_lock_denial_named_the_holder_who_later_released_it(demo_run):
    (denial,) = demo_run["summary"]["lock_denials"]
    assert denial["agent"] == "carol" and denial["holders"] == ["bob"]
    assert "held exclusive by bob" in denial["message"]
    log = run_cli("--json", "log", "--type", "lock.granted", cwd=demo_run["bare"])
    events = log.json["events"] if isinstance(log.json, dict) else log.json
    granted = [e["agent"] for e in events if "config.py" in json.dumps(e)]
    assert granted[:2] == ["bob", "carol"]


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
    import xml.etree.ElementTree as ET

    for key in ("timeline_svg", "plan_svg"):
        assert ET.parse(files[key]).getroot().tag.endswith("svg")


def test_plan_vs_actual_and_metrics_come_from_gitcoord(demo_run):
    summary = demo_run["summary"]
    rows = {r["task"]: r for r in summary["plan_vs_actual"]}
    assert set(rows) == set(TASKS)
    assert all(r["actual_hours"] and r["actual_hours"] > 0 for r in rows.values())
    # Contract-first: the consumers started before DESIGN finished.
    assert rows["API"]["start_hours"] < rows["DESIGN"]["finish_hours"]
    metrics = run_cli("--json", "metrics", "--feature", "cart", cwd=demo_run["bare"])
    assert metrics.code == 0
    assert metrics.json["speedup"] == pytest.approx(summary["metrics"]["speedup"])
    assert summary["metrics"]["speedup"] > 1.5 and summary["metrics"]["conflict_rate"] == 0
    assert "plan versus actual" in demo_run["narration"] and "speedup" in demo_run["narration"]


def test_the_narration_says_what_and_why(demo_run):
    narration = demo_run["narration"]
    for phrase in ("contract-first", "MOCK", "DENIED", "BREAKING", "LOSES the race", "merge run --push",
                   "durations are compressed"):
        assert phrase in narration, phrase
    assert all(step["text"] for step in demo_run["summary"]["steps"])


def test_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("mine\n")
    result = run_cli("demo", str(tmp_path))
    assert result.code == 2
    assert "must be new or empty" in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
