"""Message commands: `msg status|blocker|request|complete`, `inbox`, `log`."""

from __future__ import annotations

import time
from typing import Any

import click

from gitcoord.cli.app import App, json_option, pass_app


def _post(app: App, message: Any) -> None:
    from gitcoord import messages

    messages.validate(message)  # before touching the store: a bad message writes nothing
    event = messages.post(app.store, message)
    app.emit({"event": event}, lambda: f"posted {event['type']} {event['id']}: {event.get('summary', '')}")


@click.group()
def msg() -> None:
    """Post a structured message: status update, blocker, coordination request, completion notice.

    \b
    Examples:
      gitcoord msg status API-1 --progress 40 --done "schema" --current "handlers" --eta 3h
      gitcoord msg blocker UI-2 --description "API spec not approved" --severity high --blocking-agent bob
      gitcoord msg request --to bob --regarding API-1 --request "add a 409 example" --urgency high
      gitcoord msg complete API-1 --summary "cart API done" --deliverable src/api/cart.py --tests passed=42,failed=0
    """


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
    """Report progress on TASK."""
    from gitcoord import messages

    _post(app, messages.status_message(task, progress=progress, done=done, current=current,
                                       next_items=next_items, eta=eta))


@msg.command("blocker")
@click.argument("task")
@click.option("--description", required=True, metavar="TEXT", help="What blocks you.")
@click.option("--severity", required=True, metavar="low|medium|high", help="How badly it blocks.")
@click.option("--blocking-agent", default=None, metavar="AGENT", help="Who can unblock you (gets it in the inbox).")
@click.option("--workaround", default=None, metavar="TEXT", help="What you do meanwhile.")
@json_option
@pass_app
def msg_blocker(app: App, task: str, description: str, severity: str, blocking_agent: str | None,
                workaround: str | None) -> None:
    """Report that something blocks TASK."""
    from gitcoord import messages

    _post(app, messages.blocker_message(task, description=description, severity=severity,
                                        blocking_agent=blocking_agent, workaround=workaround))


@msg.command("request")
@click.option("--to", "to", required=True, metavar="AGENT", help="Who should act.")
@click.option("--regarding", required=True, metavar="TEXT", help="Topic: a task id, contract or path.")
@click.option("--request", "request_text", required=True, metavar="TEXT", help="What you ask for.")
@click.option("--urgency", default="normal", show_default=True, metavar="low|normal|high|critical")
@click.option("--task", "task", default=None, metavar="ID", help="Task this is about (default: --regarding when it "
                                                                 "names a task).")
@json_option
@pass_app
def msg_request(app: App, to: str, regarding: str, request_text: str, urgency: str, task: str | None) -> None:
    """Ask another agent for something (lands in their inbox)."""
    from gitcoord import messages

    if task is None and messages.TASK_ID.match(regarding):
        snap = app.snapshot()
        if snap.has(messages.task_path(regarding)):
            task = regarding
    _post(app, messages.request_message(to=to, regarding=regarding, request=request_text, urgency=urgency,
                                        task=task))


@msg.command("complete")
@click.argument("task")
@click.option("--summary", required=True, metavar="TEXT", help="What was delivered.")
@click.option("--deliverable", "deliverables", multiple=True, metavar="ITEM", help="A deliverable (repeatable).")
@click.option("--tests", default=None, metavar="passed=N,failed=N", help="Test outcome.")
@json_option
@pass_app
def msg_complete(app: App, task: str, summary: str, deliverables: tuple[str, ...], tests: str | None) -> None:
    """Announce that TASK is complete (its dependents see it in their inbox)."""
    from gitcoord import messages

    _post(app, messages.complete_message(task, summary=summary, deliverables=deliverables, tests=tests))


@click.command()
@click.option("--agent", "for_agent", default=None, metavar="A", help="Whose inbox (default: you).")
@click.option("--since", default=None, metavar="TIME", help="ISO 8601 time, or a duration back from now (2h).")
@json_option
@pass_app
def inbox(app: App, for_agent: str | None, since: str | None) -> None:
    """What concerns an agent: requests to it, blockers naming it, news from tasks it depends on,
    agents queued behind its locks, merge results of its tasks."""
    from gitcoord import messages
    from gitcoord.inbox import inbox as collect

    agent = for_agent or app.agent
    entries = collect(app.snapshot(), agent, since=messages.parse_since(since))
    app.emit({"agent": agent, "messages": entries}, lambda: (
        "\n".join(f"{e['reason']:<15} {messages.format_event(e)}" for e in entries)
        if entries else f"inbox of {agent}: nothing"))


@click.command()
@click.option("--type", "type_", default=None, metavar="T", help="Event type: msg.status, a family (msg) or glob.")
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
