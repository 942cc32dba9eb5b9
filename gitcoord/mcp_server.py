"""`gitcoord mcp`: the agent loop as an MCP server over stdio (official ``mcp`` SDK, extra ``gitcoord[mcp]``).

Tools call the library directly, one at a time (each reads a fresh snapshot, so the server never
serves stale state). The agent is fixed when the server starts (``--agent`` or the usual identity
rules): no tool takes an agent argument, so a model cannot act in someone else's name. A
gitcoord error becomes an MCP tool error whose text is the CLI's one line and whose structured
content carries the same ``exit_code`` class (1 violation, 2 bad input, 3 race/remote).
Descriptions are short on purpose: agents pay for them in context on every turn.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from gitcoord.errors import GitcoordError, UsageError, Violation

INSTRUCTIONS = ("gitcoord coordinates parallel agents through git. Loop: whoami, next, task_start, work only "
                "inside the task's owned paths (check_staged before committing), msg_post status_update, "
                "task_done. Ask with msg_post coordination_request; read inbox, then inbox_ack.")


class Session:
    """The repository, the store and the agent the server acts for (resolved once, at start, by the
    same rules as every command: ``--agent``, GITCOORD_AGENT, git config…; the remote likewise)."""

    def __init__(self, repo: Any, identity: Any, remote: str | None = None):
        from gitcoord.store import Store

        self.repo = repo
        self.identity = identity
        self.agent = identity.name
        self.remote = remote
        self.store = Store(repo, remote=remote, agent=self.agent)

    def snapshot(self):
        return self.store.require(self.store.snapshot(fetch=bool(self.remote)))

    # ------------------------------------------------------------------ the loop
    def whoami(self) -> dict[str, Any]:
        from gitcoord.store import declared_agents

        names = declared_agents(self.snapshot().config)
        return {**self.identity.to_dict(), "declared": (self.agent in names) if names else None,
                "repository": self.repo.workdir or self.repo.path}

    def next(self, role: str | None = None) -> dict[str, Any]:
        from gitcoord import tasks

        return tasks.next_for(self.snapshot(), self.agent, role)

    def task_show(self, task_id: str) -> dict[str, Any]:
        from gitcoord import tasks

        return tasks.get_task(self.snapshot(), task_id)

    def task_start(self, task_id: str) -> dict[str, Any]:
        from gitcoord import branches, tasks
        from gitcoord.identity import remember

        task = _public(tasks.transition(self.store, task_id, "in_progress"))
        if task.get("branch"):
            start = branches.resolve_start_point(self.repo, self.snapshot().config["base"], self.remote,
                                                 task_branch=task["branch"])
            created = branches.ensure_branch(self.repo, task["branch"], start.commit)
            task["next"] = f"git switch {task['branch']}" + (" (branch created)" if created else "")
        remember(self.repo, self.agent)  # like `task start`: git commits here act as the same agent
        return task

    def task_done(self, task_id: str, reason: str | None = None) -> dict[str, Any]:
        from gitcoord import tasks

        return _public(tasks.transition(self.store, task_id, "ready_to_merge", reason=reason))

    def task_block(self, task_id: str, reason: str) -> dict[str, Any]:
        from gitcoord import tasks

        return _public(tasks.transition(self.store, task_id, "blocked", reason=reason))

    def msg_post(self, message: dict[str, Any], force: bool = False) -> dict[str, Any]:
        from gitcoord import messages

        try:
            raw = json.dumps(message)  # the same size and shape checks as `msg post`
        except (RecursionError, TypeError, ValueError) as exc:
            raise UsageError(f"msg post message: not a JSON object gitcoord can read ({type(exc).__name__})") \
                from None
        return messages.post(self.store, messages.parse_message(raw, source="message"), force=force)

    def inbox(self, include_read: bool = False) -> dict[str, Any]:
        from gitcoord.inbox import counts, inbox

        entries = inbox(self.snapshot(), self.agent)
        shown = entries if include_read else [e for e in entries if not e["read"]]
        return {"agent": self.agent, **counts(entries), "messages": shown}

    def inbox_ack(self, ids: list[str] | None = None, all_items: bool = False) -> dict[str, Any]:
        from gitcoord.inbox import ack

        return ack(self.store, self.snapshot(), self.agent, list(ids or []), all_items=all_items)

    def owners(self, paths: list[str]) -> dict[str, Any]:
        from gitcoord.owners import owners_report

        if not paths:
            raise UsageError("owners: give at least one path")
        return owners_report(self.snapshot(), list(paths), self.agent)

    def lock_acquire(self, resource: str, type: str = "exclusive", reason: str | None = None,
                     ttl: str | None = None, task_id: str | None = None) -> dict[str, Any]:
        from gitcoord import locks

        granted = locks.acquire(self.store, resource, type=type, ttl=ttl, task=task_id, reason=reason)
        return {"id": granted["id"], "lock": granted,
                "intents": locks.intents_overlapping(self.store.snapshot(), self.agent, granted["resource"])}

    def lock_release(self, resource_or_id: str) -> dict[str, Any]:
        from gitcoord import locks

        released = locks.release(self.store, resource_or_id)
        return {"released": released["id"], "lock": released}

    # ------------------------------------------------------------------ contracts and checks
    def contract_show(self, name: str) -> dict[str, Any]:
        from gitcoord.contracts.registry import describe_contract

        return describe_contract(self.snapshot(), name)

    def contract_validate(self, name: str) -> dict[str, Any]:
        from gitcoord import gitutil
        from gitcoord.contracts import registry
        from gitcoord.contracts.validate import validate_cached

        record = registry.get_contract(self.snapshot(), registry.check_name(name))
        data = registry.read_spec(self.repo, record["spec"])
        result = validate_cached(registry.spec_location(self.repo, record["spec"]),
                                 gitutil.cache_dir(self.repo) / "contracts", kind=registry.validation_kind(record),
                                 text=data)
        report = {"name": name, "spec": record["spec"], "valid": result.valid, "kind": result.kind,
                  "errors": [e.to_dict() for e in result.errors]}
        if not result.valid:  # exit 1 in the CLI
            first = report["errors"][0] if report["errors"] else {}
            raise Violation(f"contract {name}: {record['spec']} is invalid: {len(report['errors'])} error(s), first "
                            f"{first.get('pointer') or '/'}: {first.get('message', '')}"[:400], data=report)
        return report

    def contract_diff(self, name: str, from_version: str | None = None) -> dict[str, Any]:
        from gitcoord.contracts import registry

        snap = self.snapshot()
        record = registry.get_contract(snap, registry.check_name(name))
        if not record.get("approved"):
            raise UsageError(f"contract {name} has no approved version to diff from")
        entry, old = registry.approved_bytes(snap, record, from_version)
        new = registry.read_spec(self.repo, record["spec"])
        consumers = registry.effective_consumers(record, registry._tasks(snap))
        result = registry.diff_bytes(entry["snapshot"], old, record["spec"], new, record=record, consumers=consumers)
        report = {"breaking": result.breaking, "from": f"{name} {entry['version']} (approved)",
                  "to": f"{record['spec']} at work tree", "counts": result.counts(),
                  "changes": [{**c.to_dict(), "consumers": list(c.consumers)} for c in result.changes]}
        if result.breaking:  # exit 1 in the CLI
            raise Violation(f"contract {name}: {report['counts']['error']} breaking change(s) since "
                            f"{entry['version']}", data=report)
        return report

    def check_staged(self) -> dict[str, Any]:
        from gitcoord import check as engine
        from gitcoord.identity import current_branch

        result = engine.run_check(self.snapshot(), engine.staged_paths(self.repo), agent=self.agent,
                                  branch=current_branch(self.repo), mode="staged", task=None,
                                  branch_level=engine.WARNING, coordination_branch=self.store.branch,
                                  read=engine.index_reader(self.repo))
        report = result.to_dict()
        if not result.ok:  # exit 1 in the CLI, with the whole report
            errors = [v for v in report["violations"] if v.get("level") == "error"] or report["violations"]
            first = errors[0] if errors else {}
            raise Violation(f"check --staged: {len(errors)} violation(s); {first.get('path') or ''}: "
                            f"{first.get('message', '')}"[:400], data=report)
        return report

    # ------------------------------------------------------------------ resources
    def task_manifest(self, task_id: str) -> str:
        from gitcoord import tasks

        data = self.snapshot().read_bytes(tasks.task_path(task_id))
        if data is None:
            raise UsageError(f"unknown task {task_id!r} (see `gitcoord task list`)")
        return data.decode("utf-8")

    def contract_spec(self, name: str) -> str:
        from gitcoord.contracts import registry

        record = registry.get_contract(self.snapshot(), registry.check_name(name))
        data = registry.read_spec(self.repo, record["spec"])
        return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)


def _public(task: dict[str, Any]) -> dict[str, Any]:
    """A task as returned by a transition, without the library's private keys."""
    return {k: v for k, v in task.items() if not k.startswith("_")}


def error_line(exc: GitcoordError) -> str:
    """The CLI's one line for an error."""
    line = f"gitcoord: error: {exc.message}" + (f" — {exc.hint}" if exc.hint else "")
    return " ".join(line.split())


# tool name → (Session method, short description); arguments come from the method's signature
TOOLS: dict[str, tuple[str, str]] = {
    "whoami": ("whoami", "Who this server acts as (fixed at start)."),
    "next": ("next", "Best ready task for you."),
    "task_start": ("task_start", "Claim and start a task; creates its branch."),
    "task_show": ("task_show", "A task's manifest: owns, depends_on, status."),
    "task_done": ("task_done", "Finish your task: ready to merge."),
    "task_block": ("task_block", "Mark your task blocked, with a reason."),
    "msg_post": ("msg_post", "Post a guide message: status_update, blocker, coordination_request, "
                             "task_complete, task_assignment."),
    "inbox": ("inbox", "Unread items for you (include_read for all)."),
    "inbox_ack": ("inbox_ack", "Mark inbox items read by id, or all_items."),
    "owners": ("owners", "Which tasks, agents and locks own paths."),
    "lock_acquire": ("lock_acquire", "Lock a path or pattern (exclusive, shared, intent, none)."),
    "lock_release": ("lock_release", "Release your lock by id or resource."),
    "contract_show": ("contract_show", "A contract: status, version, providers, consumers."),
    "contract_validate": ("contract_validate", "Validate a contract's spec in the work tree."),
    "contract_diff": ("contract_diff", "Changes from the approved spec; breaking or not."),
    "check_staged": ("check_staged", "Check staged changes: ownership, locks, contracts."),
}


def build_server(session: Session):
    """An MCPServer with gitcoord's tools and resources bound to ``session``."""
    import inspect

    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceError
    from mcp.types import CallToolResult, TextContent

    from gitcoord import __version__

    server = MCPServer("gitcoord", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING")

    def wrap(method: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
        async def tool(**kwargs: Any) -> CallToolResult:
            try:
                value = method(**kwargs)
            except GitcoordError as exc:
                payload = {"error": {"message": exc.message, "exit_code": exc.exit_code,
                                     **({"hint": exc.hint} if exc.hint else {}), **_jsonable(exc.data)}}
                return CallToolResult(content=[TextContent(type="text", text=error_line(exc))],
                                      structured_content=payload, is_error=True)
            data = _jsonable(value)
            return CallToolResult(content=[TextContent(type="text", text=json.dumps(data, ensure_ascii=False))],
                                  structured_content=data if isinstance(data, dict) else {"result": data})

        signature = inspect.signature(method)
        tool.__signature__ = signature.replace(return_annotation=CallToolResult)  # type: ignore[attr-defined]
        tool.__annotations__ = {**{name: p.annotation for name, p in signature.parameters.items()},
                                "return": CallToolResult}
        return tool

    for name, (attr, description) in TOOLS.items():
        wrapped = wrap(getattr(session, attr))
        wrapped.__name__ = name
        server.add_tool(wrapped, name=name, description=description)

    def resource(reader: Callable[[str], str]) -> Callable[[str], str]:
        def read(key: str) -> str:
            try:
                return reader(key)
            except GitcoordError as exc:
                raise ResourceError(error_line(exc)) from None
        return read

    @server.resource("gitcoord://tasks/{task_id}", name="task", mime_type="application/yaml",
                     description="A task manifest (tasks/<ID>.yaml).")
    def task_resource(task_id: str) -> str:
        return resource(session.task_manifest)(task_id)

    @server.resource("gitcoord://contracts/{name}/spec", name="contract-spec", mime_type="text/plain",
                     description="A contract's spec as in the work tree.")
    def contract_resource(name: str) -> str:
        return resource(session.contract_spec)(name)

    return server


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def serve(repo: Any, identity: Any, remote: str | None = None) -> None:
    """Run the server on stdin/stdout until the client closes the stream."""
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise UsageError("the MCP server needs the `mcp` package: pip install 'gitcoord[mcp]'") from None
    build_server(Session(repo, identity, remote)).run("stdio")
