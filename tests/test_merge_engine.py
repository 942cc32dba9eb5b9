"""Batch merge engine against real repositories, worktrees and bare remotes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pygit2
import pytest

from gitcoord.errors import NotFound, RaceError, UsageError
from gitcoord.merge_engine import (
    BatchResult,
    MergeItem,
    dry_run_estimate,
    predict_conflicts,
    run_batch,
)

ROOT = Path(__file__).resolve().parents[1]
SIG = pygit2.Signature("Test", "test@example.com", 1_700_000_000, 0)


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"git {args}: {proc.stderr}"
    return proc.stdout.strip()


def init_repo(path: Path, files: dict[str, str] | None = None) -> pygit2.Repository:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Test")
    git(path, "config", "user.email", "test@example.com")
    for name, text in (files or {"README": "base\n", "f.txt": "1\n2\n3\n4\n5\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    return pygit2.Repository(str(path))


def commit_on(repo: pygit2.Repository, parents: list, files: dict[str, str | None], msg: str = "c") -> str:
    """A commit on top of ``parents[0]`` with ``files`` changed (None deletes); no checkout involved."""
    index = pygit2.Index()
    index.read_tree(repo[parents[0]].peel(pygit2.Commit).tree)
    for name, text in files.items():
        if text is None:
            index.remove(name)
        else:
            index.add(pygit2.IndexEntry(name, repo.create_blob(text.encode()), pygit2.enums.FileMode.BLOB))
    tree = index.write_tree(repo)
    return str(repo.create_commit(None, SIG, SIG, msg, tree, [repo[p].peel(pygit2.Commit).id for p in parents]))


def branch(repo: pygit2.Repository, name: str, oid: str) -> str:
    repo.references.create(f"refs/heads/{name}", pygit2.Oid(hex=oid), force=True)
    return oid


def tip(repo: pygit2.Repository, ref: str = "refs/heads/target") -> str:
    return str(repo.references[ref].target)


def item(task: str, commit: str, *deps: str) -> MergeItem:
    return MergeItem(task=task, commit=commit, branch=f"feature/{task.lower()}", depends_on=frozenset(deps))


def files_at(repo: pygit2.Repository, oid: str) -> dict[str, str]:
    out: dict[str, str] = {}

    def walk(tree: pygit2.Tree, prefix: str) -> None:
        for entry in tree:
            if entry.type_str == "tree":
                walk(repo[entry.id], prefix + entry.name + "/")
            else:
                out[prefix + entry.name] = repo[entry.id].data.decode()

    walk(repo[oid].peel(pygit2.Tree), "")
    return out


@pytest.fixture()
def repo(tmp_path: Path) -> pygit2.Repository:
    """A repo whose checkout is on ``main``; merges go into ``target`` (not checked out)."""
    r = init_repo(tmp_path / "repo")
    branch(r, "target", str(r.head.target))
    return r


def first_parent_tasks(repo: pygit2.Repository, head: str, stop: str) -> list[str]:
    tasks = []
    commit = repo[head]
    while str(commit.id) != stop:
        trailer = [l for l in commit.message.splitlines() if l.startswith("Task: ")]
        assert len(commit.parents) == 2 and trailer, commit.message
        tasks.append(trailer[-1][len("Task: "):])
        commit = commit.parents[0]
    return list(reversed(tasks))


# --------------------------------------------------------------------------- ordering and modes


def test_chain_lands_in_order_with_one_merge_commit_per_task(repo):
    base = tip(repo)
    a = commit_on(repo, [base], {"a.txt": "a\n"})
    b = commit_on(repo, [a], {"b.txt": "b\n"})
    c = commit_on(repo, [b], {"c.txt": "c\n"})
    result = run_batch(repo, "target", [item("T1", a), item("T2", b, "T1"), item("T3", c, "T2")])
    assert result.merged == ["T1", "T2", "T3"] and result.skipped == [] and result.complete
    assert result.after == tip(repo) and result.before == base and result.landed
    assert first_parent_tasks(repo, result.after, base) == ["T1", "T2", "T3"]
    assert {"a.txt", "b.txt", "c.txt", "f.txt"} <= set(files_at(repo, result.after))
    assert [result.commits[t] for t in ("T1", "T2", "T3")][-1] == result.after
    # --no-ff: every merge commit has the task tip as second parent
    for task, tip_oid in (("T1", a), ("T2", b), ("T3", c)):
        assert str(repo[result.commits[task]].parents[1].id) == tip_oid


def test_diamond_lands_dependencies_first(repo):
    base = tip(repo)
    a = commit_on(repo, [base], {"a.txt": "a\n"})
    b = commit_on(repo, [a], {"b.txt": "b\n"})
    c = commit_on(repo, [a], {"c.txt": "c\n"})
    d = commit_on(repo, [commit_on(repo, [b, c], {"c.txt": "c\n"})], {"d.txt": "d\n"})
    items = [item("A", a), item("B", b, "A"), item("C", c, "A"), item("D", d, "B", "C")]
    result = run_batch(repo, "refs/heads/target", items)
    order = first_parent_tasks(repo, result.after, base)
    assert order == ["A", "B", "C", "D"] == result.merged
    assert set(files_at(repo, result.after)) >= {"a.txt", "b.txt", "c.txt", "d.txt"}
    assert result.to_dict()["merged"] == order and result.to_dict()["after"] == result.after


def test_items_out_of_dependency_order_are_refused(repo):
    base = tip(repo)
    a = commit_on(repo, [base], {"a.txt": "a\n"})
    with pytest.raises(UsageError, match="T2.*later"):
        run_batch(repo, "target", [item("T1", a, "T2"), item("T2", a)])
    with pytest.raises(NotFound, match="T9"):
        run_batch(repo, "target", [item("T9", "0" * 40)])
    with pytest.raises(NotFound, match="nope"):
        run_batch(repo, "nope", [item("T1", a)])
    assert tip(repo) == base


def conflict_batch(repo):
    """A and X edit the same line; Y depends on X; Z is independent."""
    base = tip(repo)
    a = commit_on(repo, [base], {"f.txt": "1\nA\n3\n4\n5\n"})
    x = commit_on(repo, [base], {"f.txt": "1\nX\n3\n4\n5\n"})
    y = commit_on(repo, [x], {"y.txt": "y\n"})
    z = commit_on(repo, [base], {"z.txt": "z\n"})
    return base, [item("A", a), item("X", x), item("Y", y, "X"), item("Z", z)]


def test_skip_drops_conflicting_branch_and_only_its_dependents(repo):
    base, items = conflict_batch(repo)
    result = run_batch(repo, "target", items)
    assert result.merged == ["A", "Z"]
    assert result.skipped == [
        {"task": "X", "reason": "conflict", "files": ["f.txt"], "caused_by": None, "detail": "merge conflict"},
        {"task": "Y", "reason": "dependency-skipped", "files": [], "caused_by": "X",
         "detail": "depends on a task left out because of X"},
    ]
    assert [(c.task, c.files, c.conflicts_with) for c in result.conflicts] == [("X", ["f.txt"], ["A"])]
    assert first_parent_tasks(repo, tip(repo), base) == ["A", "Z"]
    assert not result.complete


def test_atomic_leaves_target_unchanged_on_conflict(repo):
    base, items = conflict_batch(repo)
    result = run_batch(repo, "target", items, mode="atomic")
    assert tip(repo) == base and result.after is None and result.merged == []
    reasons = {s["task"]: s["reason"] for s in result.skipped}
    assert reasons == {"A": "atomic-abort", "X": "conflict", "Y": "dependency-skipped", "Z": "atomic-abort"}


def test_atomic_leaves_target_unchanged_on_test_failure(repo):
    base = tip(repo)
    good = commit_on(repo, [base], {"a.txt": "a\n"})
    bad = commit_on(repo, [base], {"BROKEN": "x\n"})
    result = run_batch(repo, "target", [item("A", good), item("B", bad)], mode="atomic",
                       test_cmd="test ! -e BROKEN")
    assert tip(repo) == base and result.after is None
    assert {s["task"]: s["reason"] for s in result.skipped} == {"A": "atomic-abort", "B": "test-failed"}


def test_prefix_lands_the_prefix_before_the_first_failure(repo):
    base = tip(repo)
    a = commit_on(repo, [base], {"f.txt": "1\nA\n3\n4\n5\n"})
    b = commit_on(repo, [base], {"b.txt": "b\n"})
    x = commit_on(repo, [base], {"f.txt": "1\nX\n3\n4\n5\n"})
    z = commit_on(repo, [base], {"z.txt": "z\n"})
    result = run_batch(repo, "target", [item("A", a), item("B", b), item("X", x), item("Z", z)], mode="prefix")
    assert result.merged == ["A", "B"] and first_parent_tasks(repo, tip(repo), base) == ["A", "B"]
    assert {s["task"]: (s["reason"], s["caused_by"]) for s in result.skipped} == {
        "X": ("conflict", None), "Z": ("prefix-cut", "X")}
    # the same with a test failure instead of a conflict
    branch(repo, "target", base)
    w = commit_on(repo, [base], {"w.txt": "w\n"})
    result = run_batch(repo, "target", [item("A", a), item("B", b), item("Z", z), item("W", w)],
                       mode="prefix", test_cmd="test ! -e z.txt")
    assert result.merged == ["A", "B"]
    assert {s["task"]: s["reason"] for s in result.skipped} == {"Z": "test-failed", "W": "prefix-cut"}


def test_backends_build_identical_trees(repo):
    base = tip(repo)
    a = commit_on(repo, [base], {"f.txt": "1\nA\n3\n4\n5\n", "d/a.txt": "a\n"})
    b = commit_on(repo, [base], {"f.txt": "1\n2\n3\n4\nB\n", "README": None})
    c = commit_on(repo, [a], {"d/c.txt": "c\n"})
    items = [item("A", a), item("B", b), item("C", c, "A")]
    trees = {}
    for backend in ("git", "pygit2"):
        r = run_batch(repo, "target", items, backend=backend, land=False)
        assert r.merged == ["A", "B", "C"] and r.after is None and tip(repo) == base
        trees[backend] = str(repo[r.result].peel(pygit2.Tree).id)
    assert trees["git"] == trees["pygit2"]
    assert files_at(repo, r.result)["f.txt"] == "1\nA\n3\n4\nB\n"


def test_already_merged_branch_adds_no_commit(repo):
    base = tip(repo)
    a = commit_on(repo, [base], {"a.txt": "a\n"})
    first = run_batch(repo, "target", [item("A", a)])
    again = run_batch(repo, "target", [item("A", a)])
    assert again.merged == ["A"] and again.already_merged == ["A"] and again.after is None
    assert tip(repo) == first.after


def test_predict_conflicts_against_target_and_cumulatively(repo):
    base, items = conflict_batch(repo)
    w = commit_on(repo, [base], {"f.txt": "1\n2\n3\n4\nW\n"})
    v = commit_on(repo, [base], {"f.txt": "1\n2\n3\n4\nV\n"})
    report = predict_conflicts(repo, "target", items + [item("W", w), item("V", v)])
    found = {(c.task, c.stage): (c.files, c.conflicts_with) for c in report.conflicts}
    assert found == {("X", "cumulative"): (["f.txt"], ["A"]), ("V", "cumulative"): (["f.txt"], ["A", "W"])}
    assert report.blocked == {"Y": "X"} and not report.clean
    # against the target alone: a branch conflicting with the target itself
    branch(repo, "target", commit_on(repo, [base], {"f.txt": "1\nT\n3\n4\n5\n"}))
    report = predict_conflicts(repo, "target", items[:2], backend="pygit2")
    assert {(c.task, c.stage) for c in report.conflicts} == {
        ("A", "target"), ("X", "target"), ("A", "cumulative"), ("X", "cumulative")}
    assert report.to_dict()["conflicts"][0]["files"] == ["f.txt"]
    assert tip(repo) != base  # prediction never moved anything


# --------------------------------------------------------------------------- speculative tests


TEST_CMD = 'git rev-parse "HEAD^{tree}" >> "$LOG"; test ! -e FAIL'


@pytest.mark.parametrize("bad", [0, 6, 15])
def test_one_failing_branch_among_16_found_within_6_runs(repo, tmp_path, monkeypatch, bad):
    """log2(16) bisection runs, the first run and the re-test; blaming the first branch needs one
    more: the target alone, tested before it is blamed."""
    log = tmp_path / "tested.log"
    monkeypatch.setenv("LOG", str(log))
    base = tip(repo)
    items = []
    for n in range(16):
        files = {f"part{n}.txt": f"{n}\n"}
        if n == bad:
            files["FAIL"] = "x\n"
        items.append(item(f"T{n:02}", commit_on(repo, [base], files)))
    result = run_batch(repo, "target", items, test_cmd=TEST_CMD)
    culprit = f"T{bad:02}"
    assert result.test_runs <= 6 + (bad == 0) and result.tested
    if bad == 0:
        assert any(run.tasks == [] and run.passed for run in result.tests)  # the target alone passed
    assert result.skipped == [{"task": culprit, "reason": "test-failed", "files": [], "caused_by": None,
                               "detail": "the test command failed (exit 1) with this branch merged"}]
    assert result.merged == [i.task for i in items if i.task != culprit]
    tested = log.read_text().split()
    assert len(tested) == result.test_runs == len(set(tested)), "a tree was tested twice"
    assert "FAIL" not in files_at(repo, tip(repo))
    assert dry_run_estimate(items, TEST_CMD, failures=1) == 6
    assert dry_run_estimate(items, TEST_CMD) == 1 and dry_run_estimate(items, None) == 0


def test_failing_branch_takes_its_dependents_along(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("LOG", str(tmp_path / "log"))
    base = tip(repo)
    a = commit_on(repo, [base], {"a.txt": "a\n"})
    bad = commit_on(repo, [base], {"FAIL": "x\n"})
    dep = commit_on(repo, [bad], {"dep.txt": "d\n"})
    depdep = commit_on(repo, [dep], {"dd.txt": "d\n"})
    z = commit_on(repo, [base], {"z.txt": "z\n"})
    items = [item("A", a), item("B", bad), item("C", dep, "B"), item("D", depdep, "C"), item("Z", z)]
    result = run_batch(repo, "target", items, test_cmd=TEST_CMD)
    assert result.merged == ["A", "Z"]
    assert {s["task"]: (s["reason"], s["caused_by"]) for s in result.skipped} == {
        "B": ("test-failed", None), "C": ("dependency-skipped", "B"), "D": ("dependency-skipped", "B")}


def test_target_that_fails_its_own_tests_lands_nothing(repo):
    base = tip(repo)
    items = [item(f"T{n}", commit_on(repo, [base], {f"p{n}": "x"})) for n in range(4)]
    result = run_batch(repo, "target", items, test_cmd="echo broken build; exit 3")
    assert result.after is None and tip(repo) == base and result.merged == []
    assert result.target_failed
    assert all(s["reason"] == "target-failed" and s["caused_by"] is None for s in result.skipped)
    assert len(result.skipped) == 4
    assert result.test_runs <= 4 + 2
    alone = [run for run in result.tests if run.tasks == []]
    assert len(alone) == 1 and not alone[0].passed and alone[0].exit_code == 3
    assert alone[0].output_tail == "broken build"


def test_test_output_keeps_the_last_40_lines_and_the_exit_code(repo):
    base = tip(repo)
    items = [item("T", commit_on(repo, [base], {"t": "x"}))]
    result = run_batch(repo, "target", items, test_cmd="seq 1 100; exit 0")
    (run,) = result.tests
    assert run.exit_code == 0 and run.passed
    assert run.output_tail.splitlines() == [str(n) for n in range(61, 101)]
    assert result.to_dict()["tests"][0]["exit_code"] == 0


# --------------------------------------------------------------------------- the user's checkout


def snapshot(workdir: Path) -> tuple:
    return (
        git(workdir, "status", "--porcelain", "--untracked-files=all"),
        (workdir / ".git" / "index").read_bytes(),
        (workdir / ".git" / "HEAD").read_bytes(),
        git(workdir, "rev-parse", "HEAD"),
        git(workdir, "worktree", "list", "--porcelain"),
        sorted(p.name for p in (workdir / ".git").iterdir()),
    )


def test_user_worktree_index_and_head_untouched(repo, tmp_path, monkeypatch):
    work = Path(repo.workdir)
    monkeypatch.setenv("LOG", str(tmp_path / "log"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    (work / "f.txt").write_text("dirty edit\n")
    (work / "staged.txt").write_text("staged\n")
    git(work, "add", "staged.txt")
    (work / "untracked.txt").write_text("u\n")
    before = snapshot(work)
    base = tip(repo)
    items = [item("A", commit_on(repo, [base], {"f.txt": "changed by A\n"})),
             item("B", commit_on(repo, [base], {"FAIL": "x\n"}))]
    result = run_batch(repo, "target", items, test_cmd=TEST_CMD)
    assert result.merged == ["A"] and result.test_runs >= 2
    assert snapshot(work) == before
    assert not (work / ".git" / "worktrees").exists() or not any((work / ".git" / "worktrees").iterdir())
    assert list((tmp_path / "scratch").iterdir()) == []  # temporary worktrees removed


def test_branch_checked_out_in_a_worktree_is_refused(repo, tmp_path):
    base = tip(repo)
    a = commit_on(repo, [base], {"a.txt": "a\n"})
    with pytest.raises(UsageError, match="checked out"):
        run_batch(repo, "main", [item("A", a)])
    git(Path(repo.workdir), "worktree", "add", "-q", str(tmp_path / "other"), "target")
    with pytest.raises(UsageError, match=str(tmp_path / "other")):
        run_batch(repo, "target", [item("A", a)])
    assert tip(repo) == base
    # a dry run may still compute the result, and the user may allow it explicitly
    assert run_batch(repo, "target", [item("A", a)], land=False).after is None
    result = run_batch(repo, "target", [item("A", a)], allow_checked_out=True)
    assert tip(repo) == result.after


def test_target_moved_by_the_test_command_raises_race_and_loses_nothing(repo):
    base = tip(repo)
    concurrent = commit_on(repo, [base], {"other.txt": "pushed meanwhile\n"})
    a = commit_on(repo, [base], {"a.txt": "a\n"})
    with pytest.raises(RaceError) as err:
        run_batch(repo, "target", [item("A", a)], test_cmd=f"git update-ref refs/heads/target {concurrent}")
    assert err.value.exit_code == 3
    assert tip(repo) == concurrent
    assert repo.descendant_of(pygit2.Oid(hex=err.value.data["result"]), pygit2.Oid(hex=a))


def test_target_moved_by_a_hook_during_progress_raises_race(repo):
    base = tip(repo)
    concurrent = commit_on(repo, [base], {"other.txt": "x\n"})
    a = commit_on(repo, [base], {"a.txt": "a\n"})

    def hook(msg: str) -> None:
        if msg.startswith("landing"):
            git(Path(repo.workdir), "update-ref", "refs/heads/target", concurrent)

    with pytest.raises(RaceError, match="moved"):
        run_batch(repo, "target", [item("A", a)], progress=hook)
    assert tip(repo) == concurrent


def test_interrupt_during_test_removes_the_temporary_worktree(repo, tmp_path):
    base = tip(repo)
    a = commit_on(repo, [base], {"a.txt": "a\n"})
    (tmp_path / "scratch").mkdir()
    script = textwrap.dedent(f"""
        import pygit2, sys
        from gitcoord.merge_engine import MergeItem, run_batch
        repo = pygit2.Repository({repo.workdir!r})
        try:
            run_batch(repo, "target", [MergeItem("A", {a!r})], test_cmd="kill -INT $PPID; sleep 5")
        except KeyboardInterrupt:
            sys.exit(42)
    """)
    env = dict(os.environ, TMPDIR=str(tmp_path / "scratch"), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 42, proc.stderr
    assert list((tmp_path / "scratch").iterdir()) == []
    assert git(Path(repo.workdir), "worktree", "list").count("\n") == 0
    assert tip(repo) == base


# --------------------------------------------------------------------------- pushing


def clone_pair(tmp_path: Path):
    origin = tmp_path / "origin.git"
    seed = init_repo(tmp_path / "seed")
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(Path(seed.workdir), "push", "-q", str(origin), "main:main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    git(clone, "branch", "-q", "target", "origin/main")
    git(clone, "push", "-q", "origin", "target")
    return pygit2.Repository(str(origin)), pygit2.Repository(str(clone))


def test_push_lands_target_and_extra_ref_in_one_atomic_push(tmp_path):
    origin, clone = clone_pair(tmp_path)
    base = tip(clone)
    a = commit_on(clone, [base], {"a.txt": "a\n"})
    coord = commit_on(clone, [base], {"coord.json": "{}\n"})
    result = run_batch(clone, "target", [item("A", a)], push_remote="origin",
                       extra_push_refs=[("refs/heads/gitcoord", coord, None)])
    assert result.pushed and result.landed
    assert tip(origin) == result.after == tip(clone)
    assert tip(origin, "refs/heads/gitcoord") == coord
    assert tip(clone, "refs/remotes/origin/target") == result.after


def test_push_lease_failure_is_a_race_and_changes_nothing(tmp_path):
    origin, clone = clone_pair(tmp_path)
    base = tip(clone)
    # someone else moves the remote target
    other = origin
    moved = commit_on(other, [base], {"theirs.txt": "t\n"})
    branch(other, "target", moved)
    a = commit_on(clone, [base], {"a.txt": "a\n"})
    coord = commit_on(clone, [base], {"coord.json": "{}\n"})
    with pytest.raises(RaceError, match="target"):
        run_batch(clone, "target", [item("A", a)], push_remote="origin",
                  extra_push_refs=[("refs/heads/gitcoord", coord, None)])
    assert tip(clone) == base and tip(origin) == moved
    assert origin.references.get("refs/heads/gitcoord") is None  # atomic: the extra ref did not land
    # a stale lease on the extra ref alone also fails the whole push
    branch(other, "target", base)
    branch(other, "gitcoord", moved)
    with pytest.raises(RaceError, match="gitcoord"):
        run_batch(clone, "target", [item("A", a)], push_remote="origin",
                  extra_push_refs=[("refs/heads/gitcoord", coord, None)])
    assert tip(clone) == base and tip(origin) == base


def test_push_only_does_not_move_the_local_ref(tmp_path):
    origin, clone = clone_pair(tmp_path)
    base = tip(clone)
    a = commit_on(clone, [base], {"a.txt": "a\n"})
    result = run_batch(clone, "target", [item("A", a)], land=False, push_remote="origin")
    assert tip(origin) == result.after and tip(clone) == base and not result.landed


def test_result_dict_is_json_ready(repo):
    import json

    base, items = conflict_batch(repo)
    result: BatchResult = run_batch(repo, "target", items, land=False)
    data = json.loads(json.dumps(result.to_dict()))
    assert {"into", "before", "after", "merged", "skipped", "tested", "test_runs", "conflicts", "commits"} <= set(data)
    assert data["into"] == "refs/heads/target" and data["after"] is None


def test_locked_target_ref_is_a_race(repo):
    base = tip(repo)
    a = commit_on(repo, [base], {"a.txt": "a\n"})
    lock = Path(repo.path) / "refs" / "heads" / "target.lock"
    lock.write_text(base + "\n")  # another git process is updating the ref right now
    try:
        with pytest.raises(RaceError, match="target"):
            run_batch(repo, "target", [item("A", a)])
    finally:
        lock.unlink()
    assert tip(repo) == base
    assert run_batch(repo, "target", [item("A", a)]).after == tip(repo)


def test_custom_message_keeps_a_task_trailer(repo):
    base = tip(repo)
    a = commit_on(repo, [base], {"a.txt": "a\n"})
    b = commit_on(repo, [base], {"b.txt": "b\n"})
    result = run_batch(repo, "target", [item("A", a), item("B", b)],
                       message=lambda i: f"Land {i.task}\n\nTask: {i.task}" if i.task == "A" else f"Land {i.task}")
    assert repo[result.commits["A"]].message == "Land A\n\nTask: A\n"
    assert repo[result.commits["B"]].message == "Land B\n\nTask: B\n"
    default = run_batch(repo, "target", [item("C", commit_on(repo, [base], {"c.txt": "c"}))], land=False)
    assert repo[default.result].message.startswith("Merge branch 'feature/c' (task C)")
    assert repo[default.result].message.rstrip().endswith("Task: C")
