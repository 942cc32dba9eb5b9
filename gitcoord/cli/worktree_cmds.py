"""Worktree commands: worktree list/remove/prune (a linked worktree per task)."""

from __future__ import annotations

import click

from gitcoord.cli.app import App, json_option, pass_app


@click.group()
def worktree() -> None:
    """Linked worktrees of tasks (`gitcoord task start ID --worktree` creates one).

    \b
    Examples:
      gitcoord task start API --worktree     # .gitcoord/worktrees/API, acting as you
      gitcoord worktree list
      gitcoord worktree prune                # drop those of merged/cancelled tasks
    """


@worktree.command("list")
@json_option
@pass_app
def worktree_list(app: App) -> None:
    """Every linked worktree with its task, status, agent and whether it holds uncommitted work."""
    from gitcoord import tasks, worktrees

    items = [w.to_dict() for w in worktrees.inventory(app.repo, tasks.load_tasks(app.snapshot(fetch=False)))]

    def human() -> str:
        if not items:
            return "no task worktrees"
        return "\n".join(f"{w['task'] or '-':<14} {w['status'] or '-':<15} {w['agent'] or '-':<16} "
                         f"{'dirty' if w['dirty'] else ('gone' if w['prunable'] else 'clean'):<6} {w['path']}"
                         for w in items)
    app.emit({"worktrees": items}, human)


@worktree.command("remove")
@click.argument("which", metavar="TASK_OR_PATH")
@json_option
@pass_app
def worktree_remove(app: App, which: str) -> None:
    """Remove a task's worktree (its branch stays). One with uncommitted or untracked work is kept: exit 1."""
    from gitcoord import tasks, worktrees

    wt = worktrees.find(app.repo, tasks.load_tasks(app.snapshot(fetch=False)), which)
    worktrees.remove(app.repo, wt)
    app.emit({"removed": wt.to_dict()}, lambda: f"removed worktree {wt.path}")


@worktree.command("prune")
@json_option
@pass_app
def worktree_prune(app: App) -> None:
    """Remove the worktrees of merged and cancelled tasks (dirty ones are kept and listed)."""
    from gitcoord import tasks, worktrees

    done = worktrees.prune(app.repo, tasks.load_tasks(app.snapshot(fetch=False)))
    app.emit(done, lambda: "\n".join([f"removed {w['path']} ({w['task']}, {w['status']})" for w in done["removed"]]
                                     + [f"kept {w['path']} ({w['task']}): {w['reason']}" for w in done["kept"]])
             or "nothing to prune")
