"""`gitcoord agents-md`: the AGENTS.md section that teaches a coding agent the gitcoord loop.

Kept short (an agent reads it on every task) and kept true: tests/test_agents_md.py runs every
command it shows and posts every message it shows. Placeholders are in angle brackets.
"""

from __future__ import annotations

from typing import Any

PLACEHOLDERS = ("<TASK>", "<AGENT>", "<PATH>", "<SHARED>", "<BRANCH>", "<FILE>", "<NAME>")

_INTRO = """\
## Coordination (gitcoord)

Several agents work on this repository in parallel. gitcoord keeps the plan on the `{branch}` branch:
tasks, the paths each task owns, locks and messages. Follow the loop; placeholders are in `<...>`.
"""

_LOOP_CLI = """\
### The loop

```sh
gitcoord whoami                      # who you are; fix it with GITCOORD_AGENT or --agent
gitcoord next                        # the best ready task for you
gitcoord task show <TASK>            # its owns, depends_on and contracts
gitcoord task start <TASK>           # claim it; then `git switch <BRANCH>` (the task's branch)
gitcoord check --staged              # before each commit: only your task's paths, no one else's locks
gitcoord msg status <TASK> --progress 50 --current "what you do now"
gitcoord msg complete <TASK> --summary "what you delivered" --tests passed=12,failed=0 --ready-for-merge
gitcoord task done <TASK>            # ready to merge
gitcoord inbox                       # requests, blockers, news from tasks you depend on
gitcoord inbox ack --all             # mark them read
```

Report progress at least every {heartbeat} (and at each 25 %): silent tasks are flagged by `gitcoord doctor`
and in your dependents' inbox.
"""

_LOOP_MCP = """\
### The loop (MCP)

Run gitcoord as an MCP server; the agent is fixed at start, tools never take one:

```json
{{"mcpServers": {{"gitcoord": {{"command": "gitcoord", "args": ["mcp", "--agent", "<AGENT>"]}}}}}}
```

`whoami` → `next` → `task_start` (then `git switch` to the task's branch) → work inside the task's owned
paths, `check_staged` before each commit → `msg_post` a status_update at least every {heartbeat} → `msg_post`
a task_complete → `task_done`. Read `inbox`, then `inbox_ack`. `task_show`, `owners`, `lock_acquire`,
`lock_release`, `contract_show`, `contract_validate`, `contract_diff` answer the rest; errors carry
`exit_code` 1 (refused), 2 (bad input) or 3 (retry later). Resources: `gitcoord://tasks/<TASK>`,
`gitcoord://contracts/<NAME>/spec`.
"""

_MESSAGES = """\
### Messages

The guide's JSON shapes, posted as they are with `gitcoord msg post <FILE>` (or `-` for stdin).{mcp_note}
Your name and the timestamp are filled in for you.

```json
{{"type": "status_update", "task_id": "<TASK>", "progress": 50, "completed_items": ["schema"], "current_item": "handlers"}}
```
```json
{{"type": "blocker", "task_id": "<TASK>", "blocker_description": "what blocks you", "severity": "high", "blocking_agent": "<AGENT>", "can_proceed_with_workaround": true, "workaround": "a mock for now"}}
```
```json
{{"type": "coordination_request", "to_agent": "<AGENT>", "regarding": "<PATH>", "request": "what you need", "urgency": "medium"}}
```
```json
{{"type": "task_complete", "task_id": "<TASK>", "summary": "what you delivered", "test_results": {{"passed": 12, "failed": 0}}, "ready_for_merge": true}}
```

A blocker with `"can_proceed_with_workaround": false` blocks the task until `gitcoord task unblock <TASK>` or your
next status. `ready_for_merge` with failed tests is refused.
"""

_RULES = """\
### What the hooks refuse, and how to ask for a path

Commits and pushes are refused when they touch a path your task does not own, a path another agent has
locked, a contract spec in a breaking way without an approved new version, or when a branch name does not
follow the template; where the server hook is installed it checks pushes again, so `--no-verify` does
not help. Never edit what another task owns. To change such a path, find its owner and ask:

```sh
gitcoord owners <PATH>
gitcoord msg request --to <AGENT> --regarding <PATH> --request "may I change it?" --urgency medium
```

For a shared file no task owns, take a lock first: `gitcoord lock acquire <SHARED> --reason "why"`.
"""


def render(*, mcp: bool = False, config: dict[str, Any] | None = None, branch: str = "gitcoord") -> str:
    """The AGENTS.md section (Markdown); ``config`` (gitcoord.yaml) fills in the heartbeat policy."""
    heartbeat = str(((config or {}).get("policies") or {}).get("heartbeat") or "1h")
    parts = [_INTRO.format(branch=branch),
             (_LOOP_MCP if mcp else _LOOP_CLI).format(heartbeat=heartbeat),
             _MESSAGES.format(mcp_note=" The `msg_post` tool takes the same objects." if mcp else ""),
             _RULES]
    return "\n".join(parts)
