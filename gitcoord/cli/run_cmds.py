"""`gitcoord run`: the manager loop, with live progress (TTY), plain lines, or NDJSON events."""

from __future__ import annotations

import json
import sys
from typing import Any

from pathlib import Path

import click

from gitcoord.cli.app import App, json_option, pass_app


class Progress:
    """How the run is shown. On a terminal: one line per agent (task, attempt, progress from its
    last status, elapsed) and a summary line, redrawn in place with a few ANSI sequences (enough
    for a fixed block of lines; no extra dependency). Else: one plain line per event. With
    --json: every event as one JSON line (NDJSON) on stdout."""

    def __init__(self, *, as_json: bool, tty: bool):
        self.as_json = as_json
        self.tty = tty and not as_json
        self.drawn = 0
        self.last_tick: Any = None

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if self.as_json:
            if kind == "tick":
                key = json.dumps([{k: v for k, v in r.items() if k != "elapsed"} for r in event["agents"]]
                                 + [event["counts"]])
                if key == self.last_tick:
                    return
                self.last_tick = key
            sys.stdout.write(json.dumps(event, default=str, ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        if kind == "tick":
            if self.tty:
                self._draw(event)
            return
        line = self._line(event)
        if line is None:
            return
        if self.tty:
            self._clear()
        click.echo(line, err=self.tty)

    def _line(self, e: dict[str, Any]) -> str | None:
        kind = e["event"]
        if kind == "dispatch":
            return f"dispatch  {e['task']} -> {e['agent']} (attempt {e['attempt']})"
        if kind == "launched":
            return f"launched  {e['task']} pid {e['pid']} in {e['worktree']}"
        if kind == "done":
            return f"done      {e['task']} ({e['agent']})"
        if kind == "failed":
            return f"blocked   {e['task']} ({e['agent']}, {e['outcome']}): {e['reason'][:200]}"
        if kind == "merged":
            skipped = ", ".join(f"{s['task']} ({s['reason']})" for s in e["skipped"])
            return (f"merge     {e['run'] or '-'}: merged {', '.join(e['merged']) or 'nothing'}"
                    + (f"; left out {skipped}" if skipped else ""))
        if kind == "rejected":
            return f"reopened  {e['task']}: {e['reason']}, request sent to {e['agent']}"
        if kind in ("adopted", "relaunch"):
            return f"{kind:<9} {e['task']} ({e['agent']}, attempt {e['attempt']})"
        if kind == "gave_up":
            return f"gave up   {e['task']}: {e['reason']}"
        if kind == "worktree_kept":
            return f"kept      worktree {e['path']} ({e['task']}): {e['reason']}"
        return None

    def _clear(self) -> None:
        if self.drawn:
            sys.stderr.write(f"\x1b[{self.drawn}F\x1b[J")
            self.drawn = 0

    def _draw(self, e: dict[str, Any]) -> None:
        self._clear()
        lines = []
        for row in e["agents"]:
            if row["task"]:
                pct = f"{row['progress']}%" if row["progress"] is not None else "-"
                lines.append(f"  {row['agent']:<16} {row['task']:<14} try {row['attempt']}  {pct:>4}  "
                             f"{row['elapsed']:>6.0f}s  {(row['current'] or '')[:40]}")
            else:
                lines.append(f"  {row['agent']:<16} idle")
        c = e["counts"]
        lines.append(f"  merged {c['merged']}  ready to merge {c['ready_to_merge']}  in progress {c['in_progress']}  "
                     f"blocked {c['blocked']}  waiting {c['planned'] + c['ready']}")
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()
        self.drawn = len(lines)


@click.command()
@click.option("--feature", help="Only this feature's tasks.")
@click.option("--agent-cmd", "agent_cmd", metavar="CMD",
              help="Shell command line started for each task, in its worktree; it reads GITCOORD_TASK, "
                   "GITCOORD_AGENT, GITCOORD_FEATURE and GITCOORD_BRIEF from its environment. Required unless "
                   "every agent has a `command` in gitcoord.yaml (agents[].command wins over it).")
@click.option("--agents", "count", type=click.IntRange(min=1),
              help="How many agents (declared ones: the first N; none declared: RUNNER-1..N). Default: all "
                   "declared, else 2.")
@click.option("--use-agent", "names", multiple=True, metavar="NAME",
              help="Drive this agent (repeatable): two runners split a declared team this way.")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True,
              help="Re-dispatches of a task after a crash, a silence or a rejected merge.")
@click.option("--poll", type=click.FloatRange(min=0.05), default=1.0, show_default=True, metavar="SECONDS",
              help="How often the state and the agents are checked.")
@click.option("--max-idle", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Stop waiting for other runners' agents after this long without any change "
                   "(default: policies.heartbeat).")
@click.option("--allow-checked-out", is_flag=True,
              help="Local mode: move the base branch even where a worktree has it checked out (as merge run).")
@click.option("--keep-worktrees", is_flag=True, help="Keep the worktrees of merged tasks.")
@click.option("--report", "report_path", metavar="OUT", help="Where to write the HTML report "
              "(default: .git/gitcoord/run/report.html).")
@json_option
@pass_app
def run(app: App, feature: str | None, agent_cmd: str | None, count: int | None, names: tuple[str, ...], retries: int,
        poll: float, max_idle: float | None, allow_checked_out: bool, keep_worktrees: bool, report_path: str | None) -> None:
    """Run the plan with real agent processes: the guide's manager.

    Assigns ready tasks to idle agents (role, priority, remaining critical path) with a
    task_assignment message and the same claim as `task start`; starts CMD in the task's own
    worktree; an exit 0 with commits finishes the task (pushed in remote mode); a crash or a
    silence past policies.heartbeat blocks it and, within --retries, runs it again; ready work
    is merged in batches (merge.threshold, merge.test) and a conflict or failing test goes back
    to its agent as a coordination request. Ends with metrics and the HTML report.
    Exit 0: everything merged; 1: tasks left out (listed); 3: remote failure.

    \b
    Examples:
      gitcoord run --feature cart --agents 3 --agent-cmd 'claude -p "$(cat "$GITCOORD_BRIEF")"'
      gitcoord --json run --agent-cmd ./agent.sh > events.ndjson
    """
    from gitcoord.cli.app import isatty
    from gitcoord.manager import Manager, pick_agents

    snap = app.snapshot()
    if feature and not any(t.get("feature") == feature for t in snap.load_dir("tasks", ".yaml").values()):
        from gitcoord.errors import UsageError

        raise UsageError(f"--feature {feature}: no tasks in that feature")
    if report_path is not None and not Path(report_path).parent.is_dir():  # checked before any agent starts
        from gitcoord.errors import UsageError

        raise UsageError(f"--report {report_path}: directory {Path(report_path).parent} does not exist")
    agents = pick_agents(snap.config, app.agent, count, names)
    show = Progress(as_json=app.as_json, tty=isatty())
    manager = Manager(app.repo, manager=app.agent, agents=agents, agent_cmd=agent_cmd, feature=feature,
                      retries=retries, remote=app.remote, poll=poll, keep_worktrees=keep_worktrees, on_event=show,
                      report_path=report_path, allow_checked_out=allow_checked_out,
                      commands={a["name"]: a["command"] for a in snap.config.get("agents") or [] if a.get("command")})
    try:
        outcome = manager.run(max_idle=max_idle)
    except KeyboardInterrupt:
        show._clear() if show.tty else None
        running = ", ".join(sorted(manager.running)) or "none"
        app.info(f"gitcoord run stopped; agents still running: {running}. Started again with the same options, "
                 "it adopts them and dispatches nothing twice")
        raise SystemExit(130) from None
    show._clear() if show.tty else None
    if not app.as_json:
        from gitcoord import metrics

        if outcome.metrics:
            click.echo(metrics.render_text(outcome.metrics))
        click.echo(f"report: {outcome.report}")
        if outcome.merged:
            click.echo("all tasks merged")
        else:
            click.echo("left out:\n" + "\n".join(f"  {t['task']} ({t['status']}, {t['agent'] or '-'})"
                                                 + (f": {t['reason']}" if t["reason"] else "")
                                                 for t in outcome.left_out))
    if not outcome.merged:
        raise SystemExit(1)
