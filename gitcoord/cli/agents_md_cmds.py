"""`gitcoord agents-md [--mcp]`: print an AGENTS.md section that teaches an agent the loop."""

from __future__ import annotations

import click

from gitcoord.cli.app import App, json_option, pass_app


@click.command("agents-md")
@click.option("--mcp", "use_mcp", is_flag=True, help="Teach the MCP tools instead of the CLI loop.")
@json_option
@pass_app
def agents_md(app: App, use_mcp: bool) -> None:
    """Print a concise AGENTS.md section: the loop (whoami, next, start, work inside owned paths,
    status, done), the message shapes, what the hooks refuse and how to ask for a path.

    \b
    Example:
      gitcoord agents-md >> AGENTS.md
    """
    from gitcoord.agents_md import render

    config, branch = None, "gitcoord"
    try:
        snap = app.snapshot(required=False)
        branch = app.store.branch
        config = snap.config if snap.exists else None
    except Exception:  # noqa: BLE001 — outside a repository the generic text is still right
        pass
    text = render(mcp=use_mcp, config=config, branch=branch)
    app.emit({"markdown": text, "mcp": use_mcp}, text)
