"""Taking turns on the coordination ref (issue 14): a writer leaves the rest of the round to the
writers it already went ahead of, read from the branch's own history (real commits, no clock)."""

from __future__ import annotations

import pygit2

from gitcoord.store import _turns_owed


def history(path, agents: list[str], *, seconds_apart: int = 1) -> tuple[pygit2.Repository, str]:
    """A chain of coordination commits, oldest first, each with its ``Gitcoord-Agent:`` trailer."""
    repo = pygit2.init_repository(str(path), bare=True)
    tree = repo.TreeBuilder().write()
    parent: list[pygit2.Oid] = []
    for i, agent in enumerate(agents):
        sig = pygit2.Signature(agent, f"{agent}@x", 1_800_000_000 + i * seconds_apart, 0)
        oid = repo.create_commit(None, sig, sig, f"[task.claimed] T{i}\n\nGitcoord-Op: task.claimed\n"
                                                 f"Gitcoord-Agent: {agent}\n", tree, parent)
        parent = [oid]
    return repo, str(parent[0])


def test_a_writer_owes_a_turn_to_each_writer_of_its_round_that_has_not_landed_since(tmp_path):
    repo, tip = history(tmp_path / "r.git", ["a", "b", "c", "a", "b"])
    assert _turns_owed(repo, tip, "b") == 2  # b just landed: a and c go first
    assert _turns_owed(repo, tip, "a") == 1  # c has not landed since a did
    assert _turns_owed(repo, tip, "c") == 0  # c waited longest: it goes at once


def test_a_writer_that_has_not_landed_lately_waits_for_nobody(tmp_path):
    repo, tip = history(tmp_path / "r.git", ["a", "b", "c"])
    assert _turns_owed(repo, tip, "d") == 0  # never landed here
    repo, tip = history(tmp_path / "s.git", ["a", "b", "a", "c", "d", "e", "b"])
    assert _turns_owed(repo, tip, "a") == 0  # a full round of landings since a's: silent ones are not waiting


def test_writers_that_went_quiet_long_ago_are_not_waited_for(tmp_path):
    # x and y landed long before a's only commit in reach: they are not part of a's round
    repo, tip = history(tmp_path / "r.git", ["x", "y", "a", "b"], seconds_apart=60)
    assert _turns_owed(repo, tip, "a") == 0
    repo, tip = history(tmp_path / "s.git", ["x", "y", "a", "b"], seconds_apart=1)
    assert _turns_owed(repo, tip, "a") == 1  # x and y landed just before a; b has since
