#!/usr/bin/env python3
"""Benchmark: what gitcoord's pre-commit hook adds to `git commit`, against the pre-commit framework.

Setup (in a temp dir): a repository with 20,000 tracked files; a coordination branch with
300 tasks × 5 ownership patterns and 1,000 active exclusive locks (held by other agents, on
paths nobody stages); the acting agent works on task T000's branch and stages 500 of T000's
files for every commit.

Measured in the same run, alternating, each a median over N commits of 500 staged files:
  - baseline: `git commit` with no hooks;
  - gitcoord: the DEFAULT `gitcoord hooks install` (pre-commit and commit-msg run on a commit;
    the Task trailer is checked to be there);
  - framework: the `pre-commit` package's hook running one trivial local hook
    (`language: system`, `entry: true`).
Both hooks start the same Python interpreter directly (each hook script bakes in the
interpreter that installed it), so interpreter-manager shims (pyenv) do not blur the comparison.

Then `gitcoord check --range` over 100 commits touching 10,000 paths, as a real process.

and a bare `python -c pass` of the same interpreter, once per round.

Targets: added time ≤ 150 ms, ≤ 0.5 × the framework's added time, ≤ 5 × python -c pass;
check --range ≤ 1 s.
Usage: python3 bench/hooks.py [--commits N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from gitcoord import gitutil  # noqa: E402
from gitcoord.store import Store  # noqa: E402

FILES = 20_000
TASKS = 300
LOCKS = 1_000
STAGED = 500
RANGE_COMMITS = 100
RANGE_PATHS = 10_000
BRANCH = "feature/bench/agent/backend/t000"


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, input=input)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args[:3])} failed: {proc.stderr.decode()[-500:]}")
    return proc.stdout.decode().strip()


def build_repo(root: Path) -> Path:
    repo = root / "work"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    # d000 holds the files the agent stages; the rest spread over 299 more directories.
    for i in range(FILES):
        d = 0 if i < 600 else 1 + (i % (TASKS - 1))
        path = repo / f"d{d:03d}" / f"sub{i % 7}" / f"f{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{i}\n")
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: local\n  hooks:\n  - id: trivial\n    name: trivial\n    entry: 'true'\n"
        "    language: system\n    pass_filenames: false\n    always_run: true\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "initial")
    return repo


def build_store(repo: Path) -> None:
    from gitcoord import timeutil

    env_cwd = os.getcwd()
    os.chdir(repo)
    try:
        subprocess.run([sys.executable, "-m", "gitcoord", "init"], check=True, capture_output=True,
                       env=dict(os.environ, PYTHONPATH=str(HERE.parent)))
    finally:
        os.chdir(env_cwd)
    store = Store(gitutil.open_repo(repo), agent="lead")
    now = timeutil.now_iso()
    far = "2999-01-01T00:00:00Z"

    def op(txn):
        for t in range(TASKS):
            owns = [f"d{t:03d}/", f"/r{t:03d}/", f"*.t{t:03d}", f"docs/d{t:03d}/**", f"d{t:03d}x/*.py"]
            if t == 0:
                owns[1] = "/r/"
            txn.put(f"tasks/T{t:03d}.yaml", {"id": f"T{t:03d}", "title": f"task {t}", "feature": "bench",
                                             "role": "backend", "agent": "alice" if t == 0 else f"agent{t % 20}",
                                             "owns": owns, "status": "in_progress"})
        for n in range(LOCKS):
            d = 1 + n % (TASKS - 1)
            holder = f"agent{d % 20}"
            txn.put(f"locks/L{n:04d}.json", {
                "id": f"L{n:04d}", "resource": f"d{d:03d}/sub{n % 7}/locked{n}.txt", "type": "exclusive",
                "holders": [{"agent": holder, "task": f"T{d:03d}", "since": now, "expires_at": far, "reason": None}],
                "reason": "bench", "task": f"T{d:03d}", "granted_at": now, "expires_at": far})
        txn.describe("bench.setup", "tasks and locks")

    store.transact(op)


def staged_files(repo: Path) -> list[Path]:
    return sorted((repo / "d000").rglob("*.txt"))[:STAGED]


def timed_commit(repo: Path, round_no: int, env: dict[str, str]) -> float:
    files = staged_files(repo)
    for path in files:
        path.write_text(f"round {round_no} {path.name}\n")
    git(repo, "add", "--", *[str(p.relative_to(repo)) for p in files])
    start = time.perf_counter()
    proc = subprocess.run(["git", "commit", "-q", "-m", f"round {round_no}"], cwd=repo, capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"commit failed in round {round_no}: {proc.stdout.decode()[-400:]} {proc.stderr.decode()[-800:]}")
    return elapsed


HOOK_NAMES = ("pre-commit", "commit-msg", "pre-push")


def hook_path(repo: Path, name: str = "pre-commit") -> Path:
    return repo / ".git" / "hooks" / name


def set_mode(repo: Path, mode: str, saved: dict[str, dict[str, bytes]]) -> None:
    for name in HOOK_NAMES:
        target = hook_path(repo, name)
        if target.exists():
            target.unlink()
    if mode != "baseline":
        for name, data in saved[mode].items():
            target = hook_path(repo, name)
            target.write_bytes(data)
            target.chmod(0o755)


def prepare_hooks(repo: Path, env: dict[str, str]) -> dict[str, dict[str, bytes]]:
    """gitcoord's DEFAULT install (what every user runs: pre-commit, commit-msg, pre-push) and
    the pre-commit framework's pre-commit hook, each saved to be put in place in turn."""
    saved: dict[str, dict[str, bytes]] = {}
    subprocess.run([sys.executable, "-m", "gitcoord", "hooks", "install"], cwd=repo,
                   check=True, capture_output=True, env=env)
    saved["gitcoord"] = {name: hook_path(repo, name).read_bytes() for name in HOOK_NAMES
                         if hook_path(repo, name).exists()}
    set_mode(repo, "baseline", saved)
    precommit = shutil.which("pre-commit")
    if precommit is None:
        raise SystemExit("the pre-commit package is not installed (pip install pre-commit)")
    subprocess.run([precommit, "install", "-t", "pre-commit"], cwd=repo, check=True, capture_output=True, env=env)
    saved["framework"] = {"pre-commit": hook_path(repo).read_bytes()}
    set_mode(repo, "baseline", saved)
    return saved


def python_start(env: dict[str, str]) -> float:
    """A bare `python -c pass` of the interpreter the hooks run (the floor of any Python hook)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    return time.perf_counter() - start


def build_range(repo: Path) -> tuple[str, str]:
    """100 commits on top of T000's branch, each adding 100 files under /r/ (10,000 paths in all)."""
    base = git(repo, "rev-parse", "HEAD")
    per = RANGE_PATHS // RANGE_COMMITS
    lines = []
    for c in range(RANGE_COMMITS):
        lines.append(f"commit refs/heads/{BRANCH}\ncommitter Bench <b@example.com> {1700000000 + c} +0000\n"
                     f"data 8\nrange {c:02d}\n")
        if c == 0:
            lines.append(f"from {base}\n")
        for j in range(per):
            content = f"{c}-{j}\n"
            lines.append(f"M 100644 inline r/c{c:03d}/f{j:03d}.txt\ndata {len(content)}\n{content}")
    git(repo, "fast-import", "--quiet", input="".join(lines).encode())
    return base, git(repo, "rev-parse", BRANCH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=9, help="commits per configuration (default 9)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gitcoord-bench-hooks-"))
    try:
        t0 = time.perf_counter()
        repo = build_repo(root)
        build_store(repo)
        git(repo, "checkout", "-q", "-b", BRANCH)
        env = dict(os.environ, GITCOORD_AGENT="alice", PRE_COMMIT_HOME=str(root / "pre-commit-home"))
        env.pop("GITCOORD_BIN", None)  # the shim runs the installing interpreter directly
        env["PYTHONPATH"] = str(HERE.parent)  # this checkout, as if installed
        # An installed package has its bytecode compiled; a checkout run with
        # PYTHONDONTWRITEBYTECODE recompiles every module on every start. Cache bytecode in the
        # bench's temp dir (not in the checkout), for both hooks alike.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        env.pop("GITCOORD_SKIP", None)
        env.pop("GITCOORD_INTERNAL", None)
        saved = prepare_hooks(repo, env)
        print(f"setup: {FILES} files, {TASKS} tasks x 5 patterns, {LOCKS} locks, {STAGED} staged per commit "
              f"({time.perf_counter() - t0:.1f} s)")
        # warm-up: first runs build caches (entity cache, pre-commit's environment)
        for warm, mode in enumerate(("gitcoord", "framework", "baseline")):
            set_mode(repo, mode, saved)
            timed_commit(repo, -1 - warm, env)
        times: dict[str, list[float]] = {"baseline": [], "gitcoord": [], "framework": []}
        py_start: list[float] = []
        for round_no in range(args.commits):
            for mode in ("baseline", "gitcoord", "framework"):
                set_mode(repo, mode, saved)
                times[mode].append(timed_commit(repo, round_no * 3 + ("baseline", "gitcoord", "framework").index(mode),
                                                env))
            py_start.append(python_start(env))
        set_mode(repo, "baseline", saved)
        body = git(repo, "log", "-1", "--format=%B", "HEAD~1")  # the last gitcoord commit (framework's is HEAD)
        if "Task: T000" not in body:
            raise SystemExit(f"the default hooks did not add the Task trailer: {body!r}")
        med = {mode: statistics.median(values) for mode, values in times.items()}
        bare = statistics.median(py_start) * 1000
        added_gc = (med["gitcoord"] - med["baseline"]) * 1000
        added_fw = (med["framework"] - med["baseline"]) * 1000
        ratio = added_gc / added_fw if added_fw > 0 else float("inf")
        print(f"git commit, median of {args.commits} interleaved rounds: baseline {med['baseline'] * 1000:.0f} ms, "
              f"gitcoord default hooks {med['gitcoord'] * 1000:.0f} ms, pre-commit framework "
              f"{med['framework'] * 1000:.0f} ms; python -c pass {bare:.0f} ms")
        results = []
        results.append(("default hooks (pre-commit + commit-msg) added", f"{added_gc:.0f} ms", "<= 150 ms",
                        added_gc <= 150))
        results.append(("  vs framework (trivial hook) added time", f"{ratio:.2f}x ({added_fw:.0f} ms)", "<= 0.5x",
                        ratio <= 0.5))
        results.append(("  vs bare python -c pass", f"{added_gc / bare:.2f}x ({bare:.0f} ms)", "<= 5x",
                        added_gc <= 5 * bare))

        start_rev, end_rev = build_range(repo)
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "gitcoord", "--json", "check", "--range",
                                   f"{start_rev}..{end_rev}", "--task", "T000"], cwd=repo, capture_output=True,
                                  env=env)
            runs.append(time.perf_counter() - start)
            doc = json.loads(proc.stdout or b"{}")
            if doc.get("paths_checked") != RANGE_PATHS or doc.get("commits_checked") != RANGE_COMMITS:
                raise SystemExit(f"check --range did not see the whole range: {proc.stdout[:300]!r} "
                                 f"{proc.stderr[-300:]!r}")
        best = statistics.median(runs)
        results.append((f"check --range ({RANGE_COMMITS} commits, {RANGE_PATHS} paths)", f"{best * 1000:.0f} ms",
                        "<= 1000 ms", best <= 1.0))
        width = max(len(r[0]) for r in results)
        failed = 0
        for name, figure, target, ok in results:
            print(f"{name:<{width}}  {figure:>22}  target {target:<10} {'PASS' if ok else 'FAIL'}")
            failed += not ok
        sys.exit(1 if failed else 0)
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
