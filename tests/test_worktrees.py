"""`task start --worktree` and `worktree list|remove|prune`, on real repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import git, run_cli


def _setup(repo: Path, *tasks: str, setup: list[str] | None = None) -> None:
    assert run_cli("--agent", "lead", "init", cwd=repo).code == 0
    if setup is not None:
        assert run_cli("--agent", "lead", "config", "set", "worktree.setup", json.dumps(setup), cwd=repo).code == 0
    for task in tasks:
        r = run_cli("--agent", "lead", "task", "add", task, "--title", f"task {task}", "--owns", f"src/{task}/**",
                    cwd=repo)
        assert r.code == 0, r.err


def test_worktree_per_task_has_its_own_identity_and_setup_log(repo):
    (repo / ".gitignore").write_text(".env*\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "ignore env files")
    (repo / ".env.local").write_text("SECRET=1\n")  # ignored in the main checkout: setup copies it
    _setup(repo, "A", "B", setup=["cp ../../../.env.local .env.local", "echo installed deps"])
    git(repo, "config", "gitcoord.agent", "desk")  # who the main checkout acts as
    a = run_cli("--agent", "ann", "--json", "task", "start", "A", "--worktree", cwd=repo)
    assert a.code == 0, a.err
    info = a.json["worktree"]
    wt_a = Path(info["path"])
    assert wt_a == repo / ".gitcoord" / "worktrees" / "A"
    assert git(wt_a, "branch", "--show-current") == a.json["branch"]
    assert (wt_a / ".env.local").read_text() == "SECRET=1\n"
    log = Path(info["setup_log"]).read_text()
    assert "$ echo installed deps" in log and "installed deps\n[exit 0]" in log
    b = run_cli("--agent", "bob", "--json", "task", "start", "B", "--worktree", cwd=repo)
    assert b.code == 0, b.err
    wt_b = Path(b.json["worktree"]["path"])
    # each worktree acts as its own agent, the main checkout as before
    assert run_cli("--json", "whoami", cwd=wt_a).json["agent"] == "ann"
    assert run_cli("--json", "whoami", cwd=wt_b).json["agent"] == "bob"
    assert run_cli("--json", "whoami", cwd=repo).json["agent"] == "desk"
    # the worktrees are invisible to the main checkout's status; .gitignore untouched
    assert git(repo, "status", "--porcelain") == ""
    assert (repo / ".gitignore").read_text() == ".env*\n"
    (wt_a / "notes.txt").write_text("wip\n")
    listed = run_cli("--json", "worktree", "list", cwd=repo).json["worktrees"]
    assert {(w["task"], w["agent"], w["dirty"]) for w in listed} == {("A", "ann", True), ("B", "bob", False)}


def test_failing_setup_exits_1_and_keeps_the_output(repo):
    _setup(repo, "A", setup=["echo before-failure", "exit 7", "echo never"])
    r = run_cli("--agent", "ann", "--json", "task", "start", "A", "--worktree", cwd=repo)
    assert r.code == 1
    wt = r.json["worktree"]
    assert [s["exit_code"] for s in wt["setup"]] == [0, 7]
    log = Path(wt["setup_log"]).read_text()
    assert "before-failure" in log and "[exit 7]" in log and "never" not in log
    assert Path(wt["path"]).is_dir()
    # fixed: starting again reruns the setup in the existing worktree (once it passed, never again)
    assert run_cli("--agent", "lead", "config", "set", "worktree.setup", '["echo fixed"]', cwd=repo).code == 0
    again = run_cli("--agent", "ann", "--json", "task", "start", "A", "--worktree", cwd=repo)
    assert again.code == 0, again.err
    assert again.json["worktree"]["created"] is False and again.json["worktree"]["setup"] == [
        {"command": "echo fixed", "exit_code": 0}]
    third = run_cli("--agent", "ann", "--json", "task", "start", "A", "--worktree", cwd=repo)
    assert third.code == 0 and third.json["worktree"]["setup"] == []
    assert Path(wt["setup_log"]).read_text().count("$ echo fixed") == 1


def test_path_with_spaces_and_dirty_worktree_never_removed(repo, tmp_path):
    _setup(repo, "A", "B")
    where = tmp_path / "my work trees" / "task A"
    r = run_cli("--agent", "ann", "--json", "task", "start", "A", "--worktree", str(where), cwd=repo)
    assert r.code == 0, r.err
    assert Path(r.json["worktree"]["path"]) == where and (where / "README.md").exists()
    (where / "src" / "A").mkdir(parents=True)
    (where / "src" / "A" / "x.py").write_text("x = 1\n")
    # dirty: neither remove, nor cancel, nor prune takes it
    rm = run_cli("worktree", "remove", "A", cwd=repo)
    assert rm.code == 1 and "kept" in rm.err and str(where) in rm.err
    shown = subprocess.run(rm.err.split("`")[1], shell=True, capture_output=True, text=True)
    assert shown.returncode == 0 and "src/" in shown.stdout
    c = run_cli("--agent", "ann", "task", "cancel", "A", "--reason", "scope cut", cwd=repo)
    assert c.code == 0, c.err
    assert f"kept worktree {where}" in c.out
    assert (where / "src" / "A" / "x.py").exists()
    pr = run_cli("--json", "worktree", "prune", cwd=repo)
    assert pr.json["removed"] == [] and pr.json["kept"][0]["task"] == "A"
    # once committed, the cancelled task's worktree goes on prune (its branch stays)
    git(where, "add", "-A")
    git(where, "commit", "-q", "-m", "work")
    pr = run_cli("--json", "worktree", "prune", cwd=repo)
    assert [w["task"] for w in pr.json["removed"]] == ["A"]
    assert not where.exists()
    assert git(repo, "rev-parse", "--verify", "-q", r.json["branch"])


def test_cancel_removes_clean_worktree_unless_keep_and_remove_by_path(repo):
    _setup(repo, "A", "B", "C")
    for task in ("A", "B", "C"):
        assert run_cli("--agent", "ann", "task", "start", task, "--worktree", cwd=repo).code == 0
    wt = repo / ".gitcoord" / "worktrees"
    assert run_cli("--agent", "ann", "task", "cancel", "A", cwd=repo).code == 0
    assert not (wt / "A").exists()
    assert run_cli("--agent", "ann", "task", "cancel", "B", "--keep", cwd=repo).code == 0
    assert (wt / "B").is_dir()
    r = run_cli("worktree", "remove", str(wt / "C"), cwd=repo)
    assert r.code == 0, r.err
    assert not (wt / "C").exists()
    assert run_cli("worktree", "remove", "nope", cwd=repo).code == 2


def test_worktree_of_a_branch_checked_out_elsewhere_is_a_clear_error(repo):
    _setup(repo, "A")
    r = run_cli("--agent", "ann", "--json", "task", "start", "A", cwd=repo)
    git(repo, "switch", "-q", r.json["branch"])
    again = run_cli("--agent", "ann", "task", "start", "A", "--worktree", cwd=repo)
    assert again.code == 2 and "is checked out in" in again.err
    assert "Traceback" not in again.err
    hint = again.err.split("`")[1]  # works as printed; then the worktree can be made
    assert subprocess.run(hint, shell=True, capture_output=True).returncode == 0
    assert run_cli("--agent", "ann", "task", "start", "A", "--worktree", cwd=repo).code == 0


def test_merge_run_removes_landed_tasks_worktrees_unless_keep(repo):
    _setup(repo, "A", "B")
    paths = {}
    for task in ("A", "B"):
        r = run_cli("--agent", "ann", "--json", "task", "start", task, "--worktree", cwd=repo)
        paths[task] = Path(r.json["worktree"]["path"])
        (paths[task] / "src" / task).mkdir(parents=True)
        (paths[task] / "src" / task / "x.py").write_text(f"{task} = 1\n")
        git(paths[task], "add", "-A")
        git(paths[task], "commit", "-q", "-m", task)
        assert run_cli("--agent", "ann", "task", "done", task, cwd=paths[task]).code == 0
    (paths["B"] / "notes.txt").write_text("keep me\n")  # untracked work: its worktree stays
    git(repo, "checkout", "-q", "--detach")
    r = run_cli("--json", "merge", "run", cwd=repo)
    assert r.code == 0, r.err
    assert [w["task"] for w in r.json["worktrees"]["removed"]] == ["A"]
    assert [w["task"] for w in r.json["worktrees"]["kept"]] == ["B"]
    assert not paths["A"].exists() and (paths["B"] / "notes.txt").exists()


def test_merge_run_keep_leaves_worktrees(repo):
    _setup(repo, "A")
    r = run_cli("--agent", "ann", "--json", "task", "start", "A", "--worktree", cwd=repo)
    wt = Path(r.json["worktree"]["path"])
    (wt / "a.txt").write_text("a\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-q", "-m", "a")
    assert run_cli("--agent", "ann", "task", "done", "A", cwd=wt).code == 0
    git(repo, "checkout", "-q", "--detach")
    r = run_cli("--json", "merge", "run", "--keep", cwd=repo)
    assert r.code == 0, r.err
    assert r.json["merged"] == ["A"] and "worktrees" not in r.json
    assert wt.is_dir()


def test_start_with_worktree_prints_hints_that_work(repo):
    _setup(repo, "A")
    r = run_cli("--agent", "ann", "task", "start", "A", "--worktree", cwd=repo)
    assert r.code == 0, r.err
    assert "git switch" not in r.out  # the branch is checked out in the worktree, not switchable here
    hint = next(line for line in r.out.splitlines() if line.startswith("worktree "))
    command = hint.split("`")[1]
    assert command.startswith("cd ")
    proc = subprocess.run(f"{command} && git branch --show-current", shell=True, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("/a")


def test_prune_forgets_a_worktree_whose_directory_is_gone(repo):
    import shutil

    _setup(repo, "A", "B")
    a = run_cli("--agent", "ann", "--json", "task", "start", "A", "--worktree", cwd=repo)
    assert a.code == 0, a.err
    assert run_cli("--agent", "ann", "task", "start", "B", "--worktree", cwd=repo).code == 0
    shutil.rmtree(a.json["worktree"]["path"])
    assert "prunable" in git(repo, "worktree", "list", "--porcelain")
    pr = run_cli("--json", "worktree", "prune", cwd=repo)
    assert pr.code == 0 and pr.json == {"removed": [], "kept": []}
    listing = git(repo, "worktree", "list", "--porcelain")
    assert "prunable" not in listing and a.json["worktree"]["path"] not in listing
    assert "/B\n" in listing + "\n"  # B's worktree is alive and stays


def _git_worktree_heads(repo: Path) -> dict[str, str]:
    heads, path = {}, None
    for line in git(repo, "worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            path = line[len("worktree "):]
        elif line.startswith("branch "):
            heads[line[len("branch "):]] = path
    return heads


def test_checked_out_branches_read_from_files_are_what_git_worktree_list_says(repo, tmp_path):
    """`merge run` asks which branches are checked out without starting git: the answer is git's,
    with linked worktrees on a branch, detached, and one whose directory was removed."""
    import pygit2

    from gitcoord import gitutil

    def same() -> None:
        handle = pygit2.Repository(str(repo))
        assert gitutil._worktree_files(handle) is not None  # the usual layout: read from the files
        assert gitutil.worktree_heads(handle) == _git_worktree_heads(repo)

    same()
    assert gitutil.maybe_prunable_worktrees(pygit2.Repository(str(repo))) is False
    git(repo, "worktree", "add", "-q", "-b", "one", str(tmp_path / "wt one"))
    git(repo, "worktree", "add", "-q", "--detach", str(tmp_path / "detached"))
    git(repo, "worktree", "add", "-q", "-b", "gone", str(tmp_path / "gone"))
    same()
    assert gitutil.maybe_prunable_worktrees(pygit2.Repository(str(repo))) is False
    import shutil

    shutil.rmtree(tmp_path / "gone")  # prunable now: still listed, and prune would forget it
    same()
    assert gitutil.maybe_prunable_worktrees(pygit2.Repository(str(repo))) is True
    git(repo, "checkout", "-q", "--detach")
    same()
    # from inside a linked worktree: the same answer
    assert gitutil.worktree_heads(pygit2.Repository(str(tmp_path / "wt one"))) == _git_worktree_heads(repo)


def test_a_bare_repository_is_left_to_git(tmp_path):
    import pygit2

    from gitcoord import gitutil

    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    handle = pygit2.Repository(str(bare))
    assert gitutil._worktree_files(handle) is None
    assert gitutil.worktree_heads(handle) == {}
