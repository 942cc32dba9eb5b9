"""Branch commands: branch create/check/list."""

from __future__ import annotations

import os
from typing import Any

import click

from gitcoord.cli.app import App, json_option, pass_app


@click.group()
def branch() -> None:
    """Task branches named from the template in gitcoord.yaml.

    \b
    Default template: feature/{feature}/agent/{role}/{task} (task id lower-cased).
    Examples:
      gitcoord branch create API            # feature/cart/agent/backend/api
      gitcoord branch check                 # does the current branch follow the rule?
      gitcoord branch list
    """


@branch.command("create")
@click.argument("task_id", metavar="TASK")
@click.option("--from", "from_rev", metavar="REV", help="Start point (default: the base branch).")
@json_option
@pass_app
def branch_create(app: App, task_id: str, from_rev: str | None) -> None:
    """Create TASK's branch and record it on the task (the work tree is not touched)."""
    from gitcoord import branches, tasks
    from gitcoord.store import Txn

    def op(txn: Txn) -> str:
        t = tasks.get_task(txn, task_id)
        if t.get("branch"):
            return t["branch"]
        name = tasks.branch_name_for(txn, t)
        t["branch"] = name
        t["updated_at"] = txn.now
        txn.put(tasks.task_path(task_id), t)
        txn.describe("branch.create", f"{task_id}: branch {name}", task=task_id)
        return name

    # The start point is checked first, so a bad --from or a missing base records nothing.
    start = branches.resolve_start_point(app.repo, app.snapshot().config["base"], app.remote, from_rev,
                                         fetch=os.environ.get("GITCOORD_OFFLINE") != "1")
    name = app.store.transact(op).value
    created = branches.ensure_branch(app.repo, name, start.commit)
    data = {"task": task_id, "branch": name, "created": created, "commit": start.commit, "from": start.source,
            "note": start.note}
    app.emit(data, lambda: f"{'created' if created else 'exists'}: {name} (from {start.source} at "
                           f"{start.commit[:10]})" + (f"; {start.note}" if start.note else "") +
                           f"\nnext: `git switch {name}`")


def check_branch_name(snap, name: str) -> dict[str, Any]:
    from gitcoord import branches, tasks

    template = snap.config["branch_template"]
    fields = branches.parse_branch(name, template)
    task = tasks.task_for_branch(snap, name)
    problems = []
    if fields is None and task is None:
        problems.append(f"does not follow the template {template}")
    elif task is None:
        problems.append(f"names task {fields.get('task')!r}, which is not a known task")
    elif task.get("branch") and task["branch"] != name.removeprefix("refs/heads/"):
        problems.append(f"task {task['id']} uses branch {task['branch']}")
    return {"branch": name, "ok": not problems, "task": task["id"] if task else None, "fields": fields,
            "problems": problems, "template": template}


@branch.command("check")
@click.argument("name", required=False)
@json_option
@pass_app
def branch_check(app: App, name: str | None) -> None:
    """Check NAME (default: the current branch) against the template; exit 1 if it does not fit."""
    from gitcoord.identity import current_branch

    name = name or current_branch(app.repo)
    if not name:
        raise click.UsageError("no current branch (detached HEAD): pass NAME")
    result = check_branch_name(app.snapshot(), name)
    fix = (f"`gitcoord branch create {result['task']}` makes the branch with the right name" if result["task"]
           else "`gitcoord branch list` shows the task branches")
    app.emit(result, lambda: f"ok: {name} is task {result['task']}" if result["ok"]
             else f"{name}: " + "; ".join(result["problems"]) + f"\nnext: {fix}")
    if not result["ok"]:
        raise SystemExit(1)


@branch.command("list")
@json_option
@pass_app
def branch_list(app: App) -> None:
    """Task branches with their task status and whether the branch exists here."""
    from gitcoord import tasks

    snap = app.snapshot()
    rows = []
    for t in tasks.load_tasks(snap).values():
        if not t.get("branch"):
            continue
        ref = app.repo.references.get(f"refs/heads/{t['branch']}")
        rows.append({"branch": t["branch"], "task": t["id"], "status": t["status"], "agent": t.get("agent"),
                     "exists": ref is not None, "commit": str(ref.target) if ref is not None else None})
    app.emit({"branches": rows}, lambda: "\n".join(
        [f"{'BRANCH':<48} {'TASK':<12} {'STATUS':<15} HERE"] +
        [f"{r['branch']:<48} {r['task']:<12} {r['status']:<15} {'yes' if r['exists'] else 'no'}" for r in rows])
        if rows else "no task branches yet: `gitcoord next` names a task to start")
