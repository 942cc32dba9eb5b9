"""Benchmark: batch-merge 50 task branches into a repository of 20,000 files.

Compares, in the same run and on the same branches:
  (a) gitcoord's engine (run_batch), with each merge backend;
  (b) a loop of ``git checkout`` + ``git merge --no-ff`` in a worktree (what a script would do);
  (c) a loop of ``git merge-tree --write-tree`` + ``git commit-tree`` (the floor for git's CLI).
Targets (issue 6): (a) at least 5x faster than (b), and at most 1.5x (c).

And the whole process (issue 14): ``gitcoord merge run`` as a user runs it — interpreter start,
reading the coordination branch, selecting the 50 ready-to-merge tasks, merging, landing the
target and recording the run (tasks marked merged) — against (c) as processes, the two runs
interleaved, medians: target <= 1.3x. Plus a run with nothing to merge (fixed cost; writes nothing).

    python3 bench/merge.py [--files 20000] [--branches 50] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pygit2  # noqa: E402

from gitcoord.merge_engine import DEFAULT_BACKEND, MergeItem, run_batch  # noqa: E402

SIG = pygit2.Signature("Bench", "bench@example.com", 1_700_000_000, 0)
ENV = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


def file_text(d: int, f: int, version: str = "") -> str:
    return "".join(f"dir{d} file{f} line {n}{version}\n" for n in range(12))


def build_repo(path: Path, n_files: int, n_branches: int) -> tuple[pygit2.Repository, str, list[MergeItem]]:
    """A base commit of ``n_files`` files in 2 levels of directories, and task branches off it."""
    git(path.parent, "init", "-q", "-b", "main", str(path))
    git(path, "config", "user.name", "Bench")
    git(path, "config", "user.email", "bench@example.com")
    repo = pygit2.Repository(str(path))
    per_dir = 100
    n_dirs = n_files // per_dir
    top = repo.TreeBuilder()
    for group in range(0, n_dirs, 10):
        mid = repo.TreeBuilder()
        for d in range(group, min(group + 10, n_dirs)):
            leaf = repo.TreeBuilder()
            for f in range(per_dir):
                leaf.insert(f"f{f:03}.txt", repo.create_blob(file_text(d, f).encode()), pygit2.GIT_FILEMODE_BLOB)
            mid.insert(f"d{d:03}", leaf.write(), pygit2.GIT_FILEMODE_TREE)
        top.insert(f"g{group // 10:02}", mid.write(), pygit2.GIT_FILEMODE_TREE)
    base = repo.create_commit("refs/heads/main", SIG, SIG, "base", top.write(), [])
    items: list[MergeItem] = []
    for b in range(n_branches):
        index = pygit2.Index()
        index.read_tree(repo[base].tree)
        # three files per branch in different directories; neighbours share directories
        for k in range(3):
            d = (b * 7 + k * 13) % n_dirs
            f = (b * 3 + k) % per_dir
            text = file_text(d, f).replace("line 5\n", f"line 5 edited by task {b}\n")
            index.add(pygit2.IndexEntry(f"g{d // 10:02}/d{d:03}/f{f:03}.txt",
                                        repo.create_blob(text.encode()), pygit2.GIT_FILEMODE_BLOB))
        index.add(pygit2.IndexEntry(f"g{b % (n_dirs // 10):02}/new_{b}.txt",
                                    repo.create_blob(f"task {b}\n".encode()), pygit2.GIT_FILEMODE_BLOB))
        tip = repo.create_commit(f"refs/heads/task{b}", SIG, SIG, f"task {b}", index.write_tree(repo), [base])
        items.append(MergeItem(task=f"T{b}", commit=str(tip), branch=f"task{b}"))
    git(path, "reset", "-q", "--hard")  # a normal checkout of main, like a user's repo
    return repo, str(base), items


def reset_target(repo: pygit2.Repository, base: str) -> None:
    repo.references.create("refs/heads/target", pygit2.Oid(hex=base), force=True)


def tree_of(repo: pygit2.Repository, ref: str = "refs/heads/target") -> str:
    return str(repo.references[ref].peel(pygit2.Commit).tree_id)


def run_engine(repo, base, items, backend):
    reset_target(repo, base)
    t = time.perf_counter()
    result = run_batch(repo, "target", items, backend=backend)
    elapsed = time.perf_counter() - t
    assert result.merged == [i.task for i in items], result.skipped
    return elapsed, tree_of(repo)


def run_checkout_merge(repo, base, items, worktree: Path):
    reset_target(repo, base)
    t = time.perf_counter()
    for item in items:
        git(worktree, "checkout", "-q", "target")
        git(worktree, "merge", "-q", "--no-ff", "--no-edit", "-m", f"Merge {item.branch}\n\nTask: {item.task}",
            item.branch)
    elapsed = time.perf_counter() - t
    tree = tree_of(repo)
    git(worktree, "checkout", "-q", "--detach", base)
    return elapsed, tree


def run_merge_tree_floor(repo, base, items, path: Path):
    reset_target(repo, base)
    t = time.perf_counter()
    head = base
    for item in items:
        tree = git(path, "merge-tree", "--write-tree", head, item.commit).split("\n", 1)[0]
        head = git(path, "commit-tree", tree, "-p", head, "-p", item.commit, "-m",
                   f"Merge {item.branch}\n\nTask: {item.task}")
    git(path, "update-ref", "refs/heads/target", head, base)
    elapsed = time.perf_counter() - t
    return elapsed, tree_of(repo)


def setup_coordination(repo: pygit2.Repository, items: list[MergeItem]) -> str:
    """The coordination branch with one ready-to-merge task per branch; returns its tip."""
    from gitcoord import tasks
    from gitcoord.init import init_store
    from gitcoord.store import Store

    store = Store(repo, agent="integrator")
    init_store(store, base="main")

    def add(txn):
        for item in items:
            txn.put(tasks.task_path(item.task), {
                "id": item.task, "title": f"task {item.task}", "feature": "bench", "role": "dev", "estimate": 1.0,
                "priority": 0, "depends_on": [], "owns": [], "provides": [], "consumes": [],
                "status": "ready_to_merge", "agent": "dev", "branch": item.branch,
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"})
    store.transact(add)
    return store.local_tip()


def run_process(path: Path, repo, base: str, coord: str) -> float:
    """`gitcoord merge run --into target` as a process, from the same starting state each time."""
    reset_target(repo, base)
    repo.references.create("refs/heads/gitcoord", pygit2.Oid(hex=coord), force=True)
    env = dict(ENV, GITCOORD_AGENT="integrator", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gitcoord", "merge", "run", "--into", "target"], cwd=path,
                          env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"merge run failed ({proc.returncode}): {proc.stderr[-600:]}")
    return elapsed


def bench_process(scratch: Path, repo, base: str, items: list[MergeItem], repeat: int) -> bool:
    path = scratch / "repo"
    coord = setup_coordination(repo, items)
    whole, floor, empty = [], [], []
    for _ in range(repeat):  # interleaved: both see the same machine load
        whole.append(run_process(path, repo, base, coord))
        floor.append(run_merge_tree_floor(repo, base, items, path)[0])
    landed = str(repo.references["refs/heads/gitcoord"].target)
    for _ in range(repeat):  # everything is merged now: a second run has nothing to do
        env = dict(ENV, GITCOORD_AGENT="integrator", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gitcoord", "merge", "run", "--into", "target"], cwd=path, env=env,
                       capture_output=True, check=True)
        empty.append(time.perf_counter() - t)
    wrote_nothing = str(repo.references["refs/heads/gitcoord"].target) == landed
    w, f, e = statistics.median(whole), statistics.median(floor), statistics.median(empty)
    ratio = w / f
    print(f"whole process, median of {repeat} interleaved pairs:")
    print(f"  gitcoord merge run (50 branches)   {w * 1000:6.0f} ms   merge-tree+commit-tree loop {f * 1000:6.0f} ms   "
          f"ratio {ratio:4.2f}x   target <= 1.3x  {'PASS' if ratio <= 1.3 else 'FAIL'}")
    print(f"  gitcoord merge run, nothing to do  {e * 1000:6.0f} ms   (fixed cost)   wrote nothing: "
          f"{'PASS' if wrote_nothing else 'FAIL'}")
    return ratio <= 1.3 and wrote_nothing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="build the repository here and keep it")
    parser.add_argument("--process-only", action="store_true", help="only the whole-process comparison")
    args = parser.parse_args()
    # An installed gitcoord has its bytecode compiled (pip does it); this environment sets
    # PYTHONDONTWRITEBYTECODE, so compile it here rather than timing the compiler on every run.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[1] / "gitcoord")],
                   check=True, capture_output=True)
    load = os.getloadavg()
    print(f"machine load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min), {os.cpu_count()} cores")

    scratch = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="gitcoord-bench-merge-"))
    try:
        t = time.perf_counter()
        repo, base, items = build_repo(scratch / "repo", args.files, args.branches)
        worktree = scratch / "wt"
        git(scratch / "repo", "worktree", "add", "-q", "--detach", str(worktree), base)
        print(f"repo: {args.files} files, {len(items)} task branches (built in {time.perf_counter() - t:.1f}s); "
              f"median of {args.repeat} runs each")
        if args.process_only:
            return 0 if bench_process(scratch, repo, base, items, args.repeat) else 1

        timings: dict[str, list[float]] = {"engine/git": [], "engine/pygit2": [], "checkout+merge": [],
                                           "merge-tree+commit-tree": []}
        trees: dict[str, str] = {}
        for _ in range(args.repeat):
            for name, fn in (
                ("engine/git", lambda: run_engine(repo, base, items, "git")),
                ("engine/pygit2", lambda: run_engine(repo, base, items, "pygit2")),
                ("checkout+merge", lambda: run_checkout_merge(repo, base, items, worktree)),
                ("merge-tree+commit-tree", lambda: run_merge_tree_floor(repo, base, items, scratch / "repo")),
            ):
                elapsed, tree = fn()
                timings[name].append(elapsed)
                trees[name] = tree
        med = {name: statistics.median(v) for name, v in timings.items()}
        for name, value in med.items():
            print(f"  {name:24s} {value * 1000:8.0f} ms   ({value / len(items) * 1000:6.1f} ms/branch)")
        same = len(set(trees.values())) == 1
        print(f"  identical result trees across all four: {'yes' if same else 'NO: ' + str(trees)}")

        engine = med[f"engine/{DEFAULT_BACKEND}"]
        speedup = med["checkout+merge"] / engine
        vs_floor = engine / med["merge-tree+commit-tree"]
        ok1, ok2 = speedup >= 5, vs_floor <= 1.5
        print(f"default backend: {DEFAULT_BACKEND}")
        print(f"(a) vs (b): {speedup:5.1f}x faster than checkout+merge   target >= 5x    {'PASS' if ok1 else 'FAIL'}")
        print(f"(a) vs (c): {vs_floor:5.2f}x the merge-tree+commit-tree floor   target <= 1.5x  {'PASS' if ok2 else 'FAIL'}")
        print(f"trees identical: {'PASS' if same else 'FAIL'}")
        ok3 = bench_process(scratch, repo, base, items, args.repeat)
        return 0 if (ok1 and ok2 and same and ok3) else 1
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
