"""`gitcoord run` overhead: a feature of trivial tasks driven to merged by real agent processes.

Run: python3 bench/run.py [TASKS] [AGENTS]   (default 8 tasks, 4 agents; local repository)
Each agent only writes one file and commits, so the wall time is almost all manager work:
claiming, worktrees, launching, finishing, merging, the final metrics and report.
Target: at most 3 s of wall time per task on a 2-core machine (a task's real work takes
minutes to hours, so the manager stays out of the way).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AGENT = """import os, subprocess
task = os.environ["GITCOORD_TASK"]
os.makedirs(f"src/{task}", exist_ok=True)
open(f"src/{task}/impl.txt", "w").write(task + "\\n")
subprocess.run(["git", "add", "-A"], check=True)
subprocess.run(["git", "commit", "-q", "-m", task], check=True)
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def main() -> int:
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    agents = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITCOORD_")}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "home"
        home.mkdir()
        (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n")
        env.update({"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "PYTHONPATH": str(REPO)})
        work = root / "work"
        work.mkdir()
        git(work, "init", "-q", "-b", "main")
        (work / "README.md").write_text("bench\n")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "initial")
        plan = root / "plan.yaml"
        plan.write_text("feature: f\ntasks:\n" + "".join(
            f"  - {{id: T{i}, title: task {i}, owns: ['src/T{i}/**']}}\n" for i in range(tasks)))
        gc = [sys.executable, "-m", "gitcoord", "--agent", "lead"]
        for args in (["init"], ["task", "import", str(plan)]):
            subprocess.run(gc + args, cwd=work, env=env, check=True, capture_output=True)
        git(work, "checkout", "-q", "--detach")
        (root / "agent.py").write_text(AGENT)
        cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(root / 'agent.py'))}"
        started = time.perf_counter()
        proc = subprocess.run(gc + ["run", "--agent-cmd", cmd, "--agents", str(agents), "--poll", "0.2"], cwd=work,
                              env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
    per_task = wall / tasks
    ok = proc.returncode == 0 and per_task <= 3.0
    print(f"gitcoord run: {tasks} tasks, {agents} agents, exit {proc.returncode}: {wall:.1f} s wall, "
          f"{per_task:.2f} s per task (target <= 3.00)  {'PASS' if ok else 'FAIL'}")
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
