"""Per-task claim refs (issue 14): claims on different tasks never race each other, and every claim
stays exact — one winner, never silently undone by a write that did not see it.

Real clones of one bare remote (over `git daemon` where it matters), real processes racing, the
server guard where trust matters.
"""

from __future__ import annotations

import time

from conftest import git, run_cli
from test_attacks_net import ok, push, team, write_commit
from test_races import clones, race

CLAIMS = "refs/gitcoord/claims"


def remote_ref(remote, ref: str) -> str | None:
    return git(remote.bare, "for-each-ref", "--format=%(objectname)", ref) or None


def show(work, task_id: str) -> dict:
    task = ok(run_cli("--json", "task", "show", task_id, cwd=work), f"show {task_id}").json
    return task[0] if isinstance(task, list) else task


def add_task(work, task_id: str, owns: str) -> None:
    ok(run_cli("task", "add", task_id, "--title", f"task {task_id}", "--feature", "shop", "--role", "dev",
               "--owns", owns, "--estimate", "1h", cwd=work), f"add {task_id}")


def test_claims_on_different_tasks_leave_the_shared_branch_alone(daemon_remote, monkeypatch):
    remote = daemon_remote
    t = team(remote, monkeypatch)  # A (alice) and B (bob) claimed; the server guard installed after
    for task_id, owns in (("C", "src/c/"), ("D", "src/d/")):
        add_task(t.lead, task_id, owns)
    coord = remote_ref(remote, "refs/heads/gitcoord")
    ok(run_cli("task", "start", "C", cwd=t.alice), "alice claims C")
    ok(run_cli("task", "start", "D", cwd=t.bob), "bob claims D")
    assert remote_ref(remote, "refs/heads/gitcoord") == coord  # neither claim queued on the shared branch
    assert remote_ref(remote, f"{CLAIMS}/C") and remote_ref(remote, f"{CLAIMS}/D")
    # everyone reads both claims: a newcomer's fresh clone, the lead who never fetched, the remote itself
    fresh = remote.clone("fresh")
    git(fresh, "config", "gitcoord.agent", "carol")
    for work in (fresh, t.lead, remote.bare):
        assert (show(work, "C")["status"], show(work, "C")["agent"]) == ("in_progress", "alice")
        assert (show(work, "D")["status"], show(work, "D")["agent"]) == ("in_progress", "bob")
        listed = {x["id"]: x for x in ok(run_cli("--json", "task", "list", cwd=work), "list").json}
        assert listed["C"]["agent"] == "alice" and listed["D"]["status"] == "in_progress"
    started = [e for e in ok(run_cli("--json", "log", "--type", "task.started", cwd=fresh), "log").json["events"]
               if e.get("task") in ("C", "D")]
    assert sorted((e["task"], e["agent"]) for e in started) == [("C", "alice"), ("D", "bob")]
    # a second claim of C is refused with the holder's name, from a clone that never fetched it
    taken = run_cli("task", "start", "C", cwd=fresh)
    assert taken.code == 1 and "held by alice" in taken.err, taken.err
    # alice's next write of C folds her claim into the shared branch
    ok(run_cli("task", "block", "C", "--reason", "waiting on the API", cwd=t.alice), "alice blocks C")
    on_branch = git(remote.bare, "show", "refs/heads/gitcoord:tasks/C.yaml")
    assert "agent: alice" in on_branch and "status: blocked" in on_branch
    assert (show(fresh, "C")["status"], show(fresh, "C")["agent"]) == ("blocked", "alice")


def test_a_claimed_tasks_paths_are_refused_to_others_at_commit(remote, monkeypatch):
    t = team(remote, monkeypatch, server_hook=False)
    add_task(t.lead, "C", "src/c/")
    ok(run_cli("hooks", "install", cwd=t.bob), "bob's hooks")
    git(t.bob, "switch", "-q", "main")
    git(t.bob, "switch", "-q", "-c", "scratch")
    write_commit(t.bob, {"src/c/one.py": "1\n"}, "before C is claimed", verify=True)  # nobody holds C yet
    ok(run_cli("task", "start", "C", cwd=t.alice), "alice claims C")
    ok(run_cli("task", "list", cwd=t.bob), "bob reads the state (fetches the claim)")
    (t.bob / "src/c/one.py").write_text("2\n")
    git(t.bob, "add", "src/c/one.py")
    refused = git(t.bob, "commit", "-q", "-m", "after C is claimed", check=False)
    assert git(t.bob, "log", "-1", "--format=%s") == "before C is claimed", refused
    res = run_cli("check", cwd=t.bob)  # the staged change, judged again: owned by alice's claimed task
    assert res.code == 1 and "alice" in (res.out + res.err), res.out + res.err


def test_a_claim_racing_other_writes_of_the_task_is_never_undone(remote, tmp_path):
    workers = clones(remote, 3)
    lead, alice, other = workers
    for round_ in range(3):
        # a title edit racing the claim: both land, whichever first, and neither undoes the other
        tid = f"E{round_}"
        ok(run_cli("--agent", "lead", "task", "add", tid, "--title", "old", cwd=lead), "add")
        results = race([(alice, ["--agent", "alice", "task", "start", tid]),
                        (other, ["--agent", "lead", "task", "edit", tid, "--title", "new"])],
                       tmp_path / f"gate-e{round_}")
        assert [r[0] for r in results] == [0, 0], [r[2] for r in results]
        task = show(lead, tid)
        assert (task["status"], task.get("agent"), task["title"]) == ("in_progress", "alice", "new"), task
        # an assignment racing the claim: the claim holds, or it lost to the assignment and says so
        tid = f"S{round_}"
        ok(run_cli("--agent", "lead", "task", "add", tid, "--title", "t", cwd=lead), "add")
        results = race([(alice, ["--agent", "alice", "task", "start", tid]),
                        (other, ["--agent", "lead", "task", "edit", tid, "--agent", "carol"])],
                       tmp_path / f"gate-s{round_}")
        task = show(lead, tid)
        (start_code, _, start_err), (edit_code, _, edit_err) = results
        assert edit_code == 0, edit_err
        if start_code == 0:  # claimed first: the assignment came after and kept it in progress
            assert task["status"] == "in_progress" and task.get("agent") == "carol", task
        else:
            assert start_code == 1 and "assigned to carol" in start_err, start_err
            assert task["status"] == "ready" and task["agent"] == "carol", task


def test_the_guard_judges_claims(remote, monkeypatch):
    t = team(remote, monkeypatch)
    add_task(t.lead, "C", "src/c/")
    ok(run_cli("task", "start", "C", cwd=t.alice), "alice claims C")
    claim = remote_ref(remote, f"{CLAIMS}/C")
    git(t.bob, "fetch", "-q", "origin", f"+{CLAIMS}/*:{CLAIMS}/*", "+refs/heads/gitcoord:refs/remotes/origin/gitcoord")
    # bob cannot delete alice's claim, nor replace it with his own (hand-made) claim
    res = push(t.bob, f":{CLAIMS}/C")
    assert res.returncode != 0 and "never deleted" in res.stderr, res.stderr
    base = git(t.bob, "rev-parse", "refs/remotes/origin/gitcoord:tasks/C.yaml")
    mine = git(t.bob, "cat-file", "blob", f"{claim}:tasks/C.yaml").replace("agent: alice", "agent: bob")
    blob = git(t.bob, "hash-object", "-w", "--stdin", input=mine + "\n")
    tasks_tree = git(t.bob, "mktree", input=f"100644 blob {blob}\tC.yaml\n")
    tree = git(t.bob, "mktree", input=f"040000 tree {tasks_tree}\ttasks\n")
    forged = git(t.bob, "commit-tree", tree, "-p", claim, "-m",
                 f"[task.in_progress] C\n\nGitcoord-Op: task.in_progress\nGitcoord-Agent: bob\nGitcoord-Task: C\n"
                 f"Gitcoord-Claim-Base: {base}\n")
    res = push(t.bob, f"+{forged}:{CLAIMS}/C")
    assert res.returncode != 0 and "already claimed by alice" in res.stderr, res.stderr
    # nor rewrite the task on the shared branch as if it had not been claimed
    tip = git(t.bob, "rev-parse", "refs/remotes/origin/gitcoord")
    ready = git(t.bob, "cat-file", "blob", base).replace("title: task C", "title: mine now")  # as if unclaimed
    assert "status: ready" in ready and "title: mine now" in ready
    blob = git(t.bob, "hash-object", "-w", "--stdin", input=ready + "\n")
    raw_tasks = git(t.bob, "rev-parse", f"{tip}:tasks")
    listing = git(t.bob, "ls-tree", raw_tasks).replace(f"blob {base}\tC.yaml", f"blob {blob}\tC.yaml")
    tree = git(t.bob, "mktree", input=git(t.bob, "ls-tree", tip).replace(raw_tasks, git(t.bob, "mktree", input=listing + "\n")) + "\n")
    sneaky = git(t.bob, "commit-tree", tree, "-p", tip, "-m", "[task.edit] C\n\nGitcoord-Op: task.edit\nGitcoord-Agent: bob\n")
    res = push(t.bob, f"{sneaky}:refs/heads/gitcoord")
    assert res.returncode != 0 and "in_progress -> ready" in res.stderr, res.stderr
    assert remote_ref(remote, f"{CLAIMS}/C") == claim
    assert show(t.lead, "C")["agent"] == "alice"



def test_a_long_lived_agent_claiming_on_its_last_view_still_loses_to_a_newer_claim(remote):
    """An agent server that fetched a moment ago claims on that view without fetching again; a claim
    landed meanwhile by another agent makes its leased push fail, and it learns who holds the task."""
    from gitcoord import gitutil, tasks
    from gitcoord.errors import Conflict
    from gitcoord.store import Store

    lead, alice, bob = clones(remote, 3)
    for tid in ("T1", "T2"):
        ok(run_cli("--agent", "lead", "task", "add", tid, "--title", tid, cwd=lead), "add")
    server = Store(gitutil.open_repo(alice), remote="origin", agent="alice")
    server.snapshot(fetch=True)  # the server's last view: T1 and T2 ready
    ok(run_cli("--agent", "bob", "task", "start", "T1", cwd=bob), "bob claims T1")
    coord = remote_ref(remote, "refs/heads/gitcoord")
    try:
        server.transact(lambda txn: tasks.apply_transition(txn, "T1", "in_progress"))
        raise AssertionError("alice's stale claim of T1 landed")
    except Conflict as exc:
        assert "held by bob" in str(exc)
    landed = server.transact(lambda txn: tasks.apply_transition(txn, "T2", "in_progress"))
    assert landed.changed and remote_ref(remote, "refs/heads/gitcoord") == coord
    assert (show(lead, "T1")["agent"], show(lead, "T2")["agent"]) == ("bob", "alice")


def test_a_server_dropping_connections_delays_a_write_but_never_doubles_it(tmp_path):
    """git daemon at its connection limit drops new connections: the write's fetch and push are
    retried (a dropped push may have landed: the fetch after it tells), and it lands exactly once."""
    import socket
    import threading

    from conftest import _make_remote, git_daemon
    from gitcoord import gitutil, messages
    from gitcoord.store import Store

    remote = _make_remote(tmp_path)
    with git_daemon(tmp_path, "--max-connections=1") as base_url:
        remote.url = f"{base_url}/remote.git"
        lead, alice = clones(remote, 2)
        ok(run_cli("--agent", "lead", "task", "add", "T", "--title", "t", cwd=lead), "add")
        ok(run_cli("--agent", "alice", "task", "start", "T", cwd=alice), "claim")
        store = Store(gitutil.open_repo(alice), remote="origin", agent="alice")
        host, port = base_url[len("git://"):].split(":")
        hold = socket.create_connection((host, int(port)))  # the one connection the daemon serves
        threading.Timer(1.5, hold.close).start()
        time.sleep(0.3)
        status = messages.status_message("T", progress=40, current="busy server")
        store.transact(lambda txn: messages.append(txn, messages.Message(status.kind, dict(status.data), status.source)))
    events = ok(run_cli("--json", "log", "--type", "msg.status", cwd=remote.bare), "log").json["events"]
    assert [e["data"]["progress"] for e in events] == [40]


def test_odd_task_ids_and_junk_claim_refs_never_break_the_state(remote):
    """A task id git refuses in a ref name is refused at start in one line, with nothing written; junk
    pushed under the claim refs of an unguarded remote (a blob, a commit with no base) is ignored
    by every reader."""
    lead, alice, bob = clones(remote, 3)
    ok(run_cli("--agent", "lead", "task", "add", "T.lock", "--title", "odd", cwd=lead), "add odd")
    ok(run_cli("--agent", "lead", "task", "add", "N", "--title", "normal", cwd=lead), "add normal")
    coord = remote_ref(remote, "refs/heads/gitcoord")
    odd = run_cli("--agent", "alice", "task", "start", "T.lock", cwd=alice)
    assert odd.code == 2 and len(odd.err.strip().splitlines()) == 1 and "not a valid git ref name" in odd.err
    assert remote_ref(remote, "refs/heads/gitcoord") == coord and remote_ref(remote, f"{CLAIMS}/T.lock") is None
    blob = git(bob, "hash-object", "-w", "--stdin", input="not a claim\n")
    bare = git(bob, "commit-tree", git(bob, "mktree", input=""), "-m", "Gitcoord-Op: task.in_progress\n")
    git(bob, "push", "-q", "origin", f"{blob}:{CLAIMS}/N", f"{bare}:{CLAIMS}/GHOST")
    for work in (lead, remote.bare, remote.clone("fresh")):
        listed = {t["id"]: t for t in ok(run_cli("--json", "task", "list", cwd=work), "list").json}
        assert listed["N"]["status"] == "ready" and listed["T.lock"]["status"] == "ready"
    ok(run_cli("--agent", "bob", "task", "start", "N", cwd=bob), "bob claims N over the junk")
    assert show(lead, "N")["agent"] == "bob"
