"""`hooks install|uninstall|status` and `hook run NAME ARGS…` (what the installed shims call)."""

from __future__ import annotations

import sys

import click

from gitcoord.cli.app import App, json_option, pass_app


@click.group()
def hooks() -> None:
    """Install gitcoord's git hooks (chaining any hook already there).

    \b
    Examples:
      gitcoord hooks install                      # pre-commit, commit-msg, pre-push
      gitcoord hooks install --hook pre-commit
      gitcoord -C /srv/git/app.git hooks install --server   # pre-receive in a bare repo
      gitcoord hooks uninstall                    # restores the hooks that were there
    """


@hooks.command("install")
@click.option("--hook", "names", multiple=True, metavar="NAME",
              help="Only this hook (repeatable): pre-commit, commit-msg, pre-push, pre-receive.")
@click.option("--server", is_flag=True, help="Install the server hook (pre-receive), for a bare repository.")
@json_option
@pass_app
def install(app: App, names: tuple[str, ...], server: bool) -> None:
    """Write the hook shims into the hooks directory (core.hooksPath and linked worktrees honoured).

    A hook already there is kept as NAME.gitcoord-orig and run first. Idempotent.
    """
    from gitcoord import hooks as hooks_lib

    actions = hooks_lib.install(app.repo, list(names), server=server)
    data = {"hooks": [a.to_dict() for a in actions]}
    app.emit(data, lambda: "\n".join(f"{a.action:<9} {a.hook:<12} {a.path}" for a in actions))


@hooks.command("uninstall")
@click.option("--hook", "names", multiple=True, metavar="NAME", help="Only this hook (repeatable).")
@json_option
@pass_app
def uninstall(app: App, names: tuple[str, ...]) -> None:
    """Remove the shims and restore the hooks they chained."""
    from gitcoord import hooks as hooks_lib

    actions = hooks_lib.uninstall(app.repo, list(names))
    data = {"hooks": [a.to_dict() for a in actions]}
    app.emit(data, lambda: "\n".join(f"{a.action:<9} {a.hook:<12} {a.path}" for a in actions)
             or "no gitcoord hooks installed")


@hooks.command("status")
@json_option
@pass_app
def status(app: App) -> None:
    """Which gitcoord hooks are installed here, and which chain an older hook."""
    from gitcoord import hooks as hooks_lib

    rows = hooks_lib.status(app.repo)
    identity = hooks_lib.identity_status(app.repo)
    app.emit({"hooks": rows, "identity": identity}, lambda: "\n".join(
        [f"{r['hook']:<12} {'installed' if r['installed'] else '-':<10} {'chained' if r['chained'] else ''}"
         for r in rows] + [f"identity     {'verified' if identity['verified'] else 'UNVERIFIED':<10} "
                           f"{identity['note']}"]))


@click.group()
def hook() -> None:
    """Run a hook the way git does (the installed shims call this)."""


@hook.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("name")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@pass_app
def run(app: App, name: str, args: tuple[str, ...]) -> None:
    """Run hook NAME with git's ARGS (stdin is read for pre-push and pre-receive); exit 1 blocks."""
    from gitcoord import hooks as hooks_lib

    def read_stdin() -> str:
        return sys.stdin.read() if name in ("pre-push", "pre-receive") and not sys.stdin.isatty() else ""

    outcome = hooks_lib.run_limited(name, list(args), read_stdin, app.directory)
    for line in outcome.lines:
        click.echo(line, err=True)
    if app.as_json:
        import json

        click.echo(json.dumps({"hook": name, "code": outcome.code, **outcome.data}, default=str))
    if outcome.code:
        raise click.exceptions.Exit(outcome.code)
