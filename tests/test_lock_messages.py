"""The guide's lock messages through `msg post`: a lock_request posted verbatim gets the guide's
lock_granted or lock_denied back, lock_release gives the lock back; the same locks as `lock acquire`."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, git, run_cli

GUIDE = Path(__file__).resolve().parents[1].parent / "shared" / "guide" / "parallel-agent-execution.md"
# The guide's own examples ("Lock Management Protocol"), used when the guide is not reachable.
REQUEST = {"type": "lock_request", "agent_id": "backend-dev-001", "task_id": "TASK-002",
           "resource": "src/types/User.ts", "lock_type": "exclusive", "reason": "Adding authentication fields",
           "estimated_duration": "4 hours", "priority": "high", "timestamp": "2025-11-20T10:00:00Z"}
RELEASE = {"type": "lock_release", "agent_id": "backend-dev-001", "lock_id": "lock-12345",
           "resource": "src/types/User.ts", "timestamp": "2025-11-20T13:30:00Z", "changes_made": True}
GRANTED_KEYS = {"type", "agent_id", "resource", "lock_type", "granted_at", "expires_at", "lock_id"}
DENIED_KEYS = {"type", "agent_id", "resource", "reason", "current_lock", "alternatives"}


def guide_lock_examples() -> dict[str, dict]:
    if not GUIDE.is_file():
        return {"lock_request": REQUEST, "lock_release": RELEASE}
    section = GUIDE.read_text().split("### Lock Management Protocol", 1)[1].split("### Automated Lock Manager")[0]
    found = {b["type"]: b for b in (json.loads(x) for x in re.findall(r"```json\n(.*?)```", section, re.S))}
    assert found["lock_request"] == REQUEST and found["lock_release"] == RELEASE
    assert set(found["lock_granted"]) == GRANTED_KEYS and set(found["lock_denied"]) == DENIED_KEYS
    return found


def post(repo: Path, agent: str, doc: dict, *, code: int = 0):
    result = run_cli("--json", "--agent", agent, "msg", "post", "-", cwd=repo, input=json.dumps(doc))
    assert result.code == code, result.err
    return result


@pytest.fixture
def team(repo: Path) -> Path:
    assert run_cli("--agent", "lead", "init", cwd=repo).code == 0
    for task, agent, owns in (("TASK-002", "backend-dev-001", "src/services/"), ("TASK-003", "frontend-dev-001",
                                                                                  "src/ui/")):
        r = run_cli("--agent", "lead", "task", "add", task, "--title", task, "--agent", agent, "--owns", owns,
                    cwd=repo)
        assert r.code == 0, r.err
    return repo


def test_the_guides_lock_request_is_granted_in_the_guides_shape(team: Path) -> None:
    examples = guide_lock_examples()
    reply = post(team, "backend-dev-001", examples["lock_request"]).json
    assert set(reply) == GRANTED_KEYS and reply["type"] == "lock_granted"
    assert reply["agent_id"] == "backend-dev-001" and reply["resource"] == "src/types/User.ts"
    assert reply["lock_type"] == "exclusive"
    # The same lock `lock list` shows: the request's reason, task and "4 hours" as its expiry.
    [lock] = run_cli("--json", "lock", "list", cwd=team).json["locks"]
    assert lock["id"] == reply["lock_id"] and lock["holders"][0]["reason"] == "Adding authentication fields"
    assert lock["holders"][0]["task"] == "TASK-002"
    from gitcoord import timeutil

    held = timeutil.parse_time(reply["expires_at"]) - timeutil.parse_time(reply["granted_at"])
    assert held.total_seconds() == 4 * 3600


def test_a_second_agent_is_denied_in_the_guides_shape_and_its_hint_queues_it(team: Path) -> None:
    examples = guide_lock_examples()
    granted = post(team, "backend-dev-001", examples["lock_request"]).json
    second = {**examples["lock_request"], "agent_id": "backend-dev-002", "task_id": None}
    before = git(team, "rev-parse", "refs/heads/gitcoord")
    denied = post(team, "backend-dev-002", second, code=1)
    assert git(team, "rev-parse", "refs/heads/gitcoord") == before  # a denial writes nothing
    reply = denied.json["error"]["reply"]
    assert set(reply) == DENIED_KEYS and reply["type"] == "lock_denied"
    assert reply["current_lock"]["owner"] == "backend-dev-001"
    assert reply["current_lock"]["estimated_release"] == granted["expires_at"]
    assert reply["current_lock"]["lock_id"] == granted["lock_id"]
    assert "Wait for lock release" in reply["alternatives"]
    # The hint is a whole command (msg post has no --wait): run it as printed, then the holder releases.
    hint = denied.json["error"]["message"].split("or queue for it: ", 1)[1]
    assert hint.startswith("gitcoord lock acquire ")
    env = dict(os.environ, GITCOORD_AGENT="backend-dev-002", PYTHONPATH=str(ROOT))
    argv = [sys.executable, "-m", "gitcoord", "-C", str(team)] + shlex.split(hint)[1:]
    waiting = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        import time

        deadline = time.monotonic() + 60
        while "queue" not in json.dumps(run_cli("--json", "lock", "list", cwd=team).json):
            assert waiting.poll() is None and time.monotonic() < deadline, waiting.stderr.read() if waiting.stderr else ""
            time.sleep(0.2)
        released = post(team, "backend-dev-001", {**examples["lock_release"], "lock_id": granted["lock_id"]}).json
        assert released["type"] == "lock_release" and released["lock_id"] == granted["lock_id"]
        out, err = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert waiting.returncode == 0, err
    [lock] = run_cli("--json", "lock", "list", cwd=team).json["locks"]
    assert [h["agent"] for h in lock["holders"]] == ["backend-dev-002"]


def test_a_path_another_task_owns_is_asked_of_its_owner(team: Path) -> None:
    assert run_cli("--agent", "frontend-dev-001", "task", "start", "TASK-003", cwd=team).code == 0
    ask = {"type": "lock_request", "resource": "src/ui/login.tsx", "lock_type": "exclusive", "reason": "a prop"}
    reply = post(team, "backend-dev-001", ask, code=1).json["error"]["reply"]
    assert reply["current_lock"]["owner"] == "frontend-dev-001" and reply["current_lock"]["lock_type"] == "ownership"
    assert reply["alternatives"][0].startswith("Wait for frontend-dev-001 to answer request")


@pytest.mark.parametrize("doc, needle", [
    ({"type": "lock_granted", "resource": "x"}, "gitcoord's answer"),
    ({"type": "lock_denied", "resource": "x"}, "gitcoord's answer"),
    ({**REQUEST, "agent_id": "someone-else"}, "\"agent_id\" is 'someone-else'"),
    ({"type": "lock_request"}, "needs \"resource\""),
    ({"type": "lock_request", "resource": "x", "lock_type": "none"}, "lock_type \"none\""),
    ({"type": "lock_request", "resource": "x", "lock_type": "mine"}, "lock_type 'mine'"),
    ({"type": "lock_request", "resource": "/etc/passwd"}, "absolute"),
    ({"type": "lock_request", "resource": "x", "estimated_duration": "forever"}, "not a duration"),
    ({"type": "lock_request", "resource": "x", "extra": 1}, "no field \"extra\""),
    ({"type": "lock_request", "resource": "x", "priority": True}, "\"priority\""),
    ({"type": "lock_release"}, "needs \"lock_id\" or \"resource\""),
    ({"type": "lock_release", "resource": "x", "changes_made": "yes"}, "\"changes_made\""),
])
def test_bad_lock_messages_exit_2_one_line_nothing_written(team: Path, doc: dict, needle: str) -> None:
    before = git(team, "rev-parse", "refs/heads/gitcoord")
    result = run_cli("--agent", "backend-dev-001", "msg", "post", "-", cwd=team, input=json.dumps(doc))
    assert result.code == 2, result.err
    assert needle in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert git(team, "rev-parse", "refs/heads/gitcoord") == before


def test_spelled_out_durations_work_everywhere(team: Path) -> None:
    r = run_cli("--json", "--agent", "backend-dev-001", "lock", "acquire", "docs/x.md", "--ttl", "90 minutes",
                cwd=team)
    assert r.code == 0, r.err
    r = run_cli("--agent", "backend-dev-001", "lock", "acquire", "docs/y.md", "--ttl", "4 hourss", cwd=team)
    assert r.code == 2 and "not a duration" in r.err
