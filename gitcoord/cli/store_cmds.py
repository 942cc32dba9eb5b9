"""Store commands: init, sync, state, config, history."""

from __future__ import annotations

from collections import Counter
from typing import Any

import click

from gitcoord.cli.app import App, json_option, pass_app


@click.command()
@click.option("--base", default=None, help="Integration branch tasks merge into (default: main).")
@click.option("--branch", default=None, help="Name of the coordination branch (default: gitcoord).")
@click.option("--remote", "init_remote", default=None,
              help="Remote that holds the shared coordination branch; saved as git config gitcoord.remote.")
@json_option
@pass_app
def init(app: App, base: str | None, branch: str | None, init_remote: str | None) -> None:
    """Create the coordination branch (an orphan branch holding gitcoord.yaml). Idempotent.

    \b
    Examples:
      gitcoord init
      gitcoord init --base develop --remote origin
    """
    from gitcoord import gitutil
    from gitcoord.init import init_store

    repo = app.repo
    if branch:
        gitutil.check_ref_name(gitutil.branch_ref(branch), what="--branch")
        repo.config["gitcoord.branch"] = branch
    if init_remote:
        if not gitutil.remote_exists(repo, init_remote):
            from gitcoord.errors import UsageError

            raise UsageError(f"--remote {init_remote}: no such remote in this repository (see `git remote -v`)")
        repo.config["gitcoord.remote"] = init_remote
        app._remote = init_remote
        app.__dict__.pop("remote", None)
    elif app.shared_remote is None and app._remote is None and not app.offline \
            and gitutil.git_config_get(repo, "gitcoord.remote") is None:
        # Never create an orphan beside a shared branch a remote already holds: ask the remotes.
        from gitcoord.joining import adopt_remote

        adopted = adopt_remote(repo, probe=True)
        if adopted:
            app.info(f"gitcoord: remote '{adopted}' holds the coordination branch: joining it "
                     f"(saved as `git config gitcoord.remote {adopted}`)")
            for name in ("shared_remote", "remote", "store"):
                app.__dict__.pop(name, None)
    result = init_store(app.store, base=base)
    app.emit(result, lambda: (
        f"{'created' if result['created'] else 'already initialised'}: coordination branch "
        f"{result['branch']} at {result['commit'][:10]}"
        + (f", shared through remote '{result['remote']}'" if result["remote"] else "")
        + "\nnext: `gitcoord task import plan.yaml` or `gitcoord task add ID --title ...`"))


@click.command()
@json_option
@pass_app
def sync(app: App) -> None:
    """Fetch and push the coordination branch against the remote.

    Fast-forwards either way. Work done offline (GITCOORD_OFFLINE=1 or --offline) is replayed
    operation by operation on top of the remote's state; an operation that lost a race meanwhile
    (the task was claimed, the lock taken) is reported on its own and not applied (exit 1).
    """
    from gitcoord.errors import UsageError

    if app.offline:
        raise UsageError("sync needs the network: run it without --offline / GITCOORD_OFFLINE=1")
    if not app.shared_remote:
        raise UsageError("sync needs a remote: pass --remote NAME or `git config gitcoord.remote NAME`")
    result = app.store.sync()

    def human() -> str:
        lines = [f"sync: {result.action} (local {str(result.local)[:10]}, remote {str(result.remote)[:10]})"]
        lines += [f"replayed: {op['subject']}" for op in result.replayed]
        lines += [f"LOST: {op['subject']} — {op['reason']}" for op in result.lost]
        if result.lost:
            lines.append(f"the offline commits are kept at {result.backup}; redo what still makes sense")
        return "\n".join(lines)

    app.emit(result.to_dict(), human)
    return 1 if result.lost else 0


@click.command()
@click.option("--dry-run", is_flag=True, help="Say what is unreadable and what would be restored; write nothing.")
@json_option
@pass_app
def repair(app: App, dry_run: bool) -> None:
    """Roll an unreadable coordination branch forward to its last good state.

    A new audit commit goes on top of the damaged tip (a fast-forward, so any remote accepts
    it): every file that fails to parse or breaks its schema is restored to its last readable
    version, or removed when it never was readable. Nothing readable is lost.
    """
    from gitcoord.repair import repair as run_repair

    result = run_repair(app.store, dry_run=dry_run)

    def human() -> str:
        if not result["needed"]:
            return f"nothing to repair: coordination branch {app.store.branch} is readable"
        lines = [f"unreadable commit {str(result['tip'])[:10]}: {result['commit_problem']}"] \
            if result["commit_problem"] else []
        lines += [f"{f['action']} {f['path']}" + (f" (from {f['from'][:10]})" if f.get("from") else "")
                  + f": {f['problem']}" for f in result["files"]]
        if result.get("commit"):
            lines.append(f"repaired: {app.store.branch} at {result['commit'][:10]}"
                         + (f" (pushed to {app.store.remote})" if app.store.remote else ""))
        else:
            lines.append("dry run: nothing written; run `gitcoord repair` to apply")
        return "\n".join(lines)

    app.emit(result, human)


@click.command()
@json_option
@pass_app
def state(app: App) -> None:
    """The whole state: config, tasks, contracts, locks and counts."""
    if app.as_json:
        import click

        click.echo(state_json(app))
        return
    data = collect_state(app)
    app.emit(data, lambda: render_state(data))


def state_json(app: App) -> str:
    """`state --json` as text. The body is a pure function of the commit, so its encoded text is
    remembered by commit id: a warm call on 10,000 tasks neither loads nor encodes them."""
    from gitcoord.cli.app import dumps_json

    snap = app.snapshot()
    head = {"branch": app.store.branch, "commit": snap.commit, "remote": app.store.remote, "agent": app.agent}
    if snap.commit is None:
        return dumps_json({**head, **_state_of(snap)})
    body = snap.remembered("state-json", (1, snap.commit, snap.event_tips, snap.claims_key), lambda: dumps_json(_state_of(snap)))
    return dumps_json(head)[:-2] + ",\n" + body[2:]  # both are non-empty objects: one object, head first


def collect_state(app: App) -> dict[str, Any]:
    snap = app.snapshot()
    head = {"branch": app.store.branch, "commit": snap.commit, "remote": app.store.remote, "agent": app.agent}
    if snap.commit is None:
        return {**head, **_state_of(snap)}
    return {**head, **snap.remembered("state", (1, snap.commit, snap.event_tips, snap.claims_key), lambda: _state_of(snap))}


def _state_of(snap: Any) -> dict[str, Any]:
    """What `state` shows of one commit of the coordination branch (a pure function of it)."""
    tasks = list(snap.load_dir("tasks", ".yaml").values())
    contracts = list(snap.load_dir("contracts", ".yaml").values())
    locks = list(snap.load_dir("locks", ".json").values())
    events = sum(1 for view in snap.event_views() for _ in view.walk("events"))
    merges = len(snap.files("merges", ".json"))
    return {
        "config": snap.config,
        "tasks": tasks,
        "contracts": contracts,
        "locks": locks,
        "counts": {
            "tasks": len(tasks),
            "tasks_by_status": dict(Counter(t["status"] for t in tasks)),
            "contracts": len(contracts),
            "locks": len(locks),
            "events": events,
            "merges": merges,
        },
    }


def render_state(data: dict[str, Any]) -> str:
    counts = data["counts"]
    lines = [f"coordination branch {data['branch']} at {str(data['commit'])[:10]}"
             + (f" (remote {data['remote']})" if data["remote"] else ""),
             f"agent: {data['agent']}   base: {data['config'].get('base')}",
             f"tasks: {counts['tasks']}  " + "  ".join(f"{k}={v}" for k, v in sorted(counts['tasks_by_status'].items())),
             f"contracts: {counts['contracts']}   locks: {counts['locks']}   events: {counts['events']}"
             f"   merge runs: {counts['merges']}"]
    if data["tasks"]:
        lines.append("")
        lines.append(f"{'TASK':<16} {'STATUS':<15} {'AGENT':<18} TITLE")
        for t in data["tasks"]:
            lines.append(f"{t['id']:<16} {t['status']:<15} {str(t.get('agent') or '-'):<18} {t['title']}")
    return "\n".join(lines)


@click.group()
def config() -> None:
    """Read and write keys of gitcoord.yaml (dotted: policies.unowned).

    \b
    Examples:
      gitcoord config get base
      gitcoord config set policies.unowned deny
      gitcoord config set agents '[{name: alice, roles: [backend]}]'
    """


@config.command("get")
@click.argument("key")
@json_option
@pass_app
def config_get(app: App, key: str) -> None:
    """Print the value of KEY (defaults included)."""
    from gitcoord import config as cfg

    value = cfg.get(app.snapshot(), key)
    app.emit({"key": key, "value": value}, lambda: _scalar(value))


@config.command("set")
@click.argument("key")
@click.argument("value")
@json_option
@pass_app
def config_set(app: App, key: str, value: str) -> None:
    """Set KEY to VALUE (parsed as YAML: numbers, booleans, lists)."""
    from gitcoord import config as cfg

    parsed = cfg.parse_value(value)
    cfg.set_value(app.store, key, parsed)
    shown = _scalar(parsed)
    app.emit({"key": key, "value": parsed}, lambda: f"{key} =" + (f"\n{shown}" if "\n" in shown else f" {shown}"))


@config.command("add-agent")
@click.argument("name")
@click.option("--role", "roles", multiple=True, metavar="ROLE", help="A role of the agent (repeatable).")
@json_option
@pass_app
def config_add_agent(app: App, name: str, roles: tuple[str, ...]) -> None:
    """Declare agent NAME in gitcoord.yaml (adding roles to it if it is declared already).

    \b
    Examples:
      gitcoord config add-agent ann --role backend
    """
    from gitcoord import config as cfg

    entry = cfg.add_agent(app.store, name, list(roles))
    app.emit(entry, lambda: f"agent {entry['name']} declared" + (f" (roles: {', '.join(entry['roles'])})"
                                                                  if entry.get("roles") else ""))


def _scalar(value: Any) -> str:
    if isinstance(value, (dict, list)):
        import yaml

        return yaml.safe_dump(value, sort_keys=False).rstrip()
    return "" if value is None else str(value)


@click.command()
@click.option("-n", "--limit", type=int, default=20, show_default=True, help="How many transactions.")
@json_option
@pass_app
def history(app: App, limit: int) -> None:
    """The coordination history: one line per transaction (operation, agent, task)."""
    entries = app.store.log(limit=limit)
    app.emit({"history": entries}, lambda: "\n".join(
        f"{e['commit'][:10]} {e['time']} {e.get('agent', '-'):<16} {e['subject']}" for e in entries))
