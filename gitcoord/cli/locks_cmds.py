"""Lock commands: acquire, release, renew, break, list."""

from __future__ import annotations

from typing import Any

import click

from gitcoord.cli.app import App, json_option, pass_app

TYPE_CHOICE = click.Choice(["exclusive", "shared", "intent", "none"])


@click.group()
def lock() -> None:
    """Resource locks: a path, a directory (dir/) or a pattern, with a type and a TTL.

    \b
    Types: exclusive (only you modify), shared (holders read, nobody modifies),
           intent (blocks nobody; others are warned), none (an ownership note).
    \b
    Examples:
      gitcoord lock acquire src/db/ --task T3 --reason "schema migration"
      gitcoord lock acquire 'migrations/*.sql' --wait 30m
      gitcoord lock acquire docs/api.md --type intent
      gitcoord lock list
      gitcoord lock release src/db/
      gitcoord lock break src-db-1a2b3c4d --reason "holder is gone"
    """


@lock.command("acquire")
@click.argument("resource")
@click.option("--type", "lock_type", type=TYPE_CHOICE, default="exclusive", show_default=True,
              help="Lock type.")
@click.option("--reason", default=None, help="Why you need it (shown to others).")
@click.option("--ttl", default=None, metavar="D", help="How long it lasts (90m, 6h…; default policies.lock_ttl).")
@click.option("--task", default=None, metavar="ID", help="The task this lock serves (released when it merges).")
@click.option("--wait", default=None, metavar="D",
              help="If denied, queue (first come, first served) and wait up to D for it.")
@json_option
@pass_app
def acquire_cmd(app: App, resource: str, lock_type: str, reason: str | None, ttl: str | None, task: str | None,
                wait: str | None) -> None:
    """Take a lock on RESOURCE. Exit 0 granted (prints the lock id), 1 denied (says who holds it)."""
    from gitcoord import locks

    locks.normalize_resource(resource)  # a bad resource is refused before anything is announced
    if wait:
        app.info(f"waiting up to {wait} for {lock_type} lock on {resource} …")
    granted = locks.acquire(app.store, resource, type=lock_type, ttl=ttl, task=task, reason=reason, wait=wait)
    intents = locks.intents_overlapping(app.store.snapshot(), app.agent, granted["resource"])
    for other in intents:
        holders = ", ".join(h["agent"] for h in other.get("holders") or [])
        app.info(f"warning: {holders} intend(s) to change '{other['resource']}' (lock {other['id']}"
                 f"{': ' + other['reason'] if other.get('reason') else ''})")
    app.emit({"id": granted["id"], "lock": granted, "intents": intents}, granted["id"])


@lock.command("release")
@click.argument("resource_or_id")
@json_option
@pass_app
def release_cmd(app: App, resource_or_id: str) -> None:
    """Release your lock, named by id or by its resource."""
    from gitcoord import locks

    released = locks.release(app.store, resource_or_id)
    app.emit({"released": released["id"], "lock": released},
             f"released {released['type']} lock {released['id']} on {locks.display_resource(released['resource'])}")


@lock.command("renew")
@click.argument("lock_id")
@click.option("--ttl", default=None, metavar="D", help="New lifetime from now (default policies.lock_ttl).")
@json_option
@pass_app
def renew_cmd(app: App, lock_id: str, ttl: str | None) -> None:
    """Extend your hold on LOCK_ID."""
    from gitcoord import locks

    renewed = locks.renew(app.store, lock_id, ttl=ttl)
    mine = next((h for h in renewed["holders"] if h["agent"] == app.agent), {})
    app.emit({"id": renewed["id"], "lock": renewed, "expires_at": mine.get("expires_at")},
             f"renewed {renewed['id']} until {mine.get('expires_at')}")


@lock.command("break")
@click.argument("lock_id")
@click.option("--reason", required=True, help="Why the lock is forced open (recorded as an event).")
@json_option
@pass_app
def break_cmd(app: App, lock_id: str, reason: str) -> None:
    """Force LOCK_ID open (anyone may; recorded as a lock.broken event naming the holder)."""
    from gitcoord import locks

    broken = locks.break_lock(app.store, lock_id, reason)
    previous = [h["agent"] for h in broken.get("holders") or []]
    app.emit({"broken": broken["id"], "lock": broken, "previous_holders": previous},
             f"broke {broken['type']} lock {broken['id']} on {locks.display_resource(broken['resource'])} "
             f"(held by {', '.join(previous) or 'nobody'})")


@lock.command("grant")
@click.argument("lock_id")
@click.option("--ttl", default=None, metavar="D", help="How long the granted lock lasts (default policies.lock_ttl).")
@click.option("--reason", default=None, help="A note for the requester.")
@json_option
@pass_app
def grant_cmd(app: App, lock_id: str, ttl: str | None, reason: str | None) -> None:
    """Grant a request for a lock on paths your task owns (see `gitcoord inbox`)."""
    from gitcoord import locks

    lock = locks.answer_request(app.store, lock_id, grant=True, ttl=ttl, reason=reason)
    holder = lock["holders"][0]
    app.emit({"granted": lock_id, "lock": lock},
             f"granted {lock['type']} lock {lock_id} on {locks.display_resource(lock['resource'])} to "
             f"{holder['agent']} until {holder.get('expires_at')}")


@lock.command("deny")
@click.argument("lock_id")
@click.option("--reason", default=None, help="Why (told to the requester).")
@json_option
@pass_app
def deny_cmd(app: App, lock_id: str, reason: str | None) -> None:
    """Deny a request for a lock on paths your task owns."""
    from gitcoord import locks

    lock = locks.answer_request(app.store, lock_id, grant=False, reason=reason)
    app.emit({"denied": lock_id, "lock": lock}, f"denied lock request {lock_id}")


@lock.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include expired locks not cleaned up yet.")
@json_option
@pass_app
def list_cmd(app: App, show_all: bool) -> None:
    """Locks on the coordination branch: held ones, and free ones somebody waits for."""
    from gitcoord import locks, timeutil

    now = timeutil.now()
    rows = []
    for item in locks.all_locks(app.snapshot()):
        state = locks.lock_state(item, now)
        if state == "expired" and not show_all:
            continue
        rows.append({**item, "state": state})
    app.emit({"locks": rows}, lambda: _render(rows))


def _render(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no locks"
    lines = [f"{'ID':<28} {'TYPE':<9} {'STATE':<8} {'HOLDERS':<24} {'UNTIL':<25} RESOURCE"]
    for row in rows:
        holders = ",".join(h["agent"] for h in row.get("holders") or []) or "-"
        waiting = len(row.get("queue") or [])
        from gitcoord.locks import display_resource

        requests = [e for e in row.get("queue") or [] if e.get("needs")]
        note = (f"  (request by {requests[0]['agent']}, for {requests[0]['needs']['agent']} to grant)" if requests
                else f"  ({waiting} waiting)" if waiting else "")
        resource = display_resource(row["resource"]) + note
        lines.append(f"{row['id']:<28} {row['type']:<9} {row['state']:<8} {holders[:24]:<24} "
                     f"{str(row.get('expires_at') or '-'):<25} {resource}")
    return "\n".join(lines)
