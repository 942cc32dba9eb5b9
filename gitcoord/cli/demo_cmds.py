"""`gitcoord demo [DIR]`: `gitcoord run` and four scripted agents build a feature on a generated project."""

from __future__ import annotations

import click

from gitcoord.cli.app import App, json_option, pass_app


@click.command("demo")
@click.argument("directory", metavar="[DIR]", required=False, type=click.Path(file_okay=False))
@click.option("--no-daemon", is_flag=True, help="Use a file remote instead of a git daemon on 127.0.0.1.")
@click.option("--no-report", is_flag=True, help="Skip plan.svg and timeline.svg; report.html stays in the run directory.")
@click.option("--run", "with_run", is_flag=True, hidden=True, help="Accepted for old scripts: `demo` always runs `gitcoord run`.")
@json_option
@pass_app
def demo(app: App, directory: str | None, no_daemon: bool, no_report: bool, with_run: bool) -> None:
    """Watch `gitcoord run` drive four scripted agents through a shopping-cart feature, end to end.

    \b
    Builds, in DIR (a new temp dir when omitted), a project whose bare remote is served by
    `git daemon` on 127.0.0.1, plans it contract-first, installs the hooks, and hands the plan
    to `gitcoord run`: it assigns tasks to alice, bob, carol and dave and starts one small real
    program per task in the task's own worktree. You see the cart-api contract approved (its
    four consumers start at once) and a breaking change to it caught, the UI built on the
    contract's mock, a lock denied then granted, a commit outside its task's paths refused, a
    merge conflict sent back to its agent and resolved, batch merges in dependency order; then
    plan vs actual, metrics, report.html and timeline.svg. Real time: it takes well under a minute.
    The narration goes to stderr; --json prints a structured summary on stdout.

    \b
    Examples:
      gitcoord demo
      gitcoord demo /tmp/shop
      gitcoord --json demo /tmp/shop > summary.json
    """
    from gitcoord.demo import run_demo

    result = run_demo(directory, say=app.info, use_daemon=not no_daemon, report=not no_report)
    summary = result.to_dict()
    summary["plan"] = {k: result.plan.get(k) for k in ("makespan_hours", "sequential_hours", "speedup", "efficiency",
                                                      "critical_path")}
    summary["metrics"] = {k: result.metrics.get(k) for k in ("elapsed_hours", "total_work_hours", "speedup",
                                                            "efficiency", "parallel_fraction", "conflict_rate",
                                                            "critical_path", "verdicts")}
    app.emit(summary, lambda: f"demo finished in {result.seconds:.1f} s: {result.directory}\n"
                              + "".join(f"  {k}: {v}\n" for k, v in result.files.items()))
