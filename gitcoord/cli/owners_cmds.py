"""`owners PATH…`, `owners import CODEOWNERS`, `owners export`."""

from __future__ import annotations

import click

from gitcoord.cli.app import App, json_option, pass_app


class _OwnersGroup(click.Group):
    """`owners PATH…` is the command itself; `import` and `export` are its sub-commands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_OwnersGroup, invoke_without_command=False)
def owners() -> None:
    """Who owns paths: tasks' `owns` patterns, imported CODEOWNERS entries, locks.

    \b
    Examples:
      gitcoord owners src/api/users.py docs/
      gitcoord owners import .github/CODEOWNERS
      gitcoord owners export > .github/CODEOWNERS
    """


@owners.command("show")
@click.argument("paths", nargs=-1, required=True)
@json_option
@pass_app
def show(app: App, paths: tuple[str, ...]) -> None:
    """For each PATH: owning task(s), their agents, CODEOWNERS owners and locks on it."""
    from gitcoord.owners import owners_report

    data = owners_report(app.snapshot(), list(paths), app.agent)

    def human() -> str:
        lines = []
        for row in data["paths"]:
            who = ", ".join(f"{t}" for t in row["owners"]) or "-"
            agents = ", ".join(row["agents"]) or "-"
            extra = f"  codeowners: {' '.join(row['codeowners'])}" if row["codeowners"] else ""
            locks = "  locks: " + ", ".join(f"{l['type']} by {','.join(l['holders'])}" for l in row["locks"]) \
                if row["locks"] else ""
            lines.append(f"{row['path']}: tasks {who} (agents {agents}){extra}{locks}")
        return "\n".join(lines)

    app.emit(data, human)


@owners.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@json_option
@pass_app
def import_cmd(app: App, file: str) -> None:
    """Store the entries of a CODEOWNERS FILE as policies.ownership (replaces earlier imports)."""
    from gitcoord.errors import UsageError
    from gitcoord.owners import import_codeowners

    try:
        if file == "-":
            raw = click.get_binary_stream("stdin").read(4 * 1024 * 1024)
        else:
            with open(file, "rb") as fh:
                raw = fh.read(4 * 1024 * 1024)
        text = raw.decode("utf-8")
    except OSError as exc:
        raise UsageError(f"{file}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{file}: not UTF-8 text") from None
    result = import_codeowners(app.store, text, source=file)
    app.emit(result, lambda: f"imported {result['entries']} ownership entries from {file} "
                             f"(replacing {result['replaced']})")


@owners.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@json_option
@pass_app
def export_cmd(app: App, output: str | None) -> None:
    """Print a CODEOWNERS file from the tasks' owns patterns and agents (plus imported entries)."""
    from gitcoord.owners import export_codeowners

    text = export_codeowners(app.snapshot())
    if output:
        with open(output, "w") as fh:
            fh.write(text)
    if app.as_json:
        app.emit({"codeowners": text, "output": output})
    elif not output:
        click.echo(text, nl=False)
    else:
        app.info(f"wrote {output}")
