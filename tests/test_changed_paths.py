"""check.changed_paths (the pruned tree walk behind every net-change check) against libgit2's own
tree diff: the same paths in the same order, the same symlinks, on random trees in a real repository."""

from __future__ import annotations

import random

import pygit2
import pytest

from gitcoord import check

NAMES = ["a", "a.b", "a-b", "a b", "a0", "A", "b", "z", "é", "a.b.c", "_x", "dir"]
BLOB, EXEC, LINK, TREE, SUBMODULE = (pygit2.GIT_FILEMODE_BLOB, pygit2.GIT_FILEMODE_BLOB_EXECUTABLE,
                                     pygit2.GIT_FILEMODE_LINK, pygit2.GIT_FILEMODE_TREE, pygit2.GIT_FILEMODE_COMMIT)


def random_tree(repo: pygit2.Repository, rng: random.Random, depth: int = 0):
    builder = repo.TreeBuilder()
    for name in rng.sample(NAMES, rng.randint(1 if depth else 2, 6)):
        kind = rng.choice([BLOB, BLOB, BLOB, EXEC, LINK, TREE, TREE] if depth < 3 else [BLOB, LINK])
        if kind == TREE:
            builder.insert(name, random_tree(repo, rng, depth + 1), TREE)
        elif kind == SUBMODULE:
            continue
        else:
            content = rng.choice(["x", "y", "../a", "a/b"]).encode()
            builder.insert(name, repo.create_blob(content), kind)
    if depth == 0 and rng.random() < 0.3:
        builder.insert("sub", pygit2.Oid(hex="1" * 40), SUBMODULE)
    return builder.write()


def mutate(repo: pygit2.Repository, tree_id, rng: random.Random, depth: int = 0):
    """A copy of the tree with a few random edits: change, delete, add, retype, re-mode."""
    tree = repo[tree_id]
    builder = repo.TreeBuilder(tree)
    for e in list(tree):
        roll = rng.random()
        if roll < 0.55:
            continue
        if roll < 0.65:
            builder.remove(e.name)
        elif e.filemode == TREE and roll < 0.85:
            builder.insert(e.name, mutate(repo, e.id, rng, depth + 1), TREE)
        elif roll < 0.9:
            builder.insert(e.name, repo.create_blob(b"changed"), BLOB)  # a directory may become a file
        elif roll < 0.95 and e.filemode in (BLOB, EXEC):
            builder.insert(e.name, e.id, EXEC if e.filemode == BLOB else BLOB)  # mode only
        else:
            builder.insert(e.name, random_tree(repo, rng, depth + 1), TREE)  # a file may become a directory
    if rng.random() < 0.3:
        builder.insert(rng.choice(NAMES), repo.create_blob(b"new"), rng.choice([BLOB, LINK]))
    return builder.write()


def libgit2_answer(repo: pygit2.Repository, old, new) -> tuple[list[str], dict[str, str]]:
    diff = (repo[old] if old is not None else repo[repo.TreeBuilder().write()]).diff_to_tree(repo[new])
    links = {}
    for delta in diff.deltas:
        if delta.new_file.mode == LINK and delta.status != pygit2.enums.DeltaStatus.DELETED:
            links[delta.new_file.path] = repo[delta.new_file.id].data.decode()
    return check._delta_paths(diff), links


@pytest.mark.parametrize("seed", range(60))
def test_changed_paths_match_libgit2_diff(tmp_path, seed):
    repo = pygit2.init_repository(str(tmp_path / "r"), bare=True)
    rng = random.Random(seed)
    old = random_tree(repo, rng)
    new = mutate(repo, old, rng)
    for before, after in ((old, new), (new, old), (None, new), (old, old)):
        links: dict[str, str] = {}
        paths = check.changed_paths(repo, repo[before] if before is not None else None, repo[after], links)
        assert (paths, links) == libgit2_answer(repo, before, after)


@pytest.mark.parametrize("seed", range(20))
def test_commit_paths_match_libgit2_diff_for_roots_and_merges(tmp_path, seed):
    """What a commit changed (`check --range` asks it of every commit): a root commit against the
    empty tree; a merge only the paths that differ from every parent."""
    repo = pygit2.init_repository(str(tmp_path / "r"), bare=True)
    rng = random.Random(seed)
    sig = pygit2.Signature("t", "t@example.com", 1_700_000_000, 0)
    base = random_tree(repo, rng)
    root = repo.create_commit(None, sig, sig, "root", base, [])
    ours = repo.create_commit(None, sig, sig, "ours", mutate(repo, base, rng), [root])
    theirs = repo.create_commit(None, sig, sig, "theirs", mutate(repo, base, rng), [root])
    merge = repo.create_commit(None, sig, sig, "merge", mutate(repo, repo[ours].tree_id, rng), [ours, theirs])
    assert check.commit_paths(repo, repo[root]) == libgit2_answer(repo, None, base)[0]
    first = libgit2_answer(repo, repo[ours].tree_id, repo[merge].tree_id)[0]
    second = set(libgit2_answer(repo, repo[theirs].tree_id, repo[merge].tree_id)[0])
    assert check.commit_paths(repo, repo[merge]) == [p for p in first if p in second]
