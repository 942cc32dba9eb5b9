"""Attack suite, item 4: path tricks against the server hook (bare remote with `hooks install --server`).

Case-folded and NFC/NFD-normalised collisions with another task's paths count as that task's
paths; tree entries git refuses to check out (``.git`` in any spelling, ``.``) are refused; a
symlink whose target leaves the task's owned paths is a violation.
"""

from __future__ import annotations

import os
import subprocess
import unicodedata

import pytest
from conftest import git, run_cli
from test_attacks_net import ok, push, team, write_commit


def _commit_tree_with(work, entry_line: str, message: str = "crafted") -> str:
    """HEAD's tree plus one raw entry (``<mode> <type> <oid>\\t<name>``), committed on HEAD."""
    listing = git(work, "ls-tree", "HEAD")
    tree = git(work, "mktree", input=listing + "\n" + entry_line + "\n")
    commit = git(work, "commit-tree", tree, "-p", "HEAD", "-m", message)
    git(work, "update-ref", "HEAD", commit)  # no checkout: git itself would refuse to write it
    return commit


@pytest.mark.parametrize("name", ["SRC/B/x.py", "src/B/new.py", "Src/b/X.PY"])
def test_case_folded_collision_with_another_tasks_path_is_refused(remote, monkeypatch, name):
    t = team(remote, monkeypatch)
    write_commit(t.alice, {name: "mine\n"})
    res = push(t.alice, t.branches["A"])
    assert res.returncode != 0, res.stderr
    assert "outside-ownership" in res.stderr and "case-insensitive" in res.stderr and "B (bob)" in res.stderr


def test_unicode_normalised_collision_is_refused(remote, monkeypatch):
    t = team(remote, monkeypatch)
    nfc = unicodedata.normalize("NFC", "src/café/")
    ok(run_cli("task", "edit", "B", "--owns", "src/b/", "--owns", nfc, cwd=t.lead), "B owns café")
    nfd = unicodedata.normalize("NFD", "src/café/menu.py")
    assert nfd != unicodedata.normalize("NFC", nfd)
    git(t.alice, "config", "core.precomposeUnicode", "false")
    write_commit(t.alice, {nfd: "mine\n"})
    res = push(t.alice, t.branches["A"])
    assert res.returncode != 0 and "Unicode" in res.stderr, res.stderr


@pytest.mark.parametrize("name", [".git", ".GIT", ".Git. ", "git~1", ".", "\u200c.git"])
def test_tree_entries_git_refuses_to_check_out_are_refused(remote, monkeypatch, name):
    t = team(remote, monkeypatch)
    write_commit(t.alice, {"src/a/ok.py": "ok\n"})
    blob = git(t.alice, "hash-object", "-w", "--stdin", input="[core]\n\tfsmonitor = evil\n")
    sub = git(t.alice, "mktree", input=f"100644 blob {blob}\tconfig\n")
    _commit_tree_with(t.alice, f"040000 tree {sub}\t{name}")
    res = push(t.alice, t.branches["A"])
    assert res.returncode != 0, res.stderr
    assert "git refuses to check it out" in res.stderr and " path: " in res.stderr


def test_symlink_out_of_the_owned_paths_is_refused(remote, monkeypatch):
    t = team(remote, monkeypatch)
    for link, target in (("src/a/to-b", "../b/x.py"), ("src/a/passwd", "/etc/passwd"), ("src/a/up", "../../../..")):
        os.makedirs(t.alice / "src" / "a", exist_ok=True)
        os.symlink(target, t.alice / link)
        git(t.alice, "add", link)
        git(t.alice, "commit", "-q", "--no-verify", "-m", f"link {link}")
        res = push(t.alice, t.branches["A"])
        assert res.returncode != 0 and "symlink" in res.stderr and link in res.stderr, res.stderr
        git(t.alice, "reset", "-q", "--hard", "HEAD~1")
    # a link inside the task's own paths is fine
    write_commit(t.alice, {"src/a/real.py": "x\n"})
    os.symlink("real.py", t.alice / "src/a/alias.py")
    git(t.alice, "add", "src/a/alias.py")
    git(t.alice, "commit", "-q", "--no-verify", "-m", "own link")
    res = push(t.alice, t.branches["A"])
    assert res.returncode == 0, res.stderr


def test_check_range_reports_the_same_path_tricks(remote, monkeypatch):
    t = team(remote, monkeypatch)
    write_commit(t.alice, {"SRC/B/x.py": "mine\n"})
    res = run_cli("--json", "check", "--range", "origin/main..HEAD", cwd=t.alice)
    assert res.code == 1
    assert [(v["path"], v["rule"]) for v in res.json["violations"] if v["level"] == "error"] == \
        [("SRC/B/x.py", "outside-ownership")]


def test_pre_commit_refuses_a_symlink_out_of_the_owned_paths(remote, monkeypatch):
    t = team(remote, monkeypatch)
    ok(run_cli("hooks", "install", cwd=t.alice), "client hooks")
    os.makedirs(t.alice / "src" / "a", exist_ok=True)
    os.symlink("../b/x.py", t.alice / "src/a/to-b")
    git(t.alice, "add", "src/a/to-b")
    res = run_cli("--json", "check", "--staged", cwd=t.alice)
    assert res.code == 1 and [v["rule"] for v in res.json["violations"] if v["level"] == "error"] == ["symlink"]
    made = subprocess.run(["git", "commit", "-q", "-m", "link"], cwd=t.alice, capture_output=True, text=True)
    assert made.returncode != 0 and "symlink" in made.stderr, made.stderr
