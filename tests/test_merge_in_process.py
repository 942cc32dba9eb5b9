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
            content = f"{tag} {rng.random()}\n".encode()
            files[f"{rng.choice(DIRS)}/{rng.choice(FILES)}"] = (content, pygit2.GIT_FILEMODE_BLOB)
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


def test_the_batch_engine_lands_the_same_chain_both_ways(tmp_path):
    """run_batch (in-process merges, chain ancestry) against git merge-tree and libgit2's walks alone:
    the same merged and left-out tasks, the same trees and parents all along the chain. Branches
    are stacked, merge the target, repeat or contain each other, or are already in the target."""
    for seed in range(40):
        rng = random.Random(seed)
        repo = pygit2.init_repository(str(tmp_path / f"r{seed}"), bare=True)
        base_files = {f"{d}/{f}": (f"{d}/{f}\n".encode(), pygit2.GIT_FILEMODE_BLOB) for d in DIRS for f in FILES}
        base = commit(repo, base_files, [])
        target = commit(repo, edit(rng, base_files, "t"), [base])
        lines: list[list[tuple[dict, pygit2.Oid]]] = []
        items = []
        for b in range(10):
            roll = rng.random()
            if roll < 0.1:
                tip = base  # already in the target
            elif roll < 0.2 and lines:
                tip = rng.choice(rng.choice(lines))[1]  # a commit of another task's line
            else:
                files, tip = (base_files, base)
                if lines and roll < 0.45:
                    files, tip = rng.choice(rng.choice(lines))  # stacked on another task
                line = []
                for k in range(rng.randint(1, 3)):
                    files = dict(files)
                    files[f"{rng.choice(DIRS)}/t{b}-{k}.txt"] = (f"task {b}\n".encode(), pygit2.GIT_FILEMODE_BLOB)
                    for _ in range(rng.randint(0, 2)):  # shared files, set to one of a few contents (reverts too)
                        path = f"{rng.choice(DIRS[:2])}/{rng.choice(FILES[:2])}"
                        files[path] = rng.choice([base_files[path], (b"x\n", pygit2.GIT_FILEMODE_BLOB),
                                                  (b"y\n", pygit2.GIT_FILEMODE_BLOB)])
                    parents = [tip] + ([target] if rng.random() < 0.1 else [])
                    tip = commit(repo, files, parents)
                    line.append((files, tip))
                lines.append(line)
            items.append(merge_engine.MergeItem(f"T{b}", str(tip), f"task{b}"))
        results = {}
        for name, merger in (("default", merge_engine._MERGERS["git"]), ("git", merge_engine._merge_with_git)):
            repo.references.create("refs/heads/target", target, force=True)
            saved = merge_engine._MERGERS["git"]
            merge_engine._MERGERS["git"] = merger
            try:
                result = merge_engine.run_batch(repo, "refs/heads/target", items)
            finally:
                merge_engine._MERGERS["git"] = saved
            chain, commit_id = [], result.result and pygit2.Oid(hex=result.result)
            while commit_id is not None and commit_id != target:
                c = repo[commit_id]
                chain.append((str(c.tree_id), [str(p) for p in c.parent_ids[1:]]))
                commit_id = c.parent_ids[0] if c.parent_ids else None
            results[name] = (result.merged, sorted((s["task"], s["reason"]) for s in result.skipped), chain)
        assert results["default"] == results["git"], seed
