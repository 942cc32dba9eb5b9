"""`gitcoord mcp` driven by the MCP SDK's own client: a real server subprocess in a real repository runs a
whole task lifecycle, then a refused lock and a blocker; the state is checked through the CLI afterwards."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import commit_cart_spec, git, run_cli
from test_messages_guide import ok

pytest.importorskip("mcp", reason="the MCP SDK is the optional extra gitcoord[mcp]")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(repo: Path) -> Path:
    """The cart contract registered; API-1 (src/api/) and API-2 (src/api2/) for anyone; bob holds a lock."""
    commit_cart_spec(repo)
    ok("contract", "add", "cart-api", "--spec", "api/cart.yaml", "--owner", "alice", cwd=repo)
    ok("task", "add", "API-1", "--title", "Cart API", "--owns", "src/api/", "--priority", "5", cwd=repo)
    ok("task", "add", "API-2", "--title", "Cart totals", "--owns", "src/api2/", cwd=repo)
    ok("task", "add", "DOC-1", "--title", "Docs", "--agent", "bob", "--owns", "/docs/", cwd=repo)
    ok("--agent", "bob", "lock", "acquire", "src/shared/config.py", "--reason", "fixtures", cwd=repo)
    ok("hooks", "install", cwd=repo)
    return repo


class Agent:
    """The SDK client session plus helpers that unpack tool results."""

    def __init__(self, session: Any):
        self.session = session

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = await self.session.call_tool(tool, arguments)
        assert not result.is_error, f"{tool}: {result.content[0].text}"
        text = result.content[0].text
        assert json.loads(text) == result.structured_content or tool in ("whoami",)
        return result.structured_content

    async def fail(self, tool: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
        result = await self.session.call_tool(tool, arguments)
        assert result.is_error, f"{tool} should have failed: {result.content}"
        return result.content[0].text, result.structured_content["error"]


def drive(repo: Path, scenario, agent: str = "alice") -> Any:
    """Start `gitcoord mcp --agent AGENT` in ``repo`` with the SDK client and run ``scenario(agent)``."""
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "gitcoord", "mcp", "--agent", agent],
                                   cwd=str(repo), env=dict(os.environ, PYTHONPATH=str(ROOT)))

    async def main() -> Any:
        with open(repo.parent / "mcp-server.log", "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return await scenario(Agent(session))

    return anyio.run(main)


def test_a_whole_task_lifecycle_over_mcp(project: Path) -> None:
    async def scenario(me: Agent) -> dict[str, Any]:
        tools = (await me.session.list_tools()).tools
        names = {t.name for t in tools}
        assert {"whoami", "next", "task_start", "task_show", "task_done", "task_block", "msg_post", "inbox",
                "inbox_ack", "owners", "lock_acquire", "lock_release", "contract_show", "contract_validate",
                "contract_diff", "check_staged"} <= names
        for tool in tools:  # identity never comes from a tool argument; descriptions stay short
            assert "agent" not in (tool.input_schema.get("properties") or {}), tool.name
            assert len(tool.description or "") <= 100, tool.name
        assert (await me.call("whoami"))["agent"] == "alice"
        nxt = await me.call("next")
        assert nxt["task"] == "API-1"
        started = await me.call("task_start", task_id="API-1")
        assert (started["status"], started["agent"]) == ("in_progress", "alice")
        branch = started["branch"]
        # a commit inside the owned paths, checked first, then through the installed pre-commit hook
        git(project, "switch", "-q", branch)
        (project / "src" / "api").mkdir(parents=True)
        (project / "src" / "api" / "cart.py").write_text("def total(items):\n    return sum(items)\n")
        git(project, "add", "src/api/cart.py")
        assert (await me.call("check_staged"))["ok"] is True
        git(project, "commit", "-q", "-m", "cart totals")
        # a path another task owns: the check refuses (exit-code class 1) and carries the whole report
        (project / "docs").mkdir()
        (project / "docs" / "cart.md").write_text("mine?\n")
        git(project, "add", "docs/cart.md")
        line, error = await me.fail("check_staged")
        assert error["exit_code"] == 1 and "docs/cart.md" in line
        assert [(v["path"], v["rule"]) for v in error["violations"] if v["level"] == "error"] == [
            ("docs/cart.md", "outside-ownership")]
        git(project, "rm", "-q", "--cached", "docs/cart.md")
        owners = await me.call("owners", paths=["src/api/cart.py", "src/shared/config.py"])
        assert [row["owners"] for row in owners["paths"]] == [["API-1"], []]
        await me.call("msg_post", message={"type": "status_update", "task_id": "API-1", "status": "in_progress",
                                           "progress": 80, "completed_items": ["cart totals"],
                                           "current_item": "tests", "next_items": [], "blockers": []})
        line, error = await me.fail("msg_post", message={"type": "task_complete", "task_id": "API-1",
                                                         "summary": "cart API done", "ready_for_merge": True,
                                                         "test_results": {"passed": 2, "failed": 1}})
        assert error["exit_code"] == 1 and "1 failed" in line
        await me.call("msg_post", message={"type": "task_complete", "task_id": "API-1", "branch": branch,
                                           "summary": "cart API done", "deliverables": ["src/api/cart.py"],
                                           "test_results": {"passed": 3, "failed": 0, "coverage": 90},
                                           "ready_for_review": True, "ready_for_merge": True})
        done = await me.call("task_done", task_id="API-1")
        assert done["status"] == "ready_to_merge"
        # the manifest and the contract spec as resources; contract tools
        manifest = await me.session.read_resource("gitcoord://tasks/API-1")
        assert "id: API-1" in manifest.contents[0].text and "status: ready_to_merge" in manifest.contents[0].text
        spec = await me.session.read_resource("gitcoord://contracts/cart-api/spec")
        assert spec.contents[0].text == (project / "api" / "cart.yaml").read_text()
        assert (await me.call("contract_show", name="cart-api"))["owner"] == "alice"
        assert (await me.call("contract_validate", name="cart-api"))["valid"] is True
        # a refused lock: exit-code class 1 and the CLI's one line
        line, error = await me.fail("lock_acquire", resource="src/shared/config.py", reason="edit config")
        assert error["exit_code"] == 1 and "bob" in line and line.startswith("gitcoord: error: ")
        assert "\n" not in line
        # bad input: exit-code class 2, nothing written
        line, error = await me.fail("msg_post", message={"type": "status_update", "task_id": "NOPE-1",
                                                         "progress": 5})
        assert error["exit_code"] == 2 and "NOPE-1" in line
        line, error = await me.fail("task_show", task_id="NOPE-1")
        assert error["exit_code"] == 2
        # a second task, and a blocker the agent cannot work around: the task is blocked
        await me.call("task_start", task_id="API-2")
        posted = await me.call("msg_post", message={
            "type": "blocker", "task_id": "API-2", "blocker_description": "config format undecided",
            "severity": "high", "blocking_agent": "bob", "can_proceed_with_workaround": False,
            "impact": "totals cannot be configured"})
        assert posted["effect"] == {"task": "API-2", "from": "in_progress", "to": "blocked"}
        inbox = await me.call("inbox")
        return {"inbox": inbox}

    drive(project, scenario)
    # the state, through the CLI
    api1 = run_cli("--json", "task", "show", "API-1", cwd=project).json
    assert (api1["status"], api1["agent"]) == ("ready_to_merge", "alice")
    api2 = run_cli("--json", "task", "show", "API-2", cwd=project).json
    assert (api2["status"], api2["blocked_reason"]) == ("blocked", "config format undecided")
    kinds = [e["data"]["type"] for e in run_cli("--json", "log", "--type", "msg", cwd=project).json["events"]]
    assert kinds == ["status_update", "task_complete", "blocker"]
    assert all(e["agent"] == "alice" for e in run_cli("--json", "log", "--type", "msg", cwd=project).json["events"])
    [blocker] = run_cli("--json", "--agent", "bob", "inbox", cwd=project).json["messages"]
    assert (blocker["reason"], blocker["data"]["can_proceed_with_workaround"]) == ("blocker", False)
    locks = run_cli("--json", "lock", "list", cwd=project).json["locks"]
    assert [[h["agent"] for h in lock["holders"]] for lock in locks] == [["bob"]]
    assert git(project, "log", "-1", "--format=%s", api1["branch"]) == "cart totals"


def test_inbox_and_ack_over_mcp(project: Path) -> None:
    ok("--agent", "bob", "msg", "request", "--to", "alice", "--regarding", "API-1", "--request", "add a 409",
       cwd=project)

    async def scenario(me: Agent) -> None:
        inbox = await me.call("inbox")
        assert inbox["unread"] == 1
        [item] = inbox["messages"]
        assert item["data"]["type"] == "coordination_request"
        line, error = await me.fail("inbox_ack", ids=["nope"])
        assert error["exit_code"] == 2
        acked = await me.call("inbox_ack", ids=[item["id"]])
        assert acked["unread"] == 0
        assert (await me.call("inbox"))["messages"] == []
        assert len((await me.call("inbox", include_read=True))["messages"]) == 1

    drive(project, scenario)
    data = run_cli("--json", "--agent", "alice", "inbox", cwd=project).json
    assert (data["unread"], data["read"]) == (0, 1)


def test_missing_sdk_is_one_line(project: Path, tmp_path: Path) -> None:
    """Without the extra installed, `gitcoord mcp` says how to get it (exit 2), no traceback."""
    blocker = tmp_path / "nomcp"
    (blocker / "mcp").mkdir(parents=True)
    (blocker / "mcp" / "__init__.py").write_text("raise ImportError('no mcp here')\n")
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "gitcoord", "mcp"], cwd=project, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{blocker}"), timeout=60, input="")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["gitcoord: error: the MCP server needs the `mcp` package: "
                                                "pip install 'gitcoord[mcp]'"]


def test_the_server_sees_the_team_through_a_remote(remote) -> None:
    """Each tool call reads the shared branch afresh: another clone's message reaches the server's inbox,
    and the server's claim reaches the other clone."""
    a, b = remote.clone("a"), remote.clone("b")
    ok("--remote", "origin", "init", cwd=a)
    ok("--remote", "origin", "task", "add", "API-1", "--title", "Cart API", "--owns", "src/api/", cwd=a)
    for clone in (a, b):
        git(clone, "config", "gitcoord.remote", "origin")

    async def scenario(me: Agent) -> None:
        assert (await me.call("inbox"))["unread"] == 0
        ok("--agent", "bob", "msg", "request", "--to", "alice", "--regarding", "API-1", "--request", "hurry",
           cwd=b)
        [item] = (await me.call("inbox"))["messages"]
        assert (item["agent"], item["data"]["request"]) == ("bob", "hurry")
        await me.call("task_start", task_id="API-1")

    drive(a, scenario)
    task = run_cli("--json", "task", "show", "API-1", cwd=b).json
    assert (task["status"], task["agent"]) == ("in_progress", "alice")
