"""`gitcoord demo --run`: the shopping-cart plan built by `gitcoord run` with scripted agents.

Where `gitcoord demo` tells a scripted story with simulated agents and a simulated clock, this
one hands the plan to the real manager: `gitcoord run` starts one small real program per task
in the task's own worktree; the programs write the task's files, commit, post the guide's
messages (the designer publishes and approves the cart-api contract, which starts its four
consumers at once), and two of them first edit the same shared line, so one merge conflicts and
goes back to its agent, who brings the base in and finishes. Real time, a real `git daemon`.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from gitcoord.demo import (ASSETS, FEATURE, MERGE_TEST, PROJECT, SHARED, TASK_FILES, DemoFailed, GitDaemon, _Demo,
                           _repoint_remotes, _setup)
from gitcoord.errors import UsageError

CONFLICTING = ("API", "UI")  # both first touch the same line of the shared config

AGENT_PROGRAM = r'''"""A scripted agent for `gitcoord demo --run` (started by `gitcoord run` in its task's worktree)."""
import json, os, subprocess, sys

task, attempt = os.environ["GITCOORD_TASK"], int(os.environ["GITCOORD_ATTEMPT"])
brief = open(os.environ["GITCOORD_BRIEF"]).read()
project, files = os.environ["DEMO_PROJECT"], json.loads(os.environ["DEMO_TASK_FILES"])[task]


def gitcoord(*args, stdin=None):
    subprocess.run([sys.executable, "-m", "gitcoord", *args], input=stdin, text=True, check=True,
                   capture_output=True)


def post(doc):
    gitcoord("msg", "post", "-", stdin=json.dumps(doc))


def commit(message):
    subprocess.run(["git", "add", "-A"], check=True)
    if subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True).stdout.strip():
        subprocess.run(["git", "commit", "-q", "-m", message], check=True)


post({"type": "status_update", "task_id": task, "status": "in_progress", "progress": 10,
      "current_item": f"attempt {attempt}: reading the brief"})
if "conflicts with" in brief:  # the manager sent the merge conflict back: bring the base in, keep its line
    subprocess.run(["git", "fetch", "-q", "origin", "main"], check=True)
    subprocess.run(["git", "merge", "-q", "-X", "theirs", "--no-edit", "FETCH_HEAD"], check=True)
    post({"type": "status_update", "task_id": task, "status": "in_progress", "progress": 60,
          "current_item": "merged the base branch, conflict resolved"})
elif task in json.loads(os.environ["DEMO_CONFLICTING"]):
    shared = os.environ["DEMO_SHARED"]
    text = open(shared).read().replace('CURRENCY = "EUR"', f'CURRENCY = "EUR"  # checked by {task}')
    open(shared, "w").write(text)
for rel in files:
    os.makedirs(os.path.dirname(rel) or ".", exist_ok=True)
    with open(os.path.join(project, rel), "rb") as src, open(rel, "wb") as dst:
        dst.write(src.read())
commit(f"{task}: {', '.join(files)}")
if task == "DESIGN":  # publish the contract: its consumers start now, not when DESIGN is merged
    gitcoord("contract", "add", "cart-api", "--spec", files[0])
    gitcoord("contract", "approve", "cart-api")
post({"type": "task_complete", "task_id": task, "summary": f"{task} written", "deliverables": files,
      "test_results": {"passed": 1, "failed": 0}})
'''


@dataclass
class RunDemoResult:
    directory: str
    remote_url: str
    transport: str
    seconds: float
    exit_code: int
    dispatches: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    rejections: list[dict[str, Any]]
    merges: list[dict[str, Any]]
    finished: dict[str, Any]
    remote_main_files: list[str]
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _narrate(event: dict[str, Any]) -> str | None:
    kind = event.get("event")
    if kind == "dispatch":
        return f"assign   {event['task']} -> {event['agent']} (task_assignment, attempt {event['attempt']})"
    if kind == "launched":
        return f"launch   {event['task']}: agent process {event['pid']} in {event['worktree']}"
    if kind == "done":
        return f"done     {event['task']} ({event['agent']}): exit 0 with commits, pushed, ready to merge"
    if kind == "failed":
        return f"blocked  {event['task']} ({event['outcome']}): {event['reason'][:160]}"
    if kind == "merged":
        skipped = ", ".join(f"{s['task']} ({s['reason']})" for s in event.get("skipped") or [])
        return f"merge    {event.get('run')}: landed {', '.join(event.get('merged') or []) or 'nothing'}" \
            + (f"; left out {skipped}" if skipped else "")
    if kind == "rejected":
        return (f"conflict {event['task']}: files {', '.join(event.get('files') or [])} sent back to "
                f"{event['agent']} as a coordination request; the task is reopened")
    return None


def run_agents_demo(directory: str | Path | None = None, *, say: Callable[[str], None] = lambda line: None,
                    use_daemon: bool = True) -> RunDemoResult:
    """Build the demo project and drive its plan with `gitcoord run`; DemoFailed when it does not merge."""
    began = time.monotonic()
    if directory is None:
        root = Path(tempfile.mkdtemp(prefix="gitcoord-demo-run-"))
    else:
        root = Path(directory).resolve()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise UsageError(f"{root}: demo directory must be new or empty (pick another DIR)")
        root.mkdir(parents=True, exist_ok=True)
    demo = _Demo(root, say, 1.0)  # for its git helpers and environment only: no simulated clock here
    daemon: GitDaemon | None = None
    try:
        url, transport, daemon, lead = _setup(demo, use_daemon)
        say(f"bare remote {url} ({'git daemon on 127.0.0.1' if daemon else 'file remote'}); lead clone {lead}")
        env = dict(demo.env, GIT_AUTHOR_NAME="lead", GIT_AUTHOR_EMAIL="lead@demo.invalid",
                   GIT_COMMITTER_NAME="lead", GIT_COMMITTER_EMAIL="lead@demo.invalid")
        gc = [sys.executable, "-m", "gitcoord", "-C", str(lead)]

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            proc = subprocess.run(gc + list(args), env=env, capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                raise DemoFailed(f"`gitcoord {' '.join(args)}` exited {proc.returncode}: {proc.stderr.strip()[:400]}")
            return proc

        for key, value in (("gitcoord.agent", "lead"), ("gitcoord.remote", "origin")):
            subprocess.run(["git", "-C", str(lead), "config", key, value], env=env, check=True)
        run("init", "--remote", "origin")
        run("config", "set", "agents", (ASSETS / "agents.yaml").read_text())
        run("config", "set", "merge.test", MERGE_TEST)
        run("config", "set", "policies.heartbeat", "60s")
        run("task", "import", str(ASSETS / "plan.yaml"))
        say("`task import plan.yaml`: DESIGN provides cart-api; API, UI, ANALYTICS, TESTS consume it (contract "
            "dependencies); INTEGRATION needs them merged. Agents alice, bob, carol, dave; lead manages.")
        program = root / "agent.py"
        program.write_text(AGENT_PROGRAM)
        env.update({"DEMO_PROJECT": str(PROJECT), "DEMO_TASK_FILES": json.dumps(TASK_FILES), "DEMO_SHARED": SHARED,
                    "DEMO_CONFLICTING": json.dumps(CONFLICTING)})
        report_path = root / "report.html"
        cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(program))}"
        say(f"`gitcoord run --feature {FEATURE} --agent-cmd 'python agent.py'`: the manager takes over")
        proc = subprocess.Popen(gc + ["--json", "run", "--feature", FEATURE, "--agent-cmd", cmd, "--poll", "0.3",
                                      "--report", str(report_path)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        events: list[dict[str, Any]] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            if not line.strip():
                continue
            event = json.loads(line)
            events.append(event)
            text = _narrate(event)
            if text:
                say(text)
        stderr = proc.stderr.read() if proc.stderr else ""
        code = proc.wait()
        finished = next((e for e in reversed(events) if e.get("event") == "finished"), {})
        if code != 0:
            raise DemoFailed(f"`gitcoord run` exited {code}: {stderr.strip()[-400:] or finished.get('left_out')}")
        subprocess.run(["git", "-C", str(lead), "fetch", "-q", "origin"], env=env, check=True)
        files = subprocess.run(["git", "-C", str(lead), "ls-tree", "-r", "--name-only", "origin/main"], env=env,
                               capture_output=True, text=True, check=True).stdout.split()
        missing = [f for task_files in TASK_FILES.values() for f in task_files if f not in files]
        if missing:
            raise DemoFailed(f"remote main lacks {', '.join(missing)} after the run")
        seconds = round(time.monotonic() - began, 2)
        say(f"done in {seconds:.1f} s: every task merged; report {report_path}")
        return RunDemoResult(
            directory=str(root), remote_url=url, transport=transport, seconds=seconds, exit_code=code,
            dispatches=[{k: e.get(k) for k in ("task", "agent", "attempt")} for e in events
                        if e.get("event") == "dispatch"],
            failures=[{k: e.get(k) for k in ("task", "agent", "attempt", "outcome", "reason")} for e in events
                      if e.get("event") == "failed"],
            rejections=[{k: e.get(k) for k in ("task", "agent", "reason", "files")} for e in events
                        if e.get("event") == "rejected"],
            merges=[{k: e.get(k) for k in ("run", "merged", "skipped")} for e in events if e.get("event") == "merged"],
            finished=finished, remote_main_files=sorted(files), files={"report_html": str(report_path)})
    finally:
        if daemon is not None:
            daemon.stop()
            _repoint_remotes(demo)
