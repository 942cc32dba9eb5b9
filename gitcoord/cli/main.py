"""The ``gitcoord`` command: a thin click layer over the library.

Sub-command modules are imported lazily (only the one being run), which keeps
``gitcoord hook run …`` — called on every commit — fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from gitcoord import __version__

# command name → "module:attribute"; each module is one concept's click commands.
COMMANDS: dict[str, str] = {
    "init": "gitcoord.cli.store_cmds:init",
    "sync": "gitcoord.cli.store_cmds:sync",
    "state": "gitcoord.cli.store_cmds:state",
    "config": "gitcoord.cli.store_cmds:config",
    "history": "gitcoord.cli.store_cmds:history",
    "task": "gitcoord.cli.tasks_cmds:task",
    "plan": "gitcoord.cli.tasks_cmds:plan",
    "next": "gitcoord.cli.tasks_cmds:next_cmd",
    "doctor": "gitcoord.cli.tasks_cmds:doctor",
    "branch": "gitcoord.cli.branches_cmds:branch",
    "lock": "gitcoord.cli.locks_cmds:lock",
    "owners": "gitcoord.cli.owners_cmds:owners",
    "hooks": "gitcoord.cli.hooks_cmds:hooks",
    "hook": "gitcoord.cli.hooks_cmds:hook",
    "check": "gitcoord.cli.check_cmds:check",
    "contract": "gitcoord.cli.contracts_cmds:contract",
    "merge": "gitcoord.cli.merge_cmds:merge",
    "msg": "gitcoord.cli.messages_cmds:msg",
    "inbox": "gitcoord.cli.messages_cmds:inbox",
    "log": "gitcoord.cli.messages_cmds:log",
    "mcp": "gitcoord.cli.mcp_cmds:mcp",
    "agents-md": "gitcoord.cli.agents_md_cmds:agents_md",
    "metrics": "gitcoord.cli.report_cmds:metrics",
    "timeline": "gitcoord.cli.report_cmds:timeline",
    "report": "gitcoord.cli.report_cmds:report",
    "demo": "gitcoord.cli.demo_cmds:demo",
    "whoami": "gitcoord.cli.identity_cmds:whoami",
    "repair": "gitcoord.cli.store_cmds:repair",
    "worktree": "gitcoord.cli.worktree_cmds:worktree",
    "run": "gitcoord.cli.run_cmds:run",
}

EXAMPLES = """\b
Examples:
  gitcoord init --base main                 # create the coordination branch
  gitcoord --remote origin sync             # share it through a remote
  gitcoord task import plan.yaml            # plan a feature
  gitcoord plan --agents 4                  # schedule it for four agents
  gitcoord --json next                      # what should this agent do now?
  gitcoord demo                             # see everything at work
"""


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, target in COMMANDS.items() if _available(target))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None or not _available(target):
            return None
        module_name, _, attr = target.partition(":")
        return with_identity_option(getattr(importlib.import_module(module_name), attr))


def with_identity_option(cmd: click.Command) -> click.Command:
    """Accept ``--agent NAME`` after the subcommand too (`gitcoord task done T --agent ann`), on every
    command that has no ``--agent`` option of its own (`task add --agent` assigns, `inbox --agent`
    reads someone's inbox: those keep their meaning)."""
    if getattr(cmd, "_gitcoord_identity", False):
        return cmd
    cmd._gitcoord_identity = True  # type: ignore[attr-defined]
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            with_identity_option(sub)
        return cmd
    if any("--agent" in getattr(p, "opts", ()) for p in cmd.params) or cmd.callback is None:
        return cmd
    original = cmd.callback

    def callback(*args: Any, **kwargs: Any) -> Any:
        agent = kwargs.pop("identity_agent", None)
        if agent is not None:
            click.get_current_context().find_root().obj.set_agent(agent)
        return original(*args, **kwargs)

    callback.__name__ = getattr(original, "__name__", "callback")
    callback.__doc__ = original.__doc__
    cmd.callback = callback
    cmd.params.append(click.Option(["--agent", "identity_agent"], metavar="NAME",
                                   help="Act as this agent (same as `gitcoord --agent NAME ...`)."))
    return cmd


def _available(target: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(target.partition(":")[0]) is not None


@click.group(cls=LazyGroup, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"],
                                                                   "max_content_width": 100})
@click.option("-C", "directory", metavar="PATH", help="Run as if started in PATH (like git -C).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option("--agent", metavar="NAME", help="Act as this agent (else GITCOORD_AGENT, git config gitcoord.agent, "
                                              "the git user); see `gitcoord whoami`.")
@click.option("--remote", metavar="NAME", help="Remote holding the shared coordination branch "
                                               "(else git config gitcoord.remote; else local only).")
@click.option("--offline", is_flag=True, help="Work from local state; writes stay local until `gitcoord sync` "
                                            "(same as GITCOORD_OFFLINE=1).")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, "--version", prog_name="gitcoord")
@click.pass_context
def cli(ctx: click.Context, directory: str | None, as_json: bool, agent: str | None, remote: str | None,
        offline: bool, debug: bool) -> None:
    """gitcoord — coordinate parallel agents on one codebase: tasks, ownership, locks,
    API contracts and ordered batch merges, all stored on a git branch."""
    from gitcoord.cli.app import App

    ctx.obj = App(directory=directory, as_json=as_json, agent=agent, remote=remote, debug=debug,
                  offline=offline or os.environ.get("GITCOORD_OFFLINE") == "1")


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the CLI and maps gitcoord errors to exit codes and one-line messages."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or os.environ.get("GITCOORD_DEBUG") == "1"
    try:
        rv = cli.main(args=argv, prog_name="gitcoord", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("gitcoord: aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" or exc.format_message().startswith("Usage:"):
            click.echo(exc.format_message())  # a bare `gitcoord` or `gitcoord task`: the help
            sys.exit(0)
        # One line, like every other user error: what is wrong, and where the help is.
        where = exc.ctx.command_path if exc.ctx is not None else "gitcoord"
        if "--json" in (argv if argv is not None else sys.argv[1:]):
            import json

            click.echo(json.dumps({"error": {"message": exc.format_message(), "exit_code": 2,
                                             "hint": f"see `{where} --help`"}}))
        click.echo(f"gitcoord: error: {exc.format_message()} (see `{where} --help`)", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"gitcoord: error: {exc.format_message()}", err=True)
        sys.exit(2 if exc.exit_code in (1, 2) else exc.exit_code)
    except KeyboardInterrupt:
        click.echo("gitcoord: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 — the one place that turns errors into exit codes
        from gitcoord.errors import GitcoordError

        if debug:
            import traceback

            traceback.print_exc()
        if isinstance(exc, GitcoordError):
            _report_error(exc)
            sys.exit(exc.exit_code)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        click.echo(f"gitcoord: internal error: {type(exc).__name__}: {first} (rerun with --debug for details)",
                   err=True)
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)


#: Commands that live long (a server, the runner, the demo) keep Python's cyclic garbage collector,
#: and so does a one-shot command told to wait or poll.
LONG_RUNNING = frozenset({"mcp", "run", "demo"})
POLLING_OPTIONS = ("--wait", "--follow", "-f")


def _command_name(argv: list[str]) -> str | None:
    """NAME in ``gitcoord [options] NAME ...`` when it is a command."""
    values = iter(argv)
    for arg in values:
        if arg in ("-C", "--agent", "--remote"):
            next(values, None)  # the option's value, not a command
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _one_shot(argv: list[str]) -> bool:
    """Is this command a short process? (a command that is not long-running, with no polling
    option; any doubt — no command name found — counts as long-running)."""
    name = _command_name(argv)
    return name is not None and name not in LONG_RUNNING and not any(
        a in POLLING_OPTIONS or a.startswith("--wait=") for a in argv)


def _import_pygit2() -> None:
    """Import pygit2 without its eager load of the system's CA bundle (~20-25 ms a command).

    pygit2 hands libgit2 the default CA file and directory when it is imported, for libgit2's own
    HTTPS transport, and libgit2 parses the whole file there and then. gitcoord never uses that
    transport (git itself pushes and fetches), so libgit2 gets the directory alone, which it would
    consult certificate by certificate if it ever needed one. Without such a directory: the
    plain import, at first use."""
    if "pygit2" in sys.modules:
        return
    try:
        import ssl
    except ImportError:
        return
    default = ssl.get_default_verify_paths
    paths = default()
    if not (paths.capath and os.path.isdir(paths.capath)):
        return
    ssl.get_default_verify_paths = lambda: paths._replace(cafile=None)  # type: ignore[assignment]
    try:
        import pygit2  # noqa: F401
    except Exception:  # noqa: BLE001 — whatever went wrong, the plain import at first use says it
        sys.modules.pop("pygit2", None)
    finally:
        ssl.get_default_verify_paths = default  # type: ignore[assignment]


def run() -> None:
    """The process's entry point (``python -m gitcoord``, the ``gitcoord`` script): ``main()``, then,
    once the output is flushed and no other thread runs, leave without tearing the interpreter
    down: freeing pygit2 and every module costs ~30 ms a command, and nothing is left to do (files
    are written with ``with``; the OS reclaims the rest). ``main()`` itself exits normally: tests
    and embedders call it.

    A one-shot command runs without the cyclic garbage collector: reference counting frees what
    it drops, and the collector would only walk, again and again, the objects it keeps (every
    task of a 10,000-task plan, every module: ~5-10% of a `merge run` or a cold `plan`)."""
    if _one_shot(sys.argv[1:]):
        import gc

        gc.disable()
    if _command_name(sys.argv[1:]) is not None:
        _import_pygit2()
    try:
        main()
        code: Any = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)  # what Python does with sys.exit("message")
        code = 1
    import threading

    if threading.active_count() == 1:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            sys.exit(code)  # let Python report a closed or broken output the usual way
        os._exit(code)
    sys.exit(code)


def _report_error(exc: Any) -> None:
    import json

    from gitcoord.cli.app import App

    if App.last_as_json:
        payload = {"error": {"message": exc.message, "exit_code": exc.exit_code, **({"hint": exc.hint} if exc.hint else {}),
                             **exc.data}}
        click.echo(json.dumps(payload, default=str))
    line = f"gitcoord: error: {exc.message}"
    if exc.hint:
        line += f" — {exc.hint}"
    click.echo(line, err=True)


if __name__ == "__main__":
    run()
