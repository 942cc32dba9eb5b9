"""How well the parallel work actually went, measured from the coordination history.

Per task we reconstruct when it really started, finished (reached ``ready_to_merge``) and
merged, from the task file's timestamps and status history first and the lifecycle events
(``task.started``/``task.done``/``task.merged`` …) second, plus the merge records
(``merges/*.json``). From those runs:

* total work = sum of task durations; elapsed = first start → last finish;
* speedup = total work / elapsed; efficiency = total work / (elapsed × agents);
* parallel fraction = share of tasks whose run overlapped another task's run;
* ideal time = critical path of the actual durations over the dependency graph
  (what unlimited agents would have needed);
* conflict rate = conflicting merge items / (merged + conflicting) items over all runs;
* integration delay = ready_to_merge → merged, per task (mean and max).

Verdicts compare these to the usual thresholds for parallel work (good: 50–80 % of tasks
in parallel and < 10 % merge conflicts; poor: > 25 % conflicts) and say what to change.
Everything here is a pure function of plain data (``compute``) plus one loader
(``from_snapshot``), so it is tested on scripted histories without a store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from gitcoord import timeutil

GOOD_PARALLEL = (0.5, 0.8)
GOOD_CONFLICTS = 0.10
POOR_CONFLICTS = 0.25
GOOD_EFFICIENCY = 0.7
POOR_EFFICIENCY = 0.4
SLOW_INTEGRATION_HOURS = 8.0
UNASSIGNED = "unassigned"


@dataclass
class TaskRun:
    """One task's actual run. Times are UTC datetimes; ``finish`` is when it became ready to merge."""

    id: str
    title: str = ""
    agent: str = UNASSIGNED
    feature: str | None = None
    status: str = "planned"
    estimate: float | None = None
    depends_on: list[str] = field(default_factory=list)
    start: datetime | None = None
    finish: datetime | None = None
    ready_at: datetime | None = None
    merged_at: datetime | None = None
    blocked_hours: float = 0.0
    running: bool = False

    @property
    def measured(self) -> bool:
        return self.start is not None and self.finish is not None and self.finish >= self.start

    @property
    def hours(self) -> float:
        return _hours(self.finish - self.start) if self.measured else 0.0  # type: ignore[operator]


def _hours(delta) -> float:
    return delta.total_seconds() / 3600


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return timeutil.parse_time(str(value))
    except Exception:  # noqa: BLE001 — a bad timestamp in history is skipped, not fatal
        return None


def _iso(value: datetime | None) -> str | None:
    return timeutil.iso(value) if value is not None else None


# --------------------------------------------------------------------------- reconstruction


def _transitions(task: dict[str, Any], events: Iterable[dict[str, Any]]) -> list[tuple[datetime, str]]:
    """Status changes of one task in time order, from its history and its lifecycle events."""
    seen: set[tuple[datetime, str]] = set()
    for entry in task.get("history") or []:
        at = _time(entry.get("at"))
        if at is not None and entry.get("status"):
            seen.add((at, str(entry["status"])))
    implied = {"task.started": "in_progress", "task.blocked": "blocked", "task.unblocked": "in_progress",
               "task.done": "ready_to_merge", "task.merged": "merged", "task.cancelled": "cancelled"}
    for event in events:
        at = _time(event.get("at"))
        if at is None:
            continue
        to = (event.get("data") or {}).get("to") if isinstance((event.get("data") or {}).get("to"), str) else None
        status = to or implied.get(str(event.get("type")))
        if status:
            seen.add((at, status))
    return sorted(seen)


def reconstruct(tasks: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]],
                merges: Iterable[dict[str, Any]], *, now: datetime | None = None) -> list[TaskRun]:
    """Each task's actual run from its file, its events and the merge records."""
    now = now or timeutil.now()
    by_task: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event.get("task") and str(event.get("type", "")).startswith("task."):
            by_task.setdefault(event["task"], []).append(event)
    merged_by_record: dict[str, datetime] = {}
    for record in merges:
        at = _time(record.get("finished_at") or record.get("started_at"))
        if at is None:
            continue
        for tid in record.get("merged") or []:
            if tid not in merged_by_record or at < merged_by_record[tid]:
                merged_by_record[tid] = at
    runs = []
    for task in tasks:
        trans = _transitions(task, by_task.get(task["id"], []))
        first = {s: at for at, s in reversed(trans)}  # earliest time of each status
        last = {s: at for at, s in trans}
        start = _time(task.get("started_at")) or first.get("in_progress") or first.get("blocked")
        ready = _time(task.get("done_at")) or last.get("ready_to_merge")
        merged = _time(task.get("merged_at")) or last.get("merged") or merged_by_record.get(task["id"])
        status = task.get("status", "planned")
        finish = ready or merged
        running = False
        if start is not None and finish is None and status in ("in_progress", "blocked"):
            finish, running = max(now, start), True
        blocked = 0.0
        for (at, state), nxt in zip(trans, trans[1:] + [(finish or now, "")]):
            if state == "blocked":
                blocked += max(_hours(nxt[0] - at), 0.0)
        estimate = task.get("estimate")
        runs.append(TaskRun(
            id=task["id"], title=task.get("title", ""), agent=task.get("agent") or _started_by(by_task.get(task["id"]))
            or UNASSIGNED, feature=task.get("feature"), status=status,
            estimate=float(estimate) if isinstance(estimate, (int, float)) else None,
            depends_on=[d["task"] for d in task.get("depends_on") or []], start=start, finish=finish,
            ready_at=ready, merged_at=merged, blocked_hours=blocked, running=running))
    return runs


def _started_by(events: list[dict[str, Any]] | None) -> str | None:
    for event in sorted(events or [], key=lambda e: str(e.get("at"))):
        if event.get("type") == "task.started" and event.get("agent"):
            return str(event["agent"])
    return None


# --------------------------------------------------------------------------- figures


def overlapping(runs: list[TaskRun]) -> set[str]:
    """Ids of tasks whose run overlapped (for a positive time) another task's run."""
    spans = sorted((r.start, r.finish, r.id) for r in runs if r.measured and r.finish > r.start)  # type: ignore
    hit: set[str] = set()
    for i, (s_i, f_i, id_i) in enumerate(spans):
        for s_j, f_j, id_j in spans[i + 1:]:
            if s_j >= f_i:
                break
            hit.add(id_i)
            hit.add(id_j)
    return hit


def actual_critical_path(runs: list[TaskRun]) -> list[str]:
    """The chain that fixed the end: from the last task to finish, step back to the dependency
    that finished last (the one that held it up), until a task with no measured dependency."""
    by_id = {r.id: r for r in runs if r.measured}
    if not by_id:
        return []
    current = max(by_id.values(), key=lambda r: (r.finish, r.id))
    path = [current.id]
    while True:
        deps = [by_id[d] for d in current.depends_on if d in by_id and d not in path]
        deps = [d for d in deps if d.finish <= current.finish]  # type: ignore[operator]
        if not deps:
            break
        current = max(deps, key=lambda r: (r.finish, r.id))
        path.append(current.id)
    path.reverse()
    return path


def ideal(runs: list[TaskRun]) -> tuple[list[str], float]:
    """Critical path of the actual durations (unlimited agents) and its length in hours."""
    from gitcoord.graph import Node, critical_path

    measured = {r.id: r for r in runs if r.measured}
    nodes = [Node(id=r.id, estimate=r.hours, status="planned",
                  depends_on=tuple((d, "hard") for d in r.depends_on if d in measured)) for r in measured.values()]
    if not nodes:
        return [], 0.0
    return critical_path(nodes)


def conflict_figures(merges: Iterable[dict[str, Any]], scope: set[str] | None = None) -> dict[str, Any]:
    """Merged and conflicting items over all merge runs (restricted to ``scope`` task ids if given)."""
    merged = conflicted = runs = 0
    for record in merges:
        items_merged = [t for t in record.get("merged") or [] if scope is None or t in scope]
        items_conflict = [s for s in record.get("skipped") or []
                          if s.get("reason") == "conflict" and (scope is None or s.get("task") in scope)]
        if items_merged or items_conflict:
            runs += 1
        merged += len(items_merged)
        conflicted += len(items_conflict)
    total = merged + conflicted
    return {"runs": runs, "merged": merged, "conflicted": conflicted,
            "rate": conflicted / total if total else None}


def verdicts(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Each headline figure against its threshold, with what to change when it is off."""
    out = []
    pf = figures.get("parallel_fraction")
    if pf is None:
        out.append(_verdict("parallel_fraction", "unknown", None, "no finished tasks yet",
                            "start and finish tasks with `gitcoord task start/done` so runs are recorded"))
    elif GOOD_PARALLEL[0] <= pf <= GOOD_PARALLEL[1]:
        out.append(_verdict("parallel_fraction", "good", pf, f"{pf:.0%} of tasks ran alongside another "
                            f"(target 50–80 %)", None))
    elif pf < GOOD_PARALLEL[0]:
        out.append(_verdict("parallel_fraction", "poor" if pf < 0.25 else "fair", pf,
                            f"only {pf:.0%} of tasks ran alongside another (target 50–80 %)",
                            "work was mostly sequential: split long tasks, turn hard dependencies into contract "
                            "dependencies so consumers start against an approved contract, and give idle agents "
                            "ready work with `gitcoord next`"))
    else:
        out.append(_verdict("parallel_fraction", "fair", pf, f"{pf:.0%} of tasks ran alongside another "
                            "(above the 80 % that usually stays mergeable)",
                            "very wide parallelism raises integration risk: check ownership overlaps with "
                            "`gitcoord doctor`, lock shared files, and merge in smaller batches"))
    rate = figures.get("conflict_rate")
    if rate is None:
        out.append(_verdict("conflict_rate", "unknown", None, "no merge runs yet",
                            "merge ready tasks (`gitcoord merge plan` shows the run to start) to measure conflicts"))
    elif rate < GOOD_CONFLICTS:
        out.append(_verdict("conflict_rate", "good", rate, f"{rate:.0%} of merge items conflicted (target < 10 %)",
                            None))
    else:
        out.append(_verdict("conflict_rate", "poor" if rate > POOR_CONFLICTS else "fair", rate,
                            f"{rate:.0%} of merge items conflicted (target < 10 %, poor above 25 %)",
                            "tasks touch the same files: make ownership disjoint (`gitcoord doctor`, "
                            "`gitcoord owners`), lock shared files (`gitcoord lock acquire`), and merge more often"))
    eff = figures.get("efficiency")
    if eff is not None:
        level = "good" if eff >= GOOD_EFFICIENCY else "fair" if eff >= POOR_EFFICIENCY else "poor"
        out.append(_verdict("efficiency", level, eff, f"agents were busy {eff:.0%} of the elapsed time",
                            None if level == "good" else
                            "agents waited: use fewer agents for this plan, or cut the critical path "
                            "(split its longest tasks; approve contracts early so dependents start)"))
    delay = (figures.get("integration_delay_hours") or {}).get("mean")
    if delay is not None:
        level = "good" if delay <= SLOW_INTEGRATION_HOURS else "fair"
        out.append(_verdict("integration_delay", level, delay, f"ready tasks waited {delay:.1f} h on average to "
                            "be merged", None if level == "good" else
                            "finished work waits too long: merge more often (`gitcoord merge plan` shows what is ready; "
                            "e.g. on every ready_to_merge) so conflicts surface early"))
    return out


def _verdict(metric: str, level: str, value: float | None, message: str, advice: str | None) -> dict[str, Any]:
    return {"metric": metric, "level": level, "value": _round(value, 4), "message": message, "advice": advice}


def compute(tasks: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]], merges: Iterable[dict[str, Any]],
            *, feature: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """All metrics as JSON-ready data (hours, fractions 0–1, ISO times)."""
    tasks = [t for t in tasks if feature is None or t.get("feature") == feature]
    merges = list(merges)
    runs = [r for r in reconstruct(tasks, list(events), merges, now=now) if r.status != "cancelled"]
    measured = [r for r in runs if r.measured]
    scope = {t["id"] for t in tasks} if feature is not None else None

    total = sum(r.hours for r in measured)
    t0 = min((r.start for r in measured), default=None)
    t1 = max((r.finish for r in measured), default=None)
    elapsed = _hours(t1 - t0) if t0 is not None and t1 is not None else 0.0
    agent_names = sorted({r.agent for r in measured})
    agents = len(agent_names)
    parallel = overlapping(measured)
    ideal_path, ideal_hours = ideal(measured)
    actual_path = actual_critical_path(measured)
    conflicts = conflict_figures(merges, scope)
    delays = {r.id: _hours(r.merged_at - r.ready_at) for r in runs
              if r.ready_at is not None and r.merged_at is not None and r.merged_at >= r.ready_at}

    figures: dict[str, Any] = {
        "feature": feature,
        "measured_tasks": len(measured),
        "running_tasks": sorted(r.id for r in runs if r.running),
        "started_at": _iso(t0),
        "finished_at": _iso(t1),
        "total_work_hours": _round(total),
        "elapsed_hours": _round(elapsed),
        "ideal_hours": _round(ideal_hours),
        "ideal_path": ideal_path,
        "efficiency": _round(total / (elapsed * agents)) if elapsed > 0 and agents else None,
        "speedup": _round(total / elapsed) if elapsed > 0 else None,
        "parallel_fraction": _round(len(parallel) / len(measured)) if measured else None,
        "conflict_rate": _round(conflicts["rate"]),
        "merge_items": {k: conflicts[k] for k in ("runs", "merged", "conflicted")},
        "integration_delay_hours": {
            "mean": _round(sum(delays.values()) / len(delays)) if delays else None,
            "max": _round(max(delays.values())) if delays else None,
            "count": len(delays),
        },
        "critical_path": actual_path,
        "agents": agents,
        "agent_names": agent_names,
    }
    figures["bottlenecks"] = _bottlenecks(runs, actual_path, delays)
    figures["verdicts"] = verdicts(figures)
    figures["plan_vs_actual"] = [
        {"task": r.id, "estimate_hours": _round(r.estimate), "actual_hours": _round(r.hours),
         "delta_hours": _round(r.hours - r.estimate) if r.estimate is not None else None,
         "ratio": _round(r.hours / r.estimate, 4) if r.estimate else None}
        for r in measured if not r.running
    ]
    estimated = [r for r in measured if r.estimate is not None and not r.running]
    figures["plan_summary"] = {
        "estimated_hours": _round(sum(r.estimate for r in estimated)),  # type: ignore[misc]
        "actual_hours": _round(sum(r.hours for r in estimated)),
        "tasks_compared": len(estimated),
    }
    figures["tasks"] = [_task_row(r, t0, r.id in parallel, delays.get(r.id)) for r in runs]
    return figures


def _bottlenecks(runs: list[TaskRun], path: list[str], delays: dict[str, float]) -> list[dict[str, Any]]:
    by_id = {r.id: r for r in runs}
    out = []
    for r in sorted((by_id[t] for t in path), key=lambda r: (-r.hours, r.id))[:3]:
        out.append({"task": r.id, "kind": "critical-path", "hours": _round(r.hours),
                    "why": f"{r.hours:.1f} h on the critical path ({r.agent})"})
    for r in sorted((r for r in runs if r.blocked_hours > 0), key=lambda r: (-r.blocked_hours, r.id))[:3]:
        out.append({"task": r.id, "kind": "blocked", "hours": _round(r.blocked_hours),
                    "why": f"blocked for {r.blocked_hours:.1f} h"})
    for tid, hours in sorted(delays.items(), key=lambda kv: (-kv[1], kv[0]))[:1]:
        if hours > 0:
            out.append({"task": tid, "kind": "integration", "hours": _round(hours),
                        "why": f"waited {hours:.1f} h between ready_to_merge and merged"})
    return out


def _task_row(r: TaskRun, t0: datetime | None, parallel: bool, delay: float | None) -> dict[str, Any]:
    rel = (lambda t: _round(_hours(t - t0)) if t is not None and t0 is not None else None)
    return {
        "id": r.id, "title": r.title, "agent": r.agent, "feature": r.feature, "status": r.status,
        "start": _iso(r.start), "finish": _iso(r.finish), "ready_at": _iso(r.ready_at), "merged_at": _iso(r.merged_at),
        "start_hours": rel(r.start) if r.measured else None, "finish_hours": rel(r.finish) if r.measured else None,
        "duration_hours": _round(r.hours) if r.measured else None, "estimate_hours": _round(r.estimate),
        "blocked_hours": _round(r.blocked_hours), "integration_delay_hours": _round(delay),
        "parallel": parallel, "running": r.running, "depends_on": r.depends_on,
    }


# --------------------------------------------------------------------------- from the store


def from_snapshot(snapshot: Any, *, feature: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Metrics of the coordination branch at ``snapshot`` (optionally one feature)."""
    from gitcoord import messages

    tasks = list(snapshot.load_dir("tasks", ".yaml").values())
    events = [e for _, e in messages.iter_events(snapshot) if str(e.get("type", "")).startswith("task.")]
    merges = list(snapshot.load_dir("merges", ".json").values())
    return compute(tasks, events, merges, feature=feature, now=now)


def render_text(m: dict[str, Any]) -> str:
    """The human summary of ``gitcoord metrics``."""
    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.0%}"

    def num(v: float | None, unit: str = "") -> str:
        return "n/a" if v is None else f"{v:.2f}{unit}"

    lines = [
        f"tasks measured: {m['measured_tasks']}" + (f" (running: {', '.join(m['running_tasks'])})"
                                                    if m["running_tasks"] else "")
        + f"   agents: {m['agents']}" + (f" ({', '.join(m['agent_names'])})" if m["agent_names"] else ""),
        f"total work {num(m['total_work_hours'], ' h')}   elapsed {num(m['elapsed_hours'], ' h')}   "
        f"ideal {num(m['ideal_hours'], ' h')}",
        f"speedup {num(m['speedup'], 'x')}   efficiency {pct(m['efficiency'])}   "
        f"parallel {pct(m['parallel_fraction'])}   conflicts {pct(m['conflict_rate'])} "
        f"({m['merge_items']['conflicted']}/{m['merge_items']['merged'] + m['merge_items']['conflicted']} items)",
    ]
    delay = m["integration_delay_hours"]
    if delay["count"]:
        lines.append(f"integration delay: mean {delay['mean']:.2f} h, max {delay['max']:.2f} h "
                     f"over {delay['count']} task(s)")
    if m["critical_path"]:
        lines.append("actual critical path: " + " -> ".join(m["critical_path"]))
    for b in m["bottlenecks"]:
        lines.append(f"bottleneck {b['task']} ({b['kind']}): {b['why']}")
    lines.append("")
    for v in m["verdicts"]:
        lines.append(f"[{v['level'].upper():<7}] {v['metric']}: {v['message']}")
        if v["advice"]:
            lines.append(f"          -> {v['advice']}")
    if m["plan_vs_actual"]:
        lines.append("")
        lines.append(f"{'TASK':<16} {'EST h':>7} {'ACTUAL h':>9} {'DELTA h':>8}")
        for row in m["plan_vs_actual"]:
            est = "-" if row["estimate_hours"] is None else f"{row['estimate_hours']:.2f}"
            delta = "-" if row["delta_hours"] is None else f"{row['delta_hours']:+.2f}"
            lines.append(f"{row['task']:<16} {est:>7} {row['actual_hours']:>9.2f} {delta:>8}")
    return "\n".join(lines)
