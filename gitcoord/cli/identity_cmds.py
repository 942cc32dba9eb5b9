"""`whoami`: who gitcoord thinks you are, and why."""

from __future__ import annotations

import click

from gitcoord.cli.app import App, json_option, pass_app


@click.command()
@json_option
@pass_app
def whoami(app: App) -> None:
    """The agent you act as, where that name came from, and whether gitcoord.yaml declares it.

    \b
    Order: --agent, GITCOORD_AGENT, git config gitcoord.agent (the worktree's own first),
    git user.email, git user.name. Set it for this checkout with `git config gitcoord.agent NAME`.
    """
    from gitcoord.store import declared_agents

    ident = app.identity
    data: dict = {**ident.to_dict(), "declared": None, "roles": [], "remote": app.remote}
    snap = app.snapshot(fetch=False, required=False)
    if snap.exists:
        config = snap.config
        names = declared_agents(config)
        if names:
            data["declared"] = ident.name in names
            entry = next((a for a in config["agents"] if a.get("name") == ident.name), {})
            data["roles"] = list(entry.get("roles") or [])

    def human() -> str:
        line = f"{ident.name} (from {ident.source})"
        if data["declared"] is False:
            line += f"\nnot declared in gitcoord.yaml: gitcoord --agent {ident.name} config add-agent {ident.name}"
        elif data["roles"]:
            line += f"\nroles: {', '.join(data['roles'])}"
        return line

    app.emit(data, human)
