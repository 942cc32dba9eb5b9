"""The engine's in-process merge (merge_engine._merge_in_process) against `git merge-tree` itself:
whenever it answers, git's merge is clean and gives the very same tree; it declines what needs git
(content merges, renames, several merge bases). Random histories in a real repository."""

from __future__ import annotations

import random
import subprocess

import pygit2
from gitcoord import merge_engine

SIG = pygit2.Signature("T", "t@example.com", 1_700_000_000, 0)
DIRS = ["src", "src/api", "src/ui", "docs", "lib/deep/er", "é"]
FILES = ["a.py", "b.py", "c.txt", "d", "e.md"]


def write_tree(repo: pygit2.Repository, files: dict[str, tuple[bytes, int]]) -> pygit2.Oid:
    index = pygit2.Index()
    for path, (data, mode) in files.items():
        index.add(pygit2.IndexEntry(path, repo.create_blob(data), mode))
    return index.write_tree(repo)


def commit(repo, files, parents, message="c") -> pygit2.Oid:
    return repo.create_commit(None, SIG, SIG, message, write_tree(repo, files), parents)


def edit(rng: random.Random, files: dict[str, tuple[bytes, int]], tag: str) -> dict[str, tuple[bytes, int]]:
    files = dict(files)
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        paths = sorted(files)
        if roll < 0.4 or not paths:  # add or overwrite
            files[f"{rng.choice(DIRS)}/{rng.choice(FILES)}"] = (f"{tag} {rng.random()}\n".encode(), pygit2.GIT_FILEMODE_BLOB)
        elif roll < 0.6:
            path = rng.choice(paths)
            files[path] = (files[path][0] + f"line by {tag}\n".encode(), files[path][1])
        elif roll < 0.7:
            del files[rng.choice(paths)]
        elif roll < 0.8:  # rename a file (git may detect it)
            path = rng.choice(paths)
            files[f"{rng.choice(DIRS)}/moved-{tag}-{path.rsplit('/', 1)[-1]}"] = files.pop(path)
        elif roll < 0.87:  # rename a whole directory
            src = rng.choice(DIRS)
            dst = f"renamed-{tag}"
            for path in [p for p in paths if p.startswith(src + "/")]:
                files[dst + path[len(src):]] = files.pop(path)
        elif roll < 0.94:
            path = rng.choice(paths)
            files[path] = (files[path][0], pygit2.GIT_FILEMODE_BLOB_EXECUTABLE)
        else:  # a file becomes a directory
            path = rng.choice(paths)
            files.pop(path)
            files[path + "/inner.txt"] = (b"now a directory\n", pygit2.GIT_FILEMODE_BLOB)
    return files


def git_merge_tree(repo_path, ours, theirs):
    proc = subprocess.run(["git", "merge-tree", "--write-tree", "--no-messages", str(ours), str(theirs)],
                          cwd=repo_path, capture_output=True, text=True)
    return proc.returncode, proc.stdout.split("\n", 1)[0]


def test_in_process_merges_are_gits_merges(tmp_path):
    counts = {"answered": 0, "clean": 0, "merges": 0}
    for seed in range(50):
        repo = pygit2.init_repository(str(tmp_path / f"r{seed}"), bare=True)
        check_history(repo, random.Random(seed), counts)
    # soundness is checked merge by merge; the fast path must also be taken, not just declined
    assert counts["answered"] >= 20, counts


def check_history(repo: pygit2.Repository, rng: random.Random, counts: dict[str, int]) -> None:
    base_files = {f"{d}/{f}": (f"{d}/{f} base\n".encode() * 3, pygit2.GIT_FILEMODE_BLOB)
                  for d in DIRS for f in rng.sample(FILES, 3)}
    base = commit(repo, base_files, [])
    # a target line (the running merge result) and task branches, some stacked, some merging the target
    target_files, target = edit(rng, base_files, "t0"), None
    target = commit(repo, target_files, [base])
    branches = []
    for b in range(6):
        start_files, start = (base_files, base)
        if branches and rng.random() < 0.3:
            start_files, start = rng.choice(branches)  # stacked on another task's branch
        files, tip = start_files, start
        for k in range(rng.randint(1, 3)):
            files = edit(rng, files, f"b{b}{k}")
            parents = [tip]
            if rng.random() < 0.15:
                parents.append(target)  # merged the target in (several merge bases become possible)
            tip = commit(repo, files, parents)
        branches.append((files, tip))
    head = target
    for files, tip in branches:
        fast = merge_engine._merge_in_process(repo, head, tip)
        code, tree = git_merge_tree(repo.path, head, tip)
        counts["merges"] += 1
        counts["clean"] += code == 0
        if fast is not None:
            counts["answered"] += 1
            assert code == 0 and str(fast.tree) == tree, (repo.path, head, tip)
        if code == 0:  # go on from git's result, as the engine does
            head = repo.create_commit(None, SIG, SIG, "merge", pygit2.Oid(hex=tree), [head, tip])


def test_the_batch_engine_lands_the_same_trees_both_ways(tmp_path):
    """run_batch with the default backend (in-process where it can) and git's merge-tree alone."""
    rng = random.Random(99)
    repo = pygit2.init_repository(str(tmp_path / "r"), bare=True)
    base_files = {f"{d}/{f}": (f"{d}/{f}\n".encode(), pygit2.GIT_FILEMODE_BLOB) for d in DIRS for f in FILES}
    base = commit(repo, base_files, [])
    items = []
    for b in range(12):
        files = dict(base_files)
        files[f"{DIRS[b % len(DIRS)]}/{FILES[b % len(FILES)]}"] = (f"task {b}\n".encode(), pygit2.GIT_FILEMODE_BLOB)
        files[f"new/{b}.txt"] = (b"new\n", pygit2.GIT_FILEMODE_BLOB)
        tip = commit(repo, files, [base])
        items.append(merge_engine.MergeItem(f"T{b}", str(tip), f"task{b}"))
    results = {}
    for name, merger in (("default", merge_engine._MERGERS["git"]), ("git", merge_engine._merge_with_git)):
        repo.references.create("refs/heads/target", base, force=True)
        saved = merge_engine._MERGERS["git"]
        merge_engine._MERGERS["git"] = merger
        try:
            result = merge_engine.run_batch(repo, "refs/heads/target", items)
        finally:
            merge_engine._MERGERS["git"] = saved
        results[name] = (result.merged, [s["task"] for s in result.skipped],
                         str(repo[result.result].peel(pygit2.Tree).id))
    assert results["default"] == results["git"]
    assert rng  # seeded for reproducibility
