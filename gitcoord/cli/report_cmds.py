"""Reporting commands: `metrics`, `timeline --svg OUT`, `report --html OUT`."""

from __future__ import annotations

from pathlib import Path

import click

from gitcoord.cli.app import App, json_option, pass_app


def _write(path: str, text: str) -> Path:
    from gitcoord.errors import UsageError

    target = Path(path)
    if not target.parent.is_dir():  # never create directories the user did not ask for
        raise UsageError(f"cannot write {path}: directory {target.parent} does not exist")
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return target


@click.command()
@click.option("--feature", default=None, metavar="F", help="Only the tasks of this feature.")
@json_option
@pass_app
def metrics(app: App, feature: str | None) -> None:
    """How well the parallel work went: speedup, efficiency, parallel fraction, merge conflict
    rate, integration delay, critical path, bottlenecks, plan versus actual, with verdicts.

    \b
    Examples:
      gitcoord metrics
      gitcoord --json metrics --feature cart
    """
    from gitcoord import metrics as m

    data = m.from_snapshot(app.snapshot(), feature=feature)
    app.emit(data, lambda: m.render_text(data))


@click.command()
@click.option("--svg", "svg_out", required=True, metavar="OUT", help="Where to write the SVG chart.")
@click.option("--feature", default=None, metavar="F", help="Only the tasks of this feature.")
@json_option
@pass_app
def timeline(app: App, svg_out: str, feature: str | None) -> None:
    """Actual execution as a Gantt chart, one lane per agent (SVG)."""
    from gitcoord import metrics as m
    from gitcoord import report

    data = m.from_snapshot(app.snapshot(), feature=feature)
    path = _write(svg_out, report.timeline_svg(data))
    bars = sum(1 for r in data["tasks"] if r.get("start_hours") is not None)
    app.emit({"svg": str(path), "tasks": bars, "agents": data["agent_names"]},
             lambda: f"wrote {path}: {bars} task(s) in {len(data['agent_names'])} lane(s)")


@click.command()
@click.option("--html", "html_out", required=True, metavar="OUT", help="Where to write the HTML page.")
@click.option("--feature", default=None, metavar="F", help="Only the tasks of this feature.")
@click.option("--title", default=None, help="Page title (default: gitcoord report).")
@json_option
@pass_app
def report(app: App, html_out: str, feature: str | None, title: str | None) -> None:
    """One self-contained HTML page: dependency graph, plan and actual Gantt charts, task
    statuses, locks, contracts and the metrics with verdicts. No scripts, no network assets."""
    from gitcoord import report as rp
    from gitcoord import timeutil

    snap = app.snapshot()
    state, figures = rp.collect(snap, feature=feature, branch=app.store.branch)
    page = rp.report_html(state, figures, title=title or ("gitcoord report" + (f": {feature}" if feature else "")),
                          generated_at=timeutil.now_iso())
    path = _write(html_out, page)
    tasks = len([t for t in state["tasks"] if not feature or t.get("feature") == feature])
    app.emit({"html": str(path), "tasks": tasks, "bytes": len(page.encode())},
             lambda: f"wrote {path}: {tasks} task(s), {len(page.encode()) // 1024} KiB")
