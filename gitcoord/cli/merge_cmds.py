"""Merge commands: merge plan/run/show/list."""

from __future__ import annotations

from typing import Any

import click

from gitcoord.cli.app import App, json_option, pass_app


@click.group()
def merge() -> None:
    """Batch merges of ready-to-merge tasks, in dependency order, landed atomically.

    \b
    Examples:
      gitcoord merge plan --feature cart
      gitcoord merge run --feature cart --test 'pytest -q'
      gitcoord merge run --mode atomic --push
      gitcoord merge run --threshold 0.8 --wait 2h
    """


@merge.command("plan")
@click.option("--feature", help="Only this feature.")
@click.option("--into", metavar="REF", help="Target branch (default: base from gitcoord.yaml).")
@click.option("--threshold", type=float, help="Share of the feature that must be ready (0-1).")
@click.option("--allow-empty", is_flag=True, help="Include branches with no commits beyond the base.")
@json_option
@pass_app
def merge_plan(app: App, feature: str | None, into: str | None, threshold: float | None, allow_empty: bool) -> None:
    """The order tasks would land in, and the predicted conflicts (trial merges in memory).

    In remote mode the base and the task branches are fetched from the remote first."""
    from gitcoord import merge as m

    data = m.plan(app.snapshot(), app.repo, feature=feature, into=into, remote=app.remote, threshold=threshold,
                  online=not app.offline, allow_empty=allow_empty)
    app.emit(data, lambda: render_plan(data))


def render_plan(data: dict[str, Any]) -> str:
    where = f" on {data['remote']}" if data.get("remote") else ""
    lines = [f"merge into {data['into']}{where} (at {data['target'][:10]})"]
    if data["order"]:
        lines.append("order:")
        for n, item in enumerate(data["order"], 1):
            deps = f"  after {', '.join(item['depends_on'])}" if item["depends_on"] else ""
            lines.append(f"  {n:>2}. {item['task']:<14} {item['branch']}{deps}")
    else:
        lines.append("nothing is ready to merge")
    for c in data["conflicts"]:
        owners = "; ".join(f"{f} (owned by {', '.join(o) or 'nobody'})" for f, o in c["owners"].items())
        against = f" with {', '.join(c['conflicts_with'])}" if c["conflicts_with"] else " with the target"
        lines.append(f"  conflict: {c['task']}{against}: {owners}")
    for e in data["excluded"]:
        lines.append(f"  left out: {e['task']}: {e['detail'] or e['reason']}")
    if data["not_ready"]:
        lines.append("not ready yet: " + ", ".join(f"{t['task']} ({t['status']})" for t in data["not_ready"]))
    lines.append(f"ready share {data['ready_share']:.0%}" + (f" (threshold {data['threshold']:.0%}: "
                 f"{'met' if data['threshold_met'] else 'not met'})" if data["threshold"] else ""))
    if data["order"]:
        lines.append(f"next: `{_run_command(data)}`")
    return "\n".join(lines)


def _run_command(data: dict[str, Any], *extra: str) -> str:
    """The `merge run` that repeats this plan or run (same feature; --push in remote mode)."""
    return " ".join(["gitcoord merge run", *([f"--feature {data['feature']}"] if data.get("feature") else []),
                     *extra, *(["--push"] if data.get("remote") else [])])


@merge.command("run")
@click.option("--feature", help="Only this feature.")
@click.option("--into", metavar="REF", help="Target branch (default: base from gitcoord.yaml).")
@click.option("--test", "test_cmd", metavar="CMD", help="Run CMD (sh -c) on the speculative result; bisect failures.")
@click.option("--mode", type=click.Choice(["skip", "prefix", "atomic"]), default=None,
              help="skip (default): leave out failing branches and their dependents; prefix: the longest passing "
                   "prefix; atomic: all or nothing.")
@click.option("--threshold", type=float, help="Merge only once this share (0-1) of the feature is ready.")
@click.option("--wait", metavar="D", help="With --threshold: wait up to D (e.g. 2h) for it, polling.")
@click.option("--dry-run", is_flag=True, help="Print the plan and the expected number of test runs.")
@click.option("--push", is_flag=True, help="Push target and coordination branch together (atomic, leased).")
@click.option("--allow-checked-out", is_flag=True, help="Move the target even if a worktree has it checked out.")
@click.option("--allow-empty", is_flag=True, help="Land (mark merged) branches with no commits beyond the base.")
@click.option("--keep", "keep_worktrees", is_flag=True, help="Keep the worktrees of the tasks that land.")
@json_option
@pass_app
def merge_run(app: App, feature: str | None, into: str | None, test_cmd: str | None, mode: str | None,
              threshold: float | None, wait: str | None, dry_run: bool, push: bool, allow_checked_out: bool,
              allow_empty: bool, keep_worktrees: bool) -> None:
    """Merge every ready task in dependency order; exit 1 if something was left out.

    \b
    In remote mode it needs --push: the base and the task branches are fetched from the remote,
    the result is pushed to the remote's base with the record, and a checked-out local base is
    left as it is (the output names the `git pull` that updates it)."""
    from gitcoord import merge as m
    from gitcoord.timeutil import parse_duration

    snap = app.snapshot()
    mode = mode or snap.config.get("merge", {}).get("mode") or "skip"
    if threshold is None and snap.config.get("merge", {}).get("threshold"):
        threshold = float(snap.config["merge"]["threshold"])  # merge.threshold in gitcoord.yaml
    test_cmd = test_cmd if test_cmd is not None else snap.config.get("merge", {}).get("test")
    seconds = parse_duration(wait, what="--wait").total_seconds() if wait else None
    if wait and threshold is None:
        raise click.UsageError("--wait needs --threshold")
    data = m.run(app.store, app.repo, feature=feature, into=into, test_cmd=test_cmd, mode=mode, threshold=threshold,
                 wait=seconds, dry_run=dry_run, push=push, allow_checked_out=allow_checked_out,
                 allow_empty=allow_empty, online=not app.offline, progress=app.info)
    if dry_run:
        app.emit(data, lambda: render_plan(data) + f"\nexpected test runs: {data['expected_test_runs']}")
        return
    if data.get("merged") and not keep_worktrees:
        from gitcoord import tasks, worktrees

        data["worktrees"] = worktrees.prune(app.repo, tasks.load_tasks(app.store.snapshot(fetch=False)),
                                            only=set(data["merged"]))
    app.emit(data, lambda: render_run(data) + "".join(
        [f"\nremoved worktree {w['path']}" for w in (data.get("worktrees") or {}).get("removed", [])]
        + [f"\nkept worktree {w['path']}: {w['reason']}" for w in (data.get("worktrees") or {}).get("kept", [])]))
    if data["skipped"]:
        raise SystemExit(1)


def render_run(data: dict[str, Any]) -> str:
    if data.get("run") is None:
        lines = [f"nothing to merge into {data['into']}; nothing was written"]
    else:
        lines = [f"merge run {data['run']} into {data['into']}: {len(data['merged'])} merged, "
                 f"{len(data['skipped'])} left out" + (f", {data['test_runs']} test run(s)" if data["tested"] else "")]
    if data["merged"]:
        lines.append("merged in order: " + " -> ".join(data["merged"]))
        lines.append(f"{data['into']}: {str(data['before'])[:10]} -> {str(data['after'])[:10]}"
                     + (f" (pushed to {data['remote']})" if data.get("pushed") else ""))
    lines += render_tests(data)
    if data.get("target_failed"):
        lines.append(f"the target fails on its own: {data['into']} at {str(data['before'])[:10]} fails the test "
                     "command without any branch; nothing landed and no branch is blamed")
    for s in data["skipped"]:
        files = f" [{', '.join(s.get('files') or [])}]" if s.get("files") else ""
        lines.append(f"  left out {s['task']}: {s['reason']}{files}" + (f" — {s['detail']}" if s.get("detail") else ""))
    if data.get("released_locks"):
        lines.append("released locks: " + ", ".join(data["released_locks"]))
    local = data.get("local") or {}
    if local.get("hint"):
        lines.append(f"your local {local['branch']} is checked out and was left as it is; "
                     f"`{local['hint']}` brings it up to date")
    elif local.get("note"):
        lines.append(local["note"])
    lines += next_steps(data)
    return "\n".join(lines)


def render_tests(data: dict[str, Any]) -> list[str]:
    """One line per test run (exit code, what was tested); the output tail of failing runs."""
    lines: list[str] = []
    shown: set[str] = set()  # bisection re-runs often fail the same way: print each output once
    for n, run in enumerate(data.get("tests") or [], 1):
        what = f"{len(run['tasks'])} task(s): {', '.join(run['tasks'])}" if run["tasks"] else "the target alone"
        verdict = "passed" if run["passed"] else "FAILED"
        code = run.get("exit_code")
        lines.append(f"  test run {n} at {run['commit'][:10]} ({what}): {verdict}, exit {'?' if code is None else code}, "
                     f"{run['seconds']:.1f} s")
        tail = run.get("output_tail")
        if not run["passed"] and tail:
            if tail in shown:
                lines.append("    (same output as above)")
            else:
                shown.add(tail)
                lines += [f"    | {line}" for line in tail.splitlines()]
    return lines


#: Reasons a left-out task's own agent has to act on (fix the branch, then say it is done again).
_FIX_BRANCH = ("conflict", "test-failed")


def next_steps(data: dict[str, Any]) -> list[str]:
    """Hints that work as printed: who runs what, where."""
    skipped = data.get("skipped") or []
    if not skipped:
        return []
    steps = []
    if data.get("target_failed"):
        what = f"`gitcoord merge show {data['run']}`" if data.get("run") else "the output above"
        steps.append(f"  fix {data['into']} first ({what} shows the failing test output), then `{_run_command(data)}`")
    fixes = [s["task"] for s in skipped if s["reason"] in _FIX_BRANCH]
    for task in fixes:
        done = f"gitcoord task done {task}" + (" --push" if data.get("remote") else "")
        steps.append(f"  {task}: in its agent's clone, fix the branch (merge {data['into'].removeprefix('refs/heads/')} "
                     f"into it), commit, then `{done}`")
    if fixes or any(s["reason"] in ("no-branch", "empty") for s in skipped):
        steps.append(f"  then `{_run_command(data)}` again")
    return ["next:"] + steps if steps else []


@merge.command("show")
@click.argument("run_id", metavar="RUN_ID")
@json_option
@pass_app
def merge_show(app: App, run_id: str) -> None:
    """One merge run: order, results, conflicts, test runs, before/after."""
    from gitcoord import merge as m

    data = m.load_run(app.snapshot(), run_id)
    app.emit(data, lambda: render_run(data) + f"\nby {data.get('agent')} at {data.get('finished_at')}")


@merge.command("list")
@json_option
@pass_app
def merge_list(app: App) -> None:
    """Every recorded merge run."""
    from gitcoord import merge as m

    runs = m.list_runs(app.snapshot())
    app.emit({"runs": runs}, lambda: "\n".join(
        f"{r['run']:<24} {r['into']:<22} merged {len(r['merged']):>3}  left out {len(r['skipped']):>3}"
        for r in runs) or "no merge runs yet")
