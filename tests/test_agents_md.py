"""`gitcoord agents-md`: every command the section shows runs as shown (placeholders filled in), every
message it shows posts, and what it says the hooks refuse is refused."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import git, run_cli
from test_messages_guide import ok

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def team(repo: Path) -> Path:
    """alice's next task is API-1 (src/api/); API-2 (src/api2/) is hers too; bob owns docs/ through DOC-1."""
    ok("init", cwd=repo)
    ok("config", "set", "policies.heartbeat", "30m", cwd=repo)
    ok("task", "add", "API-1", "--title", "Cart API", "--agent", "alice", "--owns", "src/api/", "--priority", "9",
       cwd=repo)
    ok("task", "add", "API-2", "--title", "Totals", "--agent", "alice", "--owns", "src/api2/", cwd=repo)
    ok("task", "add", "DOC-1", "--title", "Docs", "--agent", "bob", "--owns", "/docs/", cwd=repo)
    ok("hooks", "install", cwd=repo)
    return repo


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^### ", text, flags=re.M)
    return {part.splitlines()[0]: part for part in parts[1:]}


def commands(text: str) -> list[str]:
    """Every gitcoord command shown: lines of sh blocks (comments dropped) and inline `gitcoord …` spans."""
    found = []
    for block_lang, body in re.findall(r"```(\w*)\n(.*?)```", text, re.S):
        if block_lang == "sh":
            found += [line.split("  #")[0].strip() for line in body.splitlines() if line.startswith("gitcoord ")]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    found += re.findall(r"`(gitcoord [^`]+)`", prose)
    return found


def fill(command: str, values: dict[str, str]) -> list[str]:
    for key, value in values.items():
        command = command.replace(key, value)
    assert "<" not in command, f"unfilled placeholder in {command!r}"
    return shlex.split(command)[1:]


def test_every_command_and_message_it_shows_works(team: Path, tmp_path: Path) -> None:
    text = ok("--agent", "alice", "agents-md", cwd=team).out
    assert "every 30m" in text  # the repository's heartbeat policy
    parts = sections(text)
    ran: list[str] = []

    def run(command: str, values: dict[str, str]) -> None:
        result = run_cli("--agent", "alice", *fill(command, values), cwd=team)
        assert result.code == 0, f"{command}: exit {result.code}: {result.err}"
        ran.append(command)

    # the loop, in order, on API-1
    loop = {"<TASK>": "API-1"}
    for command in commands(parts["The loop"]):
        if command.startswith("gitcoord check --staged"):
            branch = run_cli("--json", "task", "show", "API-1", cwd=team).json["branch"]
            git(team, "switch", "-q", branch)  # `git switch <BRANCH>`, as the comment says
            (team / "src" / "api").mkdir(parents=True)
            (team / "src" / "api" / "cart.py").write_text("X = 1\n")
            git(team, "add", "src/api/cart.py")
        run(command, loop)
        if command.startswith("gitcoord check --staged"):
            git(team, "commit", "-q", "-m", "cart")  # passes the installed pre-commit hook
        if command == "gitcoord next":
            assert run_cli("--json", "--agent", "alice", "next", cwd=team).json["task"] == "API-1"
    assert run_cli("--json", "task", "show", "API-1", cwd=team).json["status"] == "ready_to_merge"

    # the messages, on API-2; each JSON shape posts as shown
    ok("--agent", "alice", "task", "start", "API-2", cwd=team)
    values = {"<TASK>": "API-2", "<AGENT>": "bob", "<PATH>": "docs/guide.md", "<SHARED>": "src/shared/config.py"}
    shapes = [json.loads(fill_json) for fill_json in
              (re.sub("|".join(map(re.escape, values)), lambda m: values[m.group(0)], block)
               for block in re.findall(r"```json\n(.*?)```", parts["Messages"], re.S))]
    assert [s["type"] for s in shapes] == ["status_update", "blocker", "coordination_request", "task_complete"]
    message_file = tmp_path / "message.json"
    for shape in shapes[:-1]:
        result = run_cli("--agent", "alice", "msg", "post", "-", cwd=team, input=json.dumps(shape))
        assert result.code == 0, (shape["type"], result.err)
    message_file.write_text(json.dumps(shapes[-1]))
    for command in commands(parts["Messages"]):
        if "task unblock" in command:  # what the prose says: a blocker without workaround blocks the task
            blocker = {**shapes[1], "can_proceed_with_workaround": False}
            assert run_cli("--agent", "alice", "msg", "post", "-", cwd=team, input=json.dumps(blocker)).code == 0
            assert run_cli("--json", "task", "show", "API-2", cwd=team).json["status"] == "blocked"
        run(command, {**values, "<FILE>": str(message_file)})
    assert run_cli("--json", "task", "show", "API-2", cwd=team).json["status"] == "in_progress"
    failing = {**shapes[-1], "test_results": {"passed": 1, "failed": 1}}
    assert run_cli("--agent", "alice", "msg", "post", "-", cwd=team, input=json.dumps(failing)).code == 1

    # what the hooks refuse: a commit into bob's docs/ from alice's branch
    branch = run_cli("--json", "task", "show", "API-2", cwd=team).json["branch"]
    git(team, "switch", "-q", branch)
    (team / "docs").mkdir()
    (team / "docs" / "guide.md").write_text("mine now\n")
    git(team, "add", "docs/guide.md")
    refused = subprocess.run(["git", "commit", "-q", "-m", "docs"], cwd=team, capture_output=True, text=True,
                             env=dict(os.environ, GITCOORD_AGENT="alice"))
    assert refused.returncode != 0 and "docs/guide.md" in refused.stderr
    git(team, "reset", "-q", "docs/guide.md")
    for command in commands(parts["What the hooks refuse, and how to ask for a path"]):
        run(command, values)
    [request] = [m for m in run_cli("--json", "--agent", "bob", "inbox", cwd=team).json["messages"]
                 if m["type"] == "msg.request" and m["data"]["regarding"] == "docs/guide.md"][-1:]
    assert request["data"]["urgency"] == "medium"
    # the intro's and every other section's commands were all run
    assert sorted(ran) == sorted(commands(text))


def test_mcp_variant_names_real_tools_and_a_working_server_command(team: Path) -> None:
    from gitcoord.mcp_server import TOOLS

    text = ok("agents-md", "--mcp", cwd=team).out
    loop = sections(text)["The loop (MCP)"]
    named = set(re.findall(r"`([a-z_]+)`", loop)) - {"exit_code"}
    assert named and named <= set(TOOLS), named - set(TOOLS)
    assert {"whoami", "next", "task_start", "check_staged", "msg_post", "task_done", "inbox", "inbox_ack"} <= named
    config = json.loads(re.search(r"```json\n(.*?)```", loop, re.S).group(1).replace("<AGENT>", "alice"))
    server = config["mcpServers"]["gitcoord"]
    assert server["command"] == "gitcoord"
    proc = subprocess.run([sys.executable, "-m", "gitcoord", *server["args"]], cwd=team, input="",
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr  # starts, and ends cleanly when the client closes stdin
    assert "gitcoord://tasks/<TASK>" in loop


def test_json_output_and_outside_a_repository(tmp_path: Path) -> None:
    data = run_cli("--json", "agents-md", cwd=tmp_path).json
    assert data["markdown"].startswith("## Coordination (gitcoord)") and data["mcp"] is False
    assert "every 1h" in data["markdown"]
