"""The guide's message protocol, verbatim: every example message posts unchanged and reads back equal;
messages mean something for the tasks; bad messages write nothing; the inbox keeps read state."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import git, run_cli

GUIDE = Path(__file__).resolve().parents[1].parent / "shared" / "guide" / "parallel-agent-execution.md"
FIXTURE = Path(__file__).parent / "messages" / "guide_messages.json"
T0 = "2026-03-02T09:00:00Z"


def ok(*args: str, cwd: Path, env: dict[str, str] | None = None, input: str = ""):
    result = run_cli(*args, cwd=cwd, env=env, input=input)
    assert result.code == 0, f"{args}: exit {result.code}: {result.err}"
    return result


def tip(repo: Path) -> str:
    return git(repo, "rev-parse", "refs/heads/gitcoord")


def guide_examples() -> list[dict]:
    """The example messages: read from the guide when it is reachable (and then the fixture must match
    it), else the fixture copied from it."""
    fixture = json.loads(FIXTURE.read_text())["messages"]
    if not GUIDE.is_file():
        return fixture
    text = GUIDE.read_text()
    section = text[text.index("## Communication Protocols"):]
    section = section[:section.index("\n## ", 5)]
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", section, re.S)]
    assert [b["type"] for b in blocks] == ["status_update", "blocker", "coordination_request", "task_complete"]
    assert blocks == fixture[:4], "tests/messages/guide_messages.json is out of date with the guide"
    # task_assignment is a Python dict in "Manager Orchestration Patterns": the fixture has exactly its keys
    patterns = text[text.index("## Manager Orchestration Patterns"):text.index("## Communication Protocols")]
    literal = re.search(r'assignment = \{(.*?)\n\s*\}', patterns, re.S).group(1)
    assert '"type": "task_assignment"' in literal
    assert set(re.findall(r'"(\w+)":', literal)) == set(fixture[4])
    return blocks + fixture[4:]


def post(repo: Path, agent: str, message: dict, *extra: str, code: int = 0, env: dict | None = None):
    result = run_cli("--json", "--agent", agent, "msg", "post", "-", *extra, cwd=repo, input=json.dumps(message),
                     env=env)
    assert result.code == code, (result.out, result.err)
    return result


@pytest.fixture
def auth(repo: Path) -> Path:
    """The guide's authentication feature: TASK-001 design, TASK-002 API, TASK-003 UI, TASK-004 docs."""
    ok("init", cwd=repo)
    ok("task", "add", "TASK-001", "--title", "Design auth", "--feature", "auth", "--owns", "docs/design/", cwd=repo)
    ok("task", "add", "TASK-002", "--title", "Implement API", "--feature", "auth", "--role", "backend",
       "--depends-on", "TASK-001:contract", "--owns", "src/services/", cwd=repo)
    ok("task", "add", "TASK-003", "--title", "Build UI", "--feature", "auth", "--role", "frontend",
       "--agent", "frontend-dev-001", "--depends-on", "TASK-001:info", "--owns", "src/ui/", cwd=repo)
    ok("task", "add", "TASK-004", "--title", "Write docs", "--feature", "auth", "--depends-on", "TASK-002",
       "--owns", "docs/auth/", cwd=repo)
    return repo


def sender_of(message: dict) -> str:
    return message.get("agent_id") or message.get("from_agent") or "manager"


def test_every_guide_example_posts_unchanged_and_reads_back_equal(auth: Path) -> None:
    examples = guide_examples()
    assert [m["type"] for m in examples] == ["status_update", "blocker", "coordination_request", "task_complete",
                                            "task_assignment"]
    by_type = {m["type"]: m for m in examples}
    # the manager assigns TASK-002; its agent starts it; then the guide's messages in the guide's order
    post(auth, "manager", by_type["task_assignment"])
    ok("--agent", "backend-dev-001", "task", "start", "TASK-002", "--force", cwd=auth)
    ok("--agent", "frontend-dev-001", "task", "start", "TASK-003", "--force", cwd=auth)
    posted = {}
    for kind in ("status_update", "blocker", "coordination_request", "task_complete"):
        event = post(auth, sender_of(by_type[kind]), by_type[kind]).json["event"]
        posted[kind] = event["id"]
    events = run_cli("--json", "log", "--type", "msg", cwd=auth).json["events"]
    assert len(events) == 5
    for event in events:
        assert event["data"] == by_type[event["data"]["type"]], event["type"]  # apart from the event's own id
    assert {e["type"] for e in events} == {"msg.status", "msg.blocker", "msg.request", "msg.complete",
                                          "msg.assignment"}
    for kind, example in by_type.items():  # the guide's type names select events too
        assert [e["data"] for e in run_cli("--json", "log", "--type", kind, cwd=auth).json["events"]] == [example]
    # the backend developer's inbox: the assignment, the blocker naming it, the request to it
    inbox = run_cli("--json", "--agent", "backend-dev-001", "inbox", cwd=auth).json
    received = {m["data"]["type"]: m for m in inbox["messages"]}
    assert set(received) == {"task_assignment", "blocker", "coordination_request"}
    for kind, item in received.items():
        assert item["data"] == by_type[kind] and item["read"] is False
    assert received["blocker"]["id"] == posted["blocker"]
    assert inbox["unread"] == 3
    # the completion reaches the dependent task's agent; the workaround blocker left TASK-003 in progress
    ok("--agent", "manager", "task", "edit", "TASK-004", "--agent", "tech-writer-001", cwd=auth)
    writer = run_cli("--json", "--agent", "tech-writer-001", "inbox", cwd=auth).json["messages"]
    assert [m["data"] for m in writer if m["type"] == "msg.complete"] == [by_type["task_complete"]]
    assert run_cli("--json", "task", "show", "TASK-003", cwd=auth).json["status"] == "in_progress"
    assert run_cli("--json", "task", "show", "TASK-002", cwd=auth).json["agent"] == "backend-dev-001"


def test_flags_produce_the_guide_shapes(auth: Path) -> None:
    ok("--agent", "frontend-dev-001", "task", "start", "TASK-003", "--force", cwd=auth)
    env = {"GITCOORD_NOW": T0}
    ok("--agent", "frontend-dev-001", "msg", "request", "--to", "backend-dev-001", "--regarding",
       "User type definition", "--request", "Can we add 'avatarUrl' field to User type?", "--urgency", "medium",
       "--current-state", "I need avatar for profile page", "--proposed-solution",
       "Add 'avatarUrl?: string' to User interface", "--timeline", "Need by 2025-11-20T17:00:00Z", cwd=auth, env=env)
    [event] = run_cli("--json", "log", "--type", "msg.request", cwd=auth).json["events"]
    guide = next(m for m in guide_examples() if m["type"] == "coordination_request")
    assert event["data"] == {**guide, "timestamp": T0}
    for example in guide_examples():
        from gitcoord import messages

        kind = messages.GUIDE_TYPES[example["type"]]
        assert set(messages.from_guide(dict(example)).data) <= set(
            json.loads((Path(__file__).parents[1] / "contracts" / f"msg-{kind}.schema.json").read_text())["properties"])


# --------------------------------------------------------------------------- meaning


def test_blocker_without_workaround_blocks_and_a_status_resumes(auth: Path) -> None:
    ok("--agent", "frontend-dev-001", "task", "start", "TASK-003", "--force", cwd=auth)
    result = ok("--json", "--agent", "frontend-dev-001", "msg", "blocker", "TASK-003", "--description",
                "login returns 404", "--severity", "high", "--blocking-agent", "backend-dev-001", "--cannot-proceed",
                cwd=auth)
    assert result.json["event"]["effect"] == {"task": "TASK-003", "from": "in_progress", "to": "blocked"}
    task = run_cli("--json", "task", "show", "TASK-003", cwd=auth).json
    assert (task["status"], task["blocked_reason"]) == ("blocked", "login returns 404")
    [item] = run_cli("--json", "--agent", "backend-dev-001", "inbox", cwd=auth).json["messages"]
    assert item["data"]["can_proceed_with_workaround"] is False
    # a later status update from the holder resumes the task; the blocker is then moot
    ok("--agent", "frontend-dev-001", "msg", "status", "TASK-003", "--progress", "50", cwd=auth)
    assert run_cli("--json", "task", "show", "TASK-003", cwd=auth).json["status"] == "in_progress"
    assert run_cli("--json", "--agent", "backend-dev-001", "inbox", "--all", cwd=auth).json["messages"] == []
    # the same through the guide's JSON, resolved by `task unblock`
    blocker = {"type": "blocker", "task_id": "TASK-003", "blocker_description": "still 404", "severity": "high",
               "can_proceed_with_workaround": False}
    post(auth, "frontend-dev-001", blocker)
    assert run_cli("--json", "task", "show", "TASK-003", cwd=auth).json["status"] == "blocked"
    ok("--agent", "frontend-dev-001", "task", "unblock", "TASK-003", cwd=auth)
    assert run_cli("--json", "task", "show", "TASK-003", cwd=auth).json["status"] == "in_progress"


def test_ready_for_merge_with_failed_tests_is_refused_unless_forced(auth: Path) -> None:
    ok("--agent", "frontend-dev-001", "task", "start", "TASK-003", "--force", cwd=auth)
    before = tip(auth)
    refused = run_cli("--agent", "frontend-dev-001", "msg", "complete", "TASK-003", "--summary", "UI done",
                      "--tests", "passed=10,failed=2", "--ready-for-merge", cwd=auth)
    assert refused.code == 1 and "2 failed" in refused.err and len(refused.err.strip().splitlines()) == 1
    message = {"type": "task_complete", "task_id": "TASK-003", "summary": "UI done",
               "test_results": {"passed": 10, "failed": 2, "coverage": 80}, "ready_for_merge": True}
    post(auth, "frontend-dev-001", message, code=1)
    assert tip(auth) == before
    post(auth, "frontend-dev-001", message, "--force")
    # failed tests without the claim are just news
    ok("--agent", "frontend-dev-001", "msg", "complete", "TASK-003", "--summary", "UI draft",
       "--tests", "passed=10,failed=2", cwd=auth)
    assert len(run_cli("--json", "log", "--type", "msg.complete", cwd=auth).json["events"]) == 2


def test_requests_and_assignments_go_to_declared_agents(auth: Path) -> None:
    ok("config", "set", "agents", "[{name: frontend-dev-001}, {name: backend-dev-001}, {name: manager}]", cwd=auth)
    before = tip(auth)
    refused = run_cli("--agent", "frontend-dev-001", "msg", "request", "--to", "nobody-007", "--regarding", "x",
                      "--request", "y", cwd=auth)
    assert refused.code == 2 and "nobody-007" in refused.err and "declared" in refused.err
    post(auth, "frontend-dev-001", {"type": "coordination_request", "to_agent": "nobody-007", "regarding": "x",
                                    "request": "y", "urgency": "medium"}, code=2)
    post(auth, "manager", {"type": "task_assignment", "task_id": "TASK-004", "assigned_to": "nobody-007"}, code=2)
    assert tip(auth) == before
    ok("--agent", "frontend-dev-001", "msg", "request", "--to", "backend-dev-001", "--regarding", "x",
       "--request", "y", cwd=auth)


def test_assignment_gives_an_unstarted_task_and_never_takes_a_started_one(auth: Path) -> None:
    ok("--agent", "manager", "msg", "assign", "TASK-004", "--to", "tech-writer-001", "--priority",
       "parallel_batch_1", cwd=auth)
    assert run_cli("--json", "task", "show", "TASK-004", cwd=auth).json["agent"] == "tech-writer-001"
    [item] = run_cli("--json", "--agent", "tech-writer-001", "inbox", cwd=auth).json["messages"]
    assert (item["reason"], item["data"]["priority"]) == ("assignment", "parallel_batch_1")
    ok("--agent", "frontend-dev-001", "task", "start", "TASK-003", "--force", cwd=auth)
    before = tip(auth)
    taken = run_cli("--agent", "manager", "msg", "assign", "TASK-003", "--to", "tech-writer-001", cwd=auth)
    assert taken.code == 1 and "frontend-dev-001" in taken.err
    assert tip(auth) == before
    # reassigned elsewhere: the first assignee's item is moot
    ok("--agent", "manager", "msg", "assign", "TASK-004", "--to", "writer-2", cwd=auth)
    assert run_cli("--json", "--agent", "tech-writer-001", "inbox", "--all", cwd=auth).json["messages"] == []


# --------------------------------------------------------------------------- bad messages

STATUS = {"type": "status_update", "task_id": "TASK-003", "progress": 10}


@pytest.mark.parametrize("body, needle", [
    (json.dumps({**STATUS, "type": "status_report"}), "status_report"),
    (json.dumps({k: v for k, v in STATUS.items() if k != "type"}), "type"),
    (json.dumps({k: v for k, v in STATUS.items() if k != "progress"}), "progress"),
    (json.dumps({**STATUS, "progress": "65"}), "/progress"),
    (json.dumps({**STATUS, "task_id": "TASK-999"}), "TASK-999"),
    (json.dumps({**STATUS, "task_id": "../../etc/passwd"}), "/task_id"),
    (json.dumps({**STATUS, "current_item": "ok\x1b]0;pwned\x07"}), "/current_item"),
    (json.dumps({**STATUS, "completed_items": ["fine", "evil\u202etxt.exe"]}), "/completed_items/1"),
    (json.dumps({**STATUS, "agent_id": "backend-dev-001"}), "agent_id"),
    (json.dumps({**STATUS, "colour": "red"}), "colour"),
    ("TEN_MB", "larger than"),
    ("DEEP", "nested"),
    ("DEEP40", "/blockers/0/a: nested deeper than 16 levels"),
    (json.dumps([STATUS]), "JSON object"),
    ("{\"type\": \"status_update\",", "not JSON"),
    ("", "not JSON"),
    ('{"type": "status_update", "task_id": "TASK-003", "progress": ' + "9" * 5000 + "}", "not JSON"),
    ('{"type": "status_update", "task_id": "TASK-003", "progress": NaN}', "NaN"),
    (b"\xff\xfe{}".decode("latin-1"), "not"),
    (json.dumps({"type": "blocker", "task_id": "TASK-003", "blocker_description": "x", "severity": "dire"}),
     "/severity"),
    (json.dumps({"type": "task_complete", "task_id": "TASK-003", "summary": "x",
                 "test_results": {"passed": 1}}), "/test_results"),
], ids=lambda value: None if len(value) < 40 else "long")
def test_bad_messages_exit_2_one_line_nothing_written(auth: Path, body: str, needle: str) -> None:
    if body == "TEN_MB":
        body = json.dumps({**STATUS, "current_item": "x" * (10 * 1024 * 1024)})
    if body == "DEEP":  # deep enough to exhaust a recursive walk, small enough to pass the size limit
        body = json.dumps(STATUS)[:-1] + ', "blockers": [' + '{"a": ' * 980 + "1" + "}" * 980 + "]}"
    if body == "DEEP40":
        body = json.dumps(STATUS)[:-1] + ', "blockers": [' + '{"a": ' * 40 + "1" + "}" * 40 + "]}"
    before = tip(auth)
    result = run_cli("--agent", "frontend-dev-001", "msg", "post", "-", cwd=auth, input=body)
    assert result.code == 2, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.err
    assert "Traceback" not in result.err and len(lines[0]) < 600
    assert tip(auth) == before


def test_post_from_a_file_and_a_missing_file(auth: Path, tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    path.write_text(json.dumps(STATUS))
    ok("--agent", "frontend-dev-001", "msg", "post", str(path), cwd=auth)
    missing = run_cli("--agent", "frontend-dev-001", "msg", "post", str(tmp_path / "nope.json"), cwd=auth)
    assert missing.code == 2 and "nope.json" in missing.err


# --------------------------------------------------------------------------- inbox state


def test_inbox_ids_ack_and_unread_counts(auth: Path) -> None:
    for text in ("first", "second", "third"):
        ok("--agent", "frontend-dev-001", "msg", "request", "--to", "backend-dev-001", "--regarding", "TASK-002",
           "--request", text, cwd=auth)
    data = run_cli("--json", "--agent", "backend-dev-001", "inbox", cwd=auth).json
    assert (data["unread"], data["read"]) == (3, 0)
    ids = [m["id"] for m in data["messages"]]
    ack = ok("--json", "--agent", "backend-dev-001", "inbox", "ack", ids[0], cwd=auth).json
    assert (ack["acked"], ack["unread"]) == ([ids[0]], 2)
    data = run_cli("--json", "--agent", "backend-dev-001", "inbox", cwd=auth).json
    assert ([m["id"] for m in data["messages"]], data["unread"], data["read"]) == (ids[1:], 2, 1)
    everything = run_cli("--json", "--agent", "backend-dev-001", "inbox", "--all", cwd=auth).json["messages"]
    assert [(m["id"], m["read"]) for m in everything] == [(ids[0], True), (ids[1], False), (ids[2], False)]
    # acks are per agent: another agent's view of the same mailbox is untouched
    human = ok("--agent", "backend-dev-001", "inbox", cwd=auth).out
    assert ids[1] in human and ids[0] not in human and "2 unread, 1 read" in human
    before = tip(auth)
    unknown = run_cli("--agent", "backend-dev-001", "inbox", "ack", "not-an-id", cwd=auth)
    assert unknown.code == 2 and "not-an-id" in unknown.err and tip(auth) == before
    assert run_cli("--agent", "backend-dev-001", "inbox", "ack", cwd=auth).code == 2
    # the hint, typed as printed, acts as the same agent and marks everything read
    hint = re.search(r"`gitcoord ([^`]+)` marks them read", human).group(1)
    assert hint == "--agent backend-dev-001 inbox ack --all"
    ok(*hint.split(), cwd=auth)
    data = run_cli("--json", "--agent", "backend-dev-001", "inbox", cwd=auth).json
    assert (data["messages"], data["unread"], data["read"]) == ([], 0, 3)
    assert json.loads(git(auth, "show", "refs/heads/gitcoord:inbox/backend-dev-001.json"))["acked"] == sorted(ids)


def test_a_lock_request_drops_out_once_the_lock_is_released(auth: Path) -> None:
    ok("--agent", "dave", "lock", "acquire", "src/shared/config.py", "--reason", "fixtures", cwd=auth)
    denied = run_cli("--agent", "alice", "lock", "acquire", "src/shared/config.py", "--wait", "1s", cwd=auth)
    assert denied.code == 1
    waiting = run_cli("--json", "--agent", "dave", "inbox", cwd=auth).json
    assert waiting["unread"] >= 1 and {m["reason"] for m in waiting["messages"]} == {"lock-queue"}
    ok("--agent", "dave", "lock", "release", "src/shared/config.py", cwd=auth)
    after = run_cli("--json", "--agent", "dave", "inbox", "--all", cwd=auth).json
    assert (after["messages"], after["unread"]) == ([], 0)


# --------------------------------------------------------------------------- heartbeat


def at(hours: float) -> dict[str, str]:
    from datetime import timedelta

    from gitcoord import timeutil

    return {"GITCOORD_NOW": timeutil.iso(timeutil.parse_time(T0) + timedelta(hours=hours))}


def silent_findings(repo: Path, hours: float) -> list[dict]:
    report = run_cli("--json", "doctor", cwd=repo, env=at(hours)).json
    return [f for f in report["findings"] if f["rule"] == "silent-agent"]


def test_heartbeat_default_one_hour_in_doctor_and_inbox(auth: Path) -> None:
    ok("--agent", "backend-dev-001", "task", "start", "TASK-002", "--force", cwd=auth, env=at(0))
    ok("--agent", "backend-dev-001", "msg", "status", "TASK-002", "--progress", "25", cwd=auth, env=at(0.5))
    assert silent_findings(auth, 1.4) == []
    [finding] = silent_findings(auth, 1.6)
    assert finding["level"] == "warning" and finding["tasks"] == ["TASK-002"]
    assert "1.1 h" in finding["message"] and "policies.heartbeat 1 h" in finding["message"]
    # the holder is reminded, the agent of a dependent task is told; others hear nothing
    ok("--agent", "manager", "task", "edit", "TASK-004", "--agent", "tech-writer-001", cwd=auth, env=at(1.6))
    [own] = run_cli("--json", "--agent", "backend-dev-001", "inbox", cwd=auth, env=at(1.6)).json["messages"]
    assert (own["reason"], own["task"]) == ("heartbeat", "TASK-002")
    # the reminder's command acts as the same agent when typed as printed (identity came from --agent)
    assert "`gitcoord --agent backend-dev-001 msg status TASK-002 --progress 25`" in own["summary"]
    [dependent] = run_cli("--json", "--agent", "tech-writer-001", "inbox", cwd=auth, env=at(1.6)).json["messages"]
    assert dependent["reason"] == "heartbeat" and "backend-dev-001" in dependent["summary"]
    assert run_cli("--json", "--agent", "frontend-dev-001", "inbox", cwd=auth, env=at(1.6)).json["messages"] == []
    # the hint is a command that works as printed, and it ends the silence
    command = re.search(r"`(gitcoord [^`]+)`", finding["message"]).group(1)
    assert command == "gitcoord msg status TASK-002 --progress 25"
    ok("--agent", "backend-dev-001", *command.split()[1:], cwd=auth, env=at(1.6))
    assert silent_findings(auth, 1.7) == []
    assert run_cli("--json", "--agent", "backend-dev-001", "inbox", cwd=auth, env=at(1.7)).json["messages"] == []


def test_heartbeat_policy_is_configurable(auth: Path) -> None:
    ok("config", "set", "policies.heartbeat", "15m", cwd=auth)
    ok("--agent", "backend-dev-001", "task", "start", "TASK-002", "--force", cwd=auth, env=at(0))
    assert silent_findings(auth, 0.2) == []
    assert [f["tasks"] for f in silent_findings(auth, 0.3)] == [["TASK-002"]]
    assert run_cli("config", "set", "policies.heartbeat", "[1, 2]", cwd=auth).code == 2


def test_a_lock_request_drops_out_of_the_owners_inbox_once_answered(auth: Path) -> None:
    ok("task", "edit", "TASK-001", "--agent", "bob", cwd=auth)
    ok("--agent", "bob", "task", "start", "TASK-001", "--force", cwd=auth)
    asked = run_cli("--agent", "alice", "lock", "acquire", "docs/design/api.md", "--reason", "typo", cwd=auth)
    assert asked.code == 1, asked.err
    [request] = [m for m in run_cli("--json", "--agent", "bob", "inbox", cwd=auth).json["messages"]
                 if m["type"] == "lock.requested"]
    assert request["reason"] == "lock-request"
    ok("--agent", "bob", "lock", "deny", request["data"]["lock"], "--reason", "not now", cwd=auth)
    assert [m for m in run_cli("--json", "--agent", "bob", "inbox", "--all", cwd=auth).json["messages"]
            if m["type"] == "lock.requested"] == []
    # the answer stays news for the one who asked
    answers = run_cli("--json", "--agent", "alice", "inbox", cwd=auth).json["messages"]
    assert [(m["type"], m["data"]["by"]) for m in answers] == [("lock.denied", "bob")]


@pytest.mark.parametrize("name", ["msg-status", "msg-blocker", "msg-request", "msg-complete", "msg-assignment",
                                  "inbox", "config"])
def test_schemas_are_valid_json_schema_and_strict(name: str) -> None:
    import jsonschema

    schema = json.loads((Path(__file__).parents[1] / "contracts" / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    if name.startswith("msg-"):  # the guide's "type" names the message
        from gitcoord import messages

        assert schema["properties"]["type"]["const"] == messages.GUIDE_TYPE_OF[name[4:]]
