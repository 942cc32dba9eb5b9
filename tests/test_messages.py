"""Messages (msg status|blocker|request|complete), inbox routing and the event log, on real repos."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pygit2
import pytest

from conftest import git, run_cli

NOW = "2026-03-02T10:00:00Z"


def ok(*args: str, cwd: Path, env: dict[str, str] | None = None):
    result = run_cli(*args, cwd=cwd, env=env)
    assert result.code == 0, f"{args}: exit {result.code}: {result.err}"
    return result


def tip(repo: Path) -> str:
    return git(repo, "rev-parse", "refs/heads/gitcoord")


@pytest.fixture
def coord(repo: Path) -> Path:
    """API-1 (bob) provides cart-api; UI-1 (alice) consumes it and depends on API-1; DB-1 (carol) unrelated."""
    ok("init", cwd=repo)
    ok("task", "add", "API-1", "--title", "Cart API", "--agent", "bob", "--provides", "cart-api", cwd=repo)
    ok("task", "add", "UI-1", "--title", "Cart page", "--agent", "alice", "--depends-on", "API-1:contract",
       "--consumes", "cart-api", cwd=repo)
    ok("task", "add", "DB-1", "--title", "Tables", "--agent", "carol", cwd=repo)
    return repo


def inbox_of(repo: Path, agent: str, *extra: str) -> list[dict]:
    return ok("--json", "inbox", "--agent", agent, *extra, cwd=repo).json["messages"]


def msg_log(repo: Path, *extra: str) -> list[dict]:
    return ok("--json", "log", *extra, cwd=repo).json["events"]


# --------------------------------------------------------------------------- round trips


def test_status_round_trip(coord: Path) -> None:
    ok("--agent", "bob", "msg", "status", "API-1", "--progress", "40", "--done", "schema", "--done", "models",
       "--current", "handlers", "--next", "tests", "--eta", "3h", cwd=coord, env={"GITCOORD_NOW": NOW})
    events = msg_log(coord, "--type", "msg.status")
    assert len(events) == 1
    event = events[0]
    assert (event["type"], event["agent"], event["task"], event["at"]) == ("msg.status", "bob", "API-1", NOW)
    assert event["data"] == {"type": "status_update", "agent_id": "bob", "task_id": "API-1", "status": "in_progress",
                             "progress": 40, "completed_items": ["schema", "models"], "current_item": "handlers",
                             "next_items": ["tests"], "estimated_completion": "2026-03-02T13:00:00Z",
                             "blockers": [], "timestamp": NOW}
    # a status is not addressed to anyone: nobody's inbox
    assert inbox_of(coord, "alice") == [] and inbox_of(coord, "carol") == []


def test_blocker_round_trip_reaches_blocking_agent_only(coord: Path) -> None:
    ok("--agent", "alice", "msg", "blocker", "UI-1", "--description", "spec not approved", "--severity", "high",
       "--blocking-agent", "bob", "--workaround", "mock it", cwd=coord)
    [event] = msg_log(coord, "--type", "msg.blocker")
    data = dict(event["data"])
    assert data.pop("timestamp") == event["at"]
    assert data == {"type": "blocker", "agent_id": "alice", "task_id": "UI-1",
                    "blocker_description": "spec not approved", "severity": "high", "blocking_agent": "bob",
                    "can_proceed_with_workaround": True, "workaround": "mock it"}
    assert event["to"] == "bob"
    [received] = inbox_of(coord, "bob")
    assert (received["id"], received["reason"]) == (event["id"], "blocker")
    assert inbox_of(coord, "carol") == []


def test_request_round_trip_reaches_addressee_only(coord: Path) -> None:
    ok("--agent", "alice", "msg", "request", "--to", "bob", "--regarding", "API-1", "--request", "add a 409 example",
       "--urgency", "critical", cwd=coord)
    [event] = msg_log(coord, "--type", "msg.request")
    data = dict(event["data"])
    assert data.pop("timestamp") == event["at"]
    assert data == {"type": "coordination_request", "from_agent": "alice", "to_agent": "bob", "regarding": "API-1",
                    "request": "add a 409 example", "urgency": "critical"}
    assert event["task"] == "API-1"  # --regarding names a task, so the event is filed under it
    assert [m["reason"] for m in inbox_of(coord, "bob")] == ["request"]
    assert inbox_of(coord, "alice") == [] and inbox_of(coord, "carol") == []
    # free-text topic: no task
    ok("--agent", "alice", "msg", "request", "--to", "carol", "--regarding", "the staging DB", "--request", "reset",
       cwd=coord)
    [second] = inbox_of(coord, "carol")
    assert second["task"] is None if "task" in second else True
    assert second["data"]["urgency"] == "normal"
    # the guide's own urgency word
    ok("--agent", "alice", "msg", "request", "--to", "carol", "--regarding", "DB-1", "--request", "index it",
       "--urgency", "medium", cwd=coord)
    assert [m["data"]["urgency"] for m in inbox_of(coord, "carol")] == ["normal", "medium"]


def test_complete_round_trip_reaches_dependents(coord: Path) -> None:
    ok("--agent", "bob", "msg", "complete", "API-1", "--summary", "cart API done", "--deliverable", "src/api.py",
       "--deliverable", "api/cart.yaml", "--tests", "passed=42, failed=1", cwd=coord)
    [event] = msg_log(coord, "--type", "msg.complete", "--task", "API-1")
    data = dict(event["data"])
    assert data.pop("timestamp") == event["at"]
    assert data == {"type": "task_complete", "agent_id": "bob", "task_id": "API-1", "summary": "cart API done",
                    "deliverables": ["src/api.py", "api/cart.yaml"], "test_results": {"passed": 42, "failed": 1}}
    [received] = inbox_of(coord, "alice")  # UI-1 depends on API-1
    assert (received["id"], received["reason"]) == (event["id"], "dependency")
    assert inbox_of(coord, "carol") == [] and inbox_of(coord, "bob") == []


def test_human_output_and_default_agent(coord: Path) -> None:
    result = ok("--agent", "bob", "msg", "status", "API-1", "--progress", "5", cwd=coord)
    assert "msg.status" in result.out and "API-1: 5% done" in result.out
    listing = ok("--agent", "bob", "log", "--type", "msg", cwd=coord).out
    assert "bob" in listing and "API-1: 5% done" in listing


# --------------------------------------------------------------------------- invalid input


@pytest.mark.parametrize("args, needle", [
    (["status", "API-1", "--progress", "101"], "--progress"),
    (["status", "API-1", "--progress", "-1"], "--progress"),
    (["status", "API-1", "--progress", "forty"], "progress"),
    (["status", "API-1", "--progress", "10", "--eta", "soonish"], "--eta"),
    (["status", "API-1", "--progress", "10", "--eta", "2026-13-45T00:00:00Z"], "--eta"),
    (["status", "NOPE-9", "--progress", "10"], "NOPE-9"),
    (["status", "../etc", "--progress", "10"], "../etc"),
    (["blocker", "API-1", "--description", "x", "--severity", "extreme"], "--severity"),
    (["blocker", "API-1", "--description", "x\x1b[2J", "--severity", "low"], "--description"),
    (["blocker", "API-1", "--description", "x" * 6000, "--severity", "low"], "--description"),
    (["request", "--to", "bob", "--regarding", "x", "--request", "y\u202egnp.exe"], "--request"),
    (["request", "--to", "bob\nmallory", "--regarding", "x", "--request", "y"], "--to"),
    (["blocker", "API-1", "--description", "", "--severity", "low"], "--description"),
    (["request", "--to", "bob", "--regarding", "x", "--request", "y", "--urgency", "asap"], "--urgency"),
    (["request", "--to", "bob", "--regarding", "x", "--request", "y", "--task", "NOPE"], "NOPE"),
    (["complete", "API-1", "--summary", "done", "--tests", "passed=3"], "--tests"),
    (["complete", "API-1", "--summary", "done", "--tests", "passed=3,failed=x"], "--tests"),
    (["complete", "API-1", "--summary", "done", "--tests", "passed=-3,failed=0"], "--tests"),
    (["complete", "GONE", "--summary", "done"], "GONE"),
    (["assign", "GONE", "--to", "bob"], "GONE"),
])
def test_invalid_message_exits_2_and_writes_nothing(coord: Path, args: list[str], needle: str) -> None:
    before = tip(coord)
    result = run_cli("--agent", "bob", "msg", *args, cwd=coord)
    assert result.code == 2, (result.out, result.err)
    assert needle in result.err
    assert "Traceback" not in result.err
    assert tip(coord) == before


def test_invalid_message_json_error(coord: Path) -> None:
    result = run_cli("--json", "--agent", "bob", "msg", "status", "API-1", "--progress", "150", cwd=coord)
    assert result.code == 2
    assert result.json["error"]["field"] == "progress"


def test_schema_files_govern_validation() -> None:
    """The contracts/ schemas are the single source: every kind has one, and they reject extra keys."""
    from gitcoord import messages, schemas

    for kind in messages.KINDS:
        schema = schemas.load_schema(f"msg-{kind}")
        assert schema["additionalProperties"] is False
    bad = messages.Message("status", {"type": "status_update", "agent_id": "bob", "task_id": "T1", "progress": 5,
                                      "timestamp": NOW, "colour": "red"})
    with pytest.raises(Exception) as info:
        messages.validate(bad)
    assert "colour" in str(info.value)


# --------------------------------------------------------------------------- inbox routing


def _store(repo: Path, agent: str):
    from gitcoord.store import Store

    return Store(pygit2.Repository(str(repo)), agent=agent)


def test_inbox_contract_changes_reach_consumers_and_dependents(coord: Path) -> None:
    def publish(txn):
        txn.add_event("contract.approved", summary="cart-api 1.0.0 approved", data={"contract": "cart-api",
                                                                                     "version": "1.0.0"})
        txn.add_event("contract.breaking", task="API-1", summary="removed /cart/{id}", data={"contract": "other"})
        txn.add_event("contract.approved", data={"contract": "unrelated-api"})

    _store(coord, "bob").transact(publish)
    received = inbox_of(coord, "alice")
    # one transaction, one timestamp: compare as a set
    assert sorted((m["type"], m["reason"], m["data"]["contract"]) for m in received) == [
        ("contract.approved", "contract-change", "cart-api"), ("contract.breaking", "contract-change", "other")]
    assert inbox_of(coord, "carol") == []


def test_inbox_task_lifecycle_of_upstream(coord: Path) -> None:
    ok("--agent", "bob", "task", "start", "API-1", cwd=coord)
    ok("--agent", "bob", "task", "done", "API-1", "--allow-empty", cwd=coord)
    types = [m["type"] for m in inbox_of(coord, "alice")]
    assert "task.done" in types and "task.started" not in types
    assert all(m["reason"] == "dependency" for m in inbox_of(coord, "alice"))
    assert not any(m["type"].startswith("task.") for m in inbox_of(coord, "carol"))


def test_inbox_lock_queue_reaches_holder(coord: Path) -> None:
    ok("--agent", "dave", "lock", "acquire", "src/shared/config.py", "--reason", "fixtures", cwd=coord)
    # alice queues behind dave's lock; her wait runs out after a second (the denial event stays)
    denied = run_cli("--agent", "alice", "lock", "acquire", "src/shared/config.py", "--wait", "1s", cwd=coord)
    assert denied.code == 1, denied.err
    received = inbox_of(coord, "dave")
    assert received, "the holder must hear that someone waits"
    assert {m["reason"] for m in received} == {"lock-queue"}
    assert all(m["agent"] == "alice" for m in received)
    assert inbox_of(coord, "alice") == [] and inbox_of(coord, "carol") == []


def test_inbox_merge_results_of_own_tasks(coord: Path) -> None:
    def record(txn):
        txn.put("merges/run-1.json", {"run": "run-1", "into": "main", "before": None, "merged": ["API-1"],
                                      "skipped": [{"task": "DB-1", "reason": "conflict", "files": ["db.sql"]}],
                                      "finished_at": "2026-03-02T12:00:00Z"})

    _store(coord, "merger").transact(record)
    [bob] = inbox_of(coord, "bob")
    assert (bob["type"], bob["reason"], bob["task"], bob["data"]["result"]) == ("merge.result", "merge-result",
                                                                              "API-1", "merged")
    [carol] = inbox_of(coord, "carol")
    assert (carol["task"], carol["data"]["result"], carol["data"]["reason"]) == ("DB-1", "skipped", "conflict")
    assert inbox_of(coord, "alice") == []


def test_inbox_since_filters(coord: Path) -> None:
    ok("--agent", "alice", "msg", "request", "--to", "bob", "--regarding", "a", "--request", "old",
       cwd=coord, env={"GITCOORD_NOW": "2026-03-01T09:00:00Z"})
    ok("--agent", "alice", "msg", "request", "--to", "bob", "--regarding", "b", "--request", "new",
       cwd=coord, env={"GITCOORD_NOW": "2026-03-02T09:00:00Z"})
    assert [m["data"]["request"] for m in inbox_of(coord, "bob")] == ["old", "new"]
    assert [m["data"]["request"] for m in inbox_of(coord, "bob", "--since", "2026-03-02T00:00:00Z")] == ["new"]
    relative = ok("--json", "inbox", "--agent", "bob", "--since", "2h", cwd=coord,
                  env={"GITCOORD_NOW": "2026-03-02T10:00:00Z"}).json["messages"]
    assert [m["data"]["request"] for m in relative] == ["new"]
    assert run_cli("inbox", "--agent", "bob", "--since", "yesterday-ish", cwd=coord).code == 2


def test_inbox_default_agent_is_caller(coord: Path) -> None:
    ok("--agent", "alice", "msg", "request", "--to", "bob", "--regarding", "a", "--request", "hi", cwd=coord)
    data = ok("--json", "--agent", "bob", "inbox", cwd=coord).json
    assert data["agent"] == "bob" and len(data["messages"]) == 1


# --------------------------------------------------------------------------- log


def test_log_filters_by_type_family_glob_and_task(coord: Path) -> None:
    ok("--agent", "bob", "msg", "status", "API-1", "--progress", "10", cwd=coord)
    ok("--agent", "alice", "msg", "status", "UI-1", "--progress", "20", cwd=coord)
    ok("--agent", "bob", "msg", "complete", "API-1", "--summary", "done", cwd=coord)
    assert len(msg_log(coord, "--type", "msg")) == 3
    assert len(msg_log(coord, "--type", "msg.*")) == 3
    assert len(msg_log(coord, "--type", "msg.status")) == 2
    assert [e["type"] for e in msg_log(coord, "--type", "msg", "--task", "API-1")] == ["msg.status", "msg.complete"]
    everything = msg_log(coord)
    assert {"task.created", "msg.status", "msg.complete"} <= {e["type"] for e in everything}
    times = [e["at"] for e in everything]
    assert times == sorted(times)


def test_log_follow_prints_new_events(coord: Path) -> None:
    """A real `log --follow` process sees a message posted while it polls."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitcoord", "--json", "log", "--type", "msg", "--follow", "--interval", "0.1",
         "--polls", "30"], cwd=coord, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.8)  # let it print the (empty) backlog and start polling
        ok("--agent", "bob", "msg", "status", "API-1", "--progress", "77", cwd=coord)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [(e["type"], e["data"]["progress"]) for e in lines] == [("msg.status", 77)]


def test_concurrent_messages_never_conflict(coord: Path) -> None:
    """Two processes posting at once both land: each message is its own file."""
    procs = [subprocess.Popen([sys.executable, "-m", "gitcoord", "--agent", name, "msg", "status", "API-1",
                               "--progress", str(n)], cwd=coord, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for n, name in enumerate(["bob", "alice", "carol", "dave"])]
    for proc in procs:
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert sorted(e["data"]["progress"] for e in msg_log(coord, "--type", "msg.status")) == [0, 1, 2, 3]


def test_inbox_live_queue_entries_from_lock_files(coord: Path) -> None:
    """Agents waiting in a held lock's queue show up even without a denial event."""
    def hold(txn):
        txn.put("locks/L-cfg.json", {
            "id": "L-cfg", "resource": "src/shared/config.py", "type": "exclusive",
            "holders": [{"agent": "dave", "task": None, "since": "2026-03-02T09:00:00Z"}],
            "granted_at": "2026-03-02T09:00:00Z", "expires_at": "2099-01-01T00:00:00Z",
            "queue": [{"agent": "alice", "type": "shared", "requested_at": "2026-03-02T09:30:00Z",
                       "reason": "read config"}]})

    _store(coord, "dave").transact(hold)
    [entry] = inbox_of(coord, "dave")
    assert (entry["type"], entry["agent"], entry["reason"]) == ("lock.queued", "alice", "lock-queue")
    assert entry["data"]["lock"] == "L-cfg" and "read config" in entry["summary"]
    assert inbox_of(coord, "alice") == []


def test_message_before_init_exits_2_and_creates_nothing(repo: Path) -> None:
    result = run_cli("--agent", "alice", "msg", "request", "--to", "bob", "--regarding", "the staging DB",
                     "--request", "y", cwd=repo)
    assert result.code == 2 and "gitcoord init" in result.err
    assert git(repo, "rev-parse", "--verify", "-q", "refs/heads/gitcoord", check=False) == ""


def test_inbox_breaking_change_reaches_consumers_registered_on_the_contract(coord: Path) -> None:
    """`contract approve` notifies the record's consumers (agents or task ids) by name: they must
    see it in their inbox even when none of their tasks lists the contract in ``consumes``."""
    ok("task", "add", "WEB-1", "--title", "Web checkout", "--agent", "erin", cwd=coord)

    def publish(txn):
        txn.add_event("contract.breaking", task="API-1", to="dave", summary="removed /carts",
                      data={"contract": "cart-api", "consumers": ["dave", "WEB-1"]})

    _store(coord, "bob").transact(publish)
    assert [m["reason"] for m in inbox_of(coord, "dave")] == ["contract-change"]
    assert [m["reason"] for m in inbox_of(coord, "erin")] == ["contract-change"]
    assert inbox_of(coord, "carol") == []
