"""Message commands: `msg status|blocker|request|complete`, `inbox`, `log`."""

from __future__ import annotations

import time
from typing import Any

import click

from gitcoord.cli.app import App, json_option, pass_app


def _post(app: App, message: Any, force: bool = False) -> None:
    from gitcoord import messages

    event = messages.post(app.store, message, force=force)  # checks everything before writing
    effect = event.get("effect")
    app.emit({"event": event}, lambda: f"posted {event['type']} {event['id']}: {event.get('summary', '')}" + (
        f"\ntask {effect['task']}: {effect['from']} -> {effect['to']}" if effect and "from" in effect else ""))


@click.group()
def msg() -> None:
    """Post one of the guide's messages: status_update, blocker, coordination_request,
    task_complete, task_assignment (`msg post FILE|-` takes the JSON as is).

    \b
    Examples:
      gitcoord msg status API-1 --progress 40 --done "schema" --current "handlers" --eta 3h
      gitcoord msg blocker UI-2 --description "API spec not approved" --severity high --blocking-agent bob \\
          --cannot-proceed
      gitcoord msg request --to bob --regarding API-1 --request "add a 409 example" --urgency medium
      gitcoord msg complete API-1 --summary "cart API done" --deliverable src/api/cart.py \\
          --tests passed=42,failed=0 --ready-for-merge
      echo '{"type": "task_assignment", "task_id": "API-1", "assigned_to": "bob"}' | gitcoord msg post -
      echo '{"type": "lock_request", "resource": "src/types/User.ts", "lock_type": "exclusive",
             "reason": "auth fields", "estimated_duration": "4 hours"}' | gitcoord msg post -

    \b
    Lock messages: a lock_request is answered with the guide's lock_granted (exit 0) or lock_denied
    (exit 1, under "reply" in the --json error); lock_release gives the lock back.
    """


@msg.command("post")
@click.argument("source", metavar="FILE|-")
@click.option("--force", is_flag=True, help="Post a task_complete that claims ready_for_merge with failed tests.")
@json_option
@pass_app
def msg_post(app: App, source: str, force: bool) -> None:
    """Post one JSON message of the guide verbatim (from FILE, or stdin with -).

    Lock messages (lock_request, lock_release) act at once and print the guide's answer."""
    import sys

    from gitcoord import messages
    from gitcoord.errors import UsageError

    limit = messages.MAX_MESSAGE_BYTES + 1
    if source == "-":
        stream = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else None
        raw = stream.read(limit) if stream is not None else sys.stdin.read(limit).encode()
    else:
        try:
            with open(source, "rb") as fh:
                raw = fh.read(limit)
        except OSError as exc:
            raise UsageError(f"msg post {source}: cannot read: {exc.strerror}") from None
    from gitcoord import lock_messages

    doc = messages.decode_message(raw, source=source)
    if lock_messages.is_lock_message(doc):
        reply = lock_messages.post(app.store, doc, source=source)
        app.emit(reply, lambda: f"{reply['type']} {reply['lock_type']} {reply['resource']} (lock {reply['lock_id']})"
                                + (f", until {reply['expires_at']}" if reply.get("expires_at") else ""))
        return
    _post(app, messages.from_guide(doc, source=source), force=force)


@msg.command("status")
@click.argument("task")
@click.option("--progress", type=int, required=True, help="Percent done, 0-100.")
@click.option("--done", "done", multiple=True, metavar="ITEM", help="Item finished (repeatable).")
@click.option("--current", default=None, metavar="TEXT", help="What you work on now.")
@click.option("--next", "next_items", multiple=True, metavar="ITEM", help="Item planned next (repeatable).")
@click.option("--eta", default=None, metavar="TIME", help="Expected finish: ISO 8601 time or a duration (3h).")
@json_option
@pass_app
def msg_status(app: App, task: str, progress: int, done: tuple[str, ...], current: str | None,
               next_items: tuple[str, ...], eta: str | None) -> None:
    """Report progress on TASK (a status_update; it also resumes TASK if a blocker had blocked it)."""
    from gitcoord import messages

    _post(app, messages.status_message(task, progress=progress, done=done, current=current,
                                       next_items=next_items, eta=eta))


@msg.command("blocker")
@click.argument("task")
@click.option("--description", required=True, metavar="TEXT", help="What blocks you.")
@click.option("--severity", required=True, metavar="low|medium|high|critical", help="How badly it blocks.")
@click.option("--blocking-agent", default=None, metavar="AGENT", help="Who can unblock you (gets it in the inbox).")
@click.option("--workaround", default=None, metavar="TEXT", help="What you do meanwhile.")
@click.option("--cannot-proceed", is_flag=True, help="No workaround: TASK becomes blocked.")
@click.option("--impact", default=None, metavar="TEXT", help="What cannot be done meanwhile.")
@click.option("--needs-resolution-by", default=None, metavar="TIME", help="ISO 8601 time or a duration (4h).")
@json_option
@pass_app
def msg_blocker(app: App, task: str, description: str, severity: str, blocking_agent: str | None,
                workaround: str | None, cannot_proceed: bool, impact: str | None,
                needs_resolution_by: str | None) -> None:
    """Report that something blocks TASK (a blocker)."""
    from gitcoord import messages

    _post(app, messages.blocker_message(task, description=description, severity=severity,
                                        blocking_agent=blocking_agent, workaround=workaround,
                                        can_proceed=False if cannot_proceed else None, impact=impact,
                                        needs_resolution_by=needs_resolution_by))


@msg.command("request")
@click.option("--to", "to", required=True, metavar="AGENT", help="Who should act.")
@click.option("--regarding", required=True, metavar="TEXT", help="Topic: a task id, contract or path.")
@click.option("--request", "request_text", required=True, metavar="TEXT", help="What you ask for.")
@click.option("--urgency", default="normal", show_default=True, metavar="low|medium|normal|high|critical")
@click.option("--task", "task", default=None, metavar="ID", help="Task this is about (default: --regarding when it "
                                                                 "names a task).")
@click.option("--current-state", default=None, metavar="TEXT", help="Where you stand.")
@click.option("--proposed-solution", default=None, metavar="TEXT", help="What you suggest.")
@click.option("--timeline", default=None, metavar="TEXT", help="When you need it.")
@json_option
@pass_app
def msg_request(app: App, to: str, regarding: str, request_text: str, urgency: str, task: str | None,
                current_state: str | None, proposed_solution: str | None, timeline: str | None) -> None:
    """Ask another agent for something (a coordination_request; lands in their inbox)."""
    from gitcoord import messages

    _post(app, messages.request_message(to=to, regarding=regarding, request=request_text, urgency=urgency,
                                        task=task, current_state=current_state,
                                        proposed_solution=proposed_solution, timeline=timeline))


@msg.command("complete")
@click.argument("task")
@click.option("--summary", required=True, metavar="TEXT", help="What was delivered.")
@click.option("--deliverable", "deliverables", multiple=True, metavar="ITEM", help="A deliverable (repeatable).")
@click.option("--tests", default=None, metavar="passed=N,failed=N", help="Test outcome (also skipped=N,coverage=P).")
@click.option("--branch", default=None, metavar="NAME", help="The task branch.")
@click.option("--ready-for-merge", is_flag=True, help="Claim it is ready to merge (refused with failed tests).")
@click.option("--notes", default=None, metavar="TEXT")
@click.option("--force", is_flag=True, help="Post --ready-for-merge even with failed tests.")
@json_option
@pass_app
def msg_complete(app: App, task: str, summary: str, deliverables: tuple[str, ...], tests: str | None,
                 branch: str | None, ready_for_merge: bool, notes: str | None, force: bool) -> None:
    """Announce that TASK is complete (a task_complete; its dependents see it in their inbox)."""
    from gitcoord import messages

    _post(app, messages.complete_message(task, summary=summary, deliverables=deliverables, tests=tests,
                                         branch=branch, ready_for_merge=True if ready_for_merge else None,
                                         notes=notes), force=force)


@msg.command("assign")
@click.argument("task")
@click.option("--to", "to", required=True, metavar="AGENT", help="Who gets the task.")
@click.option("--branch", default=None, metavar="NAME")
@click.option("--priority", default=None, metavar="TEXT", help="e.g. parallel_batch_1.")
@click.option("--start-immediately", is_flag=True)
@json_option
@pass_app
def msg_assign(app: App, task: str, to: str, branch: str | None, priority: str | None,
               start_immediately: bool) -> None:
    """Assign an unstarted TASK to an agent (a task_assignment; lands in their inbox)."""
    from gitcoord import messages

    _post(app, messages.assignment_message(task, to=to, branch=branch, priority=priority,
                                           start_immediately=True if start_immediately else None))


@click.group(invoke_without_command=True)
@click.option("--agent", "for_agent", default=None, metavar="A", help="Whose inbox (default: you).")
@click.option("--since", default=None, metavar="TIME", help="ISO 8601 time, or a duration back from now (2h).")
@click.option("--all", "show_all", is_flag=True, help="Include items already acknowledged.")
@json_option
@pass_app
@click.pass_context
def inbox(ctx: click.Context, app: App, for_agent: str | None, since: str | None, show_all: bool) -> None:
    """What concerns an agent: requests and assignments to it, blockers naming it,
    news from tasks it depends on, agents queued behind its locks, merge results of its tasks,
    silent tasks past the heartbeat. Moot items drop out; `inbox ack ID…|--all` marks items read.

    \b
    Examples:
      gitcoord inbox                    # unread items, each with its id
      gitcoord inbox ack 3f2a9c1b7d0e   # mark one read
      gitcoord inbox ack --all
    """
    if ctx.invoked_subcommand is not None:
        return
    from gitcoord import messages
    from gitcoord.inbox import counts, inbox as collect

    agent = for_agent or app.agent
    entries = collect(app.snapshot(), agent, since=messages.parse_since(since),
                      command=app.gitcoord_cmd if agent == app.agent else "gitcoord")
    tally = counts(entries)
    shown = entries if show_all else [e for e in entries if not e["read"]]

    def human() -> str:
        if not shown:
            return f"inbox of {agent}: nothing unread" + (f" ({tally['read']} read; --all shows them)"
                                                          if tally["read"] else "")
        lines = [f"{e['id']:<14} {e['reason']:<15} {'' if not e['read'] else '(read) '}{messages.format_event(e)}"
                 for e in shown]
        return "\n".join(lines + [f"{tally['unread']} unread, {tally['read']} read"
                                   + (f" — `{app.gitcoord_cmd} inbox ack --all` marks them read"
                                      if tally["unread"] and agent == app.agent else "")])

    app.emit({"agent": agent, **tally, "messages": shown}, human)


@inbox.command("ack")
@click.argument("ids", nargs=-1, metavar="ID…")
@click.option("--all", "all_items", is_flag=True, help="Every item now in your inbox.")
@json_option
@pass_app
def inbox_ack(app: App, ids: tuple[str, ...], all_items: bool) -> None:
    """Mark inbox items read (your own inbox)."""
    from gitcoord.inbox import ack

    result = ack(app.store, app.snapshot(), app.agent, list(ids), all_items=all_items)
    app.emit(result, lambda: f"{len(result['acked'])} item(s) marked read; {result['unread']} unread")


@click.command()
@click.option("--type", "type_", default=None, metavar="T",
              help="Event type: msg.status, a family (msg), a glob, or a guide type (status_update).")
@click.option("--task", default=None, metavar="ID", help="Only events about this task.")
@click.option("--since", default=None, metavar="TIME", help="ISO 8601 time, or a duration back from now (2h).")
@click.option("--follow", "-f", is_flag=True, help="Keep polling and print new events until Ctrl-C.")
@click.option("--interval", default=2.0, show_default=True, type=float, help="Seconds between polls (--follow).")
@click.option("--polls", default=None, type=int, hidden=True, help="Stop --follow after N polls (tests).")
@json_option
@pass_app
def log(app: App, type_: str | None, task: str | None, since: str | None, follow: bool, interval: float,
        polls: int | None) -> None:
    """The event log, oldest first: messages, task lifecycle, locks, contracts, merges."""
    import json

    from gitcoord import messages

    since_iso = messages.parse_since(since)
    events = messages.list_events(app.snapshot(), type=type_, task=task, since=since_iso)
    if not follow:
        app.emit({"events": events}, lambda: "\n".join(messages.format_event(e) for e in events) or "no events")
        return
    # follow mode: one line per event (JSON Lines with --json), forever or for --polls rounds
    seen = {e["path"] for e in events}

    def show(batch: list[dict[str, Any]]) -> None:
        for event in batch:
            click.echo(json.dumps(event, default=str) if app.as_json else messages.format_event(event))

    show(events)
    rounds = 0
    while polls is None or rounds < polls:
        time.sleep(max(interval, 0.05))
        rounds += 1
        fresh = [e for e in messages.list_events(app.snapshot(), type=type_, task=task, since=since_iso)
                 if e["path"] not in seen]
        seen.update(e["path"] for e in fresh)
        show(fresh)
