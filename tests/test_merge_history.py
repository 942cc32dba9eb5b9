"""Real history: recreate every two-parent merge of a scripted project history with the engine.

The test builds a repository the way a team would grow it: feature branches that edit
overlapping files (same files, sometimes the same lines), add, delete and rename files, merge
main back in (criss-cross merges), while main moves on with direct commits. Conflicting merges
are resolved by hand (ours wins). Then each merge commit is replayed: its second parent becomes
a task branch batch-merged onto its first parent, and the result must match
``git merge-tree --write-tree`` on the same parents wherever git merges cleanly, and be
reported as a conflict wherever git conflicts.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pygit2
import pytest

from gitcoord.merge_engine import MergeItem, run_batch

SIG = pygit2.Signature("Dev", "dev@example.com", 1_700_000_000, 0)
ENV = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}


def git(cwd: Path, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True)
    assert proc.returncode in ok, f"git {args}: {proc.stderr}"
    return proc


class History:
    """Grows a repository commit by commit with pygit2 (no checkout), deterministically."""

    def __init__(self, path: Path, seed: int) -> None:
        git(path.parent, "init", "-q", "-b", "main", str(path))
        self.path = path
        self.repo = pygit2.Repository(str(path))
        self.rng = random.Random(seed)
        self.counter = 0
        index = pygit2.Index()
        for d in ("src", "src/core", "docs", "tests"):
            for n in range(4):
                text = "".join(f"{d}/{n} line {i}\n" for i in range(40))
                index.add(pygit2.IndexEntry(f"{d}/m{n}.txt", self.repo.create_blob(text.encode()),
                                            pygit2.enums.FileMode.BLOB))
        self.main = self.commit(index.write_tree(self.repo), [], "initial import")

    def commit(self, tree: pygit2.Oid, parents: list[pygit2.Oid], msg: str) -> pygit2.Oid:
        self.counter += 1
        sig = pygit2.Signature("Dev", "dev@example.com", 1_700_000_000 + self.counter * 60, 0)
        return self.repo.create_commit(None, sig, sig, msg, tree, parents)

    def change(self, parent: pygit2.Oid, who: str, hot: list[str]) -> pygit2.Oid:
        """One commit editing a few lines of a few files, sometimes adding/deleting/renaming."""
        index = pygit2.Index()
        index.read_tree(self.repo[parent].peel(pygit2.Commit).tree)
        paths = [e.path for e in index]
        rng = self.rng
        pool = [p for p in hot if p in paths] or paths
        for path in rng.sample(pool, k=min(rng.randint(1, 2), len(pool))):
            lines = self.repo[index[path].id].data.decode().splitlines(keepends=True)
            for _ in range(rng.randint(1, 2)):
                at = rng.randrange(len(lines))
                lines[at] = f"{who} edit {self.counter} at {at}\n"
            if rng.random() < 0.3:
                lines.insert(rng.randrange(len(lines)), f"{who} inserted {self.counter}\n")
            index.add(pygit2.IndexEntry(path, self.repo.create_blob("".join(lines).encode()),
                                        pygit2.enums.FileMode.BLOB))
        roll = rng.random()
        if roll < 0.15:
            name = f"src/{who}_{self.counter}.txt"
            index.add(pygit2.IndexEntry(name, self.repo.create_blob(
                "".join(f"{who} new {i}\n" for i in range(20)).encode()), pygit2.enums.FileMode.BLOB))
        elif roll < 0.22 and len(paths) > 10:
            index.remove(rng.choice(paths))
        elif roll < 0.32:
            old = rng.choice(paths)
            text = self.repo[index[old].id].data.decode().splitlines(keepends=True)
            text[0] = f"renamed by {who}\n"
            index.remove(old)
            new = f"{rng.choice(['src', 'lib', 'docs'])}/r{self.counter}_{Path(old).name}"
            index.add(pygit2.IndexEntry(new, self.repo.create_blob("".join(text).encode()),
                                        pygit2.enums.FileMode.BLOB))
        return self.commit(index.write_tree(self.repo), [parent], f"{who}: change {self.counter}")

    def merge(self, ours: pygit2.Oid, theirs: pygit2.Oid, msg: str) -> pygit2.Oid:
        """Merge as git would; resolve conflicts by hand, taking our side of each conflicted file."""
        proc = git(self.path, "merge-tree", "--write-tree", "--name-only", "-z", "--no-messages",
                   str(ours), str(theirs), ok=(0, 1))
        fields = proc.stdout.split("\0")
        tree = pygit2.Oid(hex=fields[0])
        if proc.returncode == 1:
            index = pygit2.Index()
            index.read_tree(self.repo[tree])
            our_tree = self.repo[ours].peel(pygit2.Commit).tree
            for path in filter(None, fields[1:fields.index("", 1)]):
                if path in our_tree:
                    index.add(pygit2.IndexEntry(path, our_tree[path].id, pygit2.enums.FileMode.BLOB))
                elif path in index:
                    index.remove(path)
            tree = index.write_tree(self.repo)
        return self.commit(tree, [ours, theirs], msg)


def _index_of(repo: pygit2.Repository, commit: pygit2.Oid) -> pygit2.Index:
    index = pygit2.Index()
    index.read_tree(repo[commit].peel(pygit2.Commit).tree)
    return index


def build_history(path: Path, features: int = 22, seed: int = 7) -> pygit2.Repository:
    h = History(path, seed)
    rng = h.rng
    open_features: list[tuple[str, pygit2.Oid]] = []
    for n in range(features):
        who = f"feat{n}"
        current = [e.path for e in _index_of(h.repo, h.main)]
        hot = rng.sample(current, min(5, len(current)))
        start = h.main
        tip = start
        for _ in range(rng.randint(1, 3)):
            tip = h.change(tip, who, hot)
        open_features.append((who, tip))
        for _ in range(rng.randint(0, 2)):  # main moves on meanwhile
            h.main = h.change(h.main, "hotfix", rng.sample(current, 3) + hot[:1])
        # land the oldest open features; now and then a release train lands all of them back to
        # back; sometimes main is merged back into a feature first
        train = n % 7 == 6 or n == features - 1
        while len(open_features) > (0 if train else 2):
            name, ftip = open_features.pop(0)
            if rng.random() < 0.35:
                ftip = h.merge(ftip, h.main, f"Merge main into {name}")
                ftip = h.change(ftip, name, hot)
            h.main = h.merge(h.main, ftip, f"Merge {name}")
    h.repo.references.create("refs/heads/main", h.main, force=True)
    return h.repo


@pytest.mark.parametrize("seed", [7, 11])
def test_replayed_merges_match_git_merge_tree(tmp_path, seed):
    repo = build_history(tmp_path / "history", seed=seed)
    merges = [c for c in repo.walk(repo.head.target) if len(c.parents) == 2]
    assert len(merges) >= 20, f"history has only {len(merges)} two-parent merges"
    clean = conflicted = 0
    for n, merge in enumerate(merges):
        ours, theirs = merge.parent_ids
        repo.references.create(f"refs/heads/replay/{n}", ours, force=True)
        expected = git(Path(repo.path), "merge-tree", "--write-tree", str(ours), str(theirs), ok=(0, 1))
        item = MergeItem(task=f"M{n}", commit=str(theirs), branch=f"replay-src/{n}")
        for backend in ("git", "pygit2"):
            result = run_batch(repo, f"replay/{n}", [item], backend=backend, land=False)
            if expected.returncode == 0:
                got = str(repo[result.result].peel(pygit2.Commit).tree_id)
                assert result.merged == ["M" + str(n)], (backend, result.skipped)
                assert got == expected.stdout.split("\n", 1)[0], f"{backend}: tree differs for merge {merge.id}"
                if repo.descendant_of(ours, theirs):  # "Already up to date": no merge commit
                    assert result.already_merged == [f"M{n}"] and result.result == str(ours)
                else:
                    parents = [str(p) for p in repo[result.result].parent_ids]
                    assert parents == [str(ours), str(theirs)]
            else:
                assert result.merged == [] and result.skipped[0]["reason"] == "conflict", backend
                assert result.skipped[0]["files"], backend
        clean += expected.returncode == 0
        conflicted += expected.returncode == 1
        assert str(repo.references[f"refs/heads/replay/{n}"].target) == str(ours)  # land=False
    assert clean >= 15 and conflicted >= 1, (clean, conflicted)


def test_replayed_features_as_one_batch_match_the_sequential_history(tmp_path):
    """All feature merges of main's first-parent line, replayed as ONE batch from the first fork.

    Only merges whose first parent is the previous merge (no direct commits in between) chain
    exactly; for those runs, the batch's result tree must equal the history's merge tree.
    """
    repo = build_history(tmp_path / "history", seed=3)
    line = []
    commit = repo[repo.head.target]
    while commit.parents:
        line.append(commit)
        commit = commit.parents[0]
    line.reverse()
    def clean(c: pygit2.Commit) -> bool:
        return git(Path(repo.path), "merge-tree", "--write-tree", str(c.parent_ids[0]),
                   str(c.parent_ids[1]), ok=(0, 1)).returncode == 0

    best: list[pygit2.Commit] = []
    run: list[pygit2.Commit] = []
    for c in line:
        if len(c.parents) == 2 and clean(c) and run and c.parent_ids[0] == run[-1].id:
            run.append(c)
        else:
            run = [c] if len(c.parents) == 2 and clean(c) else []
        if len(run) > len(best):
            best = list(run)
    assert len(best) >= 2, "the history needs consecutive clean merges"
    repo.references.create("refs/heads/replay", best[0].parent_ids[0], force=True)
    items = [MergeItem(task=f"F{i}", commit=str(c.parent_ids[1])) for i, c in enumerate(best)]
    result = run_batch(repo, "replay", items)
    assert result.merged == [i.task for i in items] and result.complete
    for i, c in enumerate(best):
        assert str(repo[result.commits[f"F{i}"]].tree_id) == str(c.tree_id), f"F{i}"
    assert str(repo.references["refs/heads/replay"].target) == result.after
