"""`gitcoord mcp`: serve the agent loop to an MCP client over stdio."""

from __future__ import annotations

import click

from gitcoord.cli.app import App, pass_app


@click.command()
@pass_app
def mcp(app: App) -> None:
    """Serve gitcoord as an MCP server on stdin/stdout (needs `pip install 'gitcoord[mcp]'`).

    The agent is fixed when the server starts (`--agent NAME`, else the usual identity rules);
    no tool can act in another name.

    \b
    Example client configuration (Claude Code, Codex CLI, …):
      {"mcpServers": {"gitcoord": {"command": "gitcoord", "args": ["mcp", "--agent", "alice"]}}}
    """
    from gitcoord.mcp_server import serve

    serve(app.repo, app.identity, app.remote)
