"""The team flow across clones of one bare remote: agents cut their branches from the remote's base,
finish only work that is committed and pushed, and an integrator's fresh clone (main checked out,
never fetched) lands it with `merge run --push`. Every hint printed along the way is run as printed."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import git, run_cli


def _clone(remote, name: str) -> Path:
    work = remote.clone(name)
    git(work, "config", "gitcoord.agent", name)
    git(work, "config", "gitcoord.remote", "origin")
    return work


def ok(result, what: str = ""):
    assert result.code == 0, f"{what}: exit {result.code}: {result.err.strip()[-1500:]}"
    return result


def hints(text: str) -> list[str]:
    """The commands a message suggests: everything between backticks."""
    return re.findall(r"`([^`]+)`", text)


def run_hint(command: str, cwd: Path):
    """Run a printed hint exactly as a user would type it in ``cwd``."""
    args = shlex.split(command)
    if args[0] == "gitcoord":
        return run_cli(*args[1:], cwd=cwd)
    assert args[0] == "git", f"unexpected hint {command!r}"
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)

    class _Done:
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    return _Done


def commit_file(work: Path, branch: str, rel: str, text: str) -> None:
    git(work, "switch", "-q", branch)
    (work / rel).parent.mkdir(parents=True, exist_ok=True)
    (work / rel).write_text(text)
    git(work, "add", rel)
    git(work, "commit", "-qm", f"add {rel}")


def advance_remote_main(remote, rel: str) -> str:
    """Someone else lands a commit on the remote's main; returns the new tip."""
    other = remote.clone(f"other-{rel.replace('/', '-')}")
    (other / rel).write_text("landed elsewhere\n")
    git(other, "add", rel)
    git(other, "commit", "-qm", f"land {rel}")
    git(other, "push", "-q", "origin", "main")
    return git(remote.bare, "rev-parse", "main")


@pytest.fixture(params=["file", "daemon"])
def team(request):
    """A bare remote (over a file path, and over `git daemon`) with the coordination branch and a plan."""
    remote = request.getfixturevalue("remote" if request.param == "file" else "daemon_remote")
    lead = _clone(remote, "lead")
    ok(run_cli("init", "--remote", "origin", cwd=lead), "init")
    for task_id, owns in (("A", "a/"), ("B", "b/"), ("E", "e/"), ("U", "u/")):
        ok(run_cli("task", "add", task_id, "--title", f"task {task_id}", "--owns", owns, "--feature", "shop",
                   "--estimate", "1h", cwd=lead), f"add {task_id}")
    return remote


def test_integrator_clone_lands_two_agents_work_with_push(team):
    remote = team
    # The integrator clones before any work exists and never fetches: main is checked out there.
    ivy = _clone(remote, "ivy")
    ann, bob = _clone(remote, "ann"), _clone(remote, "bob")

    # ann: committed but unpushed work is refused at `task done`; the hint pushes it and finishes.
    branch_a = ok(run_cli("--json", "task", "start", "A", cwd=ann), "start A").json["branch"]
    commit_file(ann, branch_a, "a/cart.py", "CART = {}\n")
    refused = run_cli("task", "done", "A", cwd=ann)
    assert refused.code == 1 and "never pushed" in refused.err
    (push_hint,) = hints(refused.err)
    assert push_hint == "gitcoord task done A --push"
    ok(run_hint(push_hint, ann), push_hint)
    assert git(remote.bare, "rev-parse", branch_a) == git(ann, "rev-parse", branch_a)
    assert git(ann, "rev-parse", "--abbrev-ref", f"{branch_a}@{{upstream}}") == f"origin/{branch_a}"

    # bob pushes by hand, then finishes.
    branch_b = ok(run_cli("--json", "task", "start", "B", cwd=bob), "start B").json["branch"]
    commit_file(bob, branch_b, "b/page.js", "export const page = 1;\n")
    git(bob, "push", "-q", "-u", "origin", branch_b)
    ok(run_cli("task", "done", "B", cwd=bob), "done B")
    # Work committed after the push makes the remote branch behind the local one: refused again.
    commit_file(bob, branch_b, "b/more.js", "export const more = 2;\n")
    behind = run_cli("task", "done", "B", cwd=bob)
    assert behind.code == 1 and "behind the local one" in behind.err
    ok(run_hint(hints(behind.err)[0], bob), "done B --push")
    assert git(remote.bare, "rev-parse", branch_b) == git(bob, "rev-parse", branch_b)

    # An empty branch is refused at done, and accepted only when said so explicitly.
    branch_e = ok(run_cli("--json", "task", "start", "E", cwd=ann), "start E").json["branch"]
    empty = run_cli("task", "done", "E", cwd=ann)
    assert empty.code == 1 and "no commits of its own" in empty.err
    assert hints(empty.err) == [f"git switch {branch_e}", "gitcoord task done E --allow-empty"]
    ok(run_hint(hints(empty.err)[0], ann), "git switch")
    unpushed = run_hint(hints(empty.err)[1], ann)
    assert unpushed.code == 1 and hints(unpushed.err) == ["gitcoord task done E --push --allow-empty"]
    ok(run_hint("gitcoord task done E --push --allow-empty", ann), "done E")

    # A task whose branch vanished from the remote: "push it from the agent's clone", never "create it".
    branch_u = ok(run_cli("--json", "task", "start", "U", cwd=bob), "start U").json["branch"]
    commit_file(bob, branch_u, "u/util.py", "X = 1\n")
    ok(run_cli("task", "done", "U", "--push", cwd=bob), "done U")
    git(bob, "push", "-q", "origin", "--delete", branch_u)

    main_before = git(remote.bare, "rev-parse", "main")
    ivy_main = git(ivy, "rev-parse", "main")
    plan = ok(run_cli("--json", "merge", "plan", cwd=ivy), "plan").json
    assert [i["task"] for i in plan["order"]] == ["A", "B"]
    assert plan["into"] == "refs/heads/main" and plan["remote"] == "origin" and plan["target"] == main_before
    left_out = {e["task"]: e for e in plan["excluded"]}
    assert left_out["E"]["reason"] == "empty" and left_out["U"]["reason"] == "no-branch"
    assert "create" not in left_out["U"]["detail"]
    assert hints(left_out["U"]["detail"]) == [f"git push -u origin {branch_u}"]

    plan_text = ok(run_cli("merge", "plan", cwd=ivy), "plan text").out
    assert "merge into refs/heads/main on origin" in plan_text
    assert sorted(hints(plan_text)) == sorted([f"git push -u origin {branch_u}", "gitcoord merge run --push",
                                               "gitcoord merge run --allow-empty --push"])  # run below

    refused_local = run_cli("merge", "run", cwd=ivy)
    assert refused_local.code == 2 and "--push" in refused_local.err

    run = run_cli("merge", "run", "--push", cwd=ivy)
    assert run.code == 1, run.err  # E and U were left out
    assert "merged in order: A -> B" in run.out
    record = run_cli("--json", "merge", "list", cwd=ivy).json["runs"][0]
    assert record["merged"] == ["A", "B"] and record["pushed"] and record["remote"] == "origin"
    assert {s["task"]: s["reason"] for s in record["skipped"]} == {"E": "empty", "U": "no-branch"}
    landed = set(git(remote.bare, "ls-tree", "-r", "--name-only", "main").split())
    assert {"a/cart.py", "b/page.js", "b/more.js"} <= landed and "u/util.py" not in landed
    assert git(remote.bare, "rev-parse", "main") == record["after"]
    # The checked-out local main was left alone; the printed command brings it up to date.
    assert git(ivy, "rev-parse", "main") == ivy_main and git(ivy, "status", "--porcelain") == ""
    assert "your local main is checked out and was left as it is; `git pull origin main` brings it up to date" \
        in run.out
    statuses = {t["id"]: t["status"] for t in run_cli("--json", "task", "list", cwd=ivy).json}
    assert statuses == {"A": "merged", "B": "merged", "E": "ready_to_merge", "U": "ready_to_merge"}

    # Every hint the run printed works as printed, each in the clone it is meant for.
    printed = hints(run.out)
    assert "git pull origin main" in printed and f"git push -u origin {branch_u}" in printed
    ok(run_hint("git pull origin main", ivy), "git pull")
    assert git(ivy, "rev-parse", "main") == git(remote.bare, "rev-parse", "main")
    ok(run_hint(f"git push -u origin {branch_u}", bob), "push U again")
    allow = next(h for h in printed if "--allow-empty" in h)
    assert allow == "gitcoord merge run --allow-empty --push"
    again = ok(run_hint(allow, ivy), allow)
    assert "merged in order: E -> U" in again.out or "merged in order: U -> E" in again.out
    assert "u/util.py" in git(remote.bare, "ls-tree", "-r", "--name-only", "main").split()
    statuses = {t["id"]: t["status"] for t in run_cli("--json", "task", "list", cwd=ann).json}
    assert set(statuses.values()) == {"merged"}

    # Nothing left to merge: nothing is written.
    coord = git(remote.bare, "rev-parse", "gitcoord")
    idle = ok(run_cli("--json", "merge", "run", "--push", cwd=ivy), "idle run").json
    assert idle["run"] is None and idle["merged"] == [] and not idle["written"]
    assert git(remote.bare, "rev-parse", "gitcoord") == coord
    assert "nothing to merge" in ok(run_cli("merge", "run", "--push", cwd=ivy)).out


def test_stale_local_main_start_cuts_from_the_remote_base(remote):
    lead = _clone(remote, "lead")
    ok(run_cli("init", "--remote", "origin", cwd=lead), "init")
    ok(run_cli("task", "add", "TESTS", "--title", "tests", "--owns", "tests/", cwd=lead), "add")
    carl = _clone(remote, "carl")  # cloned now; main moves on the remote afterwards
    stale = git(carl, "rev-parse", "main")
    tip = advance_remote_main(remote, "merged-dependency.txt")
    assert tip != stale and git(carl, "rev-parse", "origin/main") == stale
    started = ok(run_cli("--json", "task", "start", "TESTS", cwd=carl), "start")
    branch = started.json["branch"]
    assert git(carl, "rev-parse", branch) == tip  # not the stale local main
    assert git(carl, "rev-parse", "main") == stale  # the user's branch is not touched
    text = ok(run_cli("task", "start", "TESTS", cwd=carl)).out
    assert f"git switch {branch}" in hints(text)
    # branch create does the same for a task not started yet
    ok(run_cli("task", "add", "MORE", "--title", "more", cwd=lead), "add MORE")
    tip = advance_remote_main(remote, "another.txt")
    created = ok(run_cli("--json", "branch", "create", "MORE", cwd=carl), "branch create").json
    assert created["commit"] == tip and created["from"] == "origin/main"


def test_start_point_says_why_when_the_remote_cannot_be_read(remote):
    from gitcoord import branches, gitutil

    carl = remote.clone("carl")
    git(carl, "remote", "add", "gone", str(remote.root / "no-such-remote.git"))
    repo = gitutil.open_repo(carl)
    start = branches.resolve_start_point(repo, "main", "gone")
    assert start.commit == git(carl, "rev-parse", "main") and start.source == "main"
    assert "could not fetch main from gone" in start.note and "may be behind" in start.note
    offline = branches.resolve_start_point(repo, "main", "gone", fetch=False)
    assert offline.commit == start.commit and offline.note.startswith("offline")
    with pytest.raises(Exception, match="exists neither here nor on gone"):
        branches.resolve_start_point(repo, "trunk", "gone")


def test_missing_base_is_refused_never_head(repo):
    ok(run_cli("init", cwd=repo), "init")
    ok(run_cli("task", "add", "X", "--title", "x", cwd=repo), "add")
    refused = run_cli("config", "set", "base", "no such branch", cwd=repo)
    assert refused.code == 2 and "base" in refused.err
    assert run_cli("config", "set", "base", "nosuch", cwd=repo).code == 2
    assert ok(run_cli("--json", "config", "get", "base", cwd=repo)).json["value"] == "main"
    git(repo, "branch", "-m", "main", "trunk")  # the base disappears under the store
    started = run_cli("task", "start", "X", cwd=repo)
    assert started.code == 2 and "base branch 'main'" in started.err
    assert ok(run_cli("--json", "task", "show", "X", cwd=repo)).json["status"] == "ready"  # nothing claimed
    assert git(repo, "branch", "--list", "feature/*") == ""
    ok(run_cli("config", "set", "base", "trunk", cwd=repo), "set base trunk")
    ok(run_cli("task", "start", "X", cwd=repo), "start X")


def test_config_set_base_accepts_a_branch_only_on_the_remote(remote):
    lead = _clone(remote, "lead")
    ok(run_cli("init", "--remote", "origin", cwd=lead), "init")
    git(lead, "push", "-q", "origin", "main:release")
    other = _clone(remote, "other")
    git(other, "update-ref", "-d", "refs/remotes/origin/release")  # known only to the remote now
    assert git(other, "branch", "-a", "--list", "*release*") == ""
    ok(run_cli("config", "set", "base", "release", cwd=other), "base release")
    refused = run_cli("config", "set", "base", "nowhere", cwd=other)
    assert refused.code == 2 and "exists neither here nor on origin" in refused.err
    assert ok(run_cli("--json", "config", "get", "base", cwd=lead)).json["value"] == "release"


def test_target_failing_on_its_own_blames_nobody_and_lands_nothing(remote):
    lead = _clone(remote, "lead")
    ok(run_cli("init", "--remote", "origin", cwd=lead), "init")
    ok(run_cli("task", "add", "A", "--title", "a", "--owns", "a/", cwd=lead), "add")
    ann = _clone(remote, "ann")
    branch = ok(run_cli("--json", "task", "start", "A", cwd=ann)).json["branch"]
    commit_file(ann, branch, "a/x.py", "x = 1\n")
    ok(run_cli("task", "done", "A", "--push", cwd=ann), "done")
    ivy = _clone(remote, "ivy")
    before = git(remote.bare, "rev-parse", "main")
    test = "echo collecting; echo the build is broken on main >&2; exit 7"
    run = run_cli("merge", "run", "--push", "--test", test, cwd=ivy)
    assert run.code == 1
    assert "the target fails on its own" in run.out
    assert "exit 7" in run.out and "| the build is broken on main" in run.out
    assert git(remote.bare, "rev-parse", "main") == before
    record = run_cli("--json", "merge", "list", cwd=ivy).json["runs"][0]
    assert record["target_failed"] and record["merged"] == []
    assert [(s["task"], s["reason"], s["caused_by"]) for s in record["skipped"]] == [("A", "target-failed", None)]
    alone = [t for t in record["tests"] if t["tasks"] == []]
    assert alone and alone[0]["exit_code"] == 7 and not alone[0]["passed"]
    assert alone[0]["output_tail"].splitlines() == ["collecting", "the build is broken on main"]
    assert ok(run_cli("--json", "task", "show", "A", cwd=ivy)).json["status"] == "ready_to_merge"
    shown = ok(run_cli("--json", "merge", "show", record["run"], cwd=ivy)).json
    assert shown["tests"] == record["tests"]
    printed = hints(run.out)
    assert printed == [f"gitcoord merge show {record['run']}", "gitcoord merge run --push"]
    show = ok(run_hint(printed[0], ivy), printed[0])
    assert "exit 7" in show.out and "the target fails on its own" in show.out
    landed = ok(run_hint(printed[1], ivy), printed[1])  # once main is fixed (here: without the test)
    assert "merged in order: A" in landed.out


def test_branch_failing_the_tests_is_blamed_with_its_output(remote):
    lead = _clone(remote, "lead")
    ok(run_cli("init", "--remote", "origin", cwd=lead), "init")
    ann = _clone(remote, "ann")
    for task_id, text in (("GOOD", "fine\n"), ("BAD", "FAIL\n")):
        ok(run_cli("task", "add", task_id, "--title", task_id, "--owns", f"{task_id.lower()}/", cwd=lead))
        branch = ok(run_cli("--json", "task", "start", task_id, cwd=ann)).json["branch"]
        commit_file(ann, branch, f"{task_id.lower()}/state.txt", text)
        ok(run_cli("task", "done", task_id, "--push", cwd=ann), f"done {task_id}")
    ivy = _clone(remote, "ivy")
    test = "cat */state.txt | grep -q FAIL && { echo found a failure in bad/state.txt; exit 4; } || exit 0"
    run = run_cli("merge", "run", "--push", "--test", test, cwd=ivy)
    assert run.code == 1, run.err
    record = run_cli("--json", "merge", "list", cwd=ivy).json["runs"][0]
    assert record["merged"] == ["GOOD"] and not record["target_failed"]
    assert [(s["task"], s["reason"], s["detail"]) for s in record["skipped"]] == [
        ("BAD", "test-failed", "the test command failed (exit 4) with this branch merged")]
    failing = [t for t in record["tests"] if not t["passed"]]
    assert failing and all(t["exit_code"] == 4 for t in failing)
    assert "| found a failure in bad/state.txt" in run.out
    printed = hints(run.out)
    assert printed == ["git pull origin main", "gitcoord task done BAD --push", "gitcoord merge run --push"]
    ok(run_hint(printed[0], ivy), printed[0])
    assert git(ivy, "rev-parse", "main") == git(remote.bare, "rev-parse", "main")
    ok(run_hint(printed[1], ann), printed[1])  # in BAD's agent's clone: still ready to merge
    assert ok(run_cli("--json", "task", "show", "BAD", cwd=ann)).json["status"] == "ready_to_merge"


def test_done_push_goes_through_the_pre_push_hook(remote):
    lead = _clone(remote, "lead")
    ok(run_cli("init", "--remote", "origin", cwd=lead), "init")
    ok(run_cli("task", "add", "A", "--title", "a", "--owns", "a/", "--agent", "ann", cwd=lead))
    ok(run_cli("task", "add", "B", "--title", "b", "--owns", "b/", cwd=lead))
    ann, bob = _clone(remote, "ann"), _clone(remote, "bob")
    ok(run_cli("task", "start", "A", cwd=ann), "start A")
    branch = ok(run_cli("--json", "task", "start", "B", cwd=bob)).json["branch"]
    ok(run_cli("hooks", "install", cwd=bob), "hooks")
    git(bob, "switch", "-q", branch)
    (bob / "a").mkdir()
    (bob / "a" / "taken.py").write_text("x = 1\n")
    git(bob, "add", "a/taken.py")
    git(bob, "commit", "-q", "--no-verify", "-m", "touch a file A owns")
    refused = run_cli("task", "done", "B", "--push", cwd=bob)
    assert refused.code == 1 and "pre-push hook" in refused.err and "a/taken.py" in refused.err
    assert git(remote.bare, "branch", "--list", branch) == ""
    assert ok(run_cli("--json", "task", "show", "B", cwd=bob)).json["status"] == "in_progress"


def test_start_in_a_second_clone_continues_the_pushed_branch(remote):
    lead = _clone(remote, "lead")
    ok(run_cli("init", "--remote", "origin", cwd=lead), "init")
    ok(run_cli("task", "add", "A", "--title", "a", "--owns", "a/", cwd=lead))
    first = _clone(remote, "ann")
    branch = ok(run_cli("--json", "task", "start", "A", cwd=first)).json["branch"]
    commit_file(first, branch, "a/one.py", "one = 1\n")
    git(first, "push", "-q", "-u", "origin", branch)
    second = remote.clone("ann-laptop")
    git(second, "config", "gitcoord.agent", "ann")
    git(second, "config", "gitcoord.remote", "origin")
    advance_remote_main(remote, "unrelated.txt")
    again = ok(run_cli("--json", "task", "start", "A", cwd=second), "start again").json
    assert again["branch_start"]["from"] == f"origin/{branch}"
    assert git(second, "rev-parse", branch) == git(first, "rev-parse", branch)  # the work is there, not lost
    # Both clones commit: the second pushes first; the first is told how to integrate, and it works.
    commit_file(second, branch, "a/two.py", "two = 2\n")
    git(second, "push", "-q", "origin", branch)
    commit_file(first, branch, "a/three.py", "three = 3\n")
    rejected = run_cli("task", "done", "A", "--push", cwd=first)
    assert rejected.code == 3 and "rejected" in rejected.err
    (pull,) = hints(rejected.err)
    assert pull == f"git pull --no-rebase origin {branch}"
    ok(run_hint(pull, first), pull)  # the branch is checked out in `first`
    ok(run_cli("task", "done", "A", "--push", cwd=first), "done after pull")
    files = set(git(remote.bare, "ls-tree", "-r", "--name-only", branch).split())
    assert {"a/one.py", "a/two.py", "a/three.py"} <= files


def test_integrator_with_local_commits_on_main_is_told_how_to_reconcile(remote):
    lead = _clone(remote, "lead")
    ok(run_cli("init", "--remote", "origin", cwd=lead), "init")
    ok(run_cli("task", "add", "A", "--title", "a", "--owns", "a/", cwd=lead))
    ann = _clone(remote, "ann")
    branch = ok(run_cli("--json", "task", "start", "A", cwd=ann)).json["branch"]
    commit_file(ann, branch, "a/x.py", "x = 1\n")
    ok(run_cli("task", "done", "A", "--push", cwd=ann), "done")
    ivy = _clone(remote, "ivy")
    (ivy / "notes.txt").write_text("local only\n")
    git(ivy, "add", "notes.txt")
    git(ivy, "commit", "-qm", "a local commit on main")
    local = git(ivy, "rev-parse", "main")
    run = ok(run_cli("--json", "merge", "run", "--push", cwd=ivy), "merge").json
    assert git(remote.bare, "rev-parse", "main") == run["after"]
    assert "notes.txt" not in git(remote.bare, "ls-tree", "--name-only", "main")  # only the task's work lands
    assert git(ivy, "rev-parse", "main") == local
    assert run["local"] == {"branch": "main", "updated": False, "hint": "git pull --no-rebase origin main"}
    ok(run_hint(run["local"]["hint"], ivy), "pull")
    git(ivy, "merge-base", "--is-ancestor", run["after"], "main")
