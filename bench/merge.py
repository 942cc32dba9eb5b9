"""Benchmark: batch-merge 50 task branches into a repository of 20,000 files.

Compares, in the same run and on the same branches:
  (a) gitcoord's engine (run_batch), with each merge backend;
  (b) a loop of ``git checkout`` + ``git merge --no-ff`` in a worktree (what a script would do);
  (c) a loop of ``git merge-tree --write-tree`` + ``git commit-tree`` (the floor for git's CLI).
Targets (issue 6): (a) at least 5x faster than (b), and at most 1.5x (c).

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="build the repository here and keep it")
    args = parser.parse_args()

    scratch = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="gitcoord-bench-merge-"))
    try:
        t = time.perf_counter()
        repo, base, items = build_repo(scratch / "repo", args.files, args.branches)
        worktree = scratch / "wt"
        git(scratch / "repo", "worktree", "add", "-q", "--detach", str(worktree), base)
        print(f"repo: {args.files} files, {len(items)} task branches (built in {time.perf_counter() - t:.1f}s); "
              f"median of {args.repeat} runs each")

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
        return 0 if (ok1 and ok2 and same) else 1
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
