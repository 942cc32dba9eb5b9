"""Task commands: task add/import/list/show/edit/start/block/unblock/done/cancel, plan, next, doctor."""

from __future__ import annotations

from typing import Any

import click

from gitcoord.cli.app import App, json_option, pass_app

STATUS_CHOICE = click.Choice(["planned", "ready", "in_progress", "blocked", "ready_to_merge", "merged", "cancelled"])


@click.group()
def task() -> None:
    """Task manifests and their lifecycle.

    \b
    planned → ready → in_progress ⇄ blocked → ready_to_merge → merged (+ cancelled)
    \b
    Examples:
      gitcoord task add API --title "Cart API" --role backend --estimate 6h \\
          --depends-on DESIGN:contract --owns 'src/api/**' --consumes cart-api
      gitcoord task import plan.yaml
      gitcoord task start API          # claim it (creates its branch)
      gitcoord task done API           # ready to merge
    """


def _definition_options(fn):
    options = [
        click.option("--title", help="One-line title."),
        click.option("--description", help="Longer description."),
        click.option("--feature", help="Feature this task belongs to."),
        click.option("--role", help="Role that does it (backend, frontend...)."),
        click.option("--agent", "assignee", help="Agent assigned to it."),
        click.option("--estimate", help="Duration: 90m, 6h, 1.5h or hours."),
        click.option("--priority", type=int, help="Higher runs first."),
        click.option("--depends-on", "depends_on", multiple=True, metavar="ID[:hard|contract|info]",
                     help="A dependency (repeatable)."),
        click.option("--owns", multiple=True, metavar="GLOB", help="Owned path pattern, CODEOWNERS style (repeatable)."),
        click.option("--provides", multiple=True, metavar="CONTRACT", help="Contract this task provides (repeatable)."),
        click.option("--consumes", multiple=True, metavar="CONTRACT", help="Contract this task consumes (repeatable)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _spec_from_flags(**flags: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for key in ("title", "description", "feature", "role", "estimate", "priority"):
        if flags.get(key) is not None:
            spec[key] = flags[key]
    if flags.get("assignee") is not None:
        spec["agent"] = flags["assignee"]
    for key in ("depends_on", "owns", "provides", "consumes"):
        if flags.get(key):
            spec[key] = list(flags[key])
    return spec


def _task_line(t: dict[str, Any]) -> str:
    return (f"{t['id']:<14} {t['status']:<15} {str(t.get('agent') or '-'):<16} {str(t.get('role') or '-'):<11} "
            f"{_est(t.get('estimate')):>6}  {t['title']}")


def _est(value: Any) -> str:
    return "-" if value is None else f"{value:g}h"


def _task_table(tasks: list[dict[str, Any]]) -> str:
    if not tasks:
        return "no tasks"
    head = f"{'TASK':<14} {'STATUS':<15} {'AGENT':<16} {'ROLE':<11} {'EST':>6}  TITLE"
    return "\n".join([head] + [_task_line(t) for t in tasks])


@task.command("add")
@click.argument("task_id", metavar="ID")
@_definition_options
@json_option
@pass_app
def task_add(app: App, task_id: str, **flags: Any) -> None:
    """Add a task (status planned, or ready when nothing blocks it)."""
    from gitcoord import tasks

    if not flags.get("title"):
        raise click.UsageError("--title is required")
    created = tasks.add_task(app.store, {"id": task_id, **_spec_from_flags(**flags)})
    app.emit(created, lambda: f"added {created['id']} ({created['status']}): {created['title']}")


@task.command("import")
@click.argument("plan_file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--update", is_flag=True, help="Redefine tasks that already exist (their status is kept).")
@json_option
@pass_app
def task_import(app: App, plan_file: str, update: bool) -> None:
    """Import a plan: `feature: F` and `tasks: [{id, title, role, agent, estimate, depends_on, owns, ...}]`.

    All or nothing: an unknown dependency, a cycle or a bad field writes nothing.
    """
    from gitcoord import tasks

    doc = tasks.load_plan_file(plan_file)
    result = tasks.import_plan(app.store, doc, source=plan_file, update=update)
    app.emit(result, lambda: f"imported {len(result['added'])} task(s), updated {len(result['updated'])}"
                             + (f" for feature {result['feature']}" if result["feature"] else "")
                             + "\nnext: `gitcoord plan` to see the schedule, `gitcoord doctor` to check it")


@task.command("list")
@click.option("--feature", help="Only this feature.")
@click.option("--status", type=STATUS_CHOICE, help="Only this status.")
@click.option("--ready", is_flag=True, help="Only tasks whose dependencies are met.")
@click.option("--agent", "assignee", help="Only tasks of this agent.")
@json_option
@pass_app
def task_list(app: App, feature: str | None, status: str | None, ready: bool, assignee: str | None) -> None:
    """List tasks (JSON: a list of task objects)."""
    from gitcoord import tasks

    snap = app.snapshot()
    all_tasks = tasks.load_tasks(snap)
    ids = set(tasks.ready_ids(snap, all_tasks)) if ready else None
    shown = [t for t in tasks.filter_tasks(all_tasks.values(), feature=feature, status=status, ids=ids)
             if assignee is None or t.get("agent") == assignee]
    app.emit(shown, lambda: _task_table(shown))


@task.command("show")
@click.argument("task_id", metavar="ID")
@json_option
@pass_app
def task_show(app: App, task_id: str) -> None:
    """One task, with what it waits for and what waits for it."""
    from gitcoord import tasks

    snap = app.snapshot()
    all_tasks = tasks.load_tasks(snap)
    t = tasks.get_task(snap, task_id)
    data = {**t, "waiting_for": tasks.unmet_dependencies(snap, t, all_tasks),
            "dependents": tasks.dependents_of(all_tasks, task_id)}

    def human() -> str:
        lines = [f"{t['id']}: {t['title']}", f"  status:   {t['status']}" +
                 (f" ({t['blocked_reason']})" if t.get("blocked_reason") else "")]
        for key in ("feature", "role", "agent", "branch"):
            if t.get(key):
                lines.append(f"  {key + ':':<9} {t[key]}")
        lines.append(f"  estimate: {_est(t.get('estimate'))}   priority: {t.get('priority', 0)}")
        if t.get("depends_on"):
            lines.append("  depends on: " + ", ".join(f"{d['task']} ({d['kind']})" for d in t["depends_on"]))
        if data["waiting_for"]:
            lines.append("  waiting for: " + "; ".join(data["waiting_for"]))
        if data["dependents"]:
            lines.append("  needed by: " + ", ".join(data["dependents"]))
        for key in ("owns", "provides", "consumes"):
            if t.get(key):
                lines.append(f"  {key}: " + ", ".join(t[key]))
        return "\n".join(lines)
    app.emit(data, human)


@task.command("edit")
@click.argument("task_id", metavar="ID")
@_definition_options
@click.option("--add-owns", "add_owns", multiple=True, metavar="GLOB", help="Add an owned pattern, keeping the others.")
@click.option("--remove-owns", "remove_owns", multiple=True, metavar="GLOB", help="Remove one owned pattern.")
@json_option
@pass_app
def task_edit(app: App, task_id: str, add_owns: tuple[str, ...], remove_owns: tuple[str, ...], **flags: Any) -> None:
    """Change a task's definition. List options replace the whole list (--add-owns/--remove-owns change
    one entry); pass '' to clear a field."""
    from gitcoord import tasks

    changes = _spec_from_flags(**flags)
    if add_owns:
        changes["add_owns"] = list(add_owns)
    if remove_owns:
        changes["remove_owns"] = list(remove_owns)
    for key in ("depends_on", "owns", "provides", "consumes"):
        if key in changes and changes[key] == [""]:
            changes[key] = []
    if not changes:
        raise click.UsageError("nothing to change: pass at least one option (see --help)")
    updated = tasks.edit_task(app.store, task_id, changes)
    app.emit(updated, lambda: f"updated {task_id}")


def _lifecycle(name: str, target: str, help_text: str, *, reason: bool = False, force: bool = True):
    @click.argument("task_id", metavar="ID")
    @json_option
    @pass_app
    def command(app: App, task_id: str, reason_text: str | None = None, force_flag: bool = False,
                from_rev: str | None = None, push: bool = False, allow_empty: bool = False,
                worktree: str | None = None, keep: bool = False) -> None:
        from gitcoord import branches, tasks

        start = None
        if name == "start":  # resolved before the claim: a bad --from or a missing base changes nothing
            snap = app.snapshot()
            recorded = (snap.load(tasks.task_path(task_id)) or {}).get("branch")
            if not recorded or app.repo.references.get(f"refs/heads/{recorded}") is None:
                start = branches.resolve_start_point(app.repo, snap.config["base"], app.remote, from_rev,
                                                     fetch=not app.offline, task_branch=recorded)
        work = _check_done(app, task_id, push, allow_empty, force_flag) if target == "ready_to_merge" else None
        result = tasks.transition(app.store, task_id, target, reason=reason_text, force=force_flag)
        extra = ""
        if target == "in_progress" and result.get("branch"):
            extra, result["branch_start"] = _ensure_task_branch(app, result["branch"], start,
                                                                switch_hint=worktree is None)
        if name == "start" and worktree is not None and result.get("branch"):
            extra += _start_worktree(app, task_id, result, worktree)
        elif name == "start":
            extra += _remember_identity(app)
        if name == "cancel" and not keep:
            extra += _prune_worktree(app, task_id)
        if work is not None:
            result["work"] = work.to_dict()
            if work.pushed_now:
                extra += f"\npushed {work.branch} to {app.remote}"
        released = result.pop("_released_locks", [])
        unchanged = result.pop("_unchanged", False)
        app.emit(result, lambda: (f"{task_id} is already yours ({result['status']})" if unchanged
                                  else f"{task_id}: {result['status']}") + extra
                 + (f"\nreleased locks: {', '.join(released)}" if released else "")
                 + _next_hint(target, task_id))
    command.__doc__ = help_text
    if reason:
        command = click.option("--reason", "reason_text", required=(target == "blocked"),
                               help="Why (shown to other agents).")(command)
    if force:
        command = click.option("--force", "force_flag", is_flag=True,
                               help="Override assignment/readiness checks (recorded in the history).")(command)
    if target == "in_progress" and name == "start":
        command = click.option("--from", "from_rev", metavar="REV",
                               help="Start the task branch from REV (default: the base branch; in remote mode "
                                    "its tip on the remote).")(command)
    if target == "in_progress" and name == "start":
        command = click.option("--worktree", "worktree", is_flag=False, flag_value="", default=None, metavar="[PATH]",
                               help="Check the task branch out in a linked worktree of its own (default "
                                    ".gitcoord/worktrees/<task>), acting as this agent, and run worktree.setup "
                                    "there.")(command)
    if target == "cancelled":
        command = click.option("--keep", is_flag=True, help="Keep the task's worktree.")(command)
    if target == "ready_to_merge":
        command = click.option("--push", is_flag=True,
                               help="Push the task branch to the remote first (git push -u REMOTE BRANCH).")(command)
        command = click.option("--allow-empty", is_flag=True,
                               help="Accept a branch with no commits of its own.")(command)
    return task.command(name)(command)


def _remember_identity(app: App) -> str:
    """`task start` records who claimed, so the next commands in this checkout act as the same agent."""
    from gitcoord.identity import remember

    where = remember(app.repo, app.agent)
    return "" if where == "unchanged" else f"\nthis checkout now acts as {app.agent} ({where})"


def _start_worktree(app: App, task_id: str, result: dict[str, Any], path: str) -> str:
    """`task start --worktree`: the task's own checkout; the setup commands' outcome decides the exit code."""
    from gitcoord import worktrees

    setup = ((app.snapshot(fetch=False).config.get("worktree") or {}).get("setup")) or []
    env = {"GITCOORD_TASK": task_id, "GITCOORD_AGENT": app.agent, "GITCOORD_FEATURE": result.get("feature") or ""}
    made = worktrees.create(app.repo, task_id, result["branch"], app.agent, path=path or None, setup=setup, env=env)
    result["worktree"] = made.to_dict()
    line = (f"\nworktree {made.path} ({'created' if made.created else 'exists'}), acting as {app.agent}: "
            f"`cd {worktrees._quote(made.path)}`")
    if made.setup_log:
        line += f"\nsetup: {len(made.setup)} command(s), output in {made.setup_log}"
    if not made.setup_ok:
        failed = made.setup[-1]
        app.emit(result, lambda: f"{task_id}: {result['status']}{line}\nsetup command failed (exit "
                                 f"{failed['exit_code']}): {failed['command']}")
        raise SystemExit(1)
    return line


def _prune_worktree(app: App, task_id: str) -> str:
    """A cancelled task's worktree goes (unless dirty: then it is kept and said so)."""
    from gitcoord import tasks, worktrees

    done = worktrees.prune(app.repo, tasks.load_tasks(app.snapshot(fetch=False)), only={task_id})
    return "".join([f"\nremoved worktree {w['path']}" for w in done["removed"]]
                   + [f"\nkept worktree {w['path']}: {w['reason']}" for w in done["kept"]])


def _check_done(app: App, task_id: str, push: bool, allow_empty: bool, force: bool):
    """The branch holds work of its own and (remote mode) is on the remote, before a task is done.

    Only when the lifecycle would let this agent finish it: anyone else gets the lifecycle's own error."""
    from gitcoord import branches, tasks

    snap = app.snapshot()
    current = tasks.get_task(snap, task_id)
    if current["status"] not in ("in_progress", "ready_to_merge") or \
            (current.get("agent") not in (None, app.agent) and not force):
        return None
    return branches.check_done(app.repo, task_id, current.get("branch"), snap.config["base"], app.remote,
                               fetch=not app.offline, push=push, allow_empty=allow_empty)


def _ensure_task_branch(app: App, name: str, start=None, *, switch_hint: bool = True) -> tuple[str, dict[str, Any]]:
    """Create the task branch (never touching the work tree): the line to print and what happened.
    (With a worktree of its own the branch is checked out there: no `git switch` hint.)"""
    from gitcoord import branches

    hint = f": `git switch {name}`" if switch_hint else ""
    if app.repo.references.get(f"refs/heads/{name}") is not None:
        return f"\nbranch {name} exists{hint}", {"created": False}
    start = start or branches.resolve_start_point(app.repo, app.snapshot(fetch=False).config["base"], app.remote,
                                                  fetch=not app.offline, task_branch=name)
    created = branches.ensure_branch(app.repo, name, start.commit)
    note = f" ({start.note})" if start.note else ""
    info = {"created": created, "commit": start.commit, "from": start.source, "note": start.note}
    return (f"\nbranch {name} {'created' if created else 'exists'} from {start.source} at {start.commit[:10]}{note}"
            f"{hint}", info)


def _next_hint(target: str, task_id: str) -> str:
    return {
        "in_progress": f"\nnext: work on the branch; `gitcoord msg status {task_id} --progress N` to report",
        "ready_to_merge": "\nnext: `gitcoord merge plan` shows when it lands",
        "blocked": f"\nnext: `gitcoord msg blocker {task_id} ...` to ask for help; `gitcoord task unblock {task_id}`",
    }.get(target, "")


_lifecycle("start", "in_progress", "Claim a task and start it (creates its branch). Exactly one agent wins a race.")
_lifecycle("block", "blocked", "Mark a task blocked, with a reason.", reason=True)
_lifecycle("unblock", "in_progress", "Resume a blocked task.")
_lifecycle("done", "ready_to_merge", "Finish a task: ready to merge.", reason=True)
_lifecycle("cancel", "cancelled", "Cancel a task (releases its locks).", reason=True)


@click.command()
@click.option("--feature", help="Only this feature.")
@click.option("--agents", type=click.IntRange(min=1), help="Schedule for N agents (declared agents: the first N).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "mermaid", "dot", "gantt-svg"]), default="text",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to a file.")
@json_option
@pass_app
def plan(app: App, feature: str | None, agents: int | None, fmt: str, output: str | None) -> None:
    """Ready set, waves, critical path and a schedule for N agents.

    \b
    Examples:
      gitcoord plan --agents 4
      gitcoord plan --format mermaid > plan.md
      gitcoord plan --format gantt-svg -o plan.svg
    """
    from gitcoord import tasks

    snap = app.snapshot()
    if (app.as_json or fmt == "json") and not output:
        app.emit(tasks.cached_plan(snap, feature=feature, agents=agents))
        return
    from gitcoord import render

    nodes, result = tasks.plan_for(snap, feature=feature, agents=agents)
    if app.as_json or fmt == "json":
        text = None
    elif fmt == "mermaid":
        text = render.mermaid(nodes, result)
    elif fmt == "dot":
        text = render.dot(nodes, result)
    elif fmt == "gantt-svg":
        text = render.gantt_svg(render.plan_bars(result, nodes), title=f"Plan{' — ' + feature if feature else ''}")
    else:
        text = render.plan_text(result)
    if output:
        import json as _json

        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text if text is not None else _json.dumps(result, indent=2))
        app.info(f"wrote {output}")
        if app.as_json:
            app.emit(result)
        return
    if text is None:
        app.emit(result)
    else:
        click.echo(text)


@click.command("next")
@click.option("--role", help="Act as this role.")
@json_option
@pass_app
def next_cmd(app: App, role: str | None) -> None:
    """The best ready task for this agent (work stealing): priority, critical path, id."""
    from gitcoord import tasks
    from gitcoord.store import check_declared

    snap = app.snapshot()
    check_declared(snap.config, app.agent)
    data = tasks.next_for(snap, app.agent, role, command=app.gitcoord_cmd)
    best = data["task"]

    def human() -> str:
        if best:
            t = data["details"]
            return f"next for {app.agent}: {best} — {t['title']}\nclaim it: {data['command']}"
        return f"nothing ready for {app.agent}: {data['reason']}"
    app.emit(data, human)


@click.command()
@json_option
@pass_app
def doctor(app: App) -> None:
    """Find anti-patterns: cycles, dangling dependencies, overlapping ownership ("shared file
    hell"), contract dependencies without contracts, over-parallelization, missing owns or
    estimates. Exit 1 when any error-level finding."""
    from gitcoord import doctor as doc

    findings = doc.diagnose(app.snapshot())
    counts = doc.summary(findings)
    app.emit({"ok": not counts.get("error"), "findings": findings, "counts": counts},
             lambda: "\n".join([f"{f['level'].upper():<8} {f['rule']:<26} {f['message']}" for f in findings]
                               + [f"{counts.get('error', 0)} error(s), {counts.get('warning', 0)} warning(s)"]))
    if counts.get("error"):
        raise SystemExit(1)
