"""`gitcoord demo [DIR]`: the whole flow on a generated project with four simulated agents."""

from __future__ import annotations

import click

from gitcoord.cli.app import App, json_option, pass_app


@click.command("demo")
@click.argument("directory", metavar="[DIR]", required=False, type=click.Path(file_okay=False))
@click.option("--seconds-per-hour", type=click.FloatRange(min=0.05, max=10), default=1.0, show_default=True,
              help="Real seconds per simulated hour of agent work (durations are compressed).")
@click.option("--no-daemon", is_flag=True, help="Use a file remote instead of a git daemon on 127.0.0.1.")
@click.option("--no-report", is_flag=True, help="Skip report.html and timeline.svg.")
@click.option("--run", "with_run", is_flag=True,
              help="Drive the plan with `gitcoord run` and scripted agent programs in their own worktrees "
                   "(real time) instead of the simulated agents.")
@json_option
@pass_app
def demo(app: App, directory: str | None, seconds_per_hour: float, no_daemon: bool, no_report: bool,
         with_run: bool) -> None:
    """Watch four simulated agents build a shopping-cart feature in parallel, coordinated by gitcoord.

    \b
    Builds, in DIR (a new temp dir when omitted), a project whose bare remote is served by
    `git daemon` on 127.0.0.1, plans it contract-first, and runs alice, bob, carol and dave in
    their own clones at the same time: claims, the cart-api contract approved and mocked, a
    lock contended, a commit rejected by the ownership hook, a breaking contract change caught,
    batch merges in dependency order; then plan vs actual, metrics, report.html, timeline.svg.
    The narration goes to stderr; --json prints a structured summary on stdout. Takes < 60 s.

    \b
    Examples:
      gitcoord demo
      gitcoord demo /tmp/shop
      gitcoord --json demo /tmp/shop > summary.json
      gitcoord demo --run /tmp/shop-run   # the same plan, driven by `gitcoord run`
    """
    if with_run:
        from gitcoord.demo_run import run_agents_demo

        outcome = run_agents_demo(directory, say=app.info, use_daemon=not no_daemon)
        app.emit(outcome.to_dict(), lambda: f"demo finished in {outcome.seconds:.1f} s: {outcome.directory}\n"
                                            f"  report: {outcome.files['report_html']}")
        return
    from gitcoord.demo import run_demo

    result = run_demo(directory, say=app.info, use_daemon=not no_daemon, seconds_per_hour=seconds_per_hour,
                      report=not no_report)
    summary = {
        "directory": result.directory,
        "remote_url": result.remote_url,
        "transport": result.transport,
        "seconds": result.seconds,
        "seconds_per_hour": result.seconds_per_hour,
        "claims": result.claims,
        "hook_rejections": result.hook_rejections,
        "breaking_changes": result.breaking_changes,
        "lock_denials": result.lock_denials,
        "merges": [{"run": m.get("run"), "merged": m.get("merged"), "skipped": m.get("skipped"),
                    "tested": m.get("tested"), "after": m.get("after")} for m in result.merges],
        "plan": {k: result.plan.get(k) for k in ("makespan_hours", "sequential_hours", "speedup", "efficiency",
                                                 "critical_path")},
        "plan_vs_actual": result.plan_vs_actual,
        "metrics": {k: result.metrics.get(k) for k in ("elapsed_hours", "total_work_hours", "speedup", "efficiency",
                                                       "parallel_fraction", "conflict_rate", "critical_path",
                                                       "verdicts")},
        "files": result.files,
        "remote_main_files": result.remote_main_files,
        "steps": [{"at": s.at, "agent": s.agent, "kind": s.kind, "text": s.text} for s in result.steps],
    }
    app.emit(summary, lambda: f"demo finished in {result.seconds:.1f} s: {result.directory}\n"
                              + "".join(f"  {k}: {v}\n" for k, v in result.files.items()))
