"""Each agent's own event log (refs/gitcoord/agents/<agent>, issue 14): a message that changes no
shared state is appended there, so it never races the other agents; everyone reads the branch's
events and every agent's log as one log. The server hook lets only the agent append to its log,
event files only, never rewritten (the trust rule of inbox/<agent>.json).

A real bare remote with `hooks install --server`; the attacks are plain `git push`es.
"""

from __future__ import annotations

from conftest import git, run_cli
from test_attacks_net import ok, push, team

LOG = "refs/gitcoord/agents"


def remote_ref(remote, ref: str) -> str | None:
    out = git(remote.bare, "for-each-ref", "--format=%(objectname)", ref)
    return out or None


def post_status(work, task: str, progress: int):
    return ok(run_cli("--json", "msg", "status", task, "--progress", str(progress), "--current", "x", cwd=work),
              f"status {task}")


def event_commit(work, base: str | None, agent: str, name: str, body: str, *, trailer: str | None = None) -> str:
    """A hand-made commit adding ``events/2026-01-01/<name>.json`` to ``base``'s tree (or alone)."""
    blob = git(work, "hash-object", "-w", "--stdin", input=body)
    day = git(work, "mktree", input=f"100644 blob {blob}\t{name}.json\n")
    days = git(work, "ls-tree", f"{base}:events") + "\n" if base else ""
    events = git(work, "mktree", input=days + f"040000 tree {day}\t2026-01-01\n")
    tree = git(work, "mktree", input=f"040000 tree {events}\tevents\n")
    parents = ["-p", base] if base else []
    return git(work, "commit-tree", tree, *parents, "-m", f"[msg]\n\nGitcoord-Agent: {trailer or agent}")


def event_json(agent: str, event_id: str = "a1b2c3d4e5f6") -> str:
    return ('{"id": "%s", "type": "msg.status", "at": "2026-01-01T00:00:00Z", "agent": "%s", "task": "B", '
            '"data": {"progress": 10}}' % (event_id, agent))


def test_a_status_goes_to_its_agents_log_and_everyone_reads_it(remote, monkeypatch):
    t = team(remote, monkeypatch)
    coord = git(remote.bare, "rev-parse", "refs/heads/gitcoord")
    posted = post_status(t.bob, "B", 40).json["event"]
    assert git(remote.bare, "rev-parse", "refs/heads/gitcoord") == coord  # the shared branch did not move
    bob_log = remote_ref(remote, f"{LOG}/bob")
    assert bob_log is not None
    assert posted["id"] in git(remote.bare, "ls-tree", "-r", "--name-only", bob_log)
    # alice's clone and a fresh clone (never fetched by gitcoord) read it in the one event log
    fresh = remote.clone("fresh")
    git(fresh, "config", "gitcoord.agent", "carol")
    for work in (t.alice, fresh, remote.bare):  # the bare remote itself reads every agent's log too
        events = ok(run_cli("--json", "log", "--type", "msg.status", cwd=work), "log").json["events"]
        assert [e["id"] for e in events] == [posted["id"]], events
        history = ok(run_cli("--json", "history", cwd=work), "history").json
        rows = history if isinstance(history, list) else history.get("history") or history.get("commits")
        assert any(r.get("op") == "msg.status" and r.get("agent") == "bob" for r in rows), rows
    # a request to alice is bob's event too, and reaches alice's inbox
    asked = ok(run_cli("--json", "msg", "request", "--to", "alice", "--regarding", "A", "--request", "a hook?",
                       cwd=t.bob), "request").json["event"]
    assert git(remote.bare, "rev-parse", "refs/heads/gitcoord") == coord
    inbox = ok(run_cli("--json", "inbox", cwd=t.alice), "inbox").json
    assert [m["id"] for m in inbox["messages"]] == [asked["id"]], inbox


def test_a_message_that_changes_a_task_stays_on_the_branch_with_its_change(remote, monkeypatch):
    t = team(remote, monkeypatch)
    ok(run_cli("msg", "blocker", "B", "--description", "waiting on the API", "--severity", "high",
               "--cannot-proceed", cwd=t.bob), "blocker")
    task = ok(run_cli("--json", "task", "show", "B", cwd=t.alice), "show").json
    task = task[0] if isinstance(task, list) else task
    assert task["status"] == "blocked"
    (blocker,) = ok(run_cli("--json", "log", "--type", "msg.blocker", cwd=t.alice), "log").json["events"]
    # the event and the task change are one commit of the shared branch (all or nothing)
    landed = git(remote.bare, "log", "-1", "--format=%H", "refs/heads/gitcoord", "--", blocker["path"])
    changed = git(remote.bare, "show", "--name-only", "--format=", landed).split()
    assert blocker["path"] in changed and "tasks/B.yaml" in changed
    claimed_log = remote_ref(remote, f"{LOG}/bob")  # bob's claim of B put its task.started event there
    assert claimed_log is not None
    # the status that resumes the task changes it too: also on the branch
    post_status(t.bob, "B", 50)
    task = ok(run_cli("--json", "task", "show", "B", cwd=t.alice), "show").json
    assert (task[0] if isinstance(task, list) else task)["status"] == "in_progress"
    assert remote_ref(remote, f"{LOG}/bob") == claimed_log
    # a plain status then goes to bob's own log
    post_status(t.bob, "B", 60)
    assert remote_ref(remote, f"{LOG}/bob") != claimed_log


def test_only_the_agent_appends_to_its_log(remote, monkeypatch):
    t = team(remote, monkeypatch)
    post_status(t.bob, "B", 10)
    git(t.alice, "fetch", "-q", "origin", f"+{LOG}/*:refs/theirs/*")
    bob_log = git(t.alice, "rev-parse", "refs/theirs/bob")
    attacks = {
        # alice appends to bob's log under her own name
        "only bob appends": event_commit(t.alice, bob_log, "alice", "x-alice-1", event_json("alice")),
        # alice claims to be bob in the trailer but writes the event as herself
        "written as 'alice'": event_commit(t.alice, bob_log, "bob", "x-bob-2", event_json("alice")),
        # bob's log replaced by a history that does not extend it
        "fast-forward": event_commit(t.alice, None, "bob", "x-bob-3", event_json("bob")),
    }
    for expected, commit in attacks.items():
        res = push(t.alice, f"+{commit}:{LOG}/bob")
        assert res.returncode != 0 and expected in res.stderr, (expected, res.stderr)
        assert remote_ref(remote, f"{LOG}/bob") == bob_log
    res = push(t.alice, f":{LOG}/bob")
    assert res.returncode != 0 and "deleting" in res.stderr, res.stderr
    assert remote_ref(remote, f"{LOG}/bob") == bob_log


def test_an_agents_log_holds_new_event_files_only(remote, monkeypatch):
    t = team(remote, monkeypatch)
    post_status(t.alice, "A", 10)
    git(t.alice, "fetch", "-q", "origin", f"+{LOG}/*:refs/mine/*")
    mine = git(t.alice, "rev-parse", "refs/mine/alice")
    tree = git(t.alice, "rev-parse", f"{mine}^{{tree}}")
    # a file that is not an event
    blob = git(t.alice, "hash-object", "-w", "--stdin", input="#!/bin/sh\n")
    evil_tree = git(t.alice, "mktree", input=git(t.alice, "ls-tree", mine) + f"\n100644 blob {blob}\tevil.sh\n")
    evil = git(t.alice, "commit-tree", evil_tree, "-p", mine, "-m", "x\n\nGitcoord-Agent: alice")
    res = push(t.alice, f"{evil}:{LOG}/alice")
    assert res.returncode != 0 and "event files only" in res.stderr, res.stderr
    # an event rewritten in place
    name = git(t.alice, "ls-tree", "-r", "--name-only", tree).splitlines()[0]
    changed = git(t.alice, "hash-object", "-w", "--stdin", input=event_json("alice", "0000aaaa1111"))
    day, _, file = name.rpartition("/")
    day_tree = git(t.alice, "mktree", input=f"100644 blob {changed}\t{file}\n")
    events = git(t.alice, "mktree", input=f"040000 tree {day_tree}\t{day.split('/')[1]}\n")
    root = git(t.alice, "mktree", input=f"040000 tree {events}\tevents\n")
    rewrite = git(t.alice, "commit-tree", root, "-p", mine, "-m", "x\n\nGitcoord-Agent: alice")
    res = push(t.alice, f"{rewrite}:{LOG}/alice")
    assert res.returncode != 0 and "append-only" in res.stderr, res.stderr
    # a malformed event
    bad = event_commit(t.alice, mine, "alice", "x-alice-9", '{"id": "x"}')
    res = push(t.alice, f"{bad}:{LOG}/alice")
    assert res.returncode != 0 and "x-alice-9" in res.stderr, res.stderr
    assert remote_ref(remote, f"{LOG}/alice") == mine
    # the honest append still lands
    post_status(t.alice, "A", 20)
    assert remote_ref(remote, f"{LOG}/alice") != mine


def test_two_processes_of_one_agent_append_to_its_log_in_turn(remote, monkeypatch):
    """A second clone of the same agent (its MCP server beside its CLI) finds the log moved: its
    push is refused as a non-fast-forward, it fetches the log and appends after the other."""
    t = team(remote, monkeypatch)
    second = remote.clone("bob2")
    git(second, "config", "gitcoord.agent", "bob")
    git(second, "config", "gitcoord.remote", "origin")
    first = post_status(t.bob, "B", 10).json["event"]
    post_status(second, "B", 20)  # knows nothing of the first one's log yet
    again = post_status(t.bob, "B", 30).json["event"]  # its own view of the log is now stale
    events = ok(run_cli("--json", "log", "--type", "msg.status", cwd=t.alice), "log").json["events"]
    assert [e["data"]["progress"] for e in events] == [10, 20, 30]
    assert {first["id"], again["id"]} <= {e["id"] for e in events}
    files = git(remote.bare, "ls-tree", "-r", "--name-only", f"{LOG}/bob").splitlines()
    assert len(files) == 4  # bob's claim of B (task.started) and the three statuses, none lost
