"""`check`: ownership, locks, the unowned policy, branch names and contracts over a change."""

from __future__ import annotations

import click

from gitcoord.cli.app import App, emit_report, json_option, pass_app


@click.command()
@click.option("--staged", "mode", flag_value="staged", help="The staged changes (index vs HEAD); the default.")
@click.option("--range", "range_spec", metavar="A..B", help="What B changes relative to A (the net effect from their merge-base; a crafted merge cannot hide a change).")
@click.option("--base", metavar="REV", help="Everything HEAD (or --head) changed since it forked from REV.")
@click.option("--head", metavar="REV", help="With --base: the tip to compare (default HEAD).")
@click.option("--task", metavar="ID", help="Check against this task (else the branch's task, else yours in progress).")
@click.option("--branch", metavar="NAME", help="The branch the change is for (default: the current branch).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "junit"]), default=None,
              help="Output format (default text; --json means json).")
@json_option
@pass_app
def check(app: App, mode: str | None, range_spec: str | None, base: str | None, head: str | None,
          task: str | None, branch: str | None, fmt: str | None) -> None:
    """Check a change against the plan; exit 1 if any error-level violation.

    \b
    Examples:
      gitcoord check --staged
      gitcoord check --range origin/main..HEAD --format github
      gitcoord check --base main --format junit > gitcoord.xml
    """
    from gitcoord import check as engine
    from gitcoord.errors import UsageError
    from gitcoord.identity import current_branch

    chosen = [m for m in (mode, range_spec and "range", base and "base") if m]
    if len(chosen) > 1:
        raise UsageError("give one of --staged, --range A..B, --base REV")
    if head and not base:
        raise UsageError("--head needs --base REV")
    repo = app.repo
    snap = app.snapshot()
    commit_of: dict[str, str] = {}
    commits = 0
    if range_spec:
        found = engine.range_commits(repo, range_spec)
        start, end = (range_spec.split("..")[0] or "HEAD"), (range_spec.split("..")[-1] or "HEAD")
        tip = str(engine.resolve_commit(repo, end, "--range end").id)
        links: dict[str, str] | None = {}
        commit_of = engine.net_change(repo, tip, str(engine.resolve_commit(repo, start, "--range start").id), found,
                                      links)
        paths, commits, kind = list(commit_of), len(found), "range"
        read = engine.blob_reader(repo, end)
    elif base:
        paths, kind = engine.merge_base_paths(repo, base, head or "HEAD"), "base"
        read = engine.blob_reader(repo, head or "HEAD")
        links = engine.symlinks(repo, str(engine.resolve_commit(repo, head or "HEAD").id), paths)
    else:
        links = {}
        paths, kind = engine.staged_paths(repo, links), "staged"
        read = engine.index_reader(repo)
    if branch is None:
        if head and not head.startswith(("refs/tags/",)) and f"refs/heads/{head}" in repo.references:
            branch = head
        else:
            branch = current_branch(repo)
    result = engine.run_check(snap, paths, agent=app.agent, branch=branch, mode=kind, task=task,
                              commit_of=commit_of, commits=commits, links=links,
                              branch_level=engine.WARNING if kind == "staged" else engine.ERROR,
                              coordination_branch=app.store.branch, read=read)
    emit_report(app, result, fmt, text=engine.render_text, github=engine.render_github, junit=engine.render_junit)
    if not result.ok:
        raise click.exceptions.Exit(1)
